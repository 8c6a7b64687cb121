/* Token sampler: per-sequence state (penalty history, PRNG, scratch) so every
 * row of a server batch carries its own. A syn_sampler is used by one thread
 * at a time; different samplers are independent. syn_sampler_logprobs is
 * stateless and may be called from any thread.
 *
 * Pipeline, in this order (llama.cpp's common default order):
 *   penalties -> top_k -> top_p -> min_p -> temperature -> draw
 *  - repeat penalty (llama.cpp style) over the last repeat_last_n tokens
 *    accepted, prompt included: each distinct token's logit l becomes l / p
 *    when l > 0 and l * p otherwise;
 *  - presence/frequency penalties (OpenAI semantics) over the tokens generated
 *    so far (syn_sampler_accept, not the prompt), not windowed:
 *    l -= presence * (count > 0) + frequency * count;
 *  - top_k keeps the k highest logits;
 *  - top_p keeps the smallest prefix (by probability at temperature 1,
 *    normalised over what top_k left) whose mass reaches top_p, always >= 1;
 *  - min_p keeps tokens with p >= min_p * p_max;
 *  - temperature scales the surviving logits, then one token is drawn.
 * temperature == 0 is greedy: argmax of the penalised logits, lowest id on ties
 * (filters cannot change the argmax, so they are skipped).
 * Ties in any ordering are broken by the lower token id, so a given seed and
 * input always give the same token. */
#ifndef SYNAPSE_SAMPLER_H
#define SYNAPSE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <synapse/common.h>

/* Ask syn_sampler_new for a seed from the OS entropy pool. */
#define SYN_SAMPLER_SEED_RANDOM UINT64_MAX

typedef struct syn_sampler_params {
    float temperature;       /* >= 0; 0 = greedy */
    int32_t top_k;           /* >= 0; 0 = off */
    float top_p;             /* [0, 1]; 1 = off */
    float min_p;             /* [0, 1]; 0 = off */
    float repeat_penalty;    /* > 0; 1 = off */
    int32_t repeat_last_n;   /* window in tokens; 0 = off, -1 = everything accepted */
    float presence_penalty;  /* OpenAI range -2..2; 0 = off */
    float frequency_penalty; /* OpenAI range -2..2; 0 = off */
    uint64_t seed;           /* same seed, same inputs -> same tokens */
} syn_sampler_params;

typedef struct syn_sampler syn_sampler;

/* temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, repeat_penalty 1 (off)
 * with repeat_last_n 64, no presence/frequency penalty, seed
 * SYN_SAMPLER_SEED_RANDOM (set a number for reproducible output). */
SYN_API syn_sampler_params syn_sampler_params_default(void);

/* Validates and copies params. NULL on failure, with err filled. */
SYN_API syn_sampler *syn_sampler_new(const syn_sampler_params *params, syn_error *err);
SYN_API void syn_sampler_free(syn_sampler *s);

/* The seed in use (the one drawn when params asked for a random one). */
SYN_API uint64_t syn_sampler_seed(const syn_sampler *s);
SYN_API const syn_sampler_params *syn_sampler_get_params(const syn_sampler *s);

/* Forgets the history and re-seeds the PRNG from the seed in use, so a reused
 * sampler behaves exactly like a new one. Keeps its scratch memory. */
SYN_API void syn_sampler_reset(syn_sampler *s);

/* History for the penalties. Prompt tokens feed only the repeat-penalty
 * window; generated tokens (the ones sampled and kept) feed both it and the
 * presence/frequency counts. Return 0, SYN_ERR_INVALID for a negative token,
 * SYN_ERR_NOMEM. */
SYN_API int syn_sampler_accept_prompt(syn_sampler *s, const int32_t *tokens, size_t n);
SYN_API int syn_sampler_accept(syn_sampler *s, int32_t token);

/* Picks the next token from n_vocab logits, which it may overwrite (penalties
 * are applied in place; NaN becomes -inf). Does not accept the token: call
 * syn_sampler_accept when it is kept. Returns the token id (>= 0), or
 * SYN_ERR_INVALID / SYN_ERR_NOMEM. Scratch memory is allocated on the first
 * call that needs it (top_p/min_p without top_k: one entry per vocab item;
 * top_k: k entries) and reused afterwards. */
SYN_API int32_t syn_sampler_sample(syn_sampler *s, float *logits, int32_t n_vocab);

/* Log-probabilities under the model's own distribution, log_softmax(logits)
 * at temperature 1 with no penalties or filters -- what OpenAI's logprobs
 * report. Pass the raw logits, i.e. call this before syn_sampler_sample or on
 * a copy. Writes the logprob of `token` to *token_logprob (if not NULL) and
 * the n_top most likely tokens, best first (ties: lower id), to top_ids /
 * top_logprobs (may be NULL when n_top is 0). Returns how many top entries
 * were written (min(n_top, n_vocab)), or SYN_ERR_INVALID. */
SYN_API int syn_sampler_logprobs(const float *logits, int32_t n_vocab, int32_t token, float *token_logprob,
                         int32_t n_top, int32_t *top_ids, float *top_logprobs);

/* Under the same distribution: the logprob of `token` and the entropy of the
 * whole distribution in nats (0: all mass on one token; log(n_vocab):
 * uniform). SYN_ERR_INVALID for bad arguments. */
SYN_API int syn_sampler_entropy(const float *logits, int32_t n_vocab, int32_t token, float *token_logprob,
                                float *entropy);

#endif
