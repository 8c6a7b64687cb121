/* The continuous-batching scheduler (see <synapse/sched.h>): the queue,
 * admission of jobs into sequences, and the step loop that runs every active
 * sequence in one forward pass and each logits row through its generator.
 * The paged KV cache and its prefix tree are in kv_pages.c, embedding jobs
 * in embed.c, the job API in job.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sched/sched_internal.h"

int syn_sched_submit(syn_sched *s, syn_job *j, syn_error *err)
{
    if (j->kind == JOB_GENERATE && j->n_choices > s->p.n_slots)
        return syn_fail(err, SYN_ERR_INVALID, "n must be from 1 to %d on this server", s->p.n_slots);
    if (j->adapter && syn_lora_model(j->adapter) != s->model)
        return syn_fail(err, SYN_ERR_INVALID, "the job's adapter was loaded for another model than this scheduler's");
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->stopping)
        rc = syn_fail(err, SYN_ERR_INVALID, "the server is shutting down");
    else if (s->q_len == s->p.max_queue)
        rc = syn_fail(err, SYN_ERR_RANGE, "too many requests are waiting (%d); retry shortly", s->p.max_queue);
    else {
        j->t_submit = syn_now_s(); /* before the scheduler can see it */
        syn_job_retain(j);
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

static void seq_release(syn_sched *s, seq *q)
{
    syn_generator_free(q->gen);
    syn_job *j = q->job;
    syn_kv_release(s, q->slot);
    memset(q, 0, sizeof *q);
    q->slot = (int)(q - s->seqs);
    syn_job_release(j);
}

/* Ends q's choice for why and frees the sequence. */
static void seq_close(syn_sched *s, seq *q, syn_finish why)
{
    syn_job *j = q->job;
    syn_job_choice_done(j, q->choice, why);
    if (s->obs.tokens)
        s->obs.tokens(s->obs.user, q->choice == 0 ? (uint64_t)j->n_prompt : 0, (uint64_t)q->n_gen);
    seq_release(s, q);
}

/* The same, when the scheduler ends it: unless for an error, what its
 * generator still holds is final text first. */
static void seq_finish(syn_sched *s, seq *q, syn_finish why)
{
    if (why != SYN_FINISH_ERROR) {
        const char *text;
        size_t len;
        why = syn_generator_end(q->gen, why, &text, &len);
        syn_job_append(q->job, q->choice, text, len, NULL, 0);
    }
    seq_close(s, q, why);
}

/* A slot no sequence and no embedding job holds. */
static int slot_free(const syn_sched *s, int i) { return !s->seqs[i].job && !(s->emb.job && s->emb.slot == i); }

/* Starts choice c of job j in a free sequence, on as much of its prompt as
 * the prefix tree holds (or waiting for an earlier sequence computing more
 * of it). */
static int seq_start(syn_sched *s, syn_job *j, int c, syn_error *err)
{
    int slot = 0;
    while (!slot_free(s, slot))
        slot++;
    seq *q = &s->seqs[slot];
    memset(q, 0, sizeof *q);
    q->slot = slot;
    q->wait_slot = -1;
    syn_gen_params gp = j->gen;
    if (gp.sp.seed != SYN_SAMPLER_SEED_RANDOM)
        gp.sp.seed += (uint64_t)c;
    int rc = syn_generator_new(&gp, s->tok, j->prompt, (size_t)j->n_prompt, &q->gen, err);
    if (rc) {
        memset(q, 0, sizeof *q);
        q->slot = slot;
        return rc;
    }
    /* at least the last prompt token runs, for its logits */
    int32_t limit = j->n_prompt - 1;
    if (!syn_plan_wait(s, q, j, syn_kv_match(s, q, j, limit, 1)))
        syn_kv_match(s, q, j, limit, 0);
    if (s->obs.prompt_cached)
        s->obs.prompt_cached(s->obs.user, (uint64_t)q->n_past);
    if (c == 0)
        __atomic_store_n(&j->n_cached, q->n_past, __ATOMIC_RELEASE);
    q->pending = -1;
    int32_t room = s->p.n_ctx - j->n_prompt;
    q->max_gen = j->max_tokens > 0 && j->max_tokens < room ? j->max_tokens : room;
    q->order = s->admitted++;
    q->choice = c;
    syn_job_retain(j);
    q->job = j;
    return 0;
}

