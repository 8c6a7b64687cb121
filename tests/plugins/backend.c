/* Test plugin: a small but real float32 backend (host memory, one thread),
 * enough for the loader test to call through its ops table. Built as the good
 * backend and, with -D knobs, as backends the loader must refuse: one missing
 * a required op, one whose ops table is too short; and as a lean backend
 * without the optional describe() and with an ABI 1.0-sized ops table,
 * which must load (with kv_copy, past its table, read as absent). Its probe() reports it
 * usable only when SYNAPSE_TEST_BACKEND is set, so that a default scan from a
 * test binary (which reaches tests/plugins/.libs) never picks it over a real
 * backend. Each instance is used by one thread, as the ABI says. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <synapse/plugin.h>

#define STR_(x) #x
#define STR(x) STR_(x)

#ifndef BACKEND_CASE
#error "BACKEND_CASE names the build (good_backend, missing_op, ...)"
#endif
#ifndef BACKEND_NO_MATMUL
#define BACKEND_NO_MATMUL 0
#endif
#ifndef BACKEND_NO_DESCRIBE
#define BACKEND_NO_DESCRIBE 0
#endif
#if defined(BACKEND_OPS_1_0) && !defined(BACKEND_OPS_SIZE)
#define BACKEND_OPS_SIZE offsetof(syn_backend_ops, kv_copy) /* the table as ABI 1.0 had it */
#endif
#ifndef BACKEND_OPS_SIZE
#define BACKEND_OPS_SIZE sizeof(syn_backend_ops)
#endif

struct syn_backend {
    int live_allocs;
};

static void tb_error(syn_error *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
}

static int tb_probe(void) { return getenv("SYNAPSE_TEST_BACKEND") ? 1 : 0; }

static syn_backend *tb_create(const syn_backend_params *params, syn_error *err)
{
    if (params && params->struct_size < sizeof(uint32_t)) {
        tb_error(err, SYN_ERR_INVALID, "test backend: bad params");
        return NULL;
    }
    syn_backend *b = calloc(1, sizeof *b);
    if (!b)
        tb_error(err, SYN_ERR_NOMEM, "test backend: out of memory");
    return b;
}

static void tb_destroy(syn_backend *b) { free(b); }

static const char *tb_describe(syn_backend *b) { return "test backend (float32, 1 thread)"; }

static int tb_supports_type(syn_backend *b, int type) { return type == SYN_TYPE_F32 || type == SYN_TYPE_F16; }

static void *tb_alloc(syn_backend *b, size_t bytes, syn_error *err)
{
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p)
        tb_error(err, SYN_ERR_NOMEM, "test backend: out of memory");
    else
        b->live_allocs++;
    return p;
}

static void tb_release(syn_backend *b, void *p)
{
    if (p)
        b->live_allocs--;
    free(p);
}

static void tb_write(syn_backend *b, void *dst, const void *host_src, size_t bytes) { memcpy(dst, host_src, bytes); }

static void tb_read(syn_backend *b, void *host_dst, const void *src, size_t bytes) { memcpy(host_dst, src, bytes); }

/* Every op completes before it returns. */
static void tb_sync(syn_backend *b) { (void)b; }

/* IEEE half to float, subnormals included */
static float half_to_float(uint16_t h)
{
    int e = (h >> 10) & 31;
    float m = (float)(h & 1023), v = e == 0 ? ldexpf(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf(m + 1024, e - 25);
    return h & 0x8000 ? -v : v;
}

/* f32 weights are used in place; f16 ones as an f32 copy (backend_priv),
 * so every op reads floats: the tensor reads as f32 from then on */
static int tb_weight_load(syn_backend *b, syn_tensor *t, const void *host, syn_error *err)
{
    if (t->type == SYN_TYPE_F32) {
        t->data = (void *)host; /* host memory is this backend's memory */
        return 0;
    }
    if (t->type != SYN_TYPE_F16) {
        tb_error(err, SYN_ERR_UNSUPPORTED, "test backend: only f32 and f16 weights");
        return SYN_ERR_UNSUPPORTED;
    }
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    float *f = malloc(sizeof(float) * (size_t)(t->ne[0] * rows));
    if (!f) {
        tb_error(err, SYN_ERR_NOMEM, "test backend: out of memory");
        return SYN_ERR_NOMEM;
    }
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < t->ne[0]; i++)
            f[r * t->ne[0] + i] = half_to_float(((const uint16_t *)((const char *)host + (size_t)r * t->row_bytes))[i]);
    t->type = SYN_TYPE_F32;
    t->row_bytes = (size_t)t->ne[0] * sizeof(float);
    t->data = t->backend_priv = f;
    return 0;
}

