/* Constrained decoding: a constraint limits, token by token, what a sequence
 * may generate (a JSON schema, whole or from a tool call's tag on). The engine only
 * sees this interface; an implementation provides a shared, immutable spec
 * and a per-sequence state made from it. Each call on a state comes from the
 * one thread that runs that sequence. */
#ifndef SYNAPSE_CONSTRAINT_H
#define SYNAPSE_CONSTRAINT_H

#include <stdint.h>
#include <synapse/common.h>
#include <synapse/tokenizer.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_constraint_ops {
    /* A fresh state for one sequence, nothing generated yet; NULL when out
     * of memory. */
    void *(*begin)(const void *spec);
    /* Sets the logits of tokens that would break the output to -inf (end of
     * generation included, while the output is incomplete). Returns how many
     * tokens stay allowed; 0 means nothing can follow. */
    int32_t (*mask)(void *state, const syn_tokenizer *tok, float *logits, int32_t n_vocab);
    /* A token the last mask allowed joins the output. */
    void (*accept)(void *state, const syn_tokenizer *tok, int32_t token);
    void (*end)(void *state);
    /* Frees the spec. */
    void (*free_spec)(void *spec);
} syn_constraint_ops;

/* A constraint as jobs carry it: ops plus the spec, and the name of what
 * asked for it ("response_format"), for error messages. */
typedef struct syn_constraint {
    const syn_constraint_ops *ops;
    void *spec;
    const char *what;
} syn_constraint;

/* Frees c's spec (when ops is set) and zeroes c. */
SYN_API void syn_constraint_free(syn_constraint *c);

#ifdef __cplusplus
}
#endif
#endif
