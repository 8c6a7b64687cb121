/* LoRA adapters as Hugging Face PEFT saves them: adapter_config.json (r,
 * lora_alpha, use_rslora, ...) and adapter_model.safetensors, whose tensors
 * base_model.model.model.layers.N.{self_attn,mlp}.<x>_proj.lora_{A,B}.weight
 * map to the model's projections. A is (r x in) and B (out x r), as in
 * llama.cpp's layout, in F32, F16 or BF16. For models whose rope rotates
 * (2i, 2i+1) pairs (llama), the GGUF converter permuted the rows of q and k
 * from Hugging Face's (i, i + d/2) order, so B of q and k is permuted the
 * same way here. Whatever would change the computation and is not done
 * here (DoRA, per-module ranks or alphas, trained biases, embedding or
 * lm_head adapters, full module copies) is refused by name. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <synapse/safetensors.h>

#include "core/model/model_internal.h"
#include "formats/file_map.h"
#include "formats/json_value.h"

#define PEFT_CONFIG "adapter_config.json"
#define PEFT_WEIGHTS "adapter_model.safetensors"
#define PEFT_MAX_CONFIG_BYTES (1 << 20)
#define PEFT_MAX_RANK 4096
#define PEFT_MAX_ALPHA 65536.0

/* PEFT module names of the projections, in syn_proj order */
static const char *const peft_modules[SYN_PROJ_COUNT] = {
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
    "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj",
};

struct peft_config {
    int64_t r;
    double alpha;
    bool rslora;
};

/* A config key whose value changes the computation: refused unless it is
 * absent, null, false, empty or (for `bias`) "none". */
static int inactive(const syn_json *v)
{
    bool b;
    const char *s;
    size_t len;
    switch (syn_json_kind_of(v)) {
    case SYN_JSON_NULL:
        return 1;
    case SYN_JSON_BOOL:
        return !syn_json_bool(v, &b) && !b;
    case SYN_JSON_ARRAY:
    case SYN_JSON_OBJECT:
        return syn_json_len(v) == 0;
    case SYN_JSON_STRING:
        return !syn_json_string(v, &s, &len) && (len == 0 || !strcmp(s, "none"));
    default:
        return 0;
    }
}

static int read_config(const char *path, struct peft_config *pc, syn_error *err)
{
    size_t len = 0;
    char *text = syn_read_file(path, &len);
    if (!text)
        return syn_fail(err, SYN_ERR_IO, "%s: cannot read it: %s", path, strerror(errno ? errno : EIO));
    syn_json_limits lim = {.max_depth = 16, .max_bytes = PEFT_MAX_CONFIG_BYTES, .max_nodes = 1 << 16};
    syn_json_doc *doc = NULL;
    int rc = syn_json_parse(text, len, &lim, &doc, err);
    free(text);
    if (rc) {
        syn_error_prefix(err, path);
        return rc;
    }
    const syn_json *root = syn_json_root(doc), *v;
    const char *s;
    size_t slen;
    /* what PEFT would apply that this loader does not */
    static const struct {
        const char *key, *what;
    } refused[] = {
        {"use_dora", "DoRA (use_dora)"},
        {"rank_pattern", "per-module ranks (rank_pattern)"},
        {"alpha_pattern", "per-module alphas (alpha_pattern)"},
        {"fan_in_fan_out", "transposed (Conv1D) weights (fan_in_fan_out)"},
        {"bias", "trained biases (bias)"},
        {"lora_bias", "trained biases of B (lora_bias)"},
        {"modules_to_save", "full copies of modules (modules_to_save)"},
        {"layer_replication", "replicated layers (layer_replication)"},
        {"trainable_token_indices", "trained token embeddings (trainable_token_indices)"},
        {"target_parameters", "adapters of parameters (target_parameters)"},
    };
    if (syn_json_kind_of(root) != SYN_JSON_OBJECT) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: not a JSON object", path);
        goto done;
    }
    if ((v = syn_json_get(root, "peft_type")) && (syn_json_string(v, &s, &slen) || strcmp(s, "LORA"))) {
        rc = syn_fail(err, SYN_ERR_UNSUPPORTED, "%s: peft_type is not \"LORA\"; only LoRA adapters are supported", path);
        goto done;
    }
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        if ((v = syn_json_get(root, refused[i].key)) && !inactive(v)) {
            rc = syn_fail(err, SYN_ERR_UNSUPPORTED, "%s: %s is not supported", path, refused[i].what);
            goto done;
        }
    if (!(v = syn_json_get(root, "r")) || syn_json_int64(v, &pc->r) || pc->r < 1 || pc->r > PEFT_MAX_RANK) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: r must be an integer from 1 to %d", path, PEFT_MAX_RANK);
        goto done;
    }
    if (!(v = syn_json_get(root, "lora_alpha")) || syn_json_number(v, &pc->alpha) || !isfinite(pc->alpha) ||
        pc->alpha <= 0 || pc->alpha > PEFT_MAX_ALPHA) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: lora_alpha must be a number above 0 and at most %g", path,
                      PEFT_MAX_ALPHA);
        goto done;
    }
    pc->rslora = false;
    if ((v = syn_json_get(root, "use_rslora")) && syn_json_kind_of(v) != SYN_JSON_NULL &&
        syn_json_bool(v, &pc->rslora)) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: use_rslora must be true or false", path);
        goto done;
    }
