/* One sequence's generation, token by token: the sampler, an optional
 * constraint, the detokenizer, stop strings and log-probabilities in the
 * order every caller needs them. The scheduler runs one per choice; `synapse
 * run` runs one alone. A syn_generator belongs to one thread at a time. */
#ifndef SYNAPSE_GENERATE_H
#define SYNAPSE_GENERATE_H

#include <stddef.h>
#include <stdint.h>
#include <synapse/common.h>
#include <synapse/constraint.h>
#include <synapse/sampler.h>
#include <synapse/tokenizer.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYN_MAX_TOP_LOGPROBS 20

typedef enum syn_finish { SYN_FINISH_NONE = 0, SYN_FINISH_STOP, SYN_FINISH_LENGTH, SYN_FINISH_ERROR } syn_finish;

/* The log-probability of a drawn token and of the most likely alternatives,
 * from the model's logits before any penalty, filter or constraint. */
typedef struct syn_token_lp {
    int32_t id;
    float logprob;
    int32_t n_top;
    int32_t top_id[SYN_MAX_TOP_LOGPROBS];
    float top_lp[SYN_MAX_TOP_LOGPROBS];
} syn_token_lp;

/* A token's logit moved before every draw (OpenAI's logit_bias). */
typedef struct syn_logit_bias {
    int32_t token;
    float bias; /* -100 bans it in effect, +100 all but forces it */
} syn_logit_bias;

typedef struct syn_gen_params {
    syn_sampler_params sp;
    const char *const *stops; /* copied */
    size_t n_stops;
    int logprobs;     /* fill syn_gen_step.lp */
    int top_logprobs; /* 0..SYN_MAX_TOP_LOGPROBS alternatives with it */
    const syn_constraint *constraint; /* NULL: none; borrowed, must outlive the generator */
    int confidence; /* keep syn_gen_stats (one pass over the logits per token more) */
    const syn_logit_bias *bias; /* n_bias of them, copied; added after the constraint's mask */
    size_t n_bias;
} syn_gen_params;

/* What the model thought of its own tokens, over every token drawn that is
 * not end-of-generation, under its own distribution (temperature 1, before
 * penalties, filters and constraints): the raw material of an answer's
 * confidence. */
typedef struct syn_gen_stats {
    int32_t n;            /* tokens counted */
    double sum_logprob;   /* of the tokens drawn */
    float min_logprob;    /* 0 when n == 0 */
    double sum_entropy;   /* nats, of each token's distribution */
    int32_t n_vocab;      /* for the entropy's ceiling, log(n_vocab) */
} syn_gen_stats;

/* What one token produced. */
typedef struct syn_gen_step {
    int32_t token;    /* the token drawn (an end-of-generation token too) */
    const char *text; /* final text it released, past the stop matcher;
                       * valid until the next call on the generator */
    size_t len;
    int has_lp;       /* lp is set: logprobs were asked for and the token
                       * is not end-of-generation */
    syn_token_lp lp;
} syn_gen_step;

typedef struct syn_generator syn_generator;

/* The prompt feeds the sampler's repeat-penalty window. */
SYN_API int syn_generator_new(const syn_gen_params *p, const syn_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                              syn_generator **out, syn_error *err);
SYN_API void syn_generator_free(syn_generator *g);

/* Draws the next token from one row of logits (n_vocab floats, changed in
 * place). SYN_FINISH_NONE: go on, with step->token as the next input;
 * SYN_FINISH_STOP: an end-of-generation token or a stop string ended the
 * sequence, and step->text holds the rest of its text; SYN_FINISH_ERROR:
 * err says why (no token fits the constraint, out of memory). */
SYN_API syn_finish syn_generator_next(syn_generator *g, float *logits, int32_t n_vocab, syn_gen_step *step,
                                      syn_error *err);

/* The caller ends the sequence (why: SYN_FINISH_LENGTH): the text the
 * detokenizer and the stop matcher still hold is final now. Returns why, or
 * SYN_FINISH_STOP when that text completes a stop string. */
/* The stats so far (all zero unless the params asked for confidence). */
SYN_API void syn_generator_stats(const syn_generator *g, syn_gen_stats *out);

SYN_API syn_finish syn_generator_end(syn_generator *g, syn_finish why, const char **text, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
