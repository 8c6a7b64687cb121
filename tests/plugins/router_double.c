/* Test double of the router (kind router, ABI 1.5): it sends every query to
 * the last specialist, in the domain "double", so a test can tell it from
 * the real router; an outcome is written through the host's pathway calls
 * as +1/-1 counts; a query "generate: TEXT" has the host's model answer
 * TEXT (4 tokens) and gives the answer as the reason. Built again with -D knobs that each break one rule the
 * loader checks (see core/plugin/plugin.am). Links libc alone. */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <synapse/plugin.h>

#ifndef DOUBLE_CASE
#error "DOUBLE_CASE names the build"
#endif
#define STR_(x) #x
#define STR(x) STR_(x)
#ifndef DOUBLE_ABI_MINOR
#define DOUBLE_ABI_MINOR SYN_ABI_MINOR
#endif
#ifndef DOUBLE_NO_OUTCOME
#define DOUBLE_NO_OUTCOME 0
#endif

struct double_router {
    const syn_host_api *host;
    pthread_mutex_t mu;
    int32_t n; /* specialists */
};

static void *double_create(const syn_host_api *host, syn_error *err)
{
    struct double_router *r = calloc(1, sizeof *r);
    if (!r) {
        err->code = SYN_ERR_NOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    r->host = host;
    pthread_mutex_init(&r->mu, NULL);
    host->log(host->host, SYN_LOG_INFO, "router test double ready");
    return r;
}

static void double_destroy(void *p)
{
    struct double_router *r = p;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static int double_set(void *p, const syn_route_specialist *sp, int32_t n, syn_error *err)
{
    (void)sp;
    (void)err;
    struct double_router *r = p;
    pthread_mutex_lock(&r->mu);
    r->n = n;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* The host's model's answer to text, read in small pieces, as the reason. */
static int generated(struct double_router *r, const char *text, syn_route_decision *out, syn_error *err)
{
    const syn_host_api *h = r->host;
    if (h->struct_size < offsetof(syn_host_api, generation_free) + sizeof h->generation_free) {
        err->code = SYN_ERR_UNSUPPORTED;
        snprintf(err->msg, sizeof err->msg, "the host cannot generate");
        return -1;
    }
    syn_host_generation *g = h->generate(h->host, NULL, text, 4, err);
    if (!g)
        return -1;
    size_t len = (size_t)snprintf(out->reason, sizeof out->reason, "generated: ");
    char piece[3]; /* two bytes at a time: the reads must add up */
    int32_t n;
    while ((n = h->generation_read(h->host, g, piece, sizeof piece, err)) > 0)
        if (len + (size_t)n < sizeof out->reason) {
            memcpy(out->reason + len, piece, (size_t)n);
            out->reason[len += (size_t)n] = '\0';
        }
    h->generation_free(h->host, g);
    return n < 0 ? -1 : 0;
}

static int double_route(void *p, const char *query, const float *emb, int32_t dim, syn_route_decision *out,
                        syn_error *err)
{
    (void)emb;
    (void)dim;
    struct double_router *r = p;
    pthread_mutex_lock(&r->mu);
    int32_t n = r->n < out->n_scores ? r->n : out->n_scores;
    pthread_mutex_unlock(&r->mu);
    out->mode = SYN_ROUTE_SINGLE;
    for (int32_t i = 0; i < n; i++)
        out->scores[i].score = (float)i;
    if (n > 0) {
        out->n_chosen = 1;
        out->chosen[0] = n - 1;
    }
    snprintf(out->domain, sizeof out->domain, "double");
    if (query && !strncmp(query, "generate: ", 10))
        return generated(r, query + 10, out, err);
    snprintf(out->reason, sizeof out->reason, "the test double takes the last of %d", (int)n);
    return 0;
}

static int double_outcome(void *p, const char *domain, const char *const *names, int32_t n, float reward,
                          syn_error *err)
{
    struct double_router *r = p;
    if (n < 1)
        return 0;
    syn_pathway pw = {0};
    int found = r->host->pathway_get(r->host->host, domain, names[0], &pw, err);
    if (found < 0)
        return -1;
    pw.strength += reward > 0 ? 1 : -1;
    if (reward > 0)
        pw.successes++;
    else
        pw.failures++;
    return r->host->pathway_put(r->host->host, domain, names[0], &pw, err);
}

static const syn_router_ops ops = {
    .struct_size = sizeof(syn_router_ops),
    .create = double_create,
    .destroy = double_destroy,
    .set_specialists = double_set,
    .route = double_route,
    .outcome = DOUBLE_NO_OUTCOME ? NULL : double_outcome,
};

static int double_probe(void) { return 1; }

static const syn_plugin descriptor = {
    .magic = SYN_PLUGIN_MAGIC,
    .abi_major = SYN_ABI_MAJOR,
    .abi_minor = DOUBLE_ABI_MINOR,
    .struct_size = sizeof(syn_plugin),
    .kind = SYN_PLUGIN_ROUTER,
    .name = "test-" STR(DOUBLE_CASE),
    .version = "0.1",
    .probe = double_probe,
    .ops = &ops,
};

const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &descriptor; }
