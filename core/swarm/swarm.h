/* The swarm: the specialists one server holds, each a definition (prompt,
 * adapter, routing hints) made live with its adapter loaded on the base
 * model. Specialists are reference counted and immutable once added, so a
 * request keeps the one it started with while the list changes (POST and
 * DELETE /api/specialists). Every change is written back to the config
 * file before it takes effect. All calls are thread-safe. */
#ifndef SYN_CORE_SWARM_H
#define SYN_CORE_SWARM_H

#include <json-c/json.h>
#include <synapse/model.h>

#include "core/config/specialist_def.h"

typedef struct syn_specialist {
    syn_specialist_def def;
    syn_lora *lora; /* NULL: prompt only */
    char *adapter_path; /* where lora came from */
    int refs;
} syn_specialist;

typedef struct syn_swarm syn_swarm;

/* config_path: the file changes are written to (NULL: none, changes are
 * refused). Adapters named without a '/' are looked up in data_dir/adapters. */
int syn_swarm_new(syn_model *m, const char *data_dir, const char *config_path, syn_swarm **out, syn_error *err);
void syn_swarm_free(syn_swarm *w);

/* Loads def's adapter and adds def, or replaces the specialist of its name
 * (*replaced = 1). save: write the new list to the config file first. */
int syn_swarm_put(syn_swarm *w, const syn_specialist_def *def, int save, int *replaced, syn_error *err);
/* SYN_ERR_NOT_FOUND when there is none of that name. */
int syn_swarm_remove(syn_swarm *w, const char *name, syn_error *err);
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
