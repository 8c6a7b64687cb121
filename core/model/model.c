/* Loading a base model: architecture and hyper-parameters from GGUF metadata,
 * every tensor checked against the shape the architecture expects and bound
 * to the backend (the CPU backend uses the mmap in place). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/model_internal.h"

const char *const syn_proj_names[SYN_PROJ_COUNT] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
};

int syn_tensor_bind(const syn_gguf *g, const syn_backend_ref *be, const char *name, int64_t ne0, int64_t ne1,
                    int optional, syn_tensor *t, syn_error *err)
{
    memset(t, 0, sizeof *t);
    int64_t idx = syn_gguf_find_tensor(g, name);
    if (idx < 0) {
        if (optional)
            return SYN_OK;
        return syn_fail(err, SYN_ERR_FORMAT, "tensor '%s' is missing", name);
    }
    const syn_gguf_tensor *gt = syn_gguf_tensor_at(g, idx);
    int64_t want1 = ne1 ? ne1 : 1;
    if (gt->ne[0] != ne0 || gt->ne[1] != want1 || gt->ne[2] != 1 || gt->ne[3] != 1)
        return syn_fail(err, SYN_ERR_FORMAT,
                        "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", name,
                        (long long)gt->ne[0], (long long)gt->ne[1], (long long)gt->ne[2], (long long)gt->ne[3],
                        (long long)ne0, (long long)want1);
    return syn_tensor_bind_host(be, name, gt->type, ne0, ne1, gt->data, t, err);
}

int syn_tensor_bind_host(const syn_backend_ref *be, const char *name, int type, int64_t ne0, int64_t ne1,
                         const void *host, syn_tensor *t, syn_error *err)
{
    memset(t, 0, sizeof *t);
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->ne[2] = t->ne[3] = 1;
    t->row_bytes = syn_type_row_bytes(type, ne0);
    if (!be->ops->supports_type(be->b, type))
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "tensor '%s' has type %s, which the %s backend does not support",
                        name, syn_type_name(type), be->plugin_name);
    if (ne1 == 0 && type != SYN_TYPE_F32)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "tensor '%s' is %s; norm weights and biases must be f32", name,
                        syn_type_name(type));
    return be->ops->weight_load(be->b, t, host, err);
}

static int get_u32(const syn_gguf *g, const char *arch, const char *suffix, int32_t *out, int required,
                   syn_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    uint32_t v;
    int rc = syn_gguf_get_u32(g, key, &v);
    if (rc == SYN_ERR_NOT_FOUND && !required)
        return SYN_OK;
    if (rc)
        return syn_fail(err, SYN_ERR_FORMAT, "metadata '%s' is %s", key,
                        rc == SYN_ERR_NOT_FOUND ? "missing" : "not an integer");
    if (v == 0 || v > (1u << 24))
        return syn_fail(err, SYN_ERR_FORMAT, "metadata '%s' = %u is out of range", key, v);
    *out = (int32_t)v;
    return SYN_OK;
}

static int get_f32(const syn_gguf *g, const char *arch, const char *suffix, float *out, syn_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int rc = syn_gguf_get_f32(g, key, out);
    if (rc == SYN_ERR_NOT_FOUND)
        return SYN_OK;
    return rc ? syn_fail(err, SYN_ERR_FORMAT, "metadata '%s' is not a number", key) : SYN_OK;
}

static int read_config(const syn_gguf *g, const char *path, syn_model_config *c, syn_error *err)
{
    syn_gguf_str s;
    if (syn_gguf_get_str(g, "general.architecture", &s))
        return syn_fail(err, SYN_ERR_FORMAT, "no general.architecture in the file: not a model");
    static const struct { const char *name; syn_arch arch; int neox; } archs[] = {
        {"llama", SYN_ARCH_LLAMA, 0}, {"qwen2", SYN_ARCH_QWEN2, 1}, {"qwen3", SYN_ARCH_QWEN3, 1},
    };
    size_t i;
    for (i = 0; i < sizeof archs / sizeof *archs; i++)
        if (s.len == strlen(archs[i].name) && !memcmp(s.s, archs[i].name, s.len))
            break;
    if (i == sizeof archs / sizeof *archs)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "architecture '%.*s' is not supported (supported: llama, qwen2, qwen3)",
                        (int)(s.len > 64 ? 64 : s.len), s.s);
    c->arch = archs[i].arch;
    c->rope_neox = archs[i].neox;
    snprintf(c->arch_name, sizeof c->arch_name, "%s", archs[i].name);
    const char *a = c->arch_name;

    if (!syn_gguf_get_str(g, "general.name", &s) && s.len)
        snprintf(c->name, sizeof c->name, "%.*s", (int)(s.len > 127 ? 127 : s.len), s.s);
    else {
        const char *base = strrchr(path, '/');
        snprintf(c->name, sizeof c->name, "%s", base ? base + 1 : path);
    }

    int rc;
    if ((rc = get_u32(g, a, "embedding_length", &c->n_embd, 1, err)) ||
        (rc = get_u32(g, a, "feed_forward_length", &c->n_ff, 1, err)) ||
        (rc = get_u32(g, a, "block_count", &c->n_layer, 1, err)) ||
        (rc = get_u32(g, a, "attention.head_count", &c->n_head, 1, err)))
        return rc;
    c->n_head_kv = c->n_head;
    c->head_dim = c->n_embd / c->n_head;
    c->n_ctx_train = 4096;
    c->rms_eps = 1e-6f;
    c->rope_base = 10000.0f;
    if ((rc = get_u32(g, a, "attention.head_count_kv", &c->n_head_kv, 0, err)) ||
        (rc = get_u32(g, a, "attention.key_length", &c->head_dim, 0, err)) ||
        (rc = get_u32(g, a, "context_length", &c->n_ctx_train, 0, err)) ||
        (rc = get_f32(g, a, "attention.layer_norm_rms_epsilon", &c->rms_eps, err)) ||
        (rc = get_f32(g, a, "rope.freq_base", &c->rope_base, err)))
        return rc;
    int32_t v_len = c->head_dim, rope_dim = c->head_dim;
    if ((rc = get_u32(g, a, "attention.value_length", &v_len, 0, err)) ||
        (rc = get_u32(g, a, "rope.dimension_count", &rope_dim, 0, err)))
        return rc;
    if (c->n_head % c->n_head_kv)
        return syn_fail(err, SYN_ERR_FORMAT, "%d attention heads cannot be grouped over %d KV heads", c->n_head,
                        c->n_head_kv);
    if (v_len != c->head_dim || c->head_dim % 2)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "key length %d / value length %d: only equal, even head sizes are supported",
                        c->head_dim, v_len);
    if (rope_dim != c->head_dim)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "partial rotary embedding (%d of %d dims) is not supported", rope_dim,
                        c->head_dim);
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a);
    if (!syn_gguf_get_str(g, key, &s) && !(s.len == 4 && !memcmp(s.s, "none", 4)))
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "rope scaling '%.*s' is not supported", (int)(s.len > 32 ? 32 : s.len),
                        s.s);
    if (syn_gguf_find_tensor(g, "rope_freqs.weight") >= 0)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "per-frequency rope factors (rope_freqs.weight, Llama 3.1 scaling) are not supported");
    if (!(c->rms_eps > 0 && c->rms_eps < 1) || !(c->rope_base > 0))
        return syn_fail(err, SYN_ERR_FORMAT, "rms epsilon %g / rope base %g out of range", c->rms_eps, c->rope_base);

    int64_t te = syn_gguf_find_tensor(g, "token_embd.weight");
    if (te < 0)
        return syn_fail(err, SYN_ERR_FORMAT, "tensor 'token_embd.weight' is missing");
    int64_t nv = syn_gguf_tensor_at(g, te)->ne[1];
    if (nv <= 0 || nv > (1 << 24))
        return syn_fail(err, SYN_ERR_FORMAT, "vocabulary size %lld out of range", (long long)nv);
    /* a tokenizer of another size would hand out ids the model has no rows
     * for (or the model would sample ids it cannot spell) */
    int tt;
    uint64_t n_tokens;
    const void *tdata;
    if (!syn_gguf_get_arr(g, "tokenizer.ggml.tokens", &tt, &n_tokens, &tdata) && n_tokens != (uint64_t)nv)
        return syn_fail(err, SYN_ERR_FORMAT,
                        "the tokenizer has %llu tokens but token_embd.weight has %lld rows; they must match",
                        (unsigned long long)n_tokens, (long long)nv);
    c->n_vocab = (int32_t)nv;
    c->tied_output = syn_gguf_find_tensor(g, "output.weight") < 0;
    return SYN_OK;
}

