/* The extractor plugin (kind extractor, ABI 1.5): the facts a text states,
 * by the fact grammar (grammar.c). Stateless; links libc alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/plugin.h>

#include "plugins/extractor/grammar.h"

typedef struct extractor {
    const syn_host_api *host;
} extractor;

static void *extractor_create(const syn_host_api *host, syn_error *err)
{
    extractor *x = calloc(1, sizeof *x);
    if (!x) {
        err->code = SYN_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "extractor: out of memory");
        return NULL;
    }
    x->host = host;
    return x;
}

static void extractor_destroy(void *x) { free(x); }

typedef struct relay {
    syn_fact_fn emit;
    void *user;
} relay;

static int relay_fact(void *user, const grammar_fact *g)
{
    relay *r = user;
    syn_fact f = {.subject = g->subject, .predicate = g->predicate, .object = g->object, .confidence = 0.8f,
                  .negated = g->negated};
    return r->emit(r->user, &f);
}

static int extractor_extract(void *x, const char *text, syn_fact_fn emit, void *user, syn_error *err)
{
    (void)x;
    relay r = {emit, user};
    if (grammar_extract(text ? text : "", relay_fact, &r)) {
        err->code = SYN_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "extractor: out of memory, or the receiver stopped");
        return -1;
    }
    return 0;
}

static const syn_extractor_ops extractor_ops = {
    .struct_size = sizeof(syn_extractor_ops),
    .create = extractor_create,
    .destroy = extractor_destroy,
    .extract = extractor_extract,
};

static int extractor_probe(void) { return 10; }

static const syn_plugin extractor_plugin = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_EXTRACTOR, "extractor", "1.0.0"),
    .probe = extractor_probe,
    .ops = &extractor_ops,
};

const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &extractor_plugin; }
