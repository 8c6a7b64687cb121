/* AVX2 dot products of the K-quant types Q4_K, Q5_K and Q6_K against Q8_K
 * activations, each tiled over up to four activation rows: a superblock's
 * 256 weights are unpacked to int8 and its scales decoded once, then per
 * row maddubs gives the products, madd applies the 16-bit scales, and the
 * activation's 16-element sums give the min (or -32 offset) term without
 * touching the weights again. Built with -mavx2 -mfma -mf16c; any thread. */
#include "kernels/x86/simd.h"

/* broadcast 16-bit element g of each 128-bit lane to the whole lane */
SYN_INLINE __m256i bcast_i16(__m256i v, const int g)
{
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(((2 * g + 1) << 8) | (2 * g))));
}

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

/* Q4_K and Q5_K share everything but the fifth bit. */
/* out[r * out_stride] for the first nr of NR rows */
SYN_INLINE void k45_tile_from(const int five, int64_t n, const void *w, const k_act act, const int NR, int nr,
                              float *out, int64_t out_stride)
{
    const int64_t nb = n / SYN_QK_K;
    const __m256i m4 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
    __m256 acc[8];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        acc[r] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const k45_block x = k45_block_at(five, w, ib);
        const uint8_t *sc_bytes = x.scales, *qs = x.qs, *qh = x.qh;
        __m256 dw = _mm256_set1_ps(x.d), mw = _mm256_set1_ps(x.dmin);
        __m256i sm = _mm256_cvtepu8_epi16(k4_scales_mins(sc_bytes)); /* scales | mins as int16 */
        __m256i scales = _mm256_permute2x128_si256(sm, sm, 0x00);
        __m128i mins = _mm256_extracti128_si256(sm, 1);
        __m256i hb = five ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
        const uint8_t *pb = act.panel ? act.a + ib * PK_BLOCK : NULL; /* the panel's superblock ib */

        __m256i sumi[8];
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            sumi[r] = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m256i bits = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
            __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            if (five) { /* bit g of qh[l] lands on bit 4 of group g's byte l */
                const int g = 2 * j;
                __m256i hl = g <= 4 ? _mm256_slli_epi16(hb, 4 - g) : _mm256_srli_epi16(hb, g - 4);
                __m256i hh = g + 1 <= 4 ? _mm256_slli_epi16(hb, 3 - g) : _mm256_srli_epi16(hb, g - 3);
                lo = _mm256_or_si256(lo, _mm256_and_si256(hl, m16));
                hi = _mm256_or_si256(hi, _mm256_and_si256(hh, m16));
            }
            __m256i s_lo = bcast_i16(scales, 2 * j), s_hi = bcast_i16(scales, 2 * j + 1);
#pragma GCC unroll 8
            for (int r = 0; r < NR; r++) {
                const int8_t *y = k_act_qs(act, pb, ib, r) + 64 * j;
                __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)y));
                __m256i p_hi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(y + 32)));
                sumi[r] = syn_madd_acc(sumi[r], s_lo, p_lo);
                sumi[r] = syn_madd_acc(sumi[r], s_hi, p_hi);
            }
        }
        /* per row: d * dw * sumi - d * dmin * sum(min * 32-element sum) */
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m256i msum = _mm256_zextsi128_si256(_mm_madd_epi16(mins, k_act_sums32(act, pb, ib, r)));
            __m256 d = _mm256_set1_ps(k_act_d(act, pb, ib, r));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(d, dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            acc[r] = _mm256_fnmadd_ps(_mm256_mul_ps(d, mw), _mm256_cvtepi32_ps(msum), acc[r]);
        }
    }
    k_store_sums(acc, NR, nr, out, out_stride);
}

SYN_INLINE void k45_tile(const int five, int64_t n, const void *w, const void *a, size_t a_stride, const int NR,
                         float *out, int64_t out_stride)
{
    const k_act act = {a, a_stride, 0, 0};
    k45_tile_from(five, n, w, act, NR, NR, out, out_stride);
}

SYN_INLINE void q4_k_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,
                          int64_t out_stride)
{
    k45_tile(0, n, w, a, a_stride, NR, out, out_stride);
}

SYN_INLINE void q5_k_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,
                          int64_t out_stride)
{
    k45_tile(1, n, w, a, a_stride, NR, out, out_stride);
}

SYN_AVX2_TILED(q4_k)
SYN_AVX2_TILED(q5_k)

/* Q6_K: weights are q - 32 with q in 0..63; maddubs takes q unsigned and
 * the -32 comes back as 32 * sum(scale * bsum) per superblock. */
SYN_INLINE void q6_k_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,
                          int64_t out_stride)
{
    const int64_t nb = n / SYN_QK_K;
    const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
    __m256 acc[4];
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
        acc[r] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const syn_block_q6_k *x = (const syn_block_q6_k *)w + ib;
        float dw = syn_h2f(x->d);
        __m128i sc8 = _mm_loadu_si128((const __m128i *)x->scales);
        __m256i sumi[4];
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++)
            sumi[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h));
            __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
            q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m30));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const int v = 4 * h + k; /* elements 32v..32v+31: scales 2v (low lane), 2v+1 */
                __m256i s16 = syn_pair_scales_i8(sc8, v);
#pragma GCC unroll 4
                for (int r = 0; r < NR; r++) {
                    const int8_t *y = syn_act_q8_k(a, r, a_stride, ib)->qs + 32 * v;
                    __m256i p = _mm256_maddubs_epi16(q[k], _mm256_loadu_si256((const __m256i *)y));
                    sumi[r] = syn_madd_acc(sumi[r], s16, p);
                }
            }
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++) {
            const syn_block_q8_k *y = syn_act_q8_k(a, r, a_stride, ib);
            __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
            __m256i s = _mm256_sub_epi32(sumi[r], _mm256_slli_epi32(off, 5));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(y->d * dw), _mm256_cvtepi32_ps(s), acc[r]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
        out[r * out_stride] = syn_hsum_ps(acc[r]);
}

SYN_AVX2_TILED(q6_k)