static void tb_weight_unload(syn_backend *b, syn_tensor *t)
{
    free(t->backend_priv);
    t->backend_priv = NULL;
    t->data = NULL;
}

static void tb_get_rows(syn_backend *b, const syn_tensor *table, const int32_t *ids, int32_t n, float *out)
{
    const int64_t dim = table->ne[0];
    for (int32_t r = 0; r < n; r++)
        memcpy(out + r * dim, (const char *)table->data + (size_t)ids[r] * table->row_bytes, (size_t)dim * sizeof(float));
}

static void tb_rms_norm(syn_backend *b, const float *x, const syn_tensor *w, int32_t n_rows, int32_t dim, float eps,
                        float *out)
{
    const float *wd = w->data;
    for (int32_t r = 0; r < n_rows; r++) {
        const float *xr = x + (size_t)r * dim;
        double ss = 0;
        for (int32_t i = 0; i < dim; i++)
            ss += (double)xr[i] * xr[i];
        float inv = 1.0f / sqrtf((float)(ss / dim) + eps);
        for (int32_t i = 0; i < dim; i++)
            out[(size_t)r * dim + i] = xr[i] * inv * wd[i];
    }
}

static void tb_matmul(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_rows,
                      float *y, float alpha, int accumulate)
{
    const int64_t n_in = w->ne[0], n_out = w->ne[1];
    const float *bd = bias ? bias->data : NULL;
    for (int32_t r = 0; r < n_rows; r++) {
        for (int64_t o = 0; o < n_out; o++) {
            const float *wr = (const float *)((const char *)w->data + (size_t)o * w->row_bytes);
            float s = bd ? bd[o] : 0.0f;
            for (int64_t i = 0; i < n_in; i++)
                s += wr[i] * x[r * n_in + i];
            float *yo = &y[r * n_out + o];
            *yo = (accumulate ? *yo : 0.0f) + alpha * s;
        }
    }
}

static void tb_rope(syn_backend *b, float *x, int32_t n_rows, int32_t n_heads, int32_t head_dim, const int32_t *pos,
                    float freq_base, int neox)
{
    const int32_t half = head_dim / 2;
    for (int32_t r = 0; r < n_rows; r++) {
        for (int32_t h = 0; h < n_heads; h++) {
            float *v = x + ((size_t)r * n_heads + h) * head_dim;
            for (int32_t i = 0; i < half; i++) {
                float theta = (float)pos[r] * powf(freq_base, -2.0f * (float)i / (float)head_dim);
                float c = cosf(theta), s = sinf(theta);
                float *a = neox ? &v[i] : &v[2 * i], *bb = neox ? &v[i + half] : &v[2 * i + 1];
                float x0 = *a, x1 = *bb;
                *a = x0 * c - x1 * s;
                *bb = x0 * s + x1 * c;
            }
        }
    }
}

/* The cache holds 16 bits an element, as the core sizes it; bf16 (the top
 * half of the float, rounded to nearest even) needs no compiler support for
 * a half type. Written here rather than taken from the kernels: a plugin
 * sees only the ABI header. NaN is not expected in this fixture. */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static size_t cache_index(const syn_attn_params *a, int32_t slot, int32_t pos)
{
    return ((size_t)slot * a->n_ctx + pos) * (size_t)(a->n_kv_heads * a->head_dim);
}

