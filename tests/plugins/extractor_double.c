/* Test double of the extractor (kind extractor, ABI 1.5): every text gives
 * one fact, (TEXT, says, double), so a test can tell it from the real one. */
#include <stdio.h>
#include <stdlib.h>
#include <synapse/plugin.h>

static int token;

static void *double_create(const syn_host_api *host, syn_error *err)
{
    (void)host;
    (void)err;
    return &token;
}

static void double_destroy(void *x) { (void)x; }

static int double_extract(void *x, const char *text, syn_fact_fn emit, void *user, syn_error *err)
{
    (void)x;
    syn_fact f = {.subject = text, .predicate = "says", .object = "double", .confidence = 1.0f};
    if (emit(user, &f)) {
        err->code = SYN_ERR_INVALID;
        snprintf(err->msg, sizeof err->msg, "stopped");
        return -1;
    }
    return 0;
}

static const syn_extractor_ops ops = {
    .struct_size = sizeof(syn_extractor_ops),
    .create = double_create,
    .destroy = double_destroy,
    .extract = double_extract,
};

static int double_probe(void) { return 1; }

static const syn_plugin descriptor = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_EXTRACTOR, "test-fact_double", "0.1"),
    .probe = double_probe,
    .ops = &ops,
};

const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &descriptor; }
