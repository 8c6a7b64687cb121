/* PEFT adapters (adapter_config.json + adapter_model.safetensors): the
 * test writes PEFT copies of the GGUF test adapters and checks each gives
 * the logits its GGUF twin gives, bit for bit (the GGUF adapters give
 * llama.cpp's golden logits, test_golden): lora-a on qwen2-f16 in F32, as
 * a directory and as a .safetensors file beside its config; lora-b on
 * qwen2-Q4_K_M under rsLoRA scaling; F16 and BF16 matrices against a GGUF
 * copy of the same bits; and for llama, lora-a with q and k's B in
 * Hugging Face's row order, which the loader must permute (written in
 * llama.cpp's order instead, the logits differ). Then every refusal: DoRA,
 * rank or alpha patterns, trained biases, modules_to_save, other PEFT
 * types, a bad r or alpha, embedding, lm_head and DoRA tensors, a shape or
 * dtype that does not fit, a lone A, an unknown module, a layer the model
 * lacks, a malformed config, missing files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synapse/gguf.h>
#include <synapse/model.h>
#include <synapse/safetensors.h>
#include "tests/check.h"

#define N_TOK 8

static const char *const gguf_proj[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
static const char *const peft_proj[] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                        "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};

static char dir[64];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* 16-bit forms of a float: bf16 truncated, f16 rounded (normal range,
 * tiny values to zero); any fixed mapping does, both copies get its bits */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)(u >> 16);
}
static uint16_t to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int32_t e = (int32_t)((u >> 23) & 0xff) - 127 + 15;
    uint32_t mant = (u & 0x7fffffu) + 0x1000u; /* round to nearest */
    if (mant & 0x800000u) {
        mant = 0;
        e++;
    }
    if (e <= 0)
        return (uint16_t)sign;
    if (e >= 31)
        return (uint16_t)(sign | 0x7bffu);
    return (uint16_t)(sign | (uint32_t)e << 10 | mant >> 13);
}

/* A GGUF adapter rewritten: PEFT names (peft != 0) or GGUF ones, matrices
 * as `dtype` (SYN_ST_F32/F16/BF16), q and k's B in Hugging Face's order
 * when hf_order (the inverse of llama.cpp's permutation), arch for GGUF. */
struct copy {
    const char *src;
    int dtype;
    int hf_order;
    int64_t n_head, n_head_kv, head_dim;
    const char *arch;
    float alpha;
};

static void *convert(const float *src, size_t n, int dtype)
{
    if (dtype == SYN_ST_F32) {
        float *d = malloc(n * 4);
        memcpy(d, src, n * 4);
        return d;
    }
    uint16_t *h = malloc(n * 2);
    for (size_t i = 0; i < n; i++)
        h[i] = dtype == SYN_ST_F16 ? to_f16(src[i]) : to_bf16(src[i]);
    return h;
}

/* rows of B in Hugging Face's order: its row h*d + j*d/2 + i is llama.cpp's h*d + 2i + j */
static void unpermute(void *m, size_t row, int64_t n_head, int64_t d)
{
    char *copy = malloc(row * (size_t)(n_head * d));
    memcpy(copy, m, row * (size_t)(n_head * d));
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t i = 0; i < d / 2; i++)
            for (int64_t j = 0; j < 2; j++)
                memcpy((char *)m + (size_t)(h * d + j * (d / 2) + i) * row, copy + (size_t)(h * d + 2 * i + j) * row, row);
    free(copy);
}

