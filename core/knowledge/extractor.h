/* The extractor glue: the extractor plugin (plugins/extractor, or the .so
 * config plugins.extractor names) loaded through the ABI, asked for the
 * facts of a text. Any thread (the plugin is stateless or locks). */
#ifndef SYN_CORE_KNOWLEDGE_EXTRACTOR_H
#define SYN_CORE_KNOWLEDGE_EXTRACTOR_H

#include <synapse/plugin.h>

#include "core/swarm/host.h"

typedef struct syn_extractor syn_extractor;

/* As syn_router_open: path NULL searches; SYN_ERR_NOT_FOUND when none. */
int syn_extractor_open(const char *path, syn_store *store, const syn_host_model *model, syn_extractor **out,
                       syn_error *err);
void syn_extractor_close(syn_extractor *x);
const char *syn_extractor_describe(const syn_extractor *x);
/* The facts text states, each through emit (as written: normalise them). */
int syn_extractor_run(syn_extractor *x, const char *text, syn_fact_fn emit, void *user, syn_error *err);

#endif
