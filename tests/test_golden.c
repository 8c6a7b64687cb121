/* Logits against llama.cpp's golden files (../shared/testdata/golden): every
 * model and adapter, teacher-forced along the golden tokens, with the CPU
 * backend's reference kernels and, where the CPU has them, its AVX2 kernels.
 * Tolerances from the testdata README: 0.1 for f16/bf16, 0.5 quantised; the
 * argmax must be a golden id within the tolerance of the golden maximum. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synapse/model.h>
#include "tests/check.h"

struct golden_case {
    const char *model, *golden, *lora;
    float scale, tol;
    int local; /* model and golden file in tests/data (see its README) */
};

static const struct golden_case cases[] = {
    {"qwen2-f16.gguf", "qwen2-f16.jsonl", NULL, 1, 0.1f, 0},
    {"qwen2-BF16.gguf", "qwen2-BF16.jsonl", NULL, 1, 0.1f, 0},
    {"qwen2-Q8_0.gguf", "qwen2-Q8_0.jsonl", NULL, 1, 0.5f, 0},
    {"qwen2-Q4_0.gguf", "qwen2-Q4_0.jsonl", NULL, 1, 0.5f, 0},
    {"qwen2-Q4_K_M.gguf", "qwen2-Q4_K_M.jsonl", NULL, 1, 0.5f, 0},
    {"qwen2-Q5_K_M.gguf", "qwen2-Q5_K_M.jsonl", NULL, 1, 0.5f, 0},
    {"qwen2-Q6_K.gguf", "qwen2-Q6_K.jsonl", NULL, 1, 0.5f, 0},
    {"llama-Q8_0.gguf", "llama-Q8_0.jsonl", NULL, 1, 0.5f, 0},
    {"qwen3-Q4_K_M.gguf", "qwen3-Q4_K_M.jsonl", NULL, 1, 0.5f, 0},
    {"qwen2-chat-Q8_0.gguf", "qwen2-chat-Q8_0.jsonl", NULL, 1, 0.5f, 0},
    {"qwen2-f16.gguf", "qwen2-f16+lora-a.jsonl", "lora-a.gguf", 1, 0.1f, 0},
    {"qwen2-f16.gguf", "qwen2-f16+lora-a@0.5.jsonl", "lora-a.gguf", 0.5f, 0.1f, 0},
    {"qwen2-Q4_K_M.gguf", "qwen2-Q4_K_M+lora-b.jsonl", "lora-b.gguf", 1, 0.5f, 0},
    {"qwen2-Q2_K.gguf", "qwen2-Q2_K.jsonl", NULL, 1, 0.5f, 1},
    {"qwen2-Q3_K_M.gguf", "qwen2-Q3_K_M.jsonl", NULL, 1, 0.5f, 1},
};

/* Path of a test file: ../shared/testdata/DIR/NAME, or tests/data/NAME. */
static const char *case_path(const struct golden_case *gc, const char *dir, const char *name, char *buf, size_t n)
{
    if (gc->local) {
        const char *top = getenv("top_srcdir");
        snprintf(buf, n, "%s/tests/data/%s", top ? top : ".", name);
        return buf;
    }
    char rel[256];
    snprintf(rel, sizeof rel, "%s/%s", dir, name);
    snprintf(buf, n, "%s", testdata(rel));
    return buf;
}

#define MAX_STEPS 64
#define MAX_TOKENS 256

struct prompt_run {
    int id;
    int32_t tokens[MAX_TOKENS];
    int n_tokens;
    int n_steps;
    int32_t top_id[MAX_STEPS][8];
    float top_logit[MAX_STEPS][8];
};

/* Reads the golden file into at most 4 prompt runs. */
static int load_golden(const char *path, struct prompt_run *runs, int max_runs)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[16384];
    int n_runs = 0;
    while (fgets(line, sizeof line, f)) {
        json_object *o = json_tokener_parse(line);
        if (!o)
            continue;
        int pid = json_object_get_int(json_object_object_get(o, "prompt"));
        int step = json_object_get_int(json_object_object_get(o, "step"));
        struct prompt_run *r = NULL;
        for (int i = 0; i < n_runs; i++)
            if (runs[i].id == pid)
                r = &runs[i];
        if (!r && n_runs < max_runs) {
            r = &runs[n_runs++];
            memset(r, 0, sizeof *r);
            r->id = pid;
            json_object *toks = json_object_object_get(o, "tokens");
            r->n_tokens = (int)json_object_array_length(toks);
            for (int i = 0; i < r->n_tokens && i < MAX_TOKENS; i++)
                r->tokens[i] = json_object_get_int(json_object_array_get_idx(toks, (size_t)i));
        }
        if (r && step < MAX_STEPS) {
            json_object *top = json_object_object_get(o, "top");
            for (int k = 0; k < 8; k++) {
                json_object *pair = json_object_array_get_idx(top, (size_t)k);
                r->top_id[step][k] = json_object_get_int(json_object_array_get_idx(pair, 0));
                r->top_logit[step][k] = (float)json_object_get_double(json_object_array_get_idx(pair, 1));
            }
            if (step + 1 > r->n_steps)
                r->n_steps = step + 1;
        }
        json_object_put(o);
    }
    fclose(f);
    return n_runs;
}