static void tb_kv_store(syn_backend *b, const syn_attn_params *a, const float *k, const float *v, const syn_rows *rows)
{
    const int32_t width = a->n_kv_heads * a->head_dim;
    uint16_t *kc = a->k_cache, *vc = a->v_cache;
    for (int32_t r = 0; r < rows->n; r++) {
        size_t at = cache_index(a, rows->slot[r], rows->pos[r]);
        for (int32_t i = 0; i < width; i++) {
            kc[at + i] = to_bf16(k[(size_t)r * width + i]);
            vc[at + i] = to_bf16(v[(size_t)r * width + i]);
        }
    }
}

static void tb_kv_copy(syn_backend *b, const syn_attn_params *a, int32_t src, int32_t dst, int32_t n_pos)
{
    (void)b;
    size_t bytes = (size_t)n_pos * (size_t)(a->n_kv_heads * a->head_dim) * sizeof(uint16_t);
    uint16_t *kc = a->k_cache, *vc = a->v_cache;
    memcpy(kc + cache_index(a, dst, 0), kc + cache_index(a, src, 0), bytes);
    memcpy(vc + cache_index(a, dst, 0), vc + cache_index(a, src, 0), bytes);
}

static void tb_attention(syn_backend *b, const syn_attn_params *a, const float *q, const syn_rows *rows, float *out)
{
    const int32_t hd = a->head_dim, group = a->n_heads / a->n_kv_heads;
    const uint16_t *kc = a->k_cache, *vc = a->v_cache;
    float *scores = malloc(sizeof(float) * (size_t)a->n_ctx);
    if (!scores)
        abort(); /* a test fixture: no error channel in this op */
    for (int32_t r = 0; r < rows->n; r++) {
        for (int32_t h = 0; h < a->n_heads; h++) {
            const float *qh = q + ((size_t)r * a->n_heads + h) * hd;
            float *oh = out + ((size_t)r * a->n_heads + h) * hd;
            const int32_t kvh = h / group, n = rows->pos[r] + 1;
            float max = -INFINITY, sum = 0;
            for (int32_t p = 0; p < n; p++) {
                const uint16_t *kp = kc + cache_index(a, rows->slot[r], p) + (size_t)kvh * hd;
                float s = 0;
                for (int32_t i = 0; i < hd; i++)
                    s += qh[i] * from_bf16(kp[i]);
                scores[p] = s * a->scale;
                max = fmaxf(max, scores[p]);
            }
            for (int32_t p = 0; p < n; p++)
                sum += scores[p] = expf(scores[p] - max);
            memset(oh, 0, sizeof(float) * (size_t)hd);
            for (int32_t p = 0; p < n; p++) {
                const uint16_t *vp = vc + cache_index(a, rows->slot[r], p) + (size_t)kvh * hd;
                for (int32_t i = 0; i < hd; i++)
                    oh[i] += scores[p] / sum * from_bf16(vp[i]);
            }
        }
    }
    free(scores);
}

static void tb_swiglu(syn_backend *b, const float *gate, const float *up, int64_t n, float *out)
{
    for (int64_t i = 0; i < n; i++)
        out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

static const syn_backend_ops tb_ops = {
    .struct_size = BACKEND_OPS_SIZE,
    .create = tb_create,
    .destroy = tb_destroy,
    .describe = BACKEND_NO_DESCRIBE ? NULL : tb_describe, /* optional */
    .supports_type = tb_supports_type,
    .alloc = tb_alloc,
    .release = tb_release,
    .write = tb_write,
    .read = tb_read,
    .sync = tb_sync,
    .weight_load = tb_weight_load,
    .weight_unload = tb_weight_unload,
    .get_rows = tb_get_rows,
    .rms_norm = tb_rms_norm,
    .matmul = BACKEND_NO_MATMUL ? NULL : tb_matmul,
    .rope = tb_rope,
    .kv_store = tb_kv_store,
    .attention = tb_attention,
    .swiglu = tb_swiglu,
    .kv_copy = tb_kv_copy, /* past the lean build's 1.0-sized table */
};

static const syn_plugin tb_plugin = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_BACKEND, "test-" STR(BACKEND_CASE), "0.1.0"),
    .probe = tb_probe,
    .ops = &tb_ops,
};

SYN_EXPORT const syn_plugin *synapse_plugin_v1(void);
const syn_plugin *synapse_plugin_v1(void) { return &tb_plugin; }
