/* Finding one capability plugin of a kind: the .so a config names
 * (plugins.KIND), else the first of that kind on the plugin search path;
 * with the set it lives in, kept open while the plugin is used. */
#ifndef SYN_CORE_SWARM_CAPABILITY_H
#define SYN_CORE_SWARM_CAPABILITY_H

#include <synapse/loader.h>

#include "core/swarm/host.h"

/* path NULL: search. SYN_ERR_NOT_FOUND when a search finds none; a named
 * file that does not load, or is of another kind, is SYN_ERR_INVALID with
 * the loader's reason. *entry points into *set (free it with
 * syn_plugins_free, also on failure). */
int syn_capability_find(const char *path, uint32_t kind, syn_plugin_set *set, const syn_plugin_entry **entry,
                        syn_error *err);
/* "NAME VERSION (PATH)" */
void syn_capability_describe(const syn_plugin_entry *e, char *buf, size_t n);

/* One instance of a 1.5 kind that needs no more glue than its ops table
 * (extractor, verifier, spawner, specialist): found as above, created with
 * its host. */
typedef struct syn_capability {
    syn_plugin_set set;
    const syn_plugin_entry *entry;
    void *inst;
    syn_host host;
    char describe[512];
} syn_capability;

int syn_capability_open(const char *path, uint32_t kind, syn_store *store, const syn_host_model *model,
                        syn_capability **out, syn_error *err);
void syn_capability_close(syn_capability *c);

#endif