done:
    syn_json_free(doc);
    return rc;
}

/* The projection and layer a PEFT tensor name adapts, and whether it is A
 * (0) or B (1); -1 with err set (naming the tensor) for any other name. */
static int parse_name(const char *name, int n_layer, int *layer, int *proj, int *which, syn_error *err)
{
    static const char prefix[] = "base_model.model.model.layers.";
    if (strstr(name, "lora_embedding_") || strstr(name, "embed_tokens"))
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "tensor '%.96s': embedding adapters are not supported", name), -1;
    if (strstr(name, "lm_head"))
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "tensor '%.96s': lm_head adapters are not supported", name), -1;
    if (strstr(name, "lora_magnitude_vector"))
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "tensor '%.96s': DoRA is not supported", name), -1;
    if (!strncmp(name, prefix, sizeof prefix - 1)) {
        const char *p = name + sizeof prefix - 1;
        char *end;
        errno = 0;
        long n = p[0] >= '0' && p[0] <= '9' ? strtol(p, &end, 10) : -1;
        if (n >= 0 && !errno && *end == '.' && (end - p == 1 || p[0] != '0')) {
            p = end + 1;
            for (int i = 0; i < SYN_PROJ_COUNT; i++) {
                size_t ml = strlen(peft_modules[i]);
                if (strncmp(p, peft_modules[i], ml))
                    continue;
                const char *tail = p + ml;
                int w = !strcmp(tail, ".lora_A.weight") ? 0 : !strcmp(tail, ".lora_B.weight") ? 1 : -1;
                if (w < 0 || n >= n_layer)
                    break;
                *layer = (int)n;
                *proj = i;
                *which = w;
                return 0;
            }
        }
    }
    return syn_fail(err, SYN_ERR_UNSUPPORTED,
                    "tensor '%.96s' adapts nothing in this model (PEFT LoRA applies to "
                    "base_model.model.model.layers.N.{self_attn.{q,k,v,o}_proj,mlp.{gate,up,down}_proj}"
                    ".lora_{A,B}.weight of its %d layers)",
                    name, n_layer),
           -1;
}

static int syn_type_of(int dtype)
{
    return dtype == SYN_ST_F32 ? SYN_TYPE_F32 : dtype == SYN_ST_F16 ? SYN_TYPE_F16 : dtype == SYN_ST_BF16 ? SYN_TYPE_BF16 : -1;
}

/* B of q or k with its rows in llama.cpp's order: Hugging Face's row
 * h * d + j * d/2 + i (rotate_half pairs i and i + d/2) becomes row
 * h * d + 2 i + j (the GGUF rope's pairs 2i and 2i + 1). */
static void *permute_rows(const void *src, size_t row_bytes, int64_t n_head, int64_t head_dim)
{
    char *dst = malloc(row_bytes * (size_t)(n_head * head_dim));
    if (!dst)
        return NULL;
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++)
                memcpy(dst + (size_t)(h * head_dim + 2 * i + j) * row_bytes,
                       (const char *)src + (size_t)(h * head_dim + j * half + i) * row_bytes, row_bytes);
    return dst;
}

/* the config's and the weights' paths for path (a directory or a file) */
static int peft_paths(const char *path, char *config, char *weights, size_t cap, syn_error *err)
{
    struct stat st;
    int n1, n2;
    if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
        n1 = snprintf(config, cap, "%s/" PEFT_CONFIG, path);
        n2 = snprintf(weights, cap, "%s/" PEFT_WEIGHTS, path);
    } else {
        const char *slash = strrchr(path, '/');
        int dir = slash ? (int)(slash - path) : 1;
        n1 = snprintf(config, cap, "%.*s/" PEFT_CONFIG, dir, slash ? path : ".");
        n2 = snprintf(weights, cap, "%s", path);
    }
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= cap || (size_t)n2 >= cap)
        return syn_fail(err, SYN_ERR_INVALID, "%s: path too long", path);
    return SYN_OK;
}

