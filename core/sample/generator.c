/* One sequence's generation (see <synapse/generate.h>). The order matters:
 * logprobs read the model's own logits, the constraint masks before the
 * sampler draws, and text passes the detokenizer (whole UTF-8 characters)
 * before the stop matcher, which holds back what may become a stop string. */
#include <stdlib.h>
#include <string.h>

#include <synapse/generate.h>

#include "core/sample/stop.h"

struct syn_generator {
    const syn_tokenizer *tok;
    syn_sampler *smp;
    syn_detok dt;
    syn_stop stop;
    const syn_constraint *cons;
    void *cstate;
    syn_logit_bias *bias;
    size_t n_bias;
    int logprobs, top_logprobs, confidence;
    syn_gen_stats stats;
    float *lp_scratch; /* the logits as the model gave them */
    int32_t lp_cap;
    char *text; /* what the last call released */
    size_t len, cap;
};

int syn_generator_new(const syn_gen_params *p, const syn_tokenizer *tok, const int32_t *prompt, size_t n_prompt,
                      syn_generator **out, syn_error *err)
{
    *out = NULL;
    syn_generator *g = calloc(1, sizeof *g);
    if (!g)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    g->tok = tok;
    g->logprobs = p->logprobs;
    g->confidence = p->confidence;
    g->top_logprobs = p->top_logprobs < 0 ? 0 : p->top_logprobs > SYN_MAX_TOP_LOGPROBS ? SYN_MAX_TOP_LOGPROBS
                                                                                       : p->top_logprobs;
    int rc = 0;
    if (p->n_bias && (g->bias = malloc(sizeof *g->bias * p->n_bias))) {
        memcpy(g->bias, p->bias, sizeof *g->bias * p->n_bias);
        g->n_bias = p->n_bias;
    } else if (p->n_bias)
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    if (!rc && !(g->smp = syn_sampler_new(&p->sp, err)))
        rc = SYN_ERR_INVALID;
    if (!rc && syn_sampler_accept_prompt(g->smp, prompt, n_prompt))
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    if (!rc)
        rc = syn_detok_init(&g->dt, tok, 0, err);
    if (!rc)
        rc = syn_stop_init(&g->stop, p->stops, p->n_stops, err);
    if (!rc && p->constraint && p->constraint->ops) {
        g->cons = p->constraint;
        if (!(g->cstate = g->cons->ops->begin(g->cons->spec)))
            rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    if (rc) {
        syn_generator_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

void syn_generator_free(syn_generator *g)
{
    if (!g)
        return;
    syn_sampler_free(g->smp);
    syn_detok_free(&g->dt);
    syn_stop_free(&g->stop);
    if (g->cstate)
        g->cons->ops->end(g->cstate);
    free(g->lp_scratch);
    free(g->bias);
    free(g->text);
    free(g);
}

/* Appends n bytes to what this call releases. */
static int put(syn_generator *g, const char *s, size_t n)
{
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap : 64;
        while (cap < g->len + n)
            cap *= 2;
        char *t = realloc(g->text, cap);
        if (!t)
            return -1;
        g->text = t;
        g->cap = cap;
    }
    if (n)
        memcpy(g->text + g->len, s, n);
    g->len += n;
    return 0;
}

/* Flushes the detokenizer through the stop matcher, then the matcher. */
static syn_finish flush(syn_generator *g, syn_finish why)
{
    const char *piece, *out;
    size_t piece_len, out_len;
    int stopped = 0;
    syn_detok_flush(&g->dt, &piece, &piece_len);
    if (syn_stop_feed(&g->stop, piece, piece_len, &out, &out_len, &stopped) == 0 && put(g, out, out_len))
        return SYN_FINISH_ERROR;
    if (stopped)
        return SYN_FINISH_STOP;
    syn_stop_flush(&g->stop, &out, &out_len);
    return put(g, out, out_len) ? SYN_FINISH_ERROR : why;
}

static void released(syn_generator *g, const char **text, size_t *len)
{
    *text = g->text;
    *len = g->len;
}

syn_finish syn_generator_next(syn_generator *g, float *logits, int32_t n_vocab, syn_gen_step *step, syn_error *err)
{
    memset(step, 0, sizeof *step);
    step->token = -1;
    g->len = 0;
    if (g->logprobs || g->confidence) {
        if (g->lp_cap < n_vocab) {
            float *t = realloc(g->lp_scratch, sizeof(float) * (size_t)n_vocab);
            if (!t)
                return syn_fail(err, SYN_ERR_NOMEM, "out of memory"), SYN_FINISH_ERROR;
            g->lp_scratch = t;
            g->lp_cap = n_vocab;
        }
        memcpy(g->lp_scratch, logits, sizeof(float) * (size_t)n_vocab);
    }
    if (g->cstate && g->cons->ops->mask(g->cstate, g->tok, logits, n_vocab) == 0) {
        syn_fail(err, SYN_ERR_INVALID, "constrained decoding found no token that keeps the output valid for %s",
                 g->cons->what ? g->cons->what : "its constraint");
        return SYN_FINISH_ERROR;
    }
    /* the bias moves what the model and the mask left: a masked token stays out */
    for (size_t i = 0; i < g->n_bias; i++)
        if (g->bias[i].token >= 0 && g->bias[i].token < n_vocab)
            logits[g->bias[i].token] += g->bias[i].bias;
    int32_t t = syn_sampler_sample(g->smp, logits, n_vocab);
    if (t < 0) {
        syn_fail(err, SYN_ERR_INVALID, "sampling failed");
        return SYN_FINISH_ERROR;
    }
    step->token = t;
    if (syn_tokenizer_is_eog(g->tok, t)) {
        syn_finish why = flush(g, SYN_FINISH_STOP);
        released(g, &step->text, &step->len);
        if (why == SYN_FINISH_ERROR)
            syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        return why;
    }
    if (g->confidence) {
        float lp, h;
        if (!syn_sampler_entropy(g->lp_scratch, n_vocab, t, &lp, &h)) {
            syn_gen_stats *s = &g->stats;
            if (s->n == 0 || lp < s->min_logprob)
                s->min_logprob = lp;
            s->n++;
            s->sum_logprob += lp;
            s->sum_entropy += h;
            s->n_vocab = n_vocab;
        }
    }
    if (g->logprobs) {
        syn_token_lp *lp = &step->lp;
        lp->id = t;
        lp->n_top = syn_sampler_logprobs(g->lp_scratch, n_vocab, t, &lp->logprob, g->top_logprobs, lp->top_id,
                                         lp->top_lp);
        if (lp->n_top < 0)
            lp->n_top = 0;
        step->has_lp = 1;
    }
    syn_sampler_accept(g->smp, t);
    if (g->cstate)
        g->cons->ops->accept(g->cstate, g->tok, t); /* the mask allowed it, so it fits */
    const char *piece, *out;
    size_t piece_len, out_len = 0;
    int stopped = 0;
    if (syn_detok_push(&g->dt, t, &piece, &piece_len) ||
        syn_stop_feed(&g->stop, piece, piece_len, &out, &out_len, &stopped) || put(g, out, out_len)) {
        syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        return SYN_FINISH_ERROR;
    }
    released(g, &step->text, &step->len);
    return stopped ? SYN_FINISH_STOP : SYN_FINISH_NONE;
}

syn_finish syn_generator_end(syn_generator *g, syn_finish why, const char **text, size_t *len)
{
    g->len = 0;
    why = flush(g, why);
    released(g, text, len);
    return why;
}

void syn_generator_stats(const syn_generator *g, syn_gen_stats *out) { *out = g->stats; }
