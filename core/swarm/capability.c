/* Finding a capability plugin (see capability.h). */
#include <stdio.h>

#include "core/swarm/capability.h"

int syn_capability_find(const char *path, uint32_t kind, syn_plugin_set *set, const syn_plugin_entry **entry,
                        syn_error *err)
{
    const char *name = syn_plugin_kind_name(kind);
    *entry = NULL;
    int rc = syn_plugins_scan(path, set, err);
    if (rc || (*entry = syn_plugins_find_kind(set, kind)))
        return rc;
    if (path && set->n == 1 && set->items[0].status != SYN_PLUGIN_LOADED)
        return syn_fail(err, SYN_ERR_INVALID, "plugins.%s: %s", name, set->items[0].reason);
    if (path)
        return syn_fail(err, SYN_ERR_INVALID, "plugins.%s: %s is a %s plugin, not a%s %s", name, path,
                        set->n ? syn_plugin_kind_name(set->items[0].desc.kind) : "missing",
                        name[0] == 'e' ? "n" : "", name);
    return syn_fail(err, SYN_ERR_NOT_FOUND, "no %s plugin in %s", name,
                    set->searched ? set->searched : "the plugin search path");
}

void syn_capability_describe(const syn_plugin_entry *e, char *buf, size_t n)
{
    snprintf(buf, n, "%s %s (%s)", e->desc.name, e->desc.version ? e->desc.version : "-", e->path);
}
