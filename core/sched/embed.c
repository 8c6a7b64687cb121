/* Embedding jobs. They run on their own, on a free slot, between steps:
 * every row wants its hidden state, and the pooled mean of them is
 * normalised. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sched/sched_internal.h"

void syn_run_embed(syn_sched *s, syn_job *j, int slot)
{
    syn_error err = {0};
    int32_t chunk = s->p.max_rows < s->logit_rows ? s->p.max_rows : s->logit_rows;
    float *hidden = malloc(sizeof(float) * (size_t)chunk * (size_t)s->n_embd);
    float *embd = calloc((size_t)j->n_inputs * (size_t)s->n_embd, sizeof(float));
    double *acc = calloc((size_t)s->n_embd, sizeof(double));
    if (!hidden || !embd || !acc) {
        syn_job_end(j, SYN_JOB_FAILED, "out of memory");
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
                syn_job_end(j, SYN_JOB_FAILED, err.msg);
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
    syn_job_set_embeddings(j, embd, s->n_embd);
    embd = NULL;
    if (s->obs.tokens)
        s->obs.tokens(s->obs.user, (uint64_t)j->n_prompt, 0);
done:
    s->hist_len[slot] = 0; /* its KV now holds the embedding inputs */
    free(hidden);
    free(embd);
    free(acc);
}