static int bind_layer(syn_model *m, int il, syn_error *err)
{
    const syn_model_config *c = &m->cfg;
    syn_layer *L = &m->layers[il];
    int64_t E = c->n_embd, qd = (int64_t)c->n_head * c->head_dim, kvd = (int64_t)c->n_head_kv * c->head_dim;
    const int64_t shape[SYN_PROJ_COUNT][2] = {
        {E, qd}, {E, kvd}, {E, kvd}, {qd, E}, {E, c->n_ff}, {E, c->n_ff}, {c->n_ff, E},
    };
    char name[96];
    int rc;
#define BIND(field, suffix, n0, n1, opt)                                                                \
    do {                                                                                                \
        snprintf(name, sizeof name, "blk.%d.%s", il, suffix);                                           \
        if ((rc = syn_tensor_bind(m->gguf, &m->be, name, n0, n1, opt, &L->field, err)))                 \
            return rc;                                                                                  \
    } while (0)
    BIND(attn_norm, "attn_norm.weight", E, 0, 0);
    BIND(ffn_norm, "ffn_norm.weight", E, 0, 0);
    for (int p = 0; p < SYN_PROJ_COUNT; p++) {
        char suffix[48];
        snprintf(suffix, sizeof suffix, "%s.weight", syn_proj_names[p]);
        BIND(proj[p], suffix, shape[p][0], shape[p][1], 0);
    }
    int bias = c->arch == SYN_ARCH_QWEN2, qk_norm = c->arch == SYN_ARCH_QWEN3;
    BIND(bq, "attn_q.bias", qd, 0, !bias);
    BIND(bk, "attn_k.bias", kvd, 0, !bias);
    BIND(bv, "attn_v.bias", kvd, 0, !bias);
    BIND(q_norm, "attn_q_norm.weight", c->head_dim, 0, !qk_norm);
    BIND(k_norm, "attn_k_norm.weight", c->head_dim, 0, !qk_norm);
#undef BIND
    return SYN_OK;
}