/* writes the copy: a safetensors file at out (PEFT) or a GGUF file (gguf) */
static int write_copy(const struct copy *c, const char *out, int gguf)
{
    syn_gguf *g = NULL;
    syn_error err = {0};
    if (syn_gguf_open(testdata(c->src), &g, &err)) {
        CHECK_MSG(0, "%s: %s", c->src, err.msg);
        return -1;
    }
    int64_t n = syn_gguf_n_tensors(g);
    syn_st_tensor *ts = calloc((size_t)n, sizeof *ts);
    void **bufs = calloc((size_t)n, sizeof *bufs);
    char (*names)[128] = calloc((size_t)n, sizeof *names);
    syn_gguf_writer *w = gguf ? syn_gguf_writer_new() : NULL;
    int rc = 0;
    if (w)
        rc = syn_gguf_set_str(w, "general.type", "adapter") || syn_gguf_set_str(w, "general.architecture", c->arch) ||
             syn_gguf_set_str(w, "adapter.type", "lora") || syn_gguf_set_f32(w, "adapter.lora.alpha", c->alpha);
    for (int64_t i = 0; i < n && !rc; i++) {
        const syn_gguf_tensor *t = syn_gguf_tensor_at(g, i);
        int layer = -1, p = -1, b = 0;
        char proj[32] = "", ab[8] = "";
        if (sscanf(t->name, "blk.%d.%31[^.].weight.lora_%7s", &layer, proj, ab) != 3) {
            CHECK_MSG(0, "unexpected tensor %s", t->name);
            rc = -1;
            break;
        }
        for (int k = 0; k < 7; k++)
            if (!strcmp(proj, gguf_proj[k]))
                p = k;
        b = !strcmp(ab, "b");
        size_t count = (size_t)(t->ne[0] * t->ne[1]);
        bufs[i] = convert(t->data, count, c->dtype);
        size_t esize = c->dtype == SYN_ST_F32 ? 4 : 2;
        if (b && c->hf_order && (p == 0 || p == 1))
            unpermute(bufs[i], esize * (size_t)t->ne[0], p == 0 ? c->n_head : c->n_head_kv, c->head_dim);
        if (gguf) {
            int type = c->dtype == SYN_ST_F32 ? SYN_TYPE_F32 : c->dtype == SYN_ST_F16 ? SYN_TYPE_F16 : SYN_TYPE_BF16;
            rc = syn_gguf_add_tensor(w, t->name, type, 2, t->ne, bufs[i], &err);
            continue;
        }
        snprintf(names[i], sizeof names[i], "base_model.model.model.layers.%d.%s.lora_%s.weight", layer, peft_proj[p],
                 b ? "B" : "A");
        ts[i] = (syn_st_tensor){.name = names[i], .dtype = c->dtype, .n_dims = 2,
                                .shape = {t->ne[1], t->ne[0]}, .data = bufs[i], .size = esize * count};
    }
    if (!rc)
        rc = gguf ? syn_gguf_write_file(w, out, &err) : syn_st_write(out, ts, (size_t)n, NULL, 0, &err);
    CHECK_MSG(!rc, "writing %s: %s", out, err.msg);
    for (int64_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(ts);
    free(names);
    syn_gguf_writer_free(w);
    syn_gguf_close(g);
    return rc;
}

/* logits of the last of N_TOK tokens with adapter path at scale 1 */
static int logits_with(syn_model *m, const char *path, float *out, syn_error *err)
{
    syn_lora *l = NULL;
    int rc = syn_lora_load(m, path, &l, err);
    if (rc)
        return rc;
    syn_ctx_params p = {.n_ctx = 32, .n_slots = 1, .max_rows = N_TOK, .max_logit_rows = 1};
    syn_ctx *c = NULL;
    float one = 1.0f;
    int32_t tok[N_TOK], pos[N_TOK], ad[N_TOK];
    for (int i = 0; i < N_TOK; i++) {
        tok[i] = 100 + 37 * i;
        pos[i] = i;
        ad[i] = 0;
    }
    syn_batch b = {.n = N_TOK, .token = tok, .pos = pos, .adapter = ad};
    if (!(rc = syn_ctx_new(m, &p, &c, err)) && !(rc = syn_ctx_set_adapters(c, &l, &one, 1, err)))
        rc = syn_forward(c, &b, out, err);
    syn_ctx_free(c);
    syn_lora_free(l);
    return rc;
}

static void peft_dir(const char *name, const char *config, const struct copy *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
    mkdir(out, 0700);
    char path[320];
    snprintf(path, sizeof path, "%s/adapter_config.json", out);
    write_text(path, config);
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", out);
    if (c)
        write_copy(c, path, 0);
}

static void same_logits(syn_model *m, const char *what, const char *a, const char *b, int want_same)
{
    int32_t nv = syn_model_get_config(m)->n_vocab;
    float *la = malloc(sizeof(float) * (size_t)nv), *lb = malloc(sizeof(float) * (size_t)nv);
    syn_error ea = {0}, eb = {0};
    int ra = logits_with(m, a, la, &ea), rb = logits_with(m, b, lb, &eb);
    CHECK_MSG(ra == SYN_OK, "%s: %s: %s", what, a, ea.msg);
    CHECK_MSG(rb == SYN_OK, "%s: %s: %s", what, b, eb.msg);
    if (!ra && !rb) {
        int same = !memcmp(la, lb, sizeof(float) * (size_t)nv);
        CHECK_MSG(same == want_same, "%s: the logits %s", what, same ? "are the same" : "differ");
    }
    free(la);
    free(lb);
}

static void refused(syn_model *m, const char *what, const char *path, const char *message)
{
    syn_lora *l = NULL;
    syn_error err = {0};
    int rc = syn_lora_load(m, path, &l, &err);
    CHECK_MSG(rc != SYN_OK && !l && strstr(err.msg, message), "%s: rc %d, message '%s' (want '%s')", what, rc,
              err.msg, message);
    syn_lora_free(l);
}

/* a PEFT directory of one pair of tensors (zeros) under these names and shapes */
static void one_pair(const char *name, const char *a_name, const int64_t *a_shape, int a_dtype, const char *b_name,
                     const int64_t *b_shape, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, name);
    mkdir(out, 0700);
    char path[320];
    snprintf(path, sizeof path, "%s/adapter_config.json", out);
    write_text(path, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8}");
    syn_st_tensor ts[2];
    size_t n = 0;
    int bits = syn_st_dtype_bits(a_dtype);
    ts[n++] = (syn_st_tensor){.name = a_name, .dtype = a_dtype, .n_dims = 2, .shape = {a_shape[0], a_shape[1]},
                              .size = (size_t)(a_shape[0] * a_shape[1]) * (size_t)bits / 8};
    if (b_name)
        ts[n++] = (syn_st_tensor){.name = b_name, .dtype = SYN_ST_F32, .n_dims = 2, .shape = {b_shape[0], b_shape[1]},
                                  .size = (size_t)(b_shape[0] * b_shape[1]) * 4};
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", out);
    syn_error err = {0};
    CHECK_MSG(!syn_st_write(path, ts, n, NULL, 0, &err), "%s: %s", name, err.msg);
}

