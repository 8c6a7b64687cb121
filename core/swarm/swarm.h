/* The swarm: the specialists one server holds, each a definition (prompt,
 * adapter, routing hints) made live with its adapter loaded on the base
 * model. Specialists are reference counted and their definitions immutable
 * once added, so a request keeps the one it started with while the list
 * changes (POST and DELETE /api/specialists). Every change is written back
 * to the config file before it takes effect. Under an adapter budget
 * (limits.adapter_bytes) the adapters no request holds are evicted, least
 * recently used first, and loaded again when asked for. All calls are
 * thread-safe. */
#ifndef SYN_CORE_SWARM_H
#define SYN_CORE_SWARM_H

#include <json-c/json.h>
#include <synapse/model.h>

#include "core/config/specialist_def.h"
#include "core/swarm/capability.h"

typedef struct syn_specialist {
    syn_specialist_def def;
    syn_model *model; /* its base: the swarm's model, or the one def.base_model names */
    void *base;       /* what the resolver returned with it (NULL: the swarm's model) */
    char *adapter_path; /* where its adapter comes from; NULL: prompt only */
    int32_t adapter_rank;
    float adapter_alpha;
    /* the adapter while loaded (NULL when evicted): the swarm's lock guards
     * it, syn_swarm_adapter hands it out */
    syn_lora *lora;
    uint64_t last_used; /* under the swarm's lock: when its adapter was last asked for */
    /* a specialist in code (def.plugin): the plugin's instance, which
     * answers instead of a model, and what it says of itself (pointing
     * into the plugin), which the router sees where def is silent */
    syn_capability *code;
    syn_route_specialist code_desc;
    int refs;
} syn_specialist;

typedef struct syn_swarm_adapter_stats {
    size_t bytes;     /* of the adapters loaded now */
    size_t budget;    /* 0: none */
    int loaded;       /* adapters loaded now */
    uint64_t loads;   /* loaded again after an eviction */
    uint64_t evictions;
} syn_swarm_adapter_stats;

typedef struct syn_swarm syn_swarm;

/* A specialist's base_model made a model: *model and the caller's own
 * handle for it (*base), loaded once per distinct file by the resolver. */
typedef int (*syn_swarm_resolve_fn)(void *user, const char *base_model, syn_model **model, void **base,
                                    syn_error *err);

/* config_path: the file changes are written to (NULL: none, changes are
 * refused). Adapters named without a '/' are looked up in data_dir/adapters.
 * resolve (NULL: base_model is refused) turns a base_model into a model. */
int syn_swarm_new(syn_model *m, const char *data_dir, const char *config_path, syn_swarm_resolve_fn resolve,
                  void *resolve_user, syn_swarm **out, syn_error *err);
void syn_swarm_free(syn_swarm *w);

/* What a specialist plugin is given as its host: the store and the
 * model's calls (copied). Call before the first syn_swarm_put that names
 * a plugin; without it plugins get neither. */
void syn_swarm_set_plugin_host(syn_swarm *w, syn_store *store, const syn_host_model *model);
/* The specialist in code that claims query most surely, at least at
 * SYN_SWARM_CLAIM_MIN (see syn_specialist_ops.claim), with a reference and
 * its claim in *score; NULL: none claims it. */
#define SYN_SWARM_CLAIM_MIN 0.9f
syn_specialist *syn_swarm_claim(syn_swarm *w, const char *query, float *score);
/* A specialist in code answers query, its text through emit. */
int syn_specialist_code_answer(const syn_specialist *sp, const char *query, syn_text_fn emit, void *user,
                               syn_error *err);

/* Loads def's adapter (or its plugin) and adds def, or replaces the specialist of its name
 * (*replaced = 1). save: write the new list to the config file first. */
int syn_swarm_put(syn_swarm *w, const syn_specialist_def *def, int save, int *replaced, syn_error *err);
/* The same, but only when there is none of its name: else *exists = 1
 * and nothing changes (checked and added under one lock). */
int syn_swarm_add(syn_swarm *w, const syn_specialist_def *def, int save_it, int *exists, syn_error *err);
/* SYN_ERR_NOT_FOUND when there is none of that name. */
int syn_swarm_remove(syn_swarm *w, const char *name, syn_error *err);
/* Bytes the loaded adapters may take (0: no limit); evicts at once. */
void syn_swarm_set_adapter_budget(syn_swarm *w, size_t bytes);
/* sp's adapter with a reference for the caller (*out NULL for a prompt-only
 * specialist), loaded again if the budget evicted it; then adapters no
 * request holds are evicted until the loaded ones fit the budget. */
int syn_swarm_adapter(syn_swarm *w, syn_specialist *sp, syn_lora **out, syn_error *err);
void syn_swarm_adapter_stats_get(syn_swarm *w, syn_swarm_adapter_stats *out);
/* The specialist of that name with a reference for the caller, or NULL. */
syn_specialist *syn_swarm_get(syn_swarm *w, const char *name);
void syn_specialist_release(syn_specialist *sp);
/* Every specialist, in the order added, each with a reference; free with
 * syn_swarm_list_free. */
int syn_swarm_list(syn_swarm *w, syn_specialist ***out, int *n, syn_error *err);
void syn_swarm_list_free(syn_specialist **list, int n);

/* The API's shape of a specialist, and a definition from a request body
 * (every field checked; unknown fields refused by name). */
json_object *syn_specialist_json(const syn_specialist *sp);
int syn_specialist_def_from_json(json_object *o, syn_specialist_def *d, syn_error *err);

#endif
