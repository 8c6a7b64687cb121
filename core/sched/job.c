/* The job API (see <synapse/sched.h>): requests copied in, output copied
 * out, every access to what the scheduler writes under the job's lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sched/job.h"

double syn_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static syn_job *job_new(job_kind kind, int n_choices)
{
    syn_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (!(j->out = calloc((size_t)n_choices, sizeof *j->out))) {
        free(j);
        return NULL;
    }
    j->kind = kind;
    j->refs = 1;
    j->n_choices = n_choices;
    pthread_mutex_init(&j->mu, NULL);
    /* waits time out on the monotonic clock, as syn_now_s reads it */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    return j;
}

static int32_t *copy_ids(const int32_t *ids, size_t n)
{
    int32_t *c = malloc(n ? n * sizeof *c : 1);
    if (c && n)
        memcpy(c, ids, n * sizeof *c);
    return c;
}

int syn_job_generate(const syn_job_request *r, syn_job **out, syn_error *err)
{
    *out = NULL;
    syn_constraint constraint = r->constraint;
    syn_job *j = NULL;
    if (r->n_choices < 1 || r->n_prompt < 1) {
        syn_constraint_free(&constraint);
        return syn_fail(err, SYN_ERR_INVALID, "a job needs a prompt and at least one choice");
    }
    if (!(j = job_new(JOB_GENERATE, r->n_choices)) || !(j->prompt = copy_ids(r->prompt, (size_t)r->n_prompt)))
        goto nomem;
    j->n_prompt = r->n_prompt;
    j->max_tokens = r->max_tokens;
    j->gen = r->gen;
    j->gen.stops = NULL;
    j->gen.n_stops = 0;
    j->gen.constraint = NULL;
    j->gen.bias = NULL; /* the generator copies it, but later: the job keeps its own */
    j->gen.n_bias = 0;
    j->constraint = constraint;
    constraint.ops = NULL;
    if (j->constraint.ops)
        j->gen.constraint = &j->constraint;
    if (r->gen.n_stops) {
        if (!(j->stops = calloc(r->gen.n_stops, sizeof *j->stops)))
            goto nomem;
        for (size_t i = 0; i < r->gen.n_stops; i++) {
            if (!(j->stops[i] = strdup(r->gen.stops[i])))
                goto nomem;
            j->gen.n_stops = i + 1;
        }
        j->gen.stops = (const char *const *)j->stops;
    }
    if (r->gen.n_bias) {
        if (!(j->bias = malloc(sizeof *j->bias * r->gen.n_bias)))
            goto nomem;
        memcpy(j->bias, r->gen.bias, sizeof *j->bias * r->gen.n_bias);
        j->gen.bias = j->bias;
        j->gen.n_bias = r->gen.n_bias;
    }
    *out = j;
    return 0;
nomem:
    syn_constraint_free(&constraint);
    syn_job_release(j);
    return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
}

