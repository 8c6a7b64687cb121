/* Embedding jobs. Every row wants its hidden state, and each input's mean
 * of them, normalised, is its embedding. A job runs on one slot a chunk of
 * rows at a time, one chunk between generation steps, so a large request
 * slows generation down instead of stopping it, and a cancelled one stops
 * at the next chunk. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sched/sched_internal.h"

static int32_t chunk_rows(const syn_sched *s) { return s->p.max_rows < s->logit_rows ? s->p.max_rows : s->logit_rows; }

static void set_active(syn_sched *s, int on)
{
    pthread_mutex_lock(&s->mu);
    s->stats.embedding = on;
    pthread_mutex_unlock(&s->mu);
}

static void finish(syn_sched *s)
{
    embed_run *e = &s->emb;
    syn_kv_release(s, e->slot);
    free(e->hidden);
    free(e->out);
    free(e->acc);
    syn_job_release(e->job);
    memset(e, 0, sizeof *e);
    set_active(s, 0);
}

void syn_embed_start(syn_sched *s, syn_job *j, int slot)
{
    embed_run *e = &s->emb;
    memset(e, 0, sizeof *e);
    e->slot = slot;
    e->tokens = j->prompt;
    e->hidden = malloc(sizeof(float) * (size_t)chunk_rows(s) * (size_t)s->n_embd);
    e->out = calloc((size_t)j->n_inputs * (size_t)s->n_embd, sizeof(float));
    e->acc = calloc((size_t)s->n_embd, sizeof(double));
    syn_job_retain(j);
    e->job = j;
    set_active(s, 1);
    if (!e->hidden || !e->out || !e->acc) {
        syn_job_end(j, SYN_JOB_FAILED, "out of memory");
        finish(s);
    }
}

void syn_embed_abort(syn_sched *s, syn_job_state state, const char *msg)
{
    if (!s->emb.job)
        return;
    syn_job_end(s->emb.job, state, msg);
    finish(s);
}

/* The input's mean hidden state, of unit length, is its embedding. */
static void pool(syn_sched *s, int32_t n)
{
    embed_run *e = &s->emb;
    double norm = 0;
    for (int32_t k = 0; k < s->n_embd; k++) {
        e->acc[k] /= n;
        norm += e->acc[k] * e->acc[k];
    }
    norm = sqrt(norm);
    float *dst = e->out + (size_t)e->input * (size_t)s->n_embd;
    for (int32_t k = 0; k < s->n_embd; k++)
        dst[k] = (float)(norm > 0 ? e->acc[k] / norm : 0);
    memset(e->acc, 0, sizeof(double) * (size_t)s->n_embd);
}

void syn_embed_step(syn_sched *s)
{
    embed_run *e = &s->emb;
    syn_job *j = e->job;
    if (!j)
        return;
    if (syn_job_gone(j)) {
        syn_job_end(j, SYN_JOB_FAILED, "cancelled");
        finish(s);
        return;
    }
    int32_t n = j->input_len[e->input], m = n - e->pos < chunk_rows(s) ? n - e->pos : chunk_rows(s);
    syn_error err = {0};
    for (int32_t r = 0; r < m; r++)
        if (syn_kv_reserve(s, e->slot, e->pos + r, NULL, &err)) {
            syn_job_end(j, SYN_JOB_FAILED, err.msg);
            finish(s);
            return;
        }
    syn_adapters_begin(s);
    int32_t adapter = syn_adapters_index(s, j);
    for (int32_t r = 0; r < m; r++) {
        s->b_tok[r] = e->tokens[e->pos + r];
        s->b_pos[r] = e->pos + r;
        s->b_slot[r] = e->slot;
        s->b_adapter[r] = adapter;
        s->b_want[r] = 1;
    }
    syn_batch b = {.n = m, .token = s->b_tok, .pos = s->b_pos, .slot = s->b_slot, .adapter = s->b_adapter,
                   .want_logits = s->b_want, .n_prompt = m};
    if (syn_adapters_apply(s, &err) || syn_forward_hidden(s->ctx, &b, e->hidden, &err)) {
        syn_job_end(j, SYN_JOB_FAILED, err.msg);
        finish(s);
        return;
    }
    for (int32_t r = 0; r < m; r++)
        for (int32_t k = 0; k < s->n_embd; k++)
            e->acc[k] += e->hidden[(size_t)r * (size_t)s->n_embd + (size_t)k];
    pthread_mutex_lock(&s->mu);
    s->stats.steps++;
    s->stats.rows += (uint64_t)m;
    s->stats.embed_rows += (uint64_t)m;
    pthread_mutex_unlock(&s->mu);
    if ((e->pos += m) < n)
        return;
    pool(s, n);
    e->tokens += n;
    e->pos = 0;
    if (++e->input < j->n_inputs)
        return;
    syn_job_set_embeddings(j, e->out, s->n_embd);
    e->out = NULL;
    if (s->obs.tokens)
        s->obs.tokens(s->obs.user, (uint64_t)j->n_prompt, 0);
    finish(s);
}
