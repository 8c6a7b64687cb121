/* Decode (one activation row) for Q4_K, Q5_K and Q6_K in the avx512 set,
 * in 512-bit vectors. Compiled for the avx512 set only (kernels.am).
 *
 * A 32-byte chunk of a Q4_K superblock holds group 2j in its low nibbles and
 * group 2j + 1 in its high ones, and the activation row holds those two
 * groups as 64 consecutive bytes. Broadcasting the chunk to both halves of
 * a vector and shifting only the upper half by 4 (vpsrlvw) puts the weights
 * in the activations' order, so each chunk takes one 64-byte activation
 * load, one maddubs and one dpwssd with group 2j's scale in the low half and
 * 2j + 1's in the high one. Adding the two halves gives lane for lane the
 * integer sums of dot_k.c's 256-bit kernel (integer adds are exact in any
 * order), and the float steps after that are dot_k.c's, so the result is
 * bit-identical to vec_dot in every set. Q5_K adds each group's fifth bits
 * (bit g of qh byte l for byte l of group g) as a byte mask. */
#include "kernels/x86/k_blocks.h"

/* A Q4_K/Q5_K superblock's first 16 bytes are d, dmin and the 12 packed
 * scale bytes. This returns dot_k.c's k4_scales_mins from them (dword lane
 * 0: scales 0-3, 1: scales 4-7, 2: mins 0-3, 3: mins 4-7), and the two
 * halves converted to float in *d_dmin's lanes 0 and 1. */
SYN_INLINE __m128i k4_head(const void *block, __m128 *d_dmin)
{
    const __m128i h = _mm_loadu_si128((const __m128i *)block); /* d|dmin u0 u1 u2 */
    *d_dmin = _mm_cvtph_ps(h);
    /* low bits: u0 & 3f, u2 & 0f, u1 & 3f, (u2 >> 4) & 0f */
    __m128i lo = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(h, _MM_SHUFFLE(3, 2, 3, 1)), _mm_set_epi32(4, 0, 0, 0)),
                               _mm_set_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f));
    /* high bits of lanes 1 and 3: the top 2 bits of u0's and u1's bytes */
    __m128i hi = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(h, _MM_SHUFFLE(2, 2, 1, 1)), 2),
                               _mm_set_epi32(0x30303030, 0, 0x30303030, 0));
    return _mm_or_si128(lo, hi);
}

SYN_INLINE void k45_dot1(const int five, int64_t n, const void *w, const void *a, float *out)
{
    const int64_t nb = n / SYN_QK_K;
    const __m512i m4 = _mm512_set1_epi8(15), m16 = _mm512_set1_epi8(16);
    /* words of the upper half shift right by 4: its bytes keep the high nibbles */
    const __m512i nibble_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    const k_act act = {a, 0, 0, 0};
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const k45_block x = k45_block_at(five, w, ib);
        __m128 d_dmin;
        __m128i sm8 = k4_head(x.head, &d_dmin);
        __m512i scales = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sm8)); /* 8 scales as int16 per lane */
        __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(sm8, 8));
        __m512i hb = five ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)x.qh)) : _mm512_setzero_si512();
        const int8_t *y = k_act_qs(act, NULL, ib, 0);
        __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m512i bits = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x.qs + 32 * j)));
            __m512i q = _mm512_and_si512(_mm512_srlv_epi16(bits, nibble_shift), m4);
            if (five) { /* groups 2j (low half) and 2j + 1 (high) */
                const __m512i group_bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j))),
                                                             _mm256_set1_epi8((char)(1 << (2 * j + 1))), 1);
                q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(hb, group_bit), q, m16);
            }
            /* group 2j's scale in the low half, 2j + 1's in the high one */
            const short lo = (short)(((4 * j + 1) << 8) | (4 * j)), hi = (short)(((4 * j + 3) << 8) | (4 * j + 2));
            __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(lo)), _mm256_set1_epi16(hi), 1);
            __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512(y + 64 * j));
            sumi = _mm512_dpwssd_epi32(sumi, _mm512_shuffle_epi8(scales, idx), p);
        }
        /* d * dw * sumi - d * dmin * sum(min * 32-element sum), as dot_k.c */
        __m256i si = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
        __m256i msum = _mm256_zextsi128_si256(_mm_madd_epi16(mins, k_act_sums32(act, NULL, ib, 0)));
        /* d * dw and d * dmin in lanes 0 and 1 */
        __m128 dd = _mm_mul_ps(_mm_set1_ps(k_act_d(act, NULL, ib, 0)), d_dmin);
        acc = _mm256_fmadd_ps(_mm256_broadcastss_ps(dd), _mm256_cvtepi32_ps(si), acc);
        acc = _mm256_fnmadd_ps(_mm256_broadcastss_ps(_mm_movehdup_ps(dd)), _mm256_cvtepi32_ps(msum), acc);
    }
    k_store_sums(&acc, 1, 1, out, 1);
}

