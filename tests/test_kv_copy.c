/* syn_ctx_kv_copy: a prefix copied from one slot to another gives the same
 * logits, bit for bit, as computing it in that slot; bad arguments are
 * refused; the slot it came from is left as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/model.h>
#include "tests/check.h"

#define N_TOK 12
#define PREFIX 9

/* logits of the last of tokens[from..n) run in slot at positions from.. */
static int run(syn_ctx *c, int32_t slot, const int32_t *tokens, int32_t from, int32_t n, float *logits)
{
    int32_t pos[N_TOK + 1], slots[N_TOK + 1];
    for (int32_t i = from; i < n; i++) {
        pos[i - from] = i;
        slots[i - from] = slot;
    }
    syn_batch b = {.n = n - from, .token = tokens + from, .pos = pos, .slot = slots};
    syn_error err = {0};
    int rc = syn_forward(c, &b, logits, &err);
    CHECK_MSG(rc == SYN_OK, "forward: %s", err.msg);
    return rc;
}

int main(void)
{
    syn_backend_ref be;
    syn_error err = {0};
    if (syn_backend_open("cpu", 2, &be, &err)) {
        fprintf(stderr, "cannot open the cpu backend: %s\n", err.msg);
        return 99;
    }
    syn_model *m = NULL;
    if (syn_model_load(testdata("models/qwen2-Q8_0.gguf"), &be, &m, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        syn_backend_close(&be);
        return 99;
    }
    int32_t nv = syn_model_get_config(m)->n_vocab;
    syn_ctx_params p = {.n_ctx = 64, .n_slots = 3, .max_rows = 16, .max_logit_rows = 1};
    syn_ctx *c = NULL;
    CHECK_MSG(syn_ctx_new(m, &p, &c, &err) == SYN_OK, "ctx: %s", err.msg);
    float *want = malloc(sizeof(float) * (size_t)nv), *got = malloc(sizeof(float) * (size_t)nv),
          *again = malloc(sizeof(float) * (size_t)nv);
    int32_t a[N_TOK], b[N_TOK];
    for (int i = 0; i < N_TOK; i++) {
        a[i] = 100 + 37 * i;
        b[i] = i < PREFIX ? a[i] : 5000 + 11 * i; /* b shares a's first PREFIX tokens */
    }
    if (c && want && got && again) {
        /* b computed whole in slot 2: the reference */
        run(c, 2, b, 0, N_TOK, want);
        /* a in slot 0; its prefix copied to slot 1, where b's tail runs */
        run(c, 0, a, 0, N_TOK, again);
        CHECK(syn_ctx_kv_copy(c, 0, 1, PREFIX, &err) == SYN_OK);
        run(c, 1, b, PREFIX, N_TOK, got);
        CHECK_MSG(memcmp(want, got, sizeof(float) * (size_t)nv) == 0, "logits after a copied prefix differ");
        /* slot 0 still holds a: one more token gives what a longer a gives */
        int32_t a2[N_TOK + 1];
        memcpy(a2, a, sizeof a);
        a2[N_TOK] = 77;
        run(c, 0, a2, N_TOK, N_TOK + 1, got);
        run(c, 2, a2, 0, N_TOK + 1, want);
        CHECK_MSG(memcmp(want, got, sizeof(float) * (size_t)nv) == 0, "the source slot changed");

        CHECK(syn_ctx_kv_copy(c, 1, 1, 4, &err) == SYN_ERR_INVALID && strstr(err.msg, "out of range"));
        CHECK(syn_ctx_kv_copy(c, 0, 3, 4, &err) == SYN_ERR_INVALID);
        CHECK(syn_ctx_kv_copy(c, -1, 1, 4, &err) == SYN_ERR_INVALID);
        CHECK(syn_ctx_kv_copy(c, 0, 1, 65, &err) == SYN_ERR_INVALID);
        CHECK(syn_ctx_kv_copy(c, 0, 1, 0, &err) == SYN_OK);
    }
    free(want);
    free(got);
    free(again);
    syn_ctx_free(c);
    syn_model_free(m);
    syn_backend_close(&be);
    return CHECK_DONE();
}
