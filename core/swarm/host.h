/* The host API the core hands capability plugins (see <synapse/plugin.h>):
 * logging under the plugin's name, embeddings from the base model (through
 * a callback, so this file needs no server), and the store's pathways. */
#ifndef SYN_CORE_SWARM_HOST_H
#define SYN_CORE_SWARM_HOST_H

#include <synapse/plugin.h>

#include "core/knowledge/store.h"

/* What the host's model does for plugins, given by the server (so this
 * file needs none): the calls of syn_host_api, with user first. */
typedef struct syn_host_model {
    void *user;
    int32_t (*embed)(void *user, const char *text, float *out, int32_t cap, syn_error *err);
    syn_host_generation *(*generate)(void *user, const char *system, const char *text, int32_t max_tokens,
                                     syn_error *err);
    int32_t (*read)(void *user, syn_host_generation *g, char *buf, int32_t cap, syn_error *err);
    void (*free)(void *user, syn_host_generation *g);
} syn_host_model;

struct syn_host {
    syn_host_api api; /* api.host points back here */
    char plugin[64];  /* named in its log lines */
    syn_store *store; /* NULL: pathways are refused */
    syn_host_model model; /* calls NULL: refused */
};

/* Fills h for the plugin called name. */
void syn_host_init(syn_host *h, const char *name, syn_store *store, const syn_host_model *model);

#endif
