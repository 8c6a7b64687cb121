/* The host API's calls (see host.h). Each is a thin door onto a core part
 * a plugin may not link: the logger, the scheduler's embeddings, the store. */
#include <stdio.h>
#include <string.h>

#include "core/swarm/host.h"

static int facts_lookup(syn_host *h, const char *subject, const char *predicate, syn_known_fact_fn emit, void *user,
                        syn_error *err)
{
    if (!subject || !predicate || !emit)
        return syn_fail(err, SYN_ERR_INVALID, "lookup needs a subject, a predicate and a receiver");
    return syn_store_fact_lookup(h->store, subject, predicate, emit, user, err);
}

static void facts_normalise(syn_host *h, char *text)
{
    (void)h;
    if (text)
        syn_fact_normalise(text);
}

static const syn_host_facts_v1 facts_v1 = {
    .struct_size = sizeof(syn_host_facts_v1),
    .lookup = facts_lookup,
    .normalise = facts_normalise,
};

/* The extras by name: "facts.v1" where there is a store. */
static const void *host_get_api(syn_host *h, const char *name)
{
    if (name && !strcmp(name, SYN_HOST_FACTS_V1) && h->store)
        return &facts_v1;
    return NULL;
}

static void host_log(syn_host *h, int level, const char *msg)
{
    if (level < SYN_LOG_ERROR || level > SYN_LOG_DEBUG)
        level = SYN_LOG_INFO;
    syn_log((syn_log_level)level, "plugin %s: %s", h->plugin, msg ? msg : "");
}

static int32_t host_embed(syn_host *h, const char *text, float *out, int32_t cap, syn_error *err)
{
    if (!h->model.embed) {
        syn_fail(err, SYN_ERR_UNSUPPORTED, "this host has no model to embed with");
        return 0;
    }
    if (!text || !out || cap <= 0) {
        syn_fail(err, SYN_ERR_INVALID, "embed needs a text and room for the result");
        return 0;
    }
    return h->model.embed(h->model.user, text, out, cap, err);
}

static int host_pathway_get(syn_host *h, const char *domain, const char *key, syn_pathway *out, syn_error *err)
{
    if (!h->store || !domain || !key)
        return syn_fail(err, SYN_ERR_INVALID, "no store, or no domain or key"), -1;
    return syn_store_pathway_get(h->store, domain, key, out, err);
}

static int host_pathway_put(syn_host *h, const char *domain, const char *key, const syn_pathway *p, syn_error *err)
{
    if (!h->store || !domain || !key || !p)
        return syn_fail(err, SYN_ERR_INVALID, "no store, or no domain, key or pathway"), -1;
    return syn_store_pathway_put(h->store, domain, key, p, err) ? -1 : 0;
}

static syn_host_generation *host_generate(syn_host *h, const char *system, const char *user, int32_t max_tokens,
                                          syn_error *err)
{
    if (!h->model.generate)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "this host has no model to generate with"), NULL;
    if (!user)
        return syn_fail(err, SYN_ERR_INVALID, "generate needs a user message"), NULL;
    return h->model.generate(h->model.user, system, user, max_tokens, err);
}

static int32_t host_read(syn_host *h, syn_host_generation *g, char *buf, int32_t cap, syn_error *err)
{
    if (!g || !buf || cap < 2)
        return syn_fail(err, SYN_ERR_INVALID, "generation_read needs a generation and room for a byte"), -1;
    return h->model.read(h->model.user, g, buf, cap, err);
}

static void host_gen_free(syn_host *h, syn_host_generation *g)
{
    if (g)
        h->model.free(h->model.user, g);
}

void syn_host_init(syn_host *h, const char *name, syn_store *store, const syn_host_model *model)
{
    memset(h, 0, sizeof *h);
    h->api = (syn_host_api){
        .struct_size = sizeof(syn_host_api),
        .host = h,
        .get_api = host_get_api,
        .log = host_log,
        .embed = host_embed,
        .pathway_get = host_pathway_get,
        .pathway_put = host_pathway_put,
        .generate = host_generate,
        .generation_read = host_read,
        .generation_free = host_gen_free,
    };
    snprintf(h->plugin, sizeof h->plugin, "%s", name);
    h->store = store;
    if (model)
        h->model = *model;
}
