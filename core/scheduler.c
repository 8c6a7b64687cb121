/* The continuous-batching scheduler (see scheduler.h). The scheduler thread
 * alone touches the syn_ctx, the slots and the sequences; the queue and the
 * stats are under s->mu; a job's output is under job->mu. A slot remembers
 * the tokens its KV holds, so a new prompt that shares a prefix with it (a
 * system prompt, a conversation so far) only runs the part after the prefix;
 * a prefix another slot holds is copied over rather than computed again, and
 * the choices of an n > 1 request copy the prompt once choice 0 has run it.
 * Copied keys and values are the ones the rows would compute (the kernels do
 * not depend on the batch), so outputs do not change. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/scheduler.h"
#include "core/server_metrics.h"
#include "core/stop.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------- jobs */

syn_job *syn_job_new(syn_job_kind kind)
{
    syn_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = kind;
    j->refs = 1;
    j->n_choices = 1;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    return j;
}

void syn_job_release(syn_job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&j->mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last)
        return;
    free(j->prompt);
    free(j->input_len);
    for (size_t i = 0; i < j->n_stops; i++)
        free(j->stops[i]);
    free(j->stops);
    syn_jschema_free(j->schema);
    if (j->out)
        for (int i = 0; i < j->n_choices; i++) {
            free(j->out[i].text);
            free(j->out[i].lps);
        }
    free(j->out);
    free(j->embd);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

void syn_job_cancel(syn_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->cancelled = 1;
    pthread_mutex_unlock(&j->mu);
}

int syn_job_finished_locked(const syn_job *j) { return j->failed || j->n_done >= j->n_choices; }

