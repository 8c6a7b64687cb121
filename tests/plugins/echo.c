/* Test plugin: a capability whose call() echoes its request and config as
 * JSON. Compiled once as the good plugin and again with -D knobs, each build
 * breaking exactly one thing the loader checks (see core/plugins.am).
 * Called by the loader's thread only; no shared state beyond init's flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <synapse/plugin.h>

#define STR_(x) #x
#define STR(x) STR_(x)

#ifndef ECHO_CASE
#error "ECHO_CASE names the build (good_capability, bad_major, ...)"
#endif
#if defined(ECHO_BAD_NAME) && ECHO_BAD_NAME
#define ECHO_NAME "two\nlines" /* would break the one-line listing */
#endif
#ifndef ECHO_NAME
#define ECHO_NAME "test-" STR(ECHO_CASE)
#endif
#ifndef ECHO_VERSION
#define ECHO_VERSION "1.2.3"
#endif
#ifndef ECHO_MAGIC
#define ECHO_MAGIC SYN_PLUGIN_MAGIC
#endif
#ifndef ECHO_ABI_MAJOR
#define ECHO_ABI_MAJOR SYN_ABI_MAJOR
#endif
#ifndef ECHO_ABI_MINOR
#define ECHO_ABI_MINOR SYN_ABI_MINOR
#endif
#ifndef ECHO_KIND
#define ECHO_KIND SYN_PLUGIN_CAPABILITY
#endif
#ifndef ECHO_PROBE_SCORE
#define ECHO_PROBE_SCORE 5
#endif
#ifndef ECHO_NO_PROBE
#define ECHO_NO_PROBE 0
#endif
#ifndef ECHO_INIT_FAILS
#define ECHO_INIT_FAILS 0
#endif

struct echo {
    char *config;
    int calls;
};

/* Set by init, so a call can prove the loader ran init before it. */
static int initialized;

static void echo_error(syn_error *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
}

static int echo_probe(void) { return ECHO_PROBE_SCORE; }

static int echo_init(syn_error *err)
{
#if ECHO_INIT_FAILS
    /* syn_fail comes from libsynapse, which this build links, as a real
     * plugin would; the newline checks that the refusal stays one line. */
    return syn_fail(err, SYN_ERR_UNSUPPORTED, "echo device /dev/echo0 is missing\nsecond line");
#else
    (void)err;
    initialized = 1;
    return 0;
#endif
}

static void echo_fini(void) { initialized = 0; }

static void *echo_create(const char *config_json, syn_error *err)
{
    struct echo *e = calloc(1, sizeof *e);
    if (!e || !(e->config = strdup(config_json ? config_json : "null"))) {
        free(e);
        echo_error(err, SYN_ERR_NOMEM, "echo: out of memory");
        return NULL;
    }
    return e;
}

static void echo_destroy(void *inst)
{
    struct echo *e = inst;
    if (e)
        free(e->config);
    free(e);
}

static int echo_call(void *inst, const char *request_json, char **response, syn_error *err)
{
    struct echo *e = inst;
    *response = NULL;
    if (!request_json) {
        echo_error(err, SYN_ERR_INVALID, "echo: no request");
        return SYN_ERR_INVALID;
    }
    e->calls++;
    const char *fmt = "{\"echo\":%s,\"config\":%s,\"calls\":%d,\"initialized\":%s}";
    const char *init = initialized ? "true" : "false";
    int n = snprintf(NULL, 0, fmt, request_json, e->config, e->calls, init);
    char *out = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!out) {
        echo_error(err, SYN_ERR_NOMEM, "echo: out of memory");
        return SYN_ERR_NOMEM;
    }
    snprintf(out, (size_t)n + 1, fmt, request_json, e->config, e->calls, init);
    *response = out;
    return 0;
}

static const syn_capability_ops echo_ops = {
    .struct_size = sizeof(syn_capability_ops),
    .capability = "echo",
    .create = echo_create,
    .destroy = echo_destroy,
    .call = echo_call,
};

static const syn_plugin echo_plugin = {
    .magic = ECHO_MAGIC,
    .abi_major = ECHO_ABI_MAJOR,
    .abi_minor = ECHO_ABI_MINOR,
    .struct_size = sizeof(syn_plugin),
    .kind = ECHO_KIND,
    .name = ECHO_NAME,
    .version = ECHO_VERSION,
    .probe = ECHO_NO_PROBE ? NULL : echo_probe,
    .init = echo_init,
    .fini = echo_fini,
    .ops = &echo_ops,
};

SYN_EXPORT const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &echo_plugin; }
