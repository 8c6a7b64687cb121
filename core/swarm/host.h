/* The host API the core hands capability plugins (see <synapse/plugin.h>):
 * logging under the plugin's name, embeddings from the base model (through
 * a callback, so this file needs no server), and the store's pathways. */
#ifndef SYN_CORE_SWARM_HOST_H
#define SYN_CORE_SWARM_HOST_H

#include <synapse/plugin.h>

#include "core/knowledge/store.h"

typedef int32_t (*syn_host_embed_fn)(void *user, const char *text, float *out, int32_t cap, syn_error *err);

struct syn_host {
    syn_host_api api; /* api.host points back here */
    char plugin[64];  /* named in its log lines */
    syn_store *store; /* NULL: pathways are refused */
    syn_host_embed_fn embed;
    void *embed_user;
};

/* Fills h for the plugin called name. */
void syn_host_init(syn_host *h, const char *name, syn_store *store, syn_host_embed_fn embed, void *embed_user);

#endif
