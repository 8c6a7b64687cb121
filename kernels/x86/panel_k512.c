/* Prefill panels for Q4_K, Q5_K and Q6_K in the avx512 set: panel_k.c's
 * Q8_K panels (the same layout per superblock) worked with 512-bit
 * vectors, two 64-weight groups of a superblock per instruction.
 *
 * 64 bytes of a superblock's qs hold groups j and j + 1 (j even): their low
 * nibbles are elements 64j.. and 64(j+1).., the high nibbles the 32 after
 * each. So the pack stores each row's 256 quants with their 32-byte chunks
 * in the order 0 2 1 3 4 6 5 7, and one load meets one nibble half. The low
 * 256 bits of each row's integer sum then hold vec_dot's lanes for the even
 * groups and the high 256 bits those for the odd groups; integer sums are
 * exact, so adding the halves gives vec_dot's lanes, and the float steps
 * after that are dot_k.c's: every result is bit-identical to vec_dot.
 * Compiled for the avx512 set only (kernels.am). */
#include "kernels/x86/k_blocks.h"

void SYN_KFN(pack_panel_q8_k)(int64_t n, const void *a, size_t a_stride, int nr, void *panel)
{
    static const int paired[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    k_pack_panel(n, a, a_stride, nr, panel, paired);
}

/* int16 scale g of each 128-bit lane of v across the low 256 bits, scale
 * g + 2 across the high 256 */
SYN_INLINE __m512i bcast_scale_pair(__m512i v, const int g)
{
    const short lo = (short)(((2 * g + 1) << 8) | (2 * g)), hi = (short)(((2 * g + 5) << 8) | (2 * g + 4));
    __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(lo)), _mm256_set1_epi16(hi), 1);
    return _mm512_shuffle_epi8(v, idx);
}

/* out[r * out_stride] for the first nr of NR panel rows */
SYN_INLINE void k45_panel_tile(const int five, int64_t n, const void *w, const uint8_t *panel, const int NR, int nr,
                               float *out, int64_t out_stride)
{
    const int64_t nb = n / SYN_QK_K;
    const __m512i m4 = _mm512_set1_epi8(15), m16 = _mm512_set1_epi8(16);
    __m256 acc[SYN_PANEL_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        acc[r] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        syn_prefetch_weights((const uint8_t *)w + ib * (five ? sizeof(syn_block_q5_k) : sizeof(syn_block_q4_k)),
                             five ? sizeof(syn_block_q5_k) : sizeof(syn_block_q4_k));
        const k45_block x = k45_block_at(five, w, ib);
        const uint8_t *sc_bytes = x.scales, *qs = x.qs, *qh = x.qh;
        __m256 dw = _mm256_set1_ps(x.d), mw = _mm256_set1_ps(x.dmin);
        __m128i sm8 = k4_scales_mins(sc_bytes);
        __m512i scales = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sm8)); /* 8 scales as int16 per lane */
        __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(sm8, 8));
        __m512i hb = five ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh)) : _mm512_setzero_si512();
        const uint8_t *pb = panel + ib * PK_BLOCK;
        const int8_t *ya = (const int8_t *)(pb + PK_Q);

        __m512i sumi[SYN_PANEL_ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            sumi[r] = _mm512_setzero_si512();
#pragma GCC unroll 2
        for (int jj = 0; jj < 2; jj++) {
            const int j = 2 * jj; /* groups j (low 256 bits) and j + 1 (high) */
            __m512i bits = _mm512_loadu_si512(qs + 64 * jj);
            __m512i lo = _mm512_and_si512(bits, m4), hi = _mm512_and_si512(_mm512_srli_epi16(bits, 4), m4);
            if (five) { /* bit g of qh[l] is the fifth bit of byte l of 32-element group g */
                const __m512i lo_bits = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j))),
                                                           _mm256_set1_epi8((char)(1 << (2 * j + 2))), 1);
                const __m512i hi_bits = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j + 1))),
                                                           _mm256_set1_epi8((char)(1 << (2 * j + 3))), 1);
                lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(hb, lo_bits), lo, m16);
                hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(hb, hi_bits), hi, m16);
            }
            __m512i s_lo = bcast_scale_pair(scales, 2 * j), s_hi = bcast_scale_pair(scales, 2 * j + 1);
#pragma GCC unroll 8
            for (int r = 0; r < NR; r++) {
                const int8_t *y = ya + SYN_QK_K * r + 128 * jj;
                __m512i p_lo = _mm512_maddubs_epi16(lo, _mm512_loadu_si512(y));
                __m512i p_hi = _mm512_maddubs_epi16(hi, _mm512_loadu_si512(y + 64));
                sumi[r] = _mm512_dpwssd_epi32(sumi[r], s_lo, p_lo);
                sumi[r] = _mm512_dpwssd_epi32(sumi[r], s_hi, p_hi);
            }
        }
        /* per row: d * dw * sumi - d * dmin * sum(min * 32-element sum),
         * the float steps of dot_k.c */
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m256i si = _mm256_add_epi32(_mm512_castsi512_si256(sumi[r]), _mm512_extracti64x4_epi64(sumi[r], 1));
            __m128i sums32 = _mm_loadu_si128((const __m128i *)(pb + PK_D + 16 * r));
            __m256i msum = _mm256_zextsi128_si256(_mm_madd_epi16(mins, sums32));
            __m256 d = _mm256_set1_ps(((const float *)(const void *)pb)[r]);
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(d, dw), _mm256_cvtepi32_ps(si), acc[r]);
            acc[r] = _mm256_fnmadd_ps(_mm256_mul_ps(d, mw), _mm256_cvtepi32_ps(msum), acc[r]);
        }
    }
    k_store_sums(acc, NR, nr, out, out_stride);
}

