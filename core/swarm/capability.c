/* Finding a capability plugin (see capability.h). */
#include <stdio.h>
#include <stdlib.h>

#include "core/swarm/capability.h"

int syn_capability_find(const char *path, uint32_t kind, syn_plugin_set *set, const syn_plugin_entry **entry,
                        syn_error *err)
{
    const char *name = syn_plugin_kind_name(kind);
    /* the config key that named the file: plugins.KIND, or a specialist's plugin */
    char key[64];
    if (kind == SYN_PLUGIN_SPECIALIST)
        snprintf(key, sizeof key, "plugin");
    else
        snprintf(key, sizeof key, "plugins.%s", name);
    *entry = NULL;
    int rc = syn_plugins_scan(path, set, err);
    if (rc || (*entry = syn_plugins_find_kind(set, kind)))
        return rc;
    if (path && set->n == 1 && set->items[0].status != SYN_PLUGIN_LOADED)
        return syn_fail(err, SYN_ERR_INVALID, "%s: %s", key, set->items[0].reason);
    if (path)
        return syn_fail(err, SYN_ERR_INVALID, "%s: %s is a %s plugin, not a%s %s", key, path,
                        set->n ? syn_plugin_kind_name(set->items[0].desc.kind) : "missing",
                        name[0] == 'e' ? "n" : "", name);
    return syn_fail(err, SYN_ERR_NOT_FOUND, "no %s plugin in %s", name,
                    set->searched ? set->searched : "the plugin search path");
}

void syn_capability_describe(const syn_plugin_entry *e, char *buf, size_t n)
{
    snprintf(buf, n, "%s %s (%s)", e->desc.name, e->desc.version ? e->desc.version : "-", e->path);
}

int syn_capability_open(const char *path, uint32_t kind, syn_store *store, const syn_host_model *model,
                        syn_capability **out, syn_error *err)
{
    *out = NULL;
    syn_capability *c = calloc(1, sizeof *c);
    if (!c)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    int rc = syn_capability_find(path, kind, &c->set, &c->entry, err);
    if (!rc) {
        void *(*create)(const syn_host_api *, syn_error *) =
            kind == SYN_PLUGIN_EXTRACTOR    ? c->entry->extractor.create
            : kind == SYN_PLUGIN_VERIFIER   ? c->entry->verifier.create
            : kind == SYN_PLUGIN_SPECIALIST ? c->entry->specialist.create
            : kind == SYN_PLUGIN_SPAWNER    ? c->entry->spawner.create
                                            : NULL;
        syn_host_init(&c->host, c->entry->desc.name, store, model);
        if (!create)
            rc = syn_fail(err, SYN_ERR_INVALID, "no glue for plugin kind %u", kind);
        else if (!(c->inst = create(&c->host.api, err)))
            rc = err->code ? err->code
                           : syn_fail(err, SYN_ERR_INVALID, "the %s plugin's create() failed", syn_plugin_kind_name(kind));
    }
    if (rc) {
        syn_capability_close(c);
        return rc;
    }
    syn_capability_describe(c->entry, c->describe, sizeof c->describe);
    *out = c;
    return 0;
}

void syn_capability_close(syn_capability *c)
{
    if (!c)
        return;
    if (c->inst) {
        if (c->entry->desc.kind == SYN_PLUGIN_EXTRACTOR)
            c->entry->extractor.destroy(c->inst);
        else if (c->entry->desc.kind == SYN_PLUGIN_VERIFIER)
            c->entry->verifier.destroy(c->inst);
        else if (c->entry->desc.kind == SYN_PLUGIN_SPECIALIST)
            c->entry->specialist.destroy(c->inst);
        else if (c->entry->desc.kind == SYN_PLUGIN_SPAWNER)
            c->entry->spawner.destroy(c->inst);
    }
    syn_plugins_free(&c->set);
    free(c);
}