int syn_lora_load_peft(syn_lora *l, const char *path, syn_error *err)
{
    const syn_model *m = l->model;
    const syn_model_config *c = &m->cfg;
    char config[4096], weights[4096];
    struct peft_config pc;
    int rc = peft_paths(path, config, weights, sizeof config, err);
    if (rc || (rc = read_config(config, &pc, err)) || (rc = syn_st_open(weights, &l->st, err)))
        return rc;
    size_t n_pairs = (size_t)c->n_layer * SYN_PROJ_COUNT;
    l->pairs = calloc(n_pairs, sizeof *l->pairs);
    l->owned = calloc(n_pairs * 2, sizeof *l->owned);
    const syn_st_tensor **found = calloc(n_pairs * 2, sizeof *found);
    if (!l->pairs || !l->owned || !found) {
        free(found);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    /* every tensor names one matrix of one projection, once */
    for (int64_t i = 0; i < syn_st_n_tensors(l->st); i++) {
        const syn_st_tensor *t = syn_st_tensor_at(l->st, i);
        int layer, proj, which;
        if (parse_name(t->name, c->n_layer, &layer, &proj, &which, err) < 0) {
            rc = err->code;
            goto fail;
        }
        found[((size_t)layer * SYN_PROJ_COUNT + (size_t)proj) * 2 + (size_t)which] = t;
    }
    int n_found = 0;
    for (size_t k = 0; k < n_pairs; k++) {
        const syn_st_tensor *ta = found[2 * k], *tb = found[2 * k + 1];
        if (!ta && !tb)
            continue;
        if (!ta || !tb) {
            rc = syn_fail(err, SYN_ERR_FORMAT, "%s: tensor '%.96s' has no matching lora_%s", weights,
                          (ta ? ta : tb)->name, ta ? "B" : "A");
            goto fail;
        }
        int layer = (int)(k / SYN_PROJ_COUNT), proj = (int)(k % SYN_PROJ_COUNT);
        const syn_tensor *w = &m->layers[layer].proj[proj];
        /* A is (r x in), B (out x r), outermost dimension first */
        const syn_st_tensor *mats[2] = {ta, tb};
        int64_t want[2][2] = {{pc.r, w->ne[0]}, {w->ne[1], pc.r}};
        for (int j = 0; j < 2; j++) {
            const syn_st_tensor *t = mats[j];
            if (syn_type_of(t->dtype) < 0) {
                rc = syn_fail(err, SYN_ERR_UNSUPPORTED, "%s: tensor '%.96s' is %s; LoRA matrices must be F32, F16 or BF16",
                              weights, t->name, syn_st_dtype_name(t->dtype));
                goto fail;
            }
            if (t->n_dims != 2 || t->shape[0] != want[j][0] || t->shape[1] != want[j][1]) {
                rc = syn_fail(err, SYN_ERR_INVALID,
                              "%s: tensor '%.96s' has shape [%lld, %lld%s], this model and r = %lld need [%lld, %lld]",
                              weights, t->name, (long long)t->shape[0], (long long)(t->n_dims > 1 ? t->shape[1] : 1),
                              t->n_dims > 2 ? ", ..." : "", (long long)pc.r, (long long)want[j][0],
                              (long long)want[j][1]);
                goto fail;
            }
        }
        const void *host_b = tb->data;
        if (!c->rope_neox && (proj == SYN_PROJ_Q || proj == SYN_PROJ_K)) {
            int64_t heads = proj == SYN_PROJ_Q ? c->n_head : c->n_head_kv;
            size_t row = tb->size / (size_t)w->ne[1];
            if (!(l->owned[2 * k + 1] = permute_rows(tb->data, row, heads, c->head_dim))) {
                rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
                goto fail;
            }
            host_b = l->owned[2 * k + 1];
        }
        syn_lora_pair *pair = &l->pairs[k];
        if ((rc = syn_tensor_bind_host(&m->be, ta->name, syn_type_of(ta->dtype), w->ne[0], pc.r, ta->data, &pair->a,
                                       err)) ||
            (rc = syn_tensor_bind_host(&m->be, tb->name, syn_type_of(tb->dtype), pc.r, w->ne[1], host_b, &pair->b,
                                       err))) {
            syn_error_prefix(err, weights);
            goto fail;
        }
        /* matrices the backend copied need neither the file's pages nor
         * the permuted bytes any more */
        if (pair->a.data != ta->data)
            syn_map_discard(ta->data, ta->size);
        if (pair->b.data != host_b && l->owned[2 * k + 1]) {
            free(l->owned[2 * k + 1]);
            l->owned[2 * k + 1] = NULL;
        } else if (pair->b.data != host_b)
            syn_map_discard(tb->data, tb->size);
        n_found++;
    }
    if (!n_found) {
        rc = syn_fail(err, SYN_ERR_FORMAT, "%s: no LoRA tensors", weights);
        goto fail;
    }
    free(found);
    l->rank = (int32_t)pc.r;
    l->alpha = (float)pc.alpha;
    l->scale = (float)(pc.rslora ? pc.alpha / sqrt((double)pc.r) : pc.alpha / (double)pc.r);
    return SYN_OK;
fail:
    free(found);
    return rc;
}
