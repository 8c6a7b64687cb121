/* Plain-C activation quantisers: a row of x in the format a weight type's
 * vec_dot reads. Rounding is llama.cpp's CPU path (scale by 127/amax, round
 * half to even) so logits can match its golden files; the x86 versions must
 * be bit-identical to these. Pure functions, any thread. */
#include <math.h>
#include <string.h>

#include "kernels/ref/blocks.h"

void syn_ref_quant_f32(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

void syn_ref_quant_f16(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++)
        d[i] = syn_f32_to_f16(src[i]);
}

void syn_ref_quant_bf16(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    for (int64_t i = 0; i < n; i++)
        d[i] = syn_f32_to_bf16(src[i]);
}

static float block_amax(const float *x, int n)
{
    float amax = 0.0f;
    for (int j = 0; j < n; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    return amax;
}

/* rintf rounds half to even in the default rounding mode, like the
 * vector round instructions */
void syn_ref_quant_q8_0(const float *src, void *dst, int64_t n)
{
    syn_block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, src += SYN_QK) {
        float amax = block_amax(src, SYN_QK);
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        b->d = syn_f32_to_f16(amax / 127.0f);
        for (int j = 0; j < SYN_QK; j++)
            b->qs[j] = (int8_t)rintf(src[j] * id);
    }
}

void syn_ref_quant_q8_1(const float *src, void *dst, int64_t n)
{
    syn_block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, src += SYN_QK) {
        float amax = block_amax(src, SYN_QK);
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < SYN_QK; j++) {
            b->qs[j] = (int8_t)rintf(src[j] * id);
            sum += b->qs[j];
        }
        b->d = syn_f32_to_f16(d);
        b->s = syn_f32_to_f16(d * (float)sum);
    }
}

/* Q8_K scales by -127/x[k] where x[k] is the first element of largest
 * magnitude, so that element is exactly -127 (llama.cpp's choice). */
void syn_ref_quant_q8_k(const float *src, void *dst, int64_t n)
{
    syn_block_q8_k *b = dst;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, src += SYN_QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < SYN_QK_K; j++) {
            float ax = fabsf(src[j]);
            if (ax > amax) {
                amax = ax;
                max = src[j];
            }
        }
        if (amax == 0.0f) {
            memset(b, 0, sizeof *b);
            continue;
        }
        float iscale = -127.0f / max;
        for (int j = 0; j < SYN_QK_K; j++) {
            float v = rintf(iscale * src[j]);
            b->qs[j] = (int8_t)(v > 127.0f ? 127.0f : v);
        }
        for (int g = 0; g < 16; g++) {
            int sum = 0;
            for (int l = 0; l < 16; l++)
                sum += b->qs[16 * g + l];
            b->bsums[g] = (int16_t)sum;
        }
        b->d = 1.0f / iscale;
    }
}
