/* A step that mixes generated rows with prompt rows (what the server runs
 * while one request decodes and another's prompt comes in) gives every row
 * the logits it gets in a step of its own kind alone, bit for bit: the
 * generated rows those of a decode step, the prompt rows those of a prompt
 * step. The backend may fuse the two kinds into one pass over the weights
 * (on AMX, tiles for the prompt rows, exact kernels for the others); this
 * checks it never lets one kind change the other's results. With an
 * adapter, some rows of each kind run it and others do not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/model.h>
#include "tests/check.h"

#define N_DEC 3     /* sequences decoding a token */
#define PB 6        /* their prompts */
#define PA 21       /* the prompt that comes in: more than one 16-row tile */
#define ROWS (N_DEC + PA)

typedef struct {
    syn_ctx *c;
    int32_t nv;
    float *logits; /* ROWS rows of n_vocab */
    int lora;      /* an adapter is set: the slots in with_lora run it */
} fixture;

/* the slots whose rows run the adapter: decode sequences 0 and 2 (alone
 * and in the mixed step) and prompt A's two slots */
static int with_lora(int32_t slot) { return slot % N_DEC != 1 || slot >= 2 * N_DEC; }

/* One step: rows [0, n) of tok at pos in slot; the last n_prompt are prompt
 * rows; every row in want gets logits, in row order. */
static int step(fixture *f, int32_t n, const int32_t *tok, const int32_t *pos, const int32_t *slot, int32_t n_prompt,
                const uint8_t *want)
{
    int32_t adapter[ROWS];
    for (int32_t i = 0; i < n; i++)
        adapter[i] = with_lora(slot[i]) ? 0 : -1;
    syn_batch b = {.n = n, .token = tok, .pos = pos, .slot = slot, .want_logits = want, .n_prompt = n_prompt,
                   .adapter = f->lora ? adapter : NULL};
    syn_error err = {0};
    int rc = syn_forward(f->c, &b, f->logits, &err);
    CHECK_MSG(rc == SYN_OK, "forward: %s", err.msg);
    return rc;
}

/* A prompt of n tokens at positions 0.. in slot, as one prompt step. */
static int prompt(fixture *f, const int32_t *tok, int32_t n, int32_t slot)
{
    int32_t pos[PA], slots[PA];
    for (int32_t i = 0; i < n; i++) {
        pos[i] = i;
        slots[i] = slot;
    }
    return step(f, n, tok, pos, slots, n, NULL);
}

static void check_model(const char *name, const char *lora_name)
{
    syn_backend_ref be;
    syn_error err = {0};
    if (syn_backend_open("cpu", 2, &be, &err)) {
        CHECK_MSG(0, "cannot open the cpu backend: %s", err.msg);
        return;
    }
    syn_model *m = NULL;
    if (syn_model_load(testdata(name), &be, &m, &err)) {
        CHECK_MSG(0, "%s: %s", name, err.msg);
        syn_backend_close(&be);
        return;
    }
    fixture f = {.nv = syn_model_get_config(m)->n_vocab, .lora = lora_name != NULL};
    syn_ctx_params p = {.n_ctx = 64, .n_slots = 2 * N_DEC + 2, .max_rows = ROWS, .max_logit_rows = ROWS};
    CHECK_MSG(syn_ctx_new(m, &p, &f.c, &err) == SYN_OK, "ctx: %s", err.msg);
    size_t row = (size_t)f.nv;
    float *want = malloc(sizeof(float) * row * (N_DEC + 1));
    f.logits = malloc(sizeof(float) * row * ROWS);
    syn_lora *lora = NULL;
    if (!f.c || !want || !f.logits)
        goto done;
    if (lora_name) {
        float one = 1.0f;
        CHECK_MSG(syn_lora_load(m, testdata(lora_name), &lora, &err) == SYN_OK, "%s: %s", lora_name, err.msg);
        if (!lora)
            goto done;
        CHECK_MSG(syn_ctx_set_adapters(f.c, &lora, &one, 1, &err) == SYN_OK, "adapters: %s", err.msg);
    }

    int32_t pb[N_DEC][PB], next[N_DEC], pa[PA];
    for (int s = 0; s < N_DEC; s++) {
        for (int i = 0; i < PB; i++)
            pb[s][i] = 200 + 97 * s + 13 * i;
        next[s] = 4000 + 31 * s;
    }
    for (int i = 0; i < PA; i++)
        pa[i] = 900 + 41 * i;

    /* alone: each sequence's prompt, then its next token as a decode step;
     * then prompt A as a prompt step of its own */
    int32_t one_pos = PB;
    for (int32_t s = 0; s < N_DEC; s++) {
        if (prompt(&f, pb[s], PB, s) || step(&f, 1, &next[s], &one_pos, &s, 0, NULL))
            goto done;
        memcpy(want + row * (size_t)s, f.logits, sizeof(float) * row);
    }
    if (prompt(&f, pa, PA, 2 * N_DEC + 1))
        goto done;
    memcpy(want + row * N_DEC, f.logits, sizeof(float) * row);

    /* mixed: the same prompts again in other slots, then one step of the
     * three decode rows with prompt A behind them */
    int32_t tok[ROWS], pos[ROWS], slot[ROWS];
    uint8_t wants[ROWS] = {0};
    for (int32_t s = 0; s < N_DEC; s++) {
        if (prompt(&f, pb[s], PB, N_DEC + s))
            goto done;
        tok[s] = next[s];
        pos[s] = PB;
        slot[s] = N_DEC + s;
        wants[s] = 1;
    }
    for (int32_t i = 0; i < PA; i++) {
        tok[N_DEC + i] = pa[i];
        pos[N_DEC + i] = i;
        slot[N_DEC + i] = 2 * N_DEC;
    }
    wants[ROWS - 1] = 1;
    if (step(&f, ROWS, tok, pos, slot, PA, wants))
        goto done;
    for (int s = 0; s <= N_DEC; s++)
        CHECK_MSG(memcmp(want + row * (size_t)s, f.logits + row * (size_t)s, sizeof(float) * row) == 0,
                  "%s: %s %d of a mixed step differs from its step alone", name, s < N_DEC ? "decode row" : "prompt",
                  s);
done:
    free(want);
    free(f.logits);
    syn_ctx_free(f.c);
    syn_lora_free(lora); /* after the context, which borrows it */
    syn_model_free(m);
    syn_backend_close(&be);
}

int main(void)
{
    /* each type the AMX tiles take */
    const char *models[] = {"models/qwen2-Q8_0.gguf", "models/qwen2-Q4_0.gguf", "models/qwen2-Q4_K_M.gguf",
                            "models/qwen2-Q5_K_M.gguf", "models/qwen2-Q6_K.gguf", "models/qwen2-BF16.gguf",
                            "models/qwen2-f16.gguf"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++)
        check_model(models[i], NULL);
    check_model("models/qwen2-f16.gguf", "models/lora-a.gguf");
    check_model("models/qwen2-Q4_K_M.gguf", "models/lora-b.gguf");
    return CHECK_DONE();
}