int syn_model_load(const char *path, const syn_backend_ref *be, syn_model **out, syn_error *err)
{
    *out = NULL;
    syn_model *m = calloc(1, sizeof *m);
    if (!m)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    m->be = *be;
    int rc = syn_gguf_open(path, &m->gguf, err);
    if (rc)
        goto fail;
    if ((rc = read_config(m->gguf, path, &m->cfg, err)))
        goto fail_named;
    const syn_model_config *c = &m->cfg;
    if ((rc = syn_tensor_bind(m->gguf, be, "token_embd.weight", c->n_embd, c->n_vocab, 0, &m->tok_embd, err)) ||
        (rc = syn_tensor_bind(m->gguf, be, "output_norm.weight", c->n_embd, 0, 0, &m->out_norm, err)) ||
        (rc = syn_tensor_bind(m->gguf, be, "output.weight", c->n_embd, c->n_vocab, 1, &m->output, err)))
        goto fail_named;
    if (c->tied_output)
        m->output = m->tok_embd;
    m->layers = calloc((size_t)c->n_layer, sizeof *m->layers);
    if (!m->layers) {
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int il = 0; il < c->n_layer; il++)
        if ((rc = bind_layer(m, il, err)))
            goto fail_named;
    *out = m;
    return SYN_OK;
fail_named:
    syn_error_prefix(err, path);
fail:
    syn_model_free(m);
    return rc;
}

static void unload(syn_model *m, syn_tensor *t)
{
    if (t->data)
        m->be.ops->weight_unload(m->be.b, t);
}

void syn_model_free(syn_model *m)
{
    if (!m)
        return;
    for (int il = 0; m->layers && il < m->cfg.n_layer; il++) {
        syn_layer *L = &m->layers[il];
        syn_tensor *all[] = {&L->attn_norm, &L->ffn_norm, &L->bq, &L->bk, &L->bv, &L->q_norm, &L->k_norm};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            unload(m, all[i]);
        for (int p = 0; p < SYN_PROJ_COUNT; p++)
            unload(m, &L->proj[p]);
    }
    if (!m->cfg.tied_output)
        unload(m, &m->output);
    unload(m, &m->tok_embd);
    unload(m, &m->out_norm);
    free(m->layers);
    syn_gguf_close(m->gguf);
    free(m);
}

const syn_model_config *syn_model_get_config(const syn_model *m) { return &m->cfg; }
const syn_gguf *syn_model_get_gguf(const syn_model *m) { return m->gguf; }
