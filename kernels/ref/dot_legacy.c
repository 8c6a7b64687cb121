/* Plain-C dot products of the 32-element block types (Q4_0, Q4_1, Q5_0,
 * Q5_1, Q8_0, Q8_1) against Q8_0/Q8_1 activations: exact integer sums per
 * block, scaled and summed in double. Pure functions, any thread. */
#include "kernels/ref/blocks.h"

#define H(x) ((double)syn_f16_to_f32(x))

static uint32_t load_u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

void syn_ref_dot_q4_0(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q4_0 *x = w;
    const syn_block_q8_0 *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK; i++) {
        int sum = 0;
        for (int j = 0; j < 16; j++)
            sum += ((x[i].qs[j] & 15) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        s += H(x[i].d) * H(y[i].d) * sum;
    }
    *out = (float)s;
}

/* offset types: sum((q*d + m) * qa*da) = d*da*sum(q*qa) + m*(da*sum(qa)) */
void syn_ref_dot_q4_1(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q4_1 *x = w;
    const syn_block_q8_1 *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK; i++) {
        int sum = 0;
        for (int j = 0; j < 16; j++)
            sum += (x[i].qs[j] & 15) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        s += H(x[i].d) * H(y[i].d) * sum + H(x[i].m) * H(y[i].s);
    }
    *out = (float)s;
}

void syn_ref_dot_q5_0(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q5_0 *x = w;
    const syn_block_q8_0 *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK; i++) {
        uint32_t qh = load_u32(x[i].qh);
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            int lo = ((x[i].qs[j] & 15) | (int)((qh >> j) & 1) << 4) - 16;
            int hi = ((x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4) - 16;
            sum += lo * y[i].qs[j] + hi * y[i].qs[j + 16];
        }
        s += H(x[i].d) * H(y[i].d) * sum;
    }
    *out = (float)s;
}

void syn_ref_dot_q5_1(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q5_1 *x = w;
    const syn_block_q8_1 *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK; i++) {
        uint32_t qh = load_u32(x[i].qh);
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (x[i].qs[j] & 15) | (int)((qh >> j) & 1) << 4;
            int hi = (x[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            sum += lo * y[i].qs[j] + hi * y[i].qs[j + 16];
        }
        s += H(x[i].d) * H(y[i].d) * sum + H(x[i].m) * H(y[i].s);
    }
    *out = (float)s;
}

void syn_ref_dot_q8_0(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q8_0 *x = w;
    const syn_block_q8_0 *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK; i++) {
        int sum = 0;
        for (int j = 0; j < SYN_QK; j++)
            sum += x[i].qs[j] * y[i].qs[j];
        s += H(x[i].d) * H(y[i].d) * sum;
    }
    *out = (float)s;
}

void syn_ref_dot_q8_1(int64_t n, const void *w, const void *a, float *out)
{
    const syn_block_q8_1 *x = w;
    const syn_block_q8_1 *y = a;
    double s = 0;
    for (int64_t i = 0; i < n / SYN_QK; i++) {
        int sum = 0;
        for (int j = 0; j < SYN_QK; j++)
            sum += x[i].qs[j] * y[i].qs[j];
        s += H(x[i].d) * H(y[i].d) * sum;
    }
    *out = (float)s;
}
