/* Finding one capability plugin of a kind: the .so a config names
 * (plugins.KIND), else the first of that kind on the plugin search path;
 * with the set it lives in, kept open while the plugin is used. */
#ifndef SYN_CORE_SWARM_CAPABILITY_H
#define SYN_CORE_SWARM_CAPABILITY_H

#include <synapse/loader.h>

/* path NULL: search. SYN_ERR_NOT_FOUND when a search finds none; a named
 * file that does not load, or is of another kind, is SYN_ERR_INVALID with
 * the loader's reason. *entry points into *set (free it with
 * syn_plugins_free, also on failure). */
int syn_capability_find(const char *path, uint32_t kind, syn_plugin_set *set, const syn_plugin_entry **entry,
                        syn_error *err);
/* "NAME VERSION (PATH)" */
void syn_capability_describe(const syn_plugin_entry *e, char *buf, size_t n);

#endif