/* one tile for the panel, of 4 rows when no more are there */
SYN_INLINE void k45_panel(const int five, int64_t n, const void *w, const void *panel, int nr, float *out,
                          int64_t out_stride)
{
    if (nr > 4)
        k45_panel_tile(five, n, w, panel, SYN_PANEL_ROWS, nr, out, out_stride);
    else
        k45_panel_tile(five, n, w, panel, 4, nr, out, out_stride);
}

void SYN_KFN(dot_panel_q4_k)(int64_t n, const void *w, const void *panel, int nr, float *out, int64_t out_stride)
{
    k45_panel(0, n, w, panel, nr, out, out_stride);
}

void SYN_KFN(dot_panel_q5_k)(int64_t n, const void *w, const void *panel, int nr, float *out, int64_t out_stride)
{
    k45_panel(1, n, w, panel, nr, out, out_stride);
}

/* Q6_K (see q6_k_tile in dot_k.c): weights q - 32 with q = 4 low bits from
 * ql and 2 high bits from qh. In the paired chunk order, 64 panel bytes
 * meet elements 32c.. and 32(c+2).. of a 128-element half (c = 0, 1), whose
 * weights are the low and high nibbles of the same 32 ql bytes, with qh
 * bits 2c and 2c + 4. Each 128-bit lane is one 16-element group with its
 * own scale. */
SYN_INLINE void q6_k_panel_tile(int64_t n, const void *w, const uint8_t *panel, const int NR, int nr, float *out,
                                int64_t out_stride)
{
    const int64_t nb = n / SYN_QK_K;
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    /* per half: the ql nibble (low, high) and the qh shift (left 4, none) */
    const __m512i nib_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    const __m512i high_shift = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_setzero_si256(), 1);
    __m256 acc[SYN_PANEL_ROWS];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        acc[r] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const syn_block_q6_k *x = (const syn_block_q6_k *)w + ib;
        syn_prefetch_weights(x, sizeof *x);
        float dw = syn_h2f(x->d);
        __m128i sc8 = _mm_loadu_si128((const __m128i *)x->scales);
        __m512i sc16 = _mm512_broadcast_i64x4(_mm256_cvtepi8_epi16(sc8)); /* the 16 scales as int16, twice */
        const uint8_t *pb = panel + ib * PK_BLOCK;
        const int8_t *ya = (const int8_t *)(pb + PK_Q);

        __m512i sumi[SYN_PANEL_ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            sumi[r] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const int h = k / 2, c = k % 2; /* 128-element half, chunk pair */
            __m512i ql = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x->ql + 64 * h + 32 * c)));
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x->qh + 32 * h)));
            __m512i lo4 = _mm512_and_si512(_mm512_srlv_epi16(ql, nib_shift), m4);
            /* qh bits 2c (low half) and 2c + 4 (high half) to bits 4..5 */
            __m512i hq = c ? _mm512_srli_epi16(qh, 2) : qh;
            __m512i hi2 = _mm512_and_si512(_mm512_sllv_epi16(hq, high_shift), m30);
            __m512i q = _mm512_or_si512(lo4, hi2);
            /* groups 8h + 2c, +1 (low half), 8h + 2c + 4, +5 (high half) */
            const int g = 8 * h + 2 * c;
            const __m512i pick = _mm512_set_epi16(g + 5, g + 5, g + 5, g + 5, g + 5, g + 5, g + 5, g + 5, g + 4, g + 4,
                                                  g + 4, g + 4, g + 4, g + 4, g + 4, g + 4, g + 1, g + 1, g + 1, g + 1,
                                                  g + 1, g + 1, g + 1, g + 1, g, g, g, g, g, g, g, g);
            __m512i s = _mm512_permutexvar_epi16(pick, sc16);
#pragma GCC unroll 8
            for (int r = 0; r < NR; r++) {
                __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512(ya + SYN_QK_K * r + 64 * k));
                sumi[r] = _mm512_dpwssd_epi32(sumi[r], s, p);
            }
        }
        /* per row, as q6_k_tile: (sumi - 32 * sum(scale * 16-element sum)) * d * dw */
        __m256i sc = _mm512_castsi512_si256(sc16);
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m256i si = _mm256_add_epi32(_mm512_castsi512_si256(sumi[r]), _mm512_extracti64x4_epi64(sumi[r], 1));
            __m256i off = _mm256_madd_epi16(sc, _mm256_loadu_si256((const __m256i *)(pb + PK_D + PK_S + 32 * r)));
            __m256i v = _mm256_sub_epi32(si, _mm256_slli_epi32(off, 5));
            float d = ((const float *)(const void *)pb)[r];
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * dw), _mm256_cvtepi32_ps(v), acc[r]);
        }
    }
    k_store_sums(acc, NR, nr, out, out_stride);
}

void SYN_KFN(dot_panel_q6_k)(int64_t n, const void *w, const void *panel, int nr, float *out, int64_t out_stride)
{
    if (nr > 4)
        q6_k_panel_tile(n, w, panel, SYN_PANEL_ROWS, nr, out, out_stride);
    else
        q6_k_panel_tile(n, w, panel, 4, nr, out, out_stride);
}
