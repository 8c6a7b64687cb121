/* Plain-C dot products of float-typed weight rows (F32, F16, BF16) against
 * activations of the same type, summed in double so the oracle is more
 * accurate than any kernel it checks. Pure functions, any thread. */
#include "kernels/ref/blocks.h"

void syn_ref_dot_f32(int64_t n, const void *w, const void *a, float *out)
{
    const float *x = w, *y = a;
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)x[i] * y[i];
    *out = (float)s;
}

void syn_ref_dot_f16(int64_t n, const void *w, const void *a, float *out)
{
    const uint16_t *x = w, *y = a;
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)syn_f16_to_f32(x[i]) * syn_f16_to_f32(y[i]);
    *out = (float)s;
}

void syn_ref_dot_bf16(int64_t n, const void *w, const void *a, float *out)
{
    const uint16_t *x = w, *y = a;
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)syn_bf16_to_f32(x[i]) * syn_bf16_to_f32(y[i]);
    *out = (float)s;
}
