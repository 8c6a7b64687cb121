/* The Q4_K/Q5_K superblocks and Q8_K activations as the x86 K-quant
 * kernels see them: where a tile's activation rows come from (rows or a
 * panel), the Q8_K panel layout and its pack, a Q4_K/Q5_K superblock's
 * fields, and the final store. Shared by every K-quant source of every set
 * (dot_k.c, dot_k512.c, panel_k.c, panel_k512.c), each compiled as its own
 * object, so all of it is inline. Only for files built with -mavx2 -mfma
 * -mf16c (and a set's further flags). */
#ifndef SYN_KERNELS_X86_K_BLOCKS_H
#define SYN_KERNELS_X86_K_BLOCKS_H

#include "kernels/x86/simd.h"

/* Where a tile's Q8_K activation rows come from: rows a_stride bytes apart
 * (vec_dot, vec_dot_rows), or rows r0.. of a Q8_K panel (panel_k.c), which
 * holds per superblock the rows' scales, their 32-element sums and their
 * quants. `panel` is a constant wherever these are inlined. */
typedef struct {
    const uint8_t *a;
    size_t a_stride;
    int r0, panel;
} k_act;

/* A Q8_K panel's superblock: the rows' scales, their 32-element and
 * 16-element sums (int16), then their quants. */
enum {
    PK_D = SYN_PANEL_ROWS * 4,
    PK_S = SYN_PANEL_ROWS * 16,
    PK_S16 = SYN_PANEL_ROWS * 32,
    PK_Q = PK_D + PK_S + PK_S16,
    PK_BLOCK = PK_Q + SYN_PANEL_ROWS * SYN_QK_K,
};

/* Packs nr rows into a panel, each row's 32-byte chunks of quants in the
 * order `chunks` gives (a set's dot_panel reads them in its own order);
 * rows past nr are zeros. */
SYN_INLINE void k_pack_panel(int64_t n, const void *a, size_t a_stride, int nr, void *panel, const int chunks[8])
{
    const int64_t nb = n / SYN_QK_K;
    uint8_t *out = panel;
    for (int64_t ib = 0; ib < nb; ib++, out += PK_BLOCK) {
        float *d = (float *)(void *)out;
        int16_t *s = (int16_t *)(void *)(out + PK_D), *s16 = (int16_t *)(void *)(out + PK_D + PK_S);
        int8_t *q = (int8_t *)(out + PK_Q);
        for (int r = 0; r < SYN_PANEL_ROWS; r++) {
            if (r >= nr) {
                d[r] = 0;
                memset(s + 8 * r, 0, 16);
                memset(s16 + 16 * r, 0, 32);
                memset(q + SYN_QK_K * r, 0, SYN_QK_K);
                continue;
            }
            const syn_block_q8_k *y = syn_act_q8_k(a, r, a_stride, ib);
            d[r] = y->d;
            for (int g = 0; g < 8; g++)
                s[8 * r + g] = (int16_t)(y->bsums[2 * g] + y->bsums[2 * g + 1]);
            memcpy(s16 + 16 * r, y->bsums, 32);
            for (int c = 0; c < 8; c++)
                memcpy(q + SYN_QK_K * r + 32 * c, y->qs + 32 * chunks[c], 32);
        }
    }
}

/* superblock ib of the rows: pb is the panel's superblock ib (panels) */
SYN_INLINE const int8_t *k_act_qs(const k_act x, const uint8_t *pb, int64_t ib, int r)
{
    if (x.panel)
        return (const int8_t *)(pb + PK_Q) + SYN_QK_K * (x.r0 + r);
    return syn_act_q8_k(x.a, r, x.a_stride, ib)->qs;
}

SYN_INLINE float k_act_d(const k_act x, const uint8_t *pb, int64_t ib, int r)
{
    if (x.panel)
        return ((const float *)(const void *)pb)[x.r0 + r];
    return syn_act_q8_k(x.a, r, x.a_stride, ib)->d;
}

/* the row's eight 32-element sums as int16 */
SYN_INLINE __m128i k_act_sums32(const k_act x, const uint8_t *pb, int64_t ib, int r)
{
    if (x.panel)
        return _mm_loadu_si128((const __m128i *)(pb + PK_D + 16 * (x.r0 + r)));
    __m256i bs = _mm256_loadu_si256((const __m256i *)syn_act_q8_k(x.a, r, x.a_stride, ib)->bsums);
    return _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
}

/* The fields of superblock ib of a Q4_K (five = 0) or Q5_K row; qh is
 * NULL for Q4_K. Both formats start with d, dmin and the scales (head). */
typedef struct {
    const void *head;
    const uint8_t *scales, *qs, *qh;
    float d, dmin;
} k45_block;

SYN_INLINE k45_block k45_block_at(const int five, const void *w, int64_t ib)
{
    if (five) {
        const syn_block_q5_k *x = (const syn_block_q5_k *)w + ib;
        return (k45_block){x, x->scales, x->qs, x->qh, syn_h2f(x->d), syn_h2f(x->dmin)};
    }
    const syn_block_q4_k *x = (const syn_block_q4_k *)w + ib;
    return (k45_block){x, x->scales, x->qs, NULL, syn_h2f(x->d), syn_h2f(x->dmin)};
}

/* out[r * out_stride] = the sum of acc[r]'s lanes for the first nr of NR
 * rows (a constant NR keeps the accumulators in registers) */
SYN_INLINE void k_store_sums(const __m256 *acc, const int NR, int nr, float *out, int64_t out_stride)
{
    float sums[SYN_PANEL_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        sums[r] = syn_hsum_ps(acc[r]);
    for (int r = 0; r < nr; r++)
        out[r * out_stride] = sums[r];
}

#endif
