/* A compiled JSON schema behind the engine's constraint interface: each
 * sequence gets its own matcher; a token joins as its text. */
#include "core/sample/json_schema.h"

static void *begin(const void *spec) { return syn_jmatch_new(spec); }

static int32_t mask(void *state, const syn_tokenizer *tok, float *logits, int32_t n_vocab)
{
    return syn_jmatch_mask(state, tok, logits, n_vocab);
}

static void accept(void *state, const syn_tokenizer *tok, int32_t token)
{
    size_t n;
    const char *p = syn_tokenizer_piece(tok, token, 0, &n);
    syn_jmatch_feed(state, p, n);
}

static void end(void *state) { syn_jmatch_free(state); }

static void free_spec(void *spec) { syn_jschema_free(spec); }

static const syn_constraint_ops json_ops = {
    .begin = begin, .mask = mask, .accept = accept, .end = end, .free_spec = free_spec};

void syn_jschema_constraint(syn_jschema *s, const char *what, syn_constraint *out)
{
    *out = (syn_constraint){.ops = &json_ops, .spec = s, .what = what};
}