/* Worst |ours - golden| over the golden top-8 of every step. */
static float run_case(const syn_backend_ref *be, const struct golden_case *gc)
{
    syn_error err = {0};
    syn_model *m = NULL;
    syn_lora *lora = NULL;
    syn_ctx *ctx = NULL;
    float worst = 0;
    char path[1024];
    if (syn_model_load(case_path(gc, "models", gc->model, path, sizeof path), be, &m, &err)) {
        CHECK_MSG(0, "%s", err.msg);
        return 1e9f;
    }
    if (gc->lora) {
        if (syn_lora_load(m, case_path(gc, "models", gc->lora, path, sizeof path), &lora, &err)) {
            CHECK_MSG(0, "%s", err.msg);
            syn_model_free(m);
            return 1e9f;
        }
    }
    struct prompt_run runs[4];
    int n_runs = load_golden(case_path(gc, "golden", gc->golden, path, sizeof path), runs, 4);
    CHECK_MSG(n_runs > 0, "cannot read %s", path);
    int32_t nv = syn_model_get_config(m)->n_vocab;
    float *logits = malloc(sizeof *logits * (size_t)nv);
    for (int ri = 0; ri < n_runs; ri++) {
        struct prompt_run *r = &runs[ri];
        syn_ctx_params cp = {.n_ctx = r->n_tokens + r->n_steps, .n_slots = 1, .max_rows = MAX_TOKENS,
                             .max_logit_rows = 1};
        if (syn_ctx_new(m, &cp, &ctx, &err)) {
            CHECK_MSG(0, "%s", err.msg);
            break;
        }
        if (lora && syn_ctx_set_adapters(ctx, &lora, &gc->scale, 1, &err)) {
            CHECK_MSG(0, "%s", err.msg);
            syn_ctx_free(ctx);
            break;
        }
        int32_t adapter[MAX_TOKENS];
        memset(adapter, 0, sizeof adapter); /* every row uses adapter 0 */
        for (int s = 0; s < r->n_steps; s++) {
            int rc;
            int32_t pos[MAX_TOKENS];
            const int32_t *tok = s == 0 ? r->tokens : &r->top_id[s - 1][0];
            int n = s == 0 ? r->n_tokens : 1, start = s == 0 ? 0 : r->n_tokens + s - 1;
            for (int i = 0; i < n; i++)
                pos[i] = start + i;
            syn_batch bt = {.n = n, .token = tok, .pos = pos, .adapter = lora ? adapter : NULL, .n_prompt = s == 0 ? n : 0};
            if ((rc = syn_forward(ctx, &bt, logits, &err))) {
                CHECK_MSG(rc == 0, "forward: %s", err.msg);
                break;
            }
            int32_t best = 0;
            for (int32_t v = 1; v < nv; v++)
                if (logits[v] > logits[best])
                    best = v;
            int best_ok = 0;
            for (int k = 0; k < 8; k++) {
                float d = fabsf(logits[r->top_id[s][k]] - r->top_logit[s][k]);
                if (d > worst)
                    worst = d;
                if (r->top_id[s][k] == best && r->top_logit[s][k] >= r->top_logit[s][0] - gc->tol)
                    best_ok = 1;
            }
            CHECK_MSG(best_ok, "%s prompt %d step %d: argmax %d is not a golden top id within %.2f", gc->golden,
                      r->id, s, best, gc->tol);
        }
        syn_ctx_free(ctx);
    }
    free(logits);
    syn_lora_free(lora);
    syn_model_free(m);
    return worst;
}

int main(void)
{
    /* "avx512" caps the choice below the amx set, so a CPU with AMX also
     * runs the forward pass that CPUs without it take (elsewhere it is a
     * second run of whatever set "auto" picks) */
    const char *isas[] = {"ref", "avx512", "auto"};
    int ran = 0;
    for (size_t k = 0; k < sizeof isas / sizeof *isas; k++) {
        if (strcmp(isas[k], "auto"))
            setenv("SYNAPSE_CPU_ISA", isas[k], 1);
        else
            unsetenv("SYNAPSE_CPU_ISA");
        syn_backend_ref be;
        syn_error err = {0};
        if (syn_backend_open("cpu", 2, &be, &err)) {
            fprintf(stderr, "cannot open the cpu backend: %s\n", err.msg);
            return 99;
        }
        const char *desc = be.ops->describe(be.b);
        if (strcmp(isas[k], "ref") && strstr(desc, "ref")) {
            printf("no SIMD kernels on this CPU: reference run only\n");
            syn_backend_close(&be);
            continue;
        }
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            float worst = run_case(&be, &cases[i]);
            printf("%-22s %-28s worst |dlogit| %.4f (tolerance %.2f)\n", desc, cases[i].golden, worst, cases[i].tol);
            CHECK_MSG(worst <= cases[i].tol, "%s: worst %.4f over %.2f", cases[i].golden, worst, cases[i].tol);
            ran++;
        }
        syn_backend_close(&be);
    }
    CHECK(ran > 0);
    return CHECK_DONE();
}