int syn_job_embed(const int32_t *tokens, const int32_t *input_len, int32_t n_inputs, syn_job **out, syn_error *err)
{
    *out = NULL;
    size_t total = 0;
    for (int32_t i = 0; i < n_inputs; i++) {
        if (input_len[i] < 1)
            return syn_fail(err, SYN_ERR_INVALID, "input %d is empty", (int)i);
        total += (size_t)input_len[i];
    }
    if (n_inputs < 1 || total > INT32_MAX)
        return syn_fail(err, SYN_ERR_INVALID, "an embedding job needs 1 to 2^31 tokens of input");
    syn_job *j = job_new(JOB_EMBED, 1);
    if (!j || !(j->prompt = copy_ids(tokens, total)) || !(j->input_len = copy_ids(input_len, (size_t)n_inputs))) {
        syn_job_release(j);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    j->n_prompt = (int32_t)total;
    j->n_inputs = n_inputs;
    *out = j;
    return 0;
}

int syn_job_set_adapter(syn_job *j, syn_lora *adapter, float scale, syn_error *err)
{
    if (adapter && !(scale == scale && scale > -1e6f && scale < 1e6f))
        return syn_fail(err, SYN_ERR_INVALID, "adapter scale %g is not a finite number below 1e6", (double)scale);
    if (adapter)
        syn_lora_retain(adapter);
    syn_lora_free(j->adapter);
    j->adapter = adapter;
    j->adapter_scale = adapter ? scale : 0;
    return 0;
}

int32_t syn_job_n_cached(syn_job *j) { return __atomic_load_n(&j->n_cached, __ATOMIC_ACQUIRE); }

void syn_job_retain(syn_job *j)
{
    pthread_mutex_lock(&j->mu);
    j->refs++;
    pthread_mutex_unlock(&j->mu);
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
    for (size_t i = 0; i < j->gen.n_stops; i++)
        free(j->stops[i]);
    free(j->stops);
    free(j->bias);
    syn_constraint_free(&j->constraint);
    syn_lora_free(j->adapter);
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

int syn_job_gone(syn_job *j)
{
    pthread_mutex_lock(&j->mu);
    int gone = j->cancelled || j->ended != SYN_JOB_RUNNING;
    pthread_mutex_unlock(&j->mu);
    return gone;
}

static syn_job_state state_locked(const syn_job *j)
{
    if (j->ended != SYN_JOB_RUNNING)
        return j->ended;
    return j->n_done >= j->n_choices ? SYN_JOB_DONE : SYN_JOB_RUNNING;
}

static void changed_locked(syn_job *j)
{
    j->version++;
    pthread_cond_broadcast(&j->cv);
}

void syn_job_end(syn_job *j, syn_job_state state, const char *msg)
{
    pthread_mutex_lock(&j->mu);
    if (state_locked(j) == SYN_JOB_RUNNING) {
        j->ended = state;
        snprintf(j->msg, sizeof j->msg, "%s", msg);
    }
    changed_locked(j);
    pthread_mutex_unlock(&j->mu);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : first;
    while (c < need)
        c *= 2;
    void *t = realloc(*p, c * elem);
    if (!t)
        return -1;
    *p = t;
    *cap = c;
    return 0;
}

int syn_job_append(syn_job *j, int c, const char *text, size_t n, const syn_token_lp *lp, int tokens)
{
    job_choice *o = &j->out[c];
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    if (n && !(rc = grow((void **)&o->text, &o->cap, o->len + n, 1, 256))) {
        memcpy(o->text + o->len, text, n);
        o->len += n;
    }
    if (lp && !rc && !(rc = grow((void **)&o->lps, &o->cap_lps, o->n_lps + 1, sizeof *o->lps, 16)))
        o->lps[o->n_lps++] = *lp;
    if (!rc)
        o->n_gen += tokens;
    changed_locked(j);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void syn_job_set_stats(syn_job *j, int c, const syn_gen_stats *stats)
{
    pthread_mutex_lock(&j->mu);
    j->out[c].stats = *stats;
    pthread_mutex_unlock(&j->mu);
}

void syn_job_first_token(syn_job *j, double now)
{
    pthread_mutex_lock(&j->mu);
    j->t_first = now;
    pthread_mutex_unlock(&j->mu);
}

void syn_job_timing(syn_job *j, double *to_first, double *generating)
{
    pthread_mutex_lock(&j->mu);
    *to_first = j->t_first > 0 ? j->t_first - j->t_submit : 0;
    *generating = j->t_end > 0 && j->t_first > 0 ? j->t_end - j->t_first : 0;
    pthread_mutex_unlock(&j->mu);
}

void syn_job_choice_done(syn_job *j, int c, syn_finish why)
{
    pthread_mutex_lock(&j->mu);
    j->out[c].finish = why;
    if (++j->n_done == j->n_choices)
        j->t_end = syn_now_s();
    changed_locked(j);
    pthread_mutex_unlock(&j->mu);
}

void syn_job_set_embeddings(syn_job *j, float *embd, int32_t n_embd)
{
    pthread_mutex_lock(&j->mu);
    j->embd = embd;
    j->n_embd = n_embd;
    j->n_done = j->n_choices;
    changed_locked(j);
    pthread_mutex_unlock(&j->mu);
}

syn_job_state syn_job_wait(syn_job *j, uint64_t *version, int timeout_ms)
{
    struct timespec until;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&j->mu);
    syn_job_state st;
    while ((st = state_locked(j)) == SYN_JOB_RUNNING && j->version == *version) {
        if (timeout_ms < 0)
            pthread_cond_wait(&j->cv, &j->mu);
        else if (pthread_cond_timedwait(&j->cv, &j->mu, &until) == ETIMEDOUT)
            break;
    }
    *version = j->version;
    pthread_mutex_unlock(&j->mu);
    return st;
}

syn_job_state syn_job_status(syn_job *j, char *msg, size_t msg_size)
{
    pthread_mutex_lock(&j->mu);
    syn_job_state st = state_locked(j);
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", j->msg);
    pthread_mutex_unlock(&j->mu);
    return st;
}

int syn_job_n_choices(const syn_job *j) { return j->n_choices; }
int32_t syn_job_n_prompt(const syn_job *j) { return j->n_prompt; }

int syn_job_read(syn_job *j, int choice, syn_choice_cursor *cur, syn_choice_delta *d)
{
    memset(d, 0, sizeof *d);
    if (choice < 0 || choice >= j->n_choices)
        return SYN_ERR_INVALID;
    int rc = 0;
    pthread_mutex_lock(&j->mu);
    const job_choice *o = &j->out[choice];
    size_t nt = o->len - cur->text, nl = o->n_lps - cur->lps;
    if (nt && !(d->text = malloc(nt)))
        rc = SYN_ERR_NOMEM;
    if (!rc && nl && !(d->lps = malloc(nl * sizeof *d->lps)))
        rc = SYN_ERR_NOMEM;
    if (!rc) {
        if (nt)
            memcpy(d->text, o->text + cur->text, nt);
        if (nl)
            memcpy(d->lps, o->lps + cur->lps, nl * sizeof *d->lps);
        d->len = nt;
        d->n_lps = nl;
        d->n_gen = o->n_gen;
        d->finish = o->finish;
        d->stats = o->stats;
        cur->text = o->len;
        cur->lps = o->n_lps;
    }
    pthread_mutex_unlock(&j->mu);
    if (rc)
        syn_choice_delta_free(d);
    return rc;
}

void syn_choice_delta_free(syn_choice_delta *d)
{
    free(d->text);
    free(d->lps);
    memset(d, 0, sizeof *d);
}

const float *syn_job_embeddings(syn_job *j, int32_t *n_inputs, int32_t *n_embd)
{
    pthread_mutex_lock(&j->mu);
    const float *e = j->embd;
    *n_inputs = e ? j->n_inputs : 0;
    *n_embd = e ? j->n_embd : 0;
    pthread_mutex_unlock(&j->mu);
    return e;
}
