/* The extractor and verifier glue (see extractor.h). */
#include "core/knowledge/extractor.h"

int syn_extractor_run(syn_capability *x, const char *text, syn_fact_fn emit, void *user, syn_error *err)
{
    if (x->entry->extractor.extract(x->inst, text, emit, user, err))
        return err->code ? err->code : SYN_ERR_INVALID;
    return 0;
}

int syn_verifier_run(syn_capability *v, const char *question, const char *answer, syn_claim_fn emit, void *user,
                     syn_error *err)
{
    if (v->entry->verifier.verify(v->inst, question, answer, emit, user, err))
        return err->code ? err->code : SYN_ERR_INVALID;
    return 0;
}
