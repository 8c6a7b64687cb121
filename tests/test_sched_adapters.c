/* Jobs on different adapters share the scheduler's steps and each gets what
 * it gets alone (greedy, bit for bit: the same tokens and logprobs), and a
 * prefix computed under one adapter is never reused under another: the same
 * prompt on the base model after an adapter's job, or together with it,
 * still gives the base model's answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/session.h>
#include "tests/sched_answer.h"

#define N_GEN 12
#define N_KIND 4 /* base, lora-a, lora-b, lora-a at scale 0.5 */

static syn_lora *lora_a, *lora_b;

static syn_lora *kind_adapter(int k) { return k == 1 || k == 3 ? lora_a : k == 2 ? lora_b : NULL; }
static float kind_scale(int k) { return k == 3 ? 0.5f : 1.0f; }

static syn_job *submit(syn_sched *s, const int32_t *prompt, int32_t n, int kind)
{
    return submit_greedy(s, prompt, n, N_GEN, kind_adapter(kind), kind_scale(kind));
}

int main(void)
{
    syn_session sess;
    syn_error err = {0};
    syn_session_params sp = {.model_path = testdata("models/qwen2-f16.gguf"), .backend = "cpu", .n_threads = 2};
    if (syn_session_open(&sp, &sess, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 99;
    }
    if (syn_lora_load(sess.model, testdata("models/lora-a.gguf"), &lora_a, &err) ||
        syn_lora_load(sess.model, testdata("models/lora-b.gguf"), &lora_b, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 99;
    }
    int32_t *prompt = NULL;
    size_t n_prompt = 0;
    const char *text = "The specialists share one base model and answer together in one batch";
    if (syn_tokenize(sess.tok, text, strlen(text), 1, 0, &prompt, &n_prompt, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 99;
    }
    syn_sched_params p = {.n_slots = 4, .n_ctx = 128, .max_rows = 64, .max_queue = 16};
    answer alone[N_KIND], got[N_KIND];

    /* each kind alone, in a scheduler of its own: nothing to reuse */
    for (int k = 0; k < N_KIND; k++) {
        syn_sched *s;
        CHECK_MSG(syn_sched_new(sess.model, sess.tok, &p, NULL, &s, &err) == 0, "%s", err.msg);
        collect(submit(s, prompt, (int32_t)n_prompt, k), &alone[k]);
        syn_sched_free(s);
        CHECK_MSG(alone[k].n == N_GEN, "kind %d generated %d tokens", k, alone[k].n);
    }
    for (int k = 1; k < N_KIND; k++)
        CHECK_MSG(!same(&alone[0], &alone[k]), "kind %d answers as the base model: the adapter did nothing", k);

    syn_sched *s;
    CHECK_MSG(syn_sched_new(sess.model, sess.tok, &p, NULL, &s, &err) == 0, "%s", err.msg);
    if (s) {
        /* all four at once, the same prompt: one batch of four adapters */
        syn_job *j[N_KIND];
        for (int k = 0; k < N_KIND; k++)
            j[k] = submit(s, prompt, (int32_t)n_prompt, k);
        for (int k = 0; k < N_KIND; k++) {
            collect(j[k], &got[k]);
            CHECK_MSG(same(&got[k], &alone[k]), "kind %d in a mixed batch differs from alone", k);
        }
        /* one after another on slots that hold the prompt under other
         * adapters: each must compute its own */
        for (int round = 0; round < 2; round++)
            for (int k = N_KIND - 1; k >= 0; k--) {
                collect(submit(s, prompt, (int32_t)n_prompt, k), &got[k]);
                CHECK_MSG(same(&got[k], &alone[k]), "kind %d after other adapters' prompts differs (round %d)", k,
                          round);
            }
        syn_sched_free(s);
    }

    /* an adapter of another model is refused at submit */
    syn_session other;
    syn_session_params op = {.model_path = testdata("models/qwen2-Q8_0.gguf"), .backend = "cpu", .n_threads = 2};
    if (!syn_session_open(&op, &other, &err)) {
        syn_sched *so;
        CHECK_MSG(syn_sched_new(other.model, other.tok, &p, NULL, &so, &err) == 0, "%s", err.msg);
        syn_job_request r = {.prompt = prompt, .n_prompt = (int32_t)n_prompt, .n_choices = 1, .max_tokens = 2};
        r.gen.sp = syn_sampler_params_default();
        syn_job *j = NULL;
        CHECK(syn_job_generate(&r, &j, &err) == 0);
        CHECK(syn_job_set_adapter(j, lora_a, 1.0f, &err) == 0);
        CHECK(syn_job_set_adapter(j, lora_a, 1.0f / 0.0f, &err) != 0);
        CHECK_MSG(so && syn_sched_submit(so, j, &err) == SYN_ERR_INVALID && strstr(err.msg, "another model"), "%s",
                  err.msg);
        syn_job_release(j);
        syn_sched_free(so);
        syn_session_close(&other);
    } else {
        CHECK_MSG(0, "%s", err.msg);
    }

    free(prompt);
    syn_lora_free(lora_a); /* the jobs and schedulers have dropped theirs */
    syn_lora_free(lora_b);
    syn_session_close(&sess);
    return check_failures ? 1 : 0;
}
