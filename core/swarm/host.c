/* The host API's calls (see host.h). Each is a thin door onto a core part
 * a plugin may not link: the logger, the scheduler's embeddings, the store. */
#include <stdio.h>
#include <string.h>

#include "core/swarm/host.h"

static const void *host_get_api(syn_host *h, const char *name)
{
    (void)h;
    (void)name;
    return NULL; /* no optional extras yet */
}

static void host_log(syn_host *h, int level, const char *msg)
{
    if (level < SYN_LOG_ERROR || level > SYN_LOG_DEBUG)
        level = SYN_LOG_INFO;
    syn_log((syn_log_level)level, "plugin %s: %s", h->plugin, msg ? msg : "");
}

static int32_t host_embed(syn_host *h, const char *text, float *out, int32_t cap, syn_error *err)
{
    if (!h->embed) {
        syn_fail(err, SYN_ERR_UNSUPPORTED, "this host has no model to embed with");
        return 0;
    }
    if (!text || !out || cap <= 0) {
        syn_fail(err, SYN_ERR_INVALID, "embed needs a text and room for the result");
        return 0;
    }
    return h->embed(h->embed_user, text, out, cap, err);
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

void syn_host_init(syn_host *h, const char *name, syn_store *store, syn_host_embed_fn embed, void *embed_user)
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
    };
    snprintf(h->plugin, sizeof h->plugin, "%s", name);
    h->store = store;
    h->embed = embed;
    h->embed_user = embed_user;
}
