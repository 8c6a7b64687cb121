/* What the scheduler tests share: a greedy job on a prompt of tokens under
 * an adapter, its answer (token ids and logprobs) and bit-for-bit
 * comparison of answers. */
#ifndef SYN_TESTS_SCHED_ANSWER_H
#define SYN_TESTS_SCHED_ANSWER_H

#include <string.h>

#include <synapse/sched.h>
#include "tests/check.h"

#define ANSWER_MAX 32

typedef struct {
    int32_t id[ANSWER_MAX];
    float lp[ANSWER_MAX];
    int n;
    int32_t n_cached; /* prompt tokens the job reused */
} answer;

/* A greedy job of n_gen (<= ANSWER_MAX) tokens with logprobs, submitted. */
static inline syn_job *submit_greedy(syn_sched *s, const int32_t *prompt, int32_t n, int32_t n_gen, syn_lora *adapter,
                                     float scale)
{
    syn_job_request r = {.prompt = prompt, .n_prompt = n, .n_choices = 1, .max_tokens = n_gen};
    r.gen.sp = syn_sampler_params_default();
    r.gen.sp.temperature = 0;
    r.gen.sp.seed = 1;
    r.gen.logprobs = 1;
    syn_job *j = NULL;
    syn_error err = {0};
    CHECK_MSG(syn_job_generate(&r, &j, &err) == 0, "%s", err.msg);
    if (!j)
        return NULL;
    CHECK_MSG(syn_job_set_adapter(j, adapter, scale, &err) == 0, "%s", err.msg);
    CHECK_MSG(syn_sched_submit(s, j, &err) == 0, "%s", err.msg);
    return j;
}

/* Waits for j to finish and reads its answer; drops the reference. */
static inline void collect(syn_job *j, answer *a)
{
    memset(a, 0, sizeof *a);
    if (!j)
        return;
    uint64_t v = 0;
    while (syn_job_wait(j, &v, -1) == SYN_JOB_RUNNING)
        ;
    char msg[256];
    CHECK_MSG(syn_job_status(j, msg, sizeof msg) == SYN_JOB_DONE, "job: %s", msg);
    syn_choice_cursor cur = {0};
    syn_choice_delta d;
    CHECK(syn_job_read(j, 0, &cur, &d) == 0);
    for (size_t i = 0; i < d.n_lps && i < ANSWER_MAX; i++) {
        a->id[i] = d.lps[i].id;
        a->lp[i] = d.lps[i].logprob;
        a->n++;
    }
    a->n_cached = syn_job_n_cached(j);
    syn_choice_delta_free(&d);
    syn_job_release(j);
}

static inline int same(const answer *x, const answer *y)
{
    return x->n == y->n && !memcmp(x->id, y->id, sizeof(int32_t) * (size_t)x->n) &&
           !memcmp(x->lp, y->lp, sizeof(float) * (size_t)x->n);
}

#endif
