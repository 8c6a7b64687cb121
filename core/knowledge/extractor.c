/* The extractor glue (see extractor.h). */
#include <stdlib.h>

#include "core/knowledge/extractor.h"
#include "core/swarm/capability.h"

struct syn_extractor {
    syn_plugin_set set;
    const syn_plugin_entry *entry;
    void *inst;
    syn_host host;
    char describe[512];
};

int syn_extractor_open(const char *path, syn_store *store, const syn_host_model *model, syn_extractor **out,
                       syn_error *err)
{
    *out = NULL;
    syn_extractor *x = calloc(1, sizeof *x);
    if (!x)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    int rc = syn_capability_find(path, SYN_PLUGIN_EXTRACTOR, &x->set, &x->entry, err);
    if (!rc) {
        syn_host_init(&x->host, x->entry->desc.name, store, model);
        if (!(x->inst = x->entry->extractor.create(&x->host.api, err)))
            rc = err->code ? err->code : syn_fail(err, SYN_ERR_INVALID, "the extractor plugin's create() failed");
    }
    if (rc) {
        syn_extractor_close(x);
        return rc;
    }
    syn_capability_describe(x->entry, x->describe, sizeof x->describe);
    *out = x;
    return 0;
}

void syn_extractor_close(syn_extractor *x)
{
    if (!x)
        return;
    if (x->inst)
        x->entry->extractor.destroy(x->inst);
    syn_plugins_free(&x->set);
    free(x);
}

const char *syn_extractor_describe(const syn_extractor *x) { return x->describe; }

int syn_extractor_run(syn_extractor *x, const char *text, syn_fact_fn emit, void *user, syn_error *err)
{
    if (x->entry->extractor.extract(x->inst, text, emit, user, err))
        return err->code ? err->code : SYN_ERR_INVALID;
    return 0;
}
