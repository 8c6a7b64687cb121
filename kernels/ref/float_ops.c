/* Plain-C float helpers for attention and the FFN: attention over an f16 KV cache,
 * f32->f16 rows, RMS norm and SwiGLU. Sums in double (the oracle). Pure
 * functions, any thread. */
#include <math.h>

#include "kernels/ref/blocks.h"

/* one head: each score summed in double, softmax and the weighted sum of V
 * in double */
static void attend_head(int32_t hd, int32_t n_pos, const syn_kv_view *kv, const float *q, float scale, float *out,
                        float *s)
{
    double mx = -INFINITY, sum = 0;
    for (int32_t p = 0; p < n_pos; p++) {
        const uint16_t *k = syn_kv_row(kv, kv->k, p);
        double d = 0;
        for (int32_t i = 0; i < hd; i++)
            d += (double)syn_f16_to_f32(k[i]) * q[i];
        s[p] = (float)(d * scale);
        mx = s[p] > mx ? s[p] : mx;
    }
    for (int32_t p = 0; p < n_pos; p++) {
        s[p] = (float)exp(s[p] - mx);
        sum += s[p];
    }
    for (int32_t i = 0; i < hd; i++) {
        double o = 0;
        for (int32_t p = 0; p < n_pos; p++)
            o += s[p] * syn_f16_to_f32(syn_kv_row(kv, kv->v, p)[i]);
        out[i] = (float)(o / sum);
    }
}

void syn_ref_attend_f16(int32_t hd, int32_t n_pos, const syn_kv_view *kv, const float *q, int nq, float scale,
                        float *out, float *work)
{
    for (int j = 0; j < nq; j++)
        attend_head(hd, n_pos, kv, q + (size_t)j * hd, scale, out + (size_t)j * hd, work);
}

void syn_ref_f32_to_f16(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = syn_f32_to_f16(src[i]);
}

void syn_ref_rms_norm(int64_t n, const float *x, const float *w, float eps, float *out)
{
    double ss = 0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    double scale = 1.0 / sqrt(ss / (double)n + eps);
    for (int64_t i = 0; i < n; i++)
        out[i] = (float)(x[i] * scale * w[i]);
}

void syn_ref_swiglu(int64_t n, const float *gate, const float *up, float *out)
{
    for (int64_t i = 0; i < n; i++) {
        double g = gate[i];
        out[i] = (float)(g / (1.0 + exp(-g)) * up[i]);
    }
}

/* element i of a row of type T (F32, F16 or BF16), exactly as a float */
static float narrow_weight(int type, const void *w, size_t i)
{
    if (type == SYN_TYPE_F16)
        return syn_f16_to_f32(((const uint16_t *)w)[i]);
    if (type == SYN_TYPE_BF16)
        return syn_bf16_to_f32(((const uint16_t *)w)[i]);
    return ((const float *)w)[i];
}

static void dot_narrow(int type, int64_t n, const void *panel, int j0, int nw, const float *x, size_t x_stride, int nr,
                       float *v)
{
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < nw; j++) {
            float s = 0.0f;
            for (int64_t k = 0; k < n; k++)
                s = fmaf(narrow_weight(type, panel,
                                       (size_t)((j0 + j) / SYN_NARROW_ROWS) * SYN_NARROW_ROWS * (size_t)n +
                                           (size_t)k * SYN_NARROW_ROWS + (size_t)((j0 + j) % SYN_NARROW_ROWS)),
                         x[(size_t)r * x_stride + (size_t)k], s);
            v[r * nw + j] = s;
        }
}

void syn_ref_dot_narrow_f32(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                            float *v)
{
    dot_narrow(SYN_TYPE_F32, n, w, j0, nw, x, x_stride, nr, v);
}

void syn_ref_dot_narrow_f16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                            float *v)
{
    dot_narrow(SYN_TYPE_F16, n, w, j0, nw, x, x_stride, nr, v);
}

void syn_ref_dot_narrow_bf16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                             float *v)
{
    dot_narrow(SYN_TYPE_BF16, n, w, j0, nw, x, x_stride, nr, v);
}

float syn_ref_exp_sum(int64_t n, float *x, float max)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)exp((double)x[i] - max);
        sum += x[i];
    }
    return (float)sum;
}
