/* Plain-C float helpers for attention and the FFN: f16 K/V dot and axpy,
 * f32->f16 rows, RMS norm and SwiGLU. Sums in double (the oracle). Pure
 * functions, any thread. */
#include <math.h>

#include "kernels/ref/blocks.h"

float syn_ref_dot_f16_f32(int64_t n, const uint16_t *a, const float *b)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)syn_f16_to_f32(a[i]) * b[i];
    return (float)s;
}

void syn_ref_axpy_f16(int64_t n, float alpha, const uint16_t *x, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = (float)((double)y[i] + (double)alpha * syn_f16_to_f32(x[i]));
}

void syn_ref_dot_f16_f32_heads(int64_t n, const uint16_t *k, const float *q, int64_t q_stride, int nq, float *out,
                               int64_t out_stride)
{
    for (int j = 0; j < nq; j++)
        out[j * out_stride] = syn_ref_dot_f16_f32(n, k, q + j * q_stride);
}

void syn_ref_axpy_f16_heads(int64_t n, const float *alpha, int64_t alpha_stride, const uint16_t *x, float *y,
                            int64_t y_stride, int ny)
{
    for (int j = 0; j < ny; j++)
        syn_ref_axpy_f16(n, alpha[j * alpha_stride], x, y + j * y_stride);
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

float syn_ref_exp_sum(int64_t n, float *x, float max)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)exp((double)x[i] - max);
        sum += x[i];
    }
    return (float)sum;
}