static syn_model *load_model(const syn_backend_ref *be, const char *rel)
{
    syn_model *m = NULL;
    syn_error err = {0};
    CHECK_MSG(!syn_model_load(testdata(rel), be, &m, &err), "%s: %s", rel, err.msg);
    return m;
}

int main(int argc, char **argv)
{
    /* --write-peft DIR: only write the PEFT copy of lora-a (for the CLI's test) */
    if (argc == 3 && !strcmp(argv[1], "--write-peft")) {
        struct copy a = {.src = "models/lora-a.gguf", .dtype = SYN_ST_F32};
        char path[4200];
        snprintf(path, sizeof path, "%s/adapter_config.json", argv[2]);
        write_text(path, "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16}");
        snprintf(path, sizeof path, "%s/adapter_model.safetensors", argv[2]);
        write_copy(&a, path, 0);
        return CHECK_DONE();
    }
    syn_backend_ref be;
    syn_error err = {0};
    if (syn_backend_open("cpu", 2, &be, &err)) {
        fprintf(stderr, "cannot open the cpu backend: %s\n", err.msg);
        return 99;
    }
    snprintf(dir, sizeof dir, "/tmp/synapse-test-peft-XXXXXX");
    if (!mkdtemp(dir))
        return 99;
    syn_model *f16 = load_model(&be, "models/qwen2-f16.gguf"), *q4 = load_model(&be, "models/qwen2-Q4_K_M.gguf"),
              *llama = load_model(&be, "models/llama-Q8_0.gguf");
    if (!f16 || !q4 || !llama)
        return CHECK_DONE();
    const syn_model_config *lc = syn_model_get_config(llama);
    char p1[256], p2[256], p3[256], path[320];

    /* lora-a (r 8, alpha 16) in F32: as a directory, and as the file alone */
    struct copy a32 = {.src = "models/lora-a.gguf", .dtype = SYN_ST_F32};
    peft_dir("a32", "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16, \"use_dora\": false, \"bias\": \"none\", "
             "\"rank_pattern\": {}, \"modules_to_save\": null, \"target_modules\": [\"q_proj\"]}",
             &a32, p1, sizeof p1);
    same_logits(f16, "lora-a as PEFT", testdata("models/lora-a.gguf"), p1, 1);
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", p1);
    same_logits(f16, "lora-a as a .safetensors file", testdata("models/lora-a.gguf"), path, 1);

    /* lora-b (r 16, alpha 16: scale 1) under rsLoRA: alpha 4 / sqrt(16) = 1 */
    struct copy b32 = {.src = "models/lora-b.gguf", .dtype = SYN_ST_F32};
    peft_dir("b-rslora", "{\"r\": 16, \"lora_alpha\": 4, \"use_rslora\": true}", &b32, p1, sizeof p1);
    same_logits(q4, "lora-b as rsLoRA PEFT", testdata("models/lora-b.gguf"), p1, 1);
    /* without rsLoRA the same alpha is a scale of 1/4 */
    peft_dir("b-plain", "{\"r\": 16, \"lora_alpha\": 4}", &b32, p2, sizeof p2);
    same_logits(q4, "lora-b PEFT alpha 4 without rsLoRA", testdata("models/lora-b.gguf"), p2, 0);

    /* F16 and BF16: the same bits in GGUF and in PEFT */
    static const int halves[] = {SYN_ST_F16, SYN_ST_BF16};
    for (int i = 0; i < 2; i++) {
        struct copy h = {.src = "models/lora-a.gguf", .dtype = halves[i], .arch = "qwen2", .alpha = 16};
        snprintf(p2, sizeof p2, "%s/a-%s.gguf", dir, syn_st_dtype_name(halves[i]));
        write_copy(&h, p2, 1);
        peft_dir(i ? "a-bf16" : "a-f16", "{\"r\": 8, \"lora_alpha\": 16}", &h, p1, sizeof p1);
        same_logits(f16, syn_st_dtype_name(halves[i]), p2, p1, 1);
    }

    /* llama: the GGUF copy in llama.cpp's order, the PEFT copy in Hugging
     * Face's; and a PEFT copy left in llama.cpp's order must differ */
    struct copy lg = {.src = "models/lora-a.gguf", .dtype = SYN_ST_F32, .arch = "llama", .alpha = 16};
    struct copy lh = lg, ll = lg;
    lh.hf_order = 1;
    lh.n_head = lc->n_head;
    lh.n_head_kv = lc->n_head_kv;
    lh.head_dim = lc->head_dim;
    snprintf(p3, sizeof p3, "%s/llama-a.gguf", dir);
    write_copy(&lg, p3, 1);
    peft_dir("llama-hf", "{\"r\": 8, \"lora_alpha\": 16}", &lh, p1, sizeof p1);
    same_logits(llama, "llama PEFT (q/k permuted)", p3, p1, 1);
    peft_dir("llama-gguf-order", "{\"r\": 8, \"lora_alpha\": 16}", &ll, p2, sizeof p2);
    same_logits(llama, "llama PEFT left in llama.cpp's order", p3, p2, 0);

    /* refusals in the config */
    static const struct {
        const char *name, *config, *message;
    } configs[] = {
        {"dora", "{\"r\": 8, \"lora_alpha\": 16, \"use_dora\": true}", "DoRA (use_dora) is not supported"},
        {"rank-pattern", "{\"r\": 8, \"lora_alpha\": 16, \"rank_pattern\": {\"q_proj\": 4}}", "rank_pattern"},
        {"alpha-pattern", "{\"r\": 8, \"lora_alpha\": 16, \"alpha_pattern\": {\"q_proj\": 4}}", "alpha_pattern"},
        {"bias", "{\"r\": 8, \"lora_alpha\": 16, \"bias\": \"all\"}", "trained biases (bias)"},
        {"save", "{\"r\": 8, \"lora_alpha\": 16, \"modules_to_save\": [\"lm_head\"]}", "modules_to_save"},
        {"ia3", "{\"peft_type\": \"IA3\", \"r\": 8, \"lora_alpha\": 16}", "only LoRA adapters"},
        {"no-r", "{\"lora_alpha\": 16}", "r must be an integer"},
        {"r-float", "{\"r\": 8.5, \"lora_alpha\": 16}", "r must be an integer"},
        {"no-alpha", "{\"r\": 8}", "lora_alpha must be a number"},
        {"alpha-nan", "{\"r\": 8, \"lora_alpha\": \"x\"}", "lora_alpha must be a number"},
        {"rslora-str", "{\"r\": 8, \"lora_alpha\": 16, \"use_rslora\": \"yes\"}", "use_rslora must be"},
        {"not-json", "{\"r\": 8,", "adapter_config.json"},
        {"array", "[1]", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof configs / sizeof *configs; i++) {
        peft_dir(configs[i].name, configs[i].config, &a32, p1, sizeof p1);
        refused(f16, configs[i].name, p1, configs[i].message);
    }
    /* refusals in the tensors (qwen2 256 wide, 768 ffn, 2 layers) */
    static const int64_t a_ok[2] = {4, 256}, b_ok[2] = {256, 4}, a_bad[2] = {4, 255}, b_bad[2] = {256, 5};
    static const struct {
        const char *name, *a, *b, *message;
        const int64_t *as, *bs;
        int dtype;
    } tensors[] = {
        {"embedding", "base_model.model.model.embed_tokens.lora_embedding_A", NULL, "embedding adapters", a_ok, NULL,
         SYN_ST_F32},
        {"lm-head", "base_model.model.lm_head.lora_A.weight", NULL, "lm_head adapters", a_ok, NULL, SYN_ST_F32},
        {"magnitude", "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", NULL,
         "DoRA is not supported", a_ok, NULL, SYN_ST_F32},
        {"shape-a", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
         "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "lora_A.weight' has shape [4, 255]", a_bad,
         b_ok, SYN_ST_F32},
        {"rank-b", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
         "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "lora_B.weight' has shape [256, 5]", a_ok,
         b_bad, SYN_ST_F32},
        {"dtype", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
         "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "is I32; LoRA matrices must be", a_ok,
         b_ok, SYN_ST_I32},
        {"lone-a", "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", NULL, "has no matching lora_B",
         a_ok, NULL, SYN_ST_F32},
        {"module", "base_model.model.model.layers.0.self_attn.rotary.lora_A.weight", NULL, "adapts nothing", a_ok,
         NULL, SYN_ST_F32},
        {"layer", "base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight", NULL, "adapts nothing", a_ok,
         NULL, SYN_ST_F32},
        {"layer-zero", "base_model.model.model.layers.00.self_attn.q_proj.lora_A.weight", NULL, "adapts nothing",
         a_ok, NULL, SYN_ST_F32},
    };
    for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++) {
        one_pair(tensors[i].name, tensors[i].a, tensors[i].as, tensors[i].dtype, tensors[i].b, tensors[i].bs, p1,
                 sizeof p1);
        refused(f16, tensors[i].name, p1, tensors[i].message);
    }
    /* a well-formed pair loads */
    one_pair("pair", "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight", (const int64_t[]){4, 768},
             SYN_ST_F32, "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight", b_ok, p1, sizeof p1);
    syn_lora *l = NULL;
    CHECK_MSG(!syn_lora_load(f16, p1, &l, &err) && l && syn_lora_rank(l) == 4, "one down_proj pair: %s", err.msg);
    syn_lora_free(l);
    /* missing files */
    snprintf(p1, sizeof p1, "%s/empty", dir);
    mkdir(p1, 0700);
    refused(f16, "no config", p1, "adapter_config.json: cannot read it");
    write_text((snprintf(path, sizeof path, "%s/adapter_config.json", p1), path), "{\"r\": 8, \"lora_alpha\": 16}");
    refused(f16, "no weights", p1, "adapter_model.safetensors");

    syn_model_free(f16);
    syn_model_free(q4);
    syn_model_free(llama);
    syn_backend_close(&be);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE();
}