/* failed: 1 for an error, SYN_JOB_FAILED_STOPPING when the server stops */
static void job_fail_as(syn_job *j, int failed, const char *msg)
{
    pthread_mutex_lock(&j->mu);
    if (!j->failed && !syn_job_finished_locked(j)) {
        j->failed = failed;
        snprintf(j->msg, sizeof j->msg, "%s", msg);
    }
    j->version++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static void job_fail(syn_job *j, const char *msg) { job_fail_as(j, 1, msg); }

/* -------------------------------------------------------------- scheduler */

typedef struct seq {
    syn_job *job; /* NULL: this sequence is free */
    int choice;
    int slot;
    int32_t n_past;   /* tokens of this sequence written to the slot's KV */
    int32_t pending;  /* sampled token to run next, -1 while prefilling */
    int wait_slot;    /* -1, or the slot of an earlier sequence that will
                       * hold wait_len tokens of this prompt: this one
                       * copies them once they are computed (plan_wait) */
    int32_t wait_len;
    uint64_t wait_order; /* that sequence's order, to know it is still there */
    int32_t max_gen;
    double t_last;
    syn_sampler *smp;
    syn_detok dt;
    syn_stop stop;
    syn_jmatch *jm;
    uint64_t order; /* admission order: earlier prompts prefill first */
} seq;

struct syn_sched {
    syn_model *model;
    const syn_tokenizer *tok;
    syn_ctx *ctx;
    syn_sched_params p;
    syn_metrics *metrics;
    int32_t n_vocab, n_embd;
    int32_t logit_rows;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int joined;
    syn_job **queue; /* ring of max_queue */
    int q_head, q_len;
    syn_sched_stats stats;

    seq *seqs;        /* n_slots; seq i uses slot i */
    int32_t **hist;   /* per slot: the tokens its KV holds */
    int32_t *hist_len;
    uint64_t admitted;

    /* step buffers */
    int32_t *b_tok, *b_pos, *b_slot;
    uint8_t *b_want;
    int *b_seq; /* sequence of each logit row */
    float *logits;
    float *lp_scratch;
};

int syn_sched_submit(syn_sched *s, syn_job *j, syn_error *err)
{
    if (j->kind == SYN_JOB_GENERATE && (j->n_choices < 1 || j->n_choices > s->p.n_slots))
        return syn_fail(err, SYN_ERR_INVALID, "n must be from 1 to %d on this server", s->p.n_slots);
    if (!j->out && !(j->out = calloc((size_t)j->n_choices, sizeof *j->out)))
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->stopping)
        rc = syn_fail(err, SYN_ERR_INVALID, "the server is shutting down");
    else if (s->q_len == s->p.max_queue)
        rc = syn_fail(err, SYN_ERR_RANGE, "too many requests are waiting (%d); retry shortly", s->p.max_queue);
    else {
        pthread_mutex_lock(&j->mu);
        j->refs++;
        j->t_submit = now_s();
        pthread_mutex_unlock(&j->mu);
        s->queue[(s->q_head + s->q_len++) % s->p.max_queue] = j;
        s->stats.queued = s->q_len;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void syn_sched_get_stats(syn_sched *s, syn_sched_stats *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->stats;
    pthread_mutex_unlock(&s->mu);
}

static int32_t common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
    int32_t i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

static void seq_release(syn_sched *s, seq *q)
{
    syn_sampler_free(q->smp);
    syn_detok_free(&q->dt);
    syn_stop_free(&q->stop);
    syn_jmatch_free(q->jm);
    syn_job *j = q->job;
    s->hist_len[q->slot] = q->n_past; /* what the KV really holds now */
    memset(q, 0, sizeof *q);
    q->slot = (int)(q - s->seqs);
    syn_job_release(j);
}

/* Appends final text (and logprobs) to the choice and wakes the waiter. */
static int out_append(syn_job *j, syn_choice_out *o, const char *text, size_t n, const syn_token_lp *lp)
{
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    if (n) {
        if (o->len + n > o->cap) {
            size_t cap = o->cap ? o->cap : 256;
            while (cap < o->len + n)
                cap *= 2;
            char *t = realloc(o->text, cap);
            if (!t)
                rc = -1;
            else {
                o->text = t;
                o->cap = cap;
            }
        }
        if (!rc) {
            memcpy(o->text + o->len, text, n);
            o->len += n;
        }
    }
    if (lp && !rc) {
        if (o->n_lps == o->cap_lps) {
            size_t cap = o->cap_lps ? o->cap_lps * 2 : 16;
            syn_token_lp *t = realloc(o->lps, cap * sizeof *t);
            if (!t)
                rc = -1;
            else {
                o->lps = t;
                o->cap_lps = cap;
            }
        }
        if (!rc)
            o->lps[o->n_lps++] = *lp;
    }
    j->version++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

static void seq_finish(syn_sched *s, seq *q, syn_finish why)
{
    syn_job *j = q->job;
    syn_choice_out *o = &j->out[q->choice];
    if (why != SYN_FINISH_ERROR) {
        /* what the detokenizer and the stop matcher still hold is final now */
        const char *piece, *out;
        size_t piece_len, out_len;
        int stopped = 0;
        syn_detok_flush(&q->dt, &piece, &piece_len);
        if (syn_stop_feed(&q->stop, piece, piece_len, &out, &out_len, &stopped) == 0)
            out_append(j, o, out, out_len, NULL);
        if (stopped)
            why = SYN_FINISH_STOP;
        else {
            syn_stop_flush(&q->stop, &out, &out_len);
            out_append(j, o, out, out_len, NULL);
        }
    }
    pthread_mutex_lock(&j->mu);
    o->finish = why;
    j->n_done++;
    j->version++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (s->metrics)
        syn_metrics_tokens(s->metrics, q->choice == 0 ? (uint64_t)j->n_prompt : 0, (uint64_t)o->n_gen);
    seq_release(s, q);
}

/* The tokens whose KV slot i holds now: an active sequence's computed
 * positions, or what a free slot was left with. Only called between steps,
 * when every row added so far has run. */
static int32_t slot_valid(const syn_sched *s, int i)
{
    return s->seqs[i].job ? s->seqs[i].n_past : s->hist_len[i];
}

/* Gives q the keys and values of prompt[0..n) from slot donor, which holds
 * them; 0, or nonzero (q unchanged) when the backend cannot copy. */
static int copy_kv(syn_sched *s, seq *q, int donor, const int32_t *prompt, int32_t n)
{
    if (syn_ctx_kv_copy(s->ctx, donor, q->slot, n, NULL))
        return -1;
    memcpy(s->hist[q->slot], prompt, sizeof(int32_t) * (size_t)n);
    q->n_past = n;
    return 0;
}

/* Moves q's start past the longest prefix of j's prompt (short of its last
 * token) that another slot holds, copying those keys and values into q's
 * slot (nothing changes when no slot holds more or the backend cannot).
 * Keys and values depend on the tokens alone while every row runs the base
 * model; once rows carry LoRA adapters, a slot's history must name its
 * adapter too, here and in seq_start's own-slot reuse. */
static void copy_prefix(syn_sched *s, seq *q, const syn_job *j)
{
    int donor = -1;
    int32_t best = q->n_past;
    for (int i = 0; i < s->p.n_slots; i++) {
        if (i == q->slot)
            continue;
        int32_t l = common_prefix(s->hist[i], slot_valid(s, i), j->prompt, j->n_prompt - 1);
        if (l > best) {
            best = l;
            donor = i;
        }
    }
    if (donor >= 0)
        copy_kv(s, q, donor, j->prompt, best);
}

/* A sequence waits only when that saves at least this many tokens. */
#define WAIT_MIN_GAIN 8

/* Requests that arrive together often share a system prompt, and the
 * choices of an n > 1 request share all of theirs. Rather than compute a
 * shared prefix in every slot in the same step, q waits for the earlier
 * sequence still prefilling the longest such prefix and copies it from
 * there once it has run (see step). Waits only point at earlier
 * sequences, so they never form a cycle. */
static void plan_wait(syn_sched *s, seq *q, const syn_job *j)
{
    int32_t best = q->n_past + WAIT_MIN_GAIN - 1;
    for (int i = 0; i < s->p.n_slots; i++) {
        const seq *d = &s->seqs[i];
        if (!d->job || d == q)
            continue;
        int32_t l = common_prefix(s->hist[i], d->job->n_prompt, j->prompt, j->n_prompt - 1);
        if (l > best && l > d->n_past) {
            best = l;
            q->wait_slot = i;
            q->wait_len = l;
            q->wait_order = d->order;
        }
    }
}

/* Starts choice c of job j in a free sequence, reusing the slot whose KV
 * shares the longest prefix with the prompt. */
static int seq_start(syn_sched *s, syn_job *j, int c, syn_error *err)
{
    int best = -1;
    int32_t best_lcp = -1;
    for (int i = 0; i < s->p.n_slots; i++) {
        if (s->seqs[i].job)
            continue;
        int32_t l = common_prefix(s->hist[i], s->hist_len[i], j->prompt, j->n_prompt);
        if (l > best_lcp) {
            best_lcp = l;
            best = i;
        }
    }
    seq *q = &s->seqs[best];
    memset(q, 0, sizeof *q);
    q->slot = best;
    q->wait_slot = -1;
    syn_sampler_params sp = j->sp;
    if (sp.seed != SYN_SAMPLER_SEED_RANDOM)
        sp.seed += (uint64_t)c;
    if (!(q->smp = syn_sampler_new(&sp, err)))
        return SYN_ERR_INVALID;
    int rc = syn_sampler_accept_prompt(q->smp, j->prompt, (size_t)j->n_prompt);
    if (!rc)
        rc = syn_detok_init(&q->dt, s->tok, 0, err);
    if (!rc)
        rc = syn_stop_init(&q->stop, (const char *const *)j->stops, j->n_stops, err);
    if (!rc && j->schema && !(q->jm = syn_jmatch_new(j->schema)))
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    if (rc) {
        syn_sampler_free(q->smp);
        syn_detok_free(&q->dt);
        syn_stop_free(&q->stop);
        syn_jmatch_free(q->jm);
        memset(q, 0, sizeof *q);
        q->slot = best;
        return rc ? rc : SYN_ERR_NOMEM;
    }
    /* at least the last prompt token runs, for its logits */
    q->n_past = best_lcp < j->n_prompt ? best_lcp : j->n_prompt - 1;
    copy_prefix(s, q, j);
    plan_wait(s, q, j);
    s->hist_len[best] = q->n_past;
    memcpy(s->hist[best] + q->n_past, j->prompt + q->n_past, sizeof(int32_t) * (size_t)(j->n_prompt - q->n_past));
    if (s->metrics)
        syn_metrics_prompt_cached(s->metrics, (uint64_t)q->n_past);
    q->pending = -1;
    int32_t room = s->p.n_ctx - j->n_prompt;
    q->max_gen = j->max_tokens > 0 && j->max_tokens < room ? j->max_tokens : room;
    q->order = s->admitted++;
    q->choice = c;
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
    q->job = j;
    return 0;
}

static int free_seqs(const syn_sched *s)
{
    int n = 0;
    for (int i = 0; i < s->p.n_slots; i++)
        n += !s->seqs[i].job;
    return n;
}

/* Embeddings run on their own, on a free slot, between steps: every row
 * wants its hidden state, and the pooled mean of them is normalised. */
static void run_embed(syn_sched *s, syn_job *j, int slot)
{
    syn_error err = {0};
    int32_t chunk = s->p.max_rows < s->logit_rows ? s->p.max_rows : s->logit_rows;
    float *hidden = malloc(sizeof(float) * (size_t)chunk * (size_t)s->n_embd);
    float *embd = calloc((size_t)j->n_inputs * (size_t)s->n_embd, sizeof(float));
    double *acc = calloc((size_t)s->n_embd, sizeof(double));
    if (!hidden || !embd || !acc) {
        job_fail(j, "out of memory");
        goto done;
    }
    const int32_t *in = j->prompt;
    for (int32_t k = 0; k < j->n_inputs; k++) {
        int32_t n = j->input_len[k];
        memset(acc, 0, sizeof(double) * (size_t)s->n_embd);
        for (int32_t i = 0; i < n; i += chunk) {
            int32_t m = n - i < chunk ? n - i : chunk;
            for (int32_t r = 0; r < m; r++) {
                s->b_tok[r] = in[i + r];
                s->b_pos[r] = i + r;
                s->b_slot[r] = slot;
                s->b_want[r] = 1;
            }
            syn_batch b = {.n = m, .token = s->b_tok, .pos = s->b_pos, .slot = s->b_slot, .want_logits = s->b_want,
                           .n_prompt = m};
            if (syn_forward_hidden(s->ctx, &b, hidden, &err)) {
                job_fail(j, err.msg);
                goto done;
            }
            for (int32_t r = 0; r < m; r++)
                for (int32_t e = 0; e < s->n_embd; e++)
                    acc[e] += hidden[(size_t)r * (size_t)s->n_embd + (size_t)e];
        }
        double norm = 0;
        for (int32_t e = 0; e < s->n_embd; e++) {
            acc[e] /= n;
            norm += acc[e] * acc[e];
        }
        norm = sqrt(norm);
        for (int32_t e = 0; e < s->n_embd; e++)
            embd[(size_t)k * (size_t)s->n_embd + (size_t)e] = (float)(norm > 0 ? acc[e] / norm : 0);
        in += n;
    }
    pthread_mutex_lock(&j->mu);
    j->embd = embd;
    j->n_embd = s->n_embd;
    embd = NULL;
    j->n_done = j->n_choices;
    j->version++;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (s->metrics)
        syn_metrics_tokens(s->metrics, (uint64_t)j->n_prompt, 0);
done:
    s->hist_len[slot] = 0; /* its KV now holds the embedding inputs */
    free(hidden);
    free(embd);
    free(acc);
}

/* Moves queued jobs into free sequences, in order (a job waits for all the
 * slots its n choices need, so no job starves behind smaller ones). */
static void admit(syn_sched *s)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        syn_job *j = s->q_len ? s->queue[s->q_head] : NULL;
        int need = j ? (j->kind == SYN_JOB_EMBED ? 1 : j->n_choices) : 0;
        if (!j || free_seqs(s) < need) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        s->q_head = (s->q_head + 1) % s->p.max_queue;
        s->q_len--;
        s->stats.queued = s->q_len;
        pthread_mutex_unlock(&s->mu);

        pthread_mutex_lock(&j->mu);
        int cancelled = j->cancelled;
        pthread_mutex_unlock(&j->mu);
        if (cancelled) {
            job_fail(j, "cancelled");
        } else if (j->kind == SYN_JOB_EMBED) {
            int slot = 0;
            while (s->seqs[slot].job)
                slot++;
            run_embed(s, j, slot);
        } else {
            syn_error err = {0};
            for (int c = 0; c < j->n_choices; c++)
                if (seq_start(s, j, c, &err)) {
                    job_fail(j, err.msg);
                    for (int i = 0; i < s->p.n_slots; i++)
                        if (s->seqs[i].job == j)
                            seq_release(s, &s->seqs[i]);
                    break;
                }
        }
        syn_job_release(j); /* the queue's reference */
    }
}

/* Samples the next token of q from its logits row and publishes its text. */
static void seq_sample(syn_sched *s, seq *q, float *logits)
{
    syn_job *j = q->job;
    syn_choice_out *o = &j->out[q->choice];
    syn_token_lp lp, *lpp = NULL;
    if (j->logprobs)
        memcpy(s->lp_scratch, logits, sizeof(float) * (size_t)s->n_vocab);
    if (q->jm && syn_jmatch_mask(q->jm, s->tok, logits, s->n_vocab) == 0) {
        job_fail(j, "constrained decoding found no token that keeps the output valid for response_format");
        seq_finish(s, q, SYN_FINISH_ERROR);
        return;
    }
    int32_t t = syn_sampler_sample(q->smp, logits, s->n_vocab);
    if (t < 0) {
        job_fail(j, "sampling failed");
        seq_finish(s, q, SYN_FINISH_ERROR);
        return;
    }
    double now = now_s();
    if (s->metrics) {
        if (o->n_gen == 0 && q->choice == 0)
            syn_metrics_ttft(s->metrics, now - j->t_submit);
        else if (q->t_last > 0)
            syn_metrics_token_latency(s->metrics, now - q->t_last);
    }
    q->t_last = now;
    if (!j->t_first) {
        pthread_mutex_lock(&j->mu);
        j->t_first = now;
        pthread_mutex_unlock(&j->mu);
    }
    if (syn_tokenizer_is_eog(s->tok, t)) {
        seq_finish(s, q, SYN_FINISH_STOP);
        return;
    }
    if (j->logprobs) {
        lp.id = t;
        lp.n_top = syn_sampler_logprobs(s->lp_scratch, s->n_vocab, t, &lp.logprob, j->top_logprobs, lp.top_id,
                                        lp.top_lp);
        if (lp.n_top < 0)
            lp.n_top = 0;
        lpp = &lp;
    }
    o->n_gen++;
    syn_sampler_accept(q->smp, t);
    const char *piece, *out;
    size_t piece_len, out_len = 0;
    int stopped = 0;
    if (q->jm) {
        size_t n;
        const char *p = syn_tokenizer_piece(s->tok, t, 0, &n);
        syn_jmatch_feed(q->jm, p, n); /* the mask allowed it, so it fits */
    }
    if (syn_detok_push(&q->dt, t, &piece, &piece_len) ||
        syn_stop_feed(&q->stop, piece, piece_len, &out, &out_len, &stopped) ||
        out_append(j, o, out, out_len, lpp)) {
        job_fail(j, "out of memory");
        seq_finish(s, q, SYN_FINISH_ERROR);
        return;
    }
    if (stopped) {
        seq_finish(s, q, SYN_FINISH_STOP);
        return;
    }
    if (o->n_gen >= q->max_gen || q->n_past + 1 >= s->p.n_ctx) {
        seq_finish(s, q, SYN_FINISH_LENGTH);
        return;
    }
    q->pending = t;
}

/* One forward step over every active sequence. Returns 0 when there was
 * nothing to run. */
static int step(syn_sched *s)
{
    int32_t rows = 0, n_logit = 0;
    /* cancelled jobs leave first, freeing their slots */
    for (int i = 0; i < s->p.n_slots; i++) {
        seq *q = &s->seqs[i];
        if (!q->job)
            continue;
        pthread_mutex_lock(&q->job->mu);
        int gone = q->job->cancelled || q->job->failed;
        pthread_mutex_unlock(&q->job->mu);
        if (gone)
            seq_finish(s, q, SYN_FINISH_ERROR);
    }
    /* a sequence waiting for another's prompt prefix copies it once that
     * has run; if that sequence is gone, whatever some slot still holds */
    for (int i = 0; i < s->p.n_slots; i++) {
        seq *q = &s->seqs[i];
        if (!q->job || q->wait_slot < 0)
            continue;
        const seq *d = &s->seqs[q->wait_slot];
        int there = d->job && d->order == q->wait_order;
        if (there && d->n_past < q->wait_len)
            continue;
        int32_t before = q->n_past;
        if (there)
            copy_kv(s, q, q->wait_slot, q->job->prompt, q->wait_len);
        else
            copy_prefix(s, q, q->job);
        if (s->metrics && q->n_past > before)
            syn_metrics_prompt_cached(s->metrics, (uint64_t)(q->n_past - before));
        q->wait_slot = -1;
    }
    /* decode rows: one per generating sequence */
    for (int i = 0; i < s->p.n_slots; i++) {
        seq *q = &s->seqs[i];
        if (!q->job || q->pending < 0)
            continue;
        s->b_tok[rows] = q->pending;
        s->b_pos[rows] = q->n_past;
        s->b_slot[rows] = q->slot;
        s->b_want[rows] = 1;
        s->b_seq[n_logit++] = i;
        s->hist[q->slot][q->n_past] = q->pending;
        rows++;
    }
    /* prefill chunks, oldest prompt first, in what is left of the step */
    int32_t n_decode = rows;
    for (;;) {
        seq *best = NULL;
        for (int i = 0; i < s->p.n_slots; i++) {
            seq *q = &s->seqs[i];
            if (q->job && q->pending < 0 && q->wait_slot < 0 && q->n_past < q->job->n_prompt &&
                (!best || q->order < best->order))
                best = q;
        }
        if (!best || rows == s->p.max_rows)
            break;
        int32_t left = best->job->n_prompt - best->n_past, room = s->p.max_rows - rows;
        int32_t m = left < room ? left : room;
        for (int32_t r = 0; r < m; r++) {
            s->b_tok[rows + r] = best->job->prompt[best->n_past + r];
            s->b_pos[rows + r] = best->n_past + r;
            s->b_slot[rows + r] = best->slot;
            s->b_want[rows + r] = 0;
        }
        rows += m;
        best->n_past += m;
        if (m == left) {
            s->b_want[rows - 1] = 1;
            s->b_seq[n_logit++] = (int)(best - s->seqs);
        }
        /* a partly prefilled prompt goes on next step; mark it so the loop
         * moves on to the next prompt only when this one is done */
        if (m < left)
            break;
        best->pending = -2; /* prefilled: waits for its logits below */
    }
    if (!rows)
        return 0;
    syn_error err = {0};
    syn_batch b = {.n = rows, .token = s->b_tok, .pos = s->b_pos, .slot = s->b_slot, .want_logits = s->b_want,
                   .n_prompt = rows - n_decode};
    int rc = syn_forward(s->ctx, &b, s->logits, &err);
    for (int k = 0; k < n_logit; k++) {
        seq *q = &s->seqs[s->b_seq[k]];
        if (q->pending >= 0)
            q->n_past++; /* the decode row is now in the KV */
        if (rc) {
            job_fail(q->job, err.msg);
            seq_finish(s, q, SYN_FINISH_ERROR);
            continue;
        }
        seq_sample(s, q, s->logits + (size_t)k * (size_t)s->n_vocab);
    }
    pthread_mutex_lock(&s->mu);
    s->stats.steps++;
    s->stats.rows += (uint64_t)rows;
    int32_t active = 0;
    int64_t kv = 0;
    for (int i = 0; i < s->p.n_slots; i++)
        if (s->seqs[i].job) {
            active++;
            kv += s->seqs[i].n_past;
        }
    s->stats.active = active;
    s->stats.kv_used = kv;
    pthread_mutex_unlock(&s->mu);
    return 1;
}

static void *sched_main(void *arg)
{
    syn_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->stopping && !s->q_len && !s->stats.active)
            pthread_cond_wait(&s->cv, &s->mu);
        int stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        admit(s);
        if (!step(s)) {
            pthread_mutex_lock(&s->mu);
            s->stats.active = 0;
            s->stats.kv_used = 0;
            pthread_mutex_unlock(&s->mu);
        }
    }
    /* shutting down: every job still here fails, so its waiter returns */
    for (int i = 0; i < s->p.n_slots; i++)
        if (s->seqs[i].job) {
            job_fail_as(s->seqs[i].job, SYN_JOB_FAILED_STOPPING, "the server is shutting down");
            seq_finish(s, &s->seqs[i], SYN_FINISH_ERROR);
        }
    pthread_mutex_lock(&s->mu);
    while (s->q_len) {
        syn_job *j = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % s->p.max_queue;
        s->q_len--;
        pthread_mutex_unlock(&s->mu);
        job_fail_as(j, SYN_JOB_FAILED_STOPPING, "the server is shutting down");
        syn_job_release(j);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void sched_free_buffers(syn_sched *s)
{
    if (s->hist)
        for (int i = 0; i < s->p.n_slots; i++)
            free(s->hist[i]);
    free(s->hist);
    free(s->hist_len);
    free(s->seqs);
    free(s->queue);
    free(s->b_tok);
    free(s->b_pos);
    free(s->b_slot);
    free(s->b_want);
    free(s->b_seq);
    free(s->logits);
    free(s->lp_scratch);
}

int syn_sched_new(syn_model *m, const syn_tokenizer *tok, const syn_sched_params *p, struct syn_metrics *metrics,
                  syn_sched **out, syn_error *err)
{
    *out = NULL;
    if (p->n_slots < 1 || p->n_ctx < 8 || p->max_rows < 1 || p->max_queue < 1)
        return syn_fail(err, SYN_ERR_INVALID, "scheduler: slots, context, rows and queue must be positive");
    syn_sched *s = calloc(1, sizeof *s);
    if (!s)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    s->model = m;
    s->tok = tok;
    s->p = *p;
    if (s->p.max_rows < s->p.n_slots)
        s->p.max_rows = s->p.n_slots; /* every sequence decodes in every step */
    s->metrics = metrics;
    const syn_model_config *cfg = syn_model_get_config(m);
    s->n_vocab = cfg->n_vocab;
    s->n_embd = cfg->n_embd;
    s->logit_rows = s->p.n_slots > 32 ? s->p.n_slots : 32;
    if (s->logit_rows > s->p.max_rows)
        s->logit_rows = s->p.max_rows; /* a step never holds more rows than that */
    size_t rows = (size_t)s->p.max_rows, ns = (size_t)s->p.n_slots;
    s->seqs = calloc(ns, sizeof *s->seqs);
    s->hist = calloc(ns, sizeof *s->hist);
    s->hist_len = calloc(ns, sizeof *s->hist_len);
    s->queue = calloc((size_t)s->p.max_queue, sizeof *s->queue);
    s->b_tok = malloc(rows * sizeof(int32_t));
    s->b_pos = malloc(rows * sizeof(int32_t));
    s->b_slot = malloc(rows * sizeof(int32_t));
    s->b_want = malloc(rows);
    s->b_seq = malloc((size_t)s->logit_rows * sizeof(int));
    s->logits = malloc((size_t)s->logit_rows * (size_t)s->n_vocab * sizeof(float));
    s->lp_scratch = malloc((size_t)s->n_vocab * sizeof(float));
    int bad = !s->seqs || !s->hist || !s->hist_len || !s->queue || !s->b_tok || !s->b_pos || !s->b_slot ||
              !s->b_want || !s->b_seq || !s->logits || !s->lp_scratch;
    for (size_t i = 0; !bad && i < ns; i++) {
        s->seqs[i].slot = (int)i;
        bad = !(s->hist[i] = malloc(sizeof(int32_t) * (size_t)s->p.n_ctx));
    }
    if (bad) {
        sched_free_buffers(s);
        free(s);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory for the scheduler");
    }
    syn_ctx_params cp = {.n_ctx = s->p.n_ctx, .n_slots = s->p.n_slots, .max_rows = s->p.max_rows,
                         .max_logit_rows = s->logit_rows};
    int rc = syn_ctx_new(m, &cp, &s->ctx, err);
    if (rc) {
        sched_free_buffers(s);
        free(s);
        return rc;
    }
    s->stats.n_slots = s->p.n_slots;
    s->stats.n_ctx = s->p.n_ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, sched_main, s)) {
        syn_ctx_free(s->ctx);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        sched_free_buffers(s);
        free(s);
        return syn_fail(err, SYN_ERR_NOMEM, "cannot start the scheduler thread");
    }
    *out = s;
    return 0;
}

void syn_sched_stop(syn_sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    int joined = s->joined;
    s->stopping = 1;
    s->joined = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (!joined)
        pthread_join(s->thread, NULL);
}

void syn_sched_free(syn_sched *s)
{
    if (!s)
        return;
    syn_sched_stop(s);
    syn_ctx_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sched_free_buffers(s);
    free(s);
}
