/* The routing glue: the router plugin (plugins/router, or the .so that
 * config plugins.router names) loaded through the ABI, fed the swarm's
 * specialists, asked for a route per request and told the outcomes. The
 * decision comes back as specialists (references) and as the JSON the API
 * shows. Thread-safe: routes run on every HTTP thread while an update
 * (POST/DELETE /api/specialists) swaps the list. */
#ifndef SYN_CORE_SWARM_ROUTER_H
#define SYN_CORE_SWARM_ROUTER_H

#include <json-c/json.h>
#include <synapse/plugin.h>

#include "core/swarm/host.h"
#include "core/swarm/swarm.h"

typedef struct syn_router syn_router;

/* path: one .so (config plugins.router); NULL: the first router plugin on
 * the search path. SYN_ERR_NOT_FOUND when there is none, or the reason the
 * file was refused. */
int syn_router_open(const char *path, syn_store *store, const syn_host_model *model, syn_router **out,
                    syn_error *err);
void syn_router_close(syn_router *r);
/* "NAME VERSION (PATH)" */
const char *syn_router_describe(const syn_router *r);

/* The swarm's specialists changed (or are new): the router sees them all. */
int syn_router_update(syn_router *r, syn_swarm *w, syn_error *err);

typedef struct syn_route_result {
    int mode; /* syn_route_mode */
    syn_specialist *chosen[SYN_ROUTE_MAX_CHOSEN]; /* references; none: the base model */
    int n_chosen;
    char domain[64];
    /* {"mode", "domain", "specialists": [{"name", "score"}], "reason",
     *  "scores": [{"name", "score", "capability", "similarity", "pathway"}]} */
    json_object *json;
} syn_route_result;

/* query: the last user message; embedding NULL to skip that signal. A
 * specialist chosen but removed meanwhile is left out. */
int syn_router_route(syn_router *r, syn_swarm *w, const char *query, const float *embedding, int32_t dim,
                     syn_route_result *out, syn_error *err);
void syn_route_result_free(syn_route_result *res);

/* An outcome for (domain, the specialists that answered): reward in [-1, 1]. */
int syn_router_outcome(syn_router *r, const char *domain, const char *const *names, int n, float reward,
                       syn_error *err);

#endif
