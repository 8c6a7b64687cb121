/* Plain-C dequantisation of one row of every supported element type: the
 * readable statement of each block layout. Pure functions, any thread. */
#include <string.h>

#include "kernels/ref/blocks.h"

#define H(x) syn_f16_to_f32(x)

void syn_ref_dequant_f32(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * sizeof(float)); }

void syn_ref_dequant_f16(const void *src, float *dst, int64_t n)
{
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = H(s[i]);
}

void syn_ref_dequant_bf16(const void *src, float *dst, int64_t n)
{
    const uint16_t *s = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = syn_bf16_to_f32(s[i]);
}

void syn_ref_dequant_q4_0(const void *src, float *dst, int64_t n)
{
    const syn_block_q4_0 *b = src;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, dst += SYN_QK) {
        float d = H(b->d);
        for (int j = 0; j < 16; j++) {
            dst[j] = d * ((b->qs[j] & 15) - 8);
            dst[j + 16] = d * ((b->qs[j] >> 4) - 8);
        }
    }
}

void syn_ref_dequant_q4_1(const void *src, float *dst, int64_t n)
{
    const syn_block_q4_1 *b = src;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, dst += SYN_QK) {
        float d = H(b->d), m = H(b->m);
        for (int j = 0; j < 16; j++) {
            dst[j] = d * (b->qs[j] & 15) + m;
            dst[j + 16] = d * (b->qs[j] >> 4) + m;
        }
    }
}

static uint32_t load_u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

void syn_ref_dequant_q5_0(const void *src, float *dst, int64_t n)
{
    const syn_block_q5_0 *b = src;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, dst += SYN_QK) {
        float d = H(b->d);
        uint32_t qh = load_u32(b->qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b->qs[j] & 15) | (int)((qh >> j) & 1) << 4;
            int hi = (b->qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            dst[j] = d * (lo - 16);
            dst[j + 16] = d * (hi - 16);
        }
    }
}

void syn_ref_dequant_q5_1(const void *src, float *dst, int64_t n)
{
    const syn_block_q5_1 *b = src;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, dst += SYN_QK) {
        float d = H(b->d), m = H(b->m);
        uint32_t qh = load_u32(b->qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b->qs[j] & 15) | (int)((qh >> j) & 1) << 4;
            int hi = (b->qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            dst[j] = d * lo + m;
            dst[j + 16] = d * hi + m;
        }
    }
}

void syn_ref_dequant_q8_0(const void *src, float *dst, int64_t n)
{
    const syn_block_q8_0 *b = src;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, dst += SYN_QK) {
        float d = H(b->d);
        for (int j = 0; j < SYN_QK; j++)
            dst[j] = d * b->qs[j];
    }
}

void syn_ref_dequant_q8_1(const void *src, float *dst, int64_t n)
{
    const syn_block_q8_1 *b = src;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, dst += SYN_QK) {
        float d = H(b->d);
        for (int j = 0; j < SYN_QK; j++)
            dst[j] = d * b->qs[j];
    }
}

/* Q2_K: 16 groups of 16; group g takes 2-bit field (g/2)%4 of bytes
 * 32*(g/8) + 16*(g%2) .. +16 */
void syn_ref_dequant_q2_k(const void *src, float *dst, int64_t n)
{
    const syn_block_q2_k *b = src;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, dst += SYN_QK_K) {
        float d = H(b->d), dmin = H(b->dmin);
        for (int g = 0; g < 16; g++) {
            const uint8_t *q = b->qs + 32 * (g / 8) + 16 * (g % 2);
            int shift = 2 * ((g / 2) % 4);
            float dl = d * (b->scales[g] & 15), ml = dmin * (b->scales[g] >> 4);
            for (int l = 0; l < 16; l++)
                dst[16 * g + l] = dl * ((q[l] >> shift) & 3) - ml;
        }
    }
}

/* Q3_K: as Q2_K's low bits, plus a high bit from hmask (bit g/2 of byte
 * l + 16*(g%2)) whose absence subtracts 4 */
void syn_ref_dequant_q3_k(const void *src, float *dst, int64_t n)
{
    const syn_block_q3_k *b = src;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, dst += SYN_QK_K) {
        float d = H(b->d);
        for (int g = 0; g < 16; g++) {
            const uint8_t *q = b->qs + 32 * (g / 8) + 16 * (g % 2);
            const uint8_t *hm = b->hmask + 16 * (g % 2);
            int shift = 2 * ((g / 2) % 4), hbit = g / 2;
            float dl = d * (syn_k3_scale(b->scales, g) - 32);
            for (int l = 0; l < 16; l++) {
                int v = ((q[l] >> shift) & 3) - (((hm[l] >> hbit) & 1) ? 0 : 4);
                dst[16 * g + l] = dl * v;
            }
        }
    }
}

/* Q4_K: 8 groups of 32; group g is the low (g even) or high nibble of bytes
 * 32*(g/2) .. +32 */
void syn_ref_dequant_q4_k(const void *src, float *dst, int64_t n)
{
    const syn_block_q4_k *b = src;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, dst += SYN_QK_K) {
        float d = H(b->d), dmin = H(b->dmin);
        for (int g = 0; g < 8; g++) {
            int sc, mn;
            syn_k4_scale_min(b->scales, g, &sc, &mn);
            const uint8_t *q = b->qs + 32 * (g / 2);
            int shift = 4 * (g % 2);
            for (int l = 0; l < 32; l++)
                dst[32 * g + l] = d * sc * ((q[l] >> shift) & 15) - dmin * mn;
        }
    }
}

/* Q5_K: Q4_K plus bit g of qh[l] as bit 4 */
void syn_ref_dequant_q5_k(const void *src, float *dst, int64_t n)
{
    const syn_block_q5_k *b = src;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, dst += SYN_QK_K) {
        float d = H(b->d), dmin = H(b->dmin);
        for (int g = 0; g < 8; g++) {
            int sc, mn;
            syn_k4_scale_min(b->scales, g, &sc, &mn);
            const uint8_t *q = b->qs + 32 * (g / 2);
            int shift = 4 * (g % 2);
            for (int l = 0; l < 32; l++) {
                int v = ((q[l] >> shift) & 15) | (((b->qh[l] >> g) & 1) << 4);
                dst[32 * g + l] = d * sc * v - dmin * mn;
            }
        }
    }
}

/* Q6_K: two halves of 128; in half h, element 32*k + l (k < 4) takes the
 * nibble k/2 of ql[64h + l + 32*(k%2)] and 2-bit field k of qh[32h + l];
 * one int8 scale per 16 elements */
void syn_ref_dequant_q6_k(const void *src, float *dst, int64_t n)
{
    const syn_block_q6_k *b = src;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, dst += SYN_QK_K) {
        float d = H(b->d);
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 32; l++) {
                    int lo = (b->ql[64 * h + l + 32 * (k % 2)] >> (4 * (k / 2))) & 15;
                    int hi = (b->qh[32 * h + l] >> (2 * k)) & 3;
                    int e = 128 * h + 32 * k + l;
                    dst[e] = d * b->scales[e / 16] * ((lo | hi << 4) - 32);
                }
    }
}

void syn_ref_dequant_q8_k(const void *src, float *dst, int64_t n)
{
    const syn_block_q8_k *b = src;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, dst += SYN_QK_K)
        for (int j = 0; j < SYN_QK_K; j++)
            dst[j] = b->d * b->qs[j];
}