static int free_seqs(const syn_sched *s)
{
    int n = 0;
    for (int i = 0; i < s->p.n_slots; i++)
        n += slot_free(s, i);
    return n;
}

/* Moves queued jobs into free sequences, in order (a job waits for all the
 * slots its n choices need, so no job starves behind smaller ones). */
static void admit(syn_sched *s)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        syn_job *j = s->q_len ? s->queue[s->q_head] : NULL;
        int need = j ? (j->kind == JOB_EMBED ? 1 : j->n_choices) : 0;
        /* one embedding job at a time: the next waits its turn in order */
        if (!j || free_seqs(s) < need || (j->kind == JOB_EMBED && s->emb.job)) {
            pthread_mutex_unlock(&s->mu);
            return;
        }
        s->q_head = (s->q_head + 1) % s->p.max_queue;
        s->q_len--;
        s->stats.queued = s->q_len;
        pthread_mutex_unlock(&s->mu);

        if (syn_job_gone(j)) {
            syn_job_end(j, SYN_JOB_FAILED, "cancelled");
        } else if (j->kind == JOB_EMBED) {
            int slot = 0;
            while (!slot_free(s, slot))
                slot++;
            syn_embed_start(s, j, slot);
        } else {
            syn_error err = {0};
            for (int c = 0; c < j->n_choices; c++)
                if (seq_start(s, j, c, &err)) {
                    syn_job_end(j, SYN_JOB_FAILED, err.msg);
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
    syn_gen_step st;
    syn_error err = {0};
    syn_finish why = syn_generator_next(q->gen, logits, s->n_vocab, &st, &err);
    if (why == SYN_FINISH_ERROR) {
        syn_job_end(j, SYN_JOB_FAILED, err.msg);
        seq_finish(s, q, SYN_FINISH_ERROR);
        return;
    }
    double now = syn_now_s();
    if (q->n_gen == 0 && q->choice == 0) {
        syn_job_first_token(j, now);
        if (s->obs.first_token)
            s->obs.first_token(s->obs.user, now - j->t_submit);
    } else if (q->t_last > 0 && s->obs.token_gap) {
        s->obs.token_gap(s->obs.user, now - q->t_last);
    }
    q->t_last = now;
    int eog = syn_tokenizer_is_eog(s->tok, st.token);
    if (j->gen.confidence) { /* before the text, so a reader that sees the end sees the final stats */
        syn_gen_stats gs;
        syn_generator_stats(q->gen, &gs);
        syn_job_set_stats(j, q->choice, &gs);
    }
    if (!eog)
        q->n_gen++;
    if (syn_job_append(j, q->choice, st.text, st.len, st.has_lp ? &st.lp : NULL, !eog)) {
        syn_job_end(j, SYN_JOB_FAILED, "out of memory");
        seq_finish(s, q, SYN_FINISH_ERROR);
        return;
    }
    if (why == SYN_FINISH_STOP) {
        seq_close(s, q, why); /* the generator released all it had */
        return;
    }
    if (q->n_gen >= q->max_gen || q->n_past + 1 >= s->p.n_ctx) {
        seq_finish(s, q, SYN_FINISH_LENGTH);
        return;
    }
    q->pending = st.token;
}

/* The page counts into the stats (under mu). */
static void kv_stats(syn_sched *s)
{
    syn_kv_counts(s, &s->stats.kv_pages_used, &s->stats.kv_pages_cached);
    s->stats.kv_evictions = s->kv.evictions;
}

/* Pages for q's positions from..from+n-1; when there are none (which the
 * page count rules out), q fails. */
static int reserve(syn_sched *s, seq *q, int32_t from, int32_t n)
{
    adapter_key key = syn_job_adapter_key(q->job);
    syn_error err = {0};
    for (int32_t p = from; p < from + n; p++)
        if (syn_kv_reserve(s, q->slot, p, &key, &err)) {
            syn_job_end(q->job, SYN_JOB_FAILED, err.msg);
            seq_finish(s, q, SYN_FINISH_ERROR);
            return 0;
        }
    return 1;
}

/* One forward step over every active sequence. Returns 0 when there was
 * nothing to run. */
static int step(syn_sched *s)
{
    int32_t rows = 0, n_logit = 0;
    /* cancelled jobs leave first, freeing their slots */
    for (int i = 0; i < s->p.n_slots; i++) {
        seq *q = &s->seqs[i];
        if (q->job && syn_job_gone(q->job))
            seq_finish(s, q, SYN_FINISH_ERROR);
    }
    syn_resolve_waits(s);
    /* every sequence's adapter gets an index in this step's table */
    syn_adapters_begin(s);
    for (int i = 0; i < s->p.n_slots; i++)
        s->seq_adapter[i] = s->seqs[i].job ? syn_adapters_index(s, s->seqs[i].job) : -1;
    /* decode rows: one per generating sequence, those of an adapter side by
     * side so the forward pass runs each adapter's product once */
    for (int32_t a = -1; a < s->n_next; a++)
        for (int i = 0; i < s->p.n_slots; i++) {
            seq *q = &s->seqs[i];
            if (!q->job || q->pending < 0 || s->seq_adapter[i] != a || !reserve(s, q, q->n_past, 1))
                continue;
            s->b_tok[rows] = q->pending;
            s->b_pos[rows] = q->n_past;
            s->b_slot[rows] = q->slot;
            s->b_adapter[rows] = a;
            s->b_want[rows] = 1;
            s->b_seq[n_logit++] = i;
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
        if (!reserve(s, best, best->n_past, m))
            continue;
        for (int32_t r = 0; r < m; r++) {
            s->b_tok[rows + r] = best->job->prompt[best->n_past + r];
            s->b_pos[rows + r] = best->n_past + r;
            s->b_slot[rows + r] = best->slot;
            s->b_adapter[rows + r] = s->seq_adapter[best - s->seqs];
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
    syn_batch b = {.n = rows, .token = s->b_tok, .pos = s->b_pos, .slot = s->b_slot, .adapter = s->b_adapter,
                   .want_logits = s->b_want, .n_prompt = rows - n_decode};
    int rc = syn_adapters_apply(s, &err);
    if (!rc)
        rc = syn_forward(s->ctx, &b, s->logits, &err);
    for (int32_t r = 0; !rc && r < rows; r++)
        syn_kv_commit(s, s->b_slot[r], s->b_pos[r], s->b_tok[r]);
    if (rc) {
        /* a prompt partly prefilled in this step has no logits row: it
         * fails here, as it holds keys and values that were never written */
        for (int32_t r = 0; r < rows; r++) {
            seq *q = &s->seqs[s->b_slot[r]];
            if (q->job && q->pending == -1) {
                syn_job_end(q->job, SYN_JOB_FAILED, err.msg);
                seq_finish(s, q, SYN_FINISH_ERROR);
            }
        }
    }
    for (int k = 0; k < n_logit; k++) {
        seq *q = &s->seqs[s->b_seq[k]];
        if (q->pending >= 0)
            q->n_past++; /* the decode row is now in the KV */
        if (rc) {
            syn_job_end(q->job, SYN_JOB_FAILED, err.msg);
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
    kv_stats(s);
    pthread_mutex_unlock(&s->mu);
    return 1;
}

static void *sched_main(void *arg)
{
    syn_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->stopping && !s->q_len && !s->stats.active && !s->stats.embedding)
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
            kv_stats(s);
            pthread_mutex_unlock(&s->mu);
        }
        /* going idle: the adapters of the last step are nobody's now, so
         * an adapter budget may evict them (the table is this thread's own:
         * no lock to look at it) */
        if (s->n_tab) {
            pthread_mutex_lock(&s->mu);
            int idle = !s->q_len && !s->stats.active;
            pthread_mutex_unlock(&s->mu);
            if (idle)
                syn_adapters_release(s);
        }
        syn_embed_step(s); /* between generation steps: both go on */
    }
    syn_embed_abort(s, SYN_JOB_STOPPED, "the server is shutting down");
    /* shutting down: every job still here fails, so its waiter returns */
    for (int i = 0; i < s->p.n_slots; i++)
        if (s->seqs[i].job) {
            syn_job_end(s->seqs[i].job, SYN_JOB_STOPPED, "the server is shutting down");
            seq_finish(s, &s->seqs[i], SYN_FINISH_ERROR);
        }
    pthread_mutex_lock(&s->mu);
    while (s->q_len) {
        syn_job *j = s->queue[s->q_head];
        s->q_head = (s->q_head + 1) % s->p.max_queue;
        s->q_len--;
        pthread_mutex_unlock(&s->mu);
        syn_job_end(j, SYN_JOB_STOPPED, "the server is shutting down");
        syn_job_release(j);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void sched_free_buffers(syn_sched *s)
{
    syn_kv_free(s);
    free(s->seqs);
    free(s->queue);
    free(s->b_tok);
    free(s->b_pos);
    free(s->b_slot);
    free(s->b_want);
    free(s->b_adapter);
    free(s->b_seq);
    free(s->seq_adapter);
    free(s->tab);
    free(s->next_tab);
    free(s->tab_scale);
    free(s->next_scale);
    free(s->logits);
}

/* The slots' pages and those for cache_tokens more (0: the context's
 * default, just the slots'; it says when there are too many). */
static int32_t kv_pages(const syn_model *m, const syn_sched_params *p)
{
    int64_t len = syn_model_kv_page_len(m);
    if (!len)
        return 0;
    int64_t n = (int64_t)p->n_slots * ((p->n_ctx + len - 1) / len) + (p->cache_tokens + len - 1) / len;
    return n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

int syn_sched_new(syn_model *m, const syn_tokenizer *tok, const syn_sched_params *p, const syn_sched_observer *obs,
                  syn_sched **out, syn_error *err)
{
    *out = NULL;
    if (p->n_slots < 1 || p->n_ctx < 8 || p->max_rows < 1 || p->max_queue < 1 || p->cache_tokens < 0)
        return syn_fail(err, SYN_ERR_INVALID, "scheduler: slots, context, rows and queue must be positive, the prefix cache not negative");
    syn_sched *s = calloc(1, sizeof *s);
    if (!s)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    s->model = m;
    s->tok = tok;
    s->p = *p;
    if (s->p.max_rows < s->p.n_slots)
        s->p.max_rows = s->p.n_slots; /* every sequence decodes in every step */
    if (obs)
        s->obs = *obs;
    const syn_model_config *cfg = syn_model_get_config(m);
    s->n_vocab = cfg->n_vocab;
    s->n_embd = cfg->n_embd;
    s->logit_rows = s->p.n_slots > 32 ? s->p.n_slots : 32;
    if (s->logit_rows > s->p.max_rows)
        s->logit_rows = s->p.max_rows; /* a step never holds more rows than that */
    size_t rows = (size_t)s->p.max_rows, ns = (size_t)s->p.n_slots;
    s->seqs = calloc(ns, sizeof *s->seqs);
    s->queue = calloc((size_t)s->p.max_queue, sizeof *s->queue);
    s->b_tok = malloc(rows * sizeof(int32_t));
    s->b_pos = malloc(rows * sizeof(int32_t));
    s->b_slot = malloc(rows * sizeof(int32_t));
    s->b_want = malloc(rows);
    s->b_adapter = malloc(rows * sizeof(int32_t));
    s->seq_adapter = malloc(ns * sizeof(int32_t));
    s->tab = calloc(ns, sizeof *s->tab);
    s->next_tab = calloc(ns, sizeof *s->next_tab);
    s->tab_scale = calloc(ns, sizeof *s->tab_scale);
    s->next_scale = calloc(ns, sizeof *s->next_scale);
    s->b_seq = malloc((size_t)s->logit_rows * sizeof(int));
    s->logits = malloc((size_t)s->logit_rows * (size_t)s->n_vocab * sizeof(float));
    int bad = !s->seqs || !s->queue ||
              !s->b_tok || !s->b_pos || !s->b_slot || !s->b_want || !s->b_adapter || !s->seq_adapter || !s->tab || !s->next_tab ||
              !s->tab_scale || !s->next_scale || !s->b_seq || !s->logits;
    for (size_t i = 0; !bad && i < ns; i++)
        s->seqs[i].slot = (int)i;
    if (bad) {
        sched_free_buffers(s);
        free(s);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory for the scheduler");
    }
    syn_ctx_params cp = {.n_ctx = s->p.n_ctx, .n_slots = s->p.n_slots, .max_rows = s->p.max_rows,
                         .max_logit_rows = s->logit_rows, .n_pages = kv_pages(m, &s->p)};
    int rc = syn_ctx_new(m, &cp, &s->ctx, err);
    if (!rc)
        rc = syn_kv_init(s, err);
    if (rc) {
        syn_ctx_free(s->ctx);
        sched_free_buffers(s);
        free(s);
        return rc;
    }
    s->stats.n_slots = s->p.n_slots;
    s->stats.n_ctx = s->p.n_ctx;
    s->stats.kv_pages = s->kv.n_pages;
    s->stats.kv_page_len = s->kv.page_len;
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
    syn_adapters_drop(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    sched_free_buffers(s);
    free(s);
}
