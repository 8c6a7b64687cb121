/* Plain-C dot products of the K-quant superblock types (Q2_K..Q6_K, Q8_K)
 * against Q8_K activations: exact integer sums per superblock (the min
 * terms through the activation's 16-element sums), scaled and summed in
 * double. Pure functions, any thread. */
#include "kernels/ref/blocks.h"

#define H(x) ((double)syn_f16_to_f32(x))

void syn_ref_dot_q2_k(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q2_k *x = w;
    const syn_block_q8_k *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK_K; i++) {
        int sum = 0, msum = 0;
        for (int g = 0; g < 16; g++) {
            const uint8_t *q = x[i].qs + 32 * (g / 8) + 16 * (g % 2);
            int shift = 2 * ((g / 2) % 4), gs = 0;
            for (int l = 0; l < 16; l++)
                gs += ((q[l] >> shift) & 3) * y[i].qs[16 * g + l];
            sum += (x[i].scales[g] & 15) * gs;
            msum += (x[i].scales[g] >> 4) * y[i].bsums[g];
        }
        s += y[i].d * (H(x[i].d) * sum - H(x[i].dmin) * msum);
    }
    *out = (float)s;
}

void syn_ref_dot_q3_k(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q3_k *x = w;
    const syn_block_q8_k *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK_K; i++) {
        int sum = 0;
        for (int g = 0; g < 16; g++) {
            const uint8_t *q = x[i].qs + 32 * (g / 8) + 16 * (g % 2);
            const uint8_t *hm = x[i].hmask + 16 * (g % 2);
            int shift = 2 * ((g / 2) % 4), hbit = g / 2, gs = 0;
            for (int l = 0; l < 16; l++) {
                int v = ((q[l] >> shift) & 3) - (((hm[l] >> hbit) & 1) ? 0 : 4);
                gs += v * y[i].qs[16 * g + l];
            }
            sum += (syn_k3_scale(x[i].scales, g) - 32) * gs;
        }
        s += y[i].d * H(x[i].d) * sum;
    }
    *out = (float)s;
}

void syn_ref_dot_q4_k(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q4_k *x = w;
    const syn_block_q8_k *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK_K; i++) {
        int sum = 0, msum = 0;
        for (int g = 0; g < 8; g++) {
            int sc, mn, gs = 0;
            syn_k4_scale_min(x[i].scales, g, &sc, &mn);
            const uint8_t *q = x[i].qs + 32 * (g / 2);
            int shift = 4 * (g % 2);
            for (int l = 0; l < 32; l++)
                gs += ((q[l] >> shift) & 15) * y[i].qs[32 * g + l];
            sum += sc * gs;
            msum += mn * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        }
        s += y[i].d * (H(x[i].d) * sum - H(x[i].dmin) * msum);
    }
    *out = (float)s;
}

void syn_ref_dot_q5_k(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q5_k *x = w;
    const syn_block_q8_k *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK_K; i++) {
        int sum = 0, msum = 0;
        for (int g = 0; g < 8; g++) {
            int sc, mn, gs = 0;
            syn_k4_scale_min(x[i].scales, g, &sc, &mn);
            const uint8_t *q = x[i].qs + 32 * (g / 2);
            int shift = 4 * (g % 2);
            for (int l = 0; l < 32; l++) {
                int v = ((q[l] >> shift) & 15) | (((x[i].qh[l] >> g) & 1) << 4);
                gs += v * y[i].qs[32 * g + l];
            }
            sum += sc * gs;
            msum += mn * (y[i].bsums[2 * g] + y[i].bsums[2 * g + 1]);
        }
        s += y[i].d * (H(x[i].d) * sum - H(x[i].dmin) * msum);
    }
    *out = (float)s;
}

void syn_ref_dot_q6_k(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q6_k *x = w;
    const syn_block_q8_k *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK_K; i++) {
        int sum = 0;
        for (int g = 0; g < 16; g++) {
            int gs = 0;
            for (int l16 = 0; l16 < 16; l16++) {
                int e = 16 * g + l16, h = e / 128, k = (e % 128) / 32, l = e % 32;
                int lo = (x[i].ql[64 * h + l + 32 * (k % 2)] >> (4 * (k / 2))) & 15;
                int hi = (x[i].qh[32 * h + l] >> (2 * k)) & 3;
                gs += ((lo | hi << 4) - 32) * y[i].qs[e];
            }
            sum += x[i].scales[g] * gs;
        }
        s += y[i].d * H(x[i].d) * sum;
    }
    *out = (float)s;
}

void syn_ref_dot_q8_k(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q8_k *x = w;
    const syn_block_q8_k *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK_K; i++) {
        int sum = 0;
        for (int j = 0; j < SYN_QK_K; j++)
            sum += x[i].qs[j] * y[i].qs[j];
        s += (double)x[i].d * y[i].d * sum;
    }
    *out = (float)s;
}
