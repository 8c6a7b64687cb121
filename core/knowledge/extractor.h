/* The extractor and verifier glue: their plugins (plugins/extractor and
 * plugins/verifier, or the .so config plugins.KIND names) loaded through
 * the ABI (core/swarm/capability.c). Any thread: both plugins are
 * stateless. */
#ifndef SYN_CORE_KNOWLEDGE_EXTRACTOR_H
#define SYN_CORE_KNOWLEDGE_EXTRACTOR_H

#include <synapse/plugin.h>

#include "core/swarm/capability.h"

/* The facts text states, each through emit (as written: normalise them). */
int syn_extractor_run(syn_capability *x, const char *text, syn_fact_fn emit, void *user, syn_error *err);
/* The claims of answer (to question), each labelled, through emit. */
int syn_verifier_run(syn_capability *v, const char *question, const char *answer, syn_claim_fn emit, void *user,
                     syn_error *err);

#endif