void SYN_KFN(dot1_q4_k)(int64_t n, const void *w, const void *a, float *out)
{
    k45_dot1(0, n, w, a, out);
}

void SYN_KFN(dot1_q5_k)(int64_t n, const void *w, const void *a, float *out)
{
    k45_dot1(1, n, w, a, out);
}

/* Q6_K decode in 512-bit vectors. Each 128-element half of a superblock
 * holds its 6-bit weights as ql (64 bytes: low nibbles are elements 0-63,
 * high nibbles 64-127) and qh (32 bytes, 2 bits per element). One 64-byte
 * ql load with per-half shifts of the broadcast qh (vpsllvw/vpsrlvw) gives
 * elements 0-63 and 64-127 in the activation row's order; each 128-bit lane
 * is 16 elements, which share one scale (vpermw spreads them). The halves
 * fold to q6_k_tile's integer lanes in dot_k.c, and its float steps
 * follow, so the result is bit-identical. */
void SYN_KFN(dot1_q6_k)(int64_t n, const void *w, const void *a, float *out)
{
    const int64_t nb = n / SYN_QK_K;
    const __m512i m4 = _mm512_set1_epi8(15), m30 = _mm512_set1_epi8(0x30);
    /* the qh shifts that bring an element's 2 bits to bits 4-5: elements
     * 0-31 and 32-63 of a half (left 4, 2), 64-95 and 96-127 (right 0, 2) */
    const __m512i left = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i right = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const syn_block_q6_k *x = (const syn_block_q6_k *)w + ib;
        const syn_block_q8_k *y = syn_act_q8_k(a, 0, 0, ib);
        float dw = syn_h2f(x->d);
        __m128i sc8 = _mm_loadu_si128((const __m128i *)x->scales);
        __m512i sc16 = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(sc8));
        __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512(x->ql + 64 * h);
            __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x->qh + 32 * h)));
            __m512i q[2];
            q[0] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_and_si512(_mm512_sllv_epi16(qh, left), m30));
            q[1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                   _mm512_and_si512(_mm512_srlv_epi16(qh, right), m30));
#pragma GCC unroll 2
            for (int k = 0; k < 2; k++) {
                /* scales 8h + 4k .. 8h + 4k + 3, one per 128-bit lane */
                const int s0 = 8 * h + 4 * k;
                __m512i idx = _mm512_inserti64x4(
                    _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16((short)(s0 + 1)), _mm_set1_epi16((short)s0))),
                    _mm256_set_m128i(_mm_set1_epi16((short)(s0 + 3)), _mm_set1_epi16((short)(s0 + 2))), 1);
                __m512i p = _mm512_maddubs_epi16(q[k], _mm512_loadu_si512(y->qs + 128 * h + 64 * k));
                sumi = _mm512_dpwssd_epi32(sumi, _mm512_permutexvar_epi16(idx, sc16), p);
            }
        }
        __m256i si = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
        __m256i off = _mm256_madd_epi16(_mm512_castsi512_si256(sc16), _mm256_loadu_si256((const __m256i *)y->bsums));
        __m256i s = _mm256_sub_epi32(si, _mm256_slli_epi32(off, 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(y->d * dw), _mm256_cvtepi32_ps(s), acc);
    }
    *out = syn_hsum_ps(acc);
}
