/* The Q4_K/Q5_K tile over up to eight Q8_K activation rows, read from
 * rows (vec_dot, vec_dot_rows in dot_k.c) or from a panel (panel_k.c): one
 * body for both, so the panels' results are vec_dot's bit for bit. Only for
 * files built with -mavx2 -mfma -mf16c (and a set's further flags). */
#ifndef SYN_KERNELS_X86_K45_TILE_H
#define SYN_KERNELS_X86_K45_TILE_H

#include "kernels/x86/k_blocks.h"

/* broadcast 16-bit element g of each 128-bit lane to the whole lane */
SYN_INLINE __m256i bcast_i16(__m256i v, const int g)
{
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(((2 * g + 1) << 8) | (2 * g))));
}

/* Q4_K and Q5_K share everything but the fifth bit: out[r * out_stride]
 * for the first nr of NR rows, from act's rows r0.. */
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

#endif
