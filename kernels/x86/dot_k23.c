/* Dot products of the 2- and 3-bit K-quants (Q2_K, Q3_K) against Q8_K
 * activations, tiled over up to four activation rows. In both layouts the
 * 32 weights of activation vector v are one 2-bit field of 32 consecutive
 * bytes (and for Q3_K bit v of the 32 hmask bytes), so each unpacks with a
 * shift and a mask; the constant parts of the weights (Q2_K's mins, Q3_K's
 * -4) come from the activation's 16-element sums. Compiled once per kernel
 * set (kernels.am), each object with its set's flags and SYN_KSET naming
 * its functions: avx2 (-mavx2 -mfma -mf16c), vnni (adding -mavxvnni, where
 * syn_madd_acc becomes one vpdpwssd) and avx512 (adding AVX-512 VL/BW/VNNI:
 * the EVEX forms of those, and 32 vector registers, which remove the spills
 * of the 4-row tiles). The integer sums are the same in every build, so
 * every result is bit-identical to the avx2 set's. A set's build is only
 * reached after the CPU check for that set. Any thread. */
#include "kernels/x86/simd.h"

/* int16 per 16 elements for vector v: scale 2v in the low lane, 2v+1 in the
 * high one; sc holds the 16 scales as bytes */
SYN_INLINE __m256i pair_scales_u8(__m128i sc, const int v)
{
    __m128i pick = _mm_set_epi64x(0x0101010101010101LL * (2 * v + 1), 0x0101010101010101LL * (2 * v));
    return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sc, pick));
}

SYN_INLINE void q2_k_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,
                          int64_t out_stride)
{
    const int64_t nb = n / SYN_QK_K;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(15);
    __m256 acc[4];
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
        acc[r] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const syn_block_q2_k *x = (const syn_block_q2_k *)w + ib;
        float dw = syn_h2f(x->d), mw = syn_h2f(x->dmin);
        __m128i sc_min = _mm_loadu_si128((const __m128i *)x->scales);
        __m128i sc = _mm_and_si128(sc_min, m4);
        __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc_min, 4), m4));
        __m256i sumi[4];
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++)
            sumi[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            __m256i bits = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * half));
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const int v = 4 * half + k;
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3);
                __m256i s16 = pair_scales_u8(sc, v);
#pragma GCC unroll 4
                for (int r = 0; r < NR; r++) {
                    const int8_t *y = syn_act_q8_k(a, r, a_stride, ib)->qs + 32 * v;
                    __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y));
                    sumi[r] = syn_madd_acc(sumi[r], s16, p);
                }
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++) {
            const syn_block_q8_k *y = syn_act_q8_k(a, r, a_stride, ib);
            __m256i msum = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y->bsums));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(y->d * dw), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(-(y->d * mw)), _mm256_cvtepi32_ps(msum), acc[r]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
        out[r * out_stride] = syn_hsum_ps(acc[r]);
}

SYN_AVX2_TILED(q2_k)

/* the 16 6-bit scales of a Q3_K block, unbiased, as int8 */
SYN_INLINE __m128i k3_scales(const uint8_t *s)
{
    uint32_t u[3], v[4];
    memcpy(u, s, 12);
    v[0] = (u[0] & 0x0f0f0f0f) | ((u[2] & 0x03030303) << 4);
    v[1] = (u[1] & 0x0f0f0f0f) | (((u[2] >> 2) & 0x03030303) << 4);
    v[2] = ((u[0] >> 4) & 0x0f0f0f0f) | (((u[2] >> 4) & 0x03030303) << 4);
    v[3] = ((u[1] >> 4) & 0x0f0f0f0f) | (((u[2] >> 6) & 0x03030303) << 4);
    return _mm_sub_epi8(_mm_set_epi32((int)v[3], (int)v[2], (int)v[1], (int)v[0]), _mm_set1_epi8(32));
}

/* weights are u - 4 with u = low 2 bits | hmask bit << 2 in 0..7 */
SYN_INLINE void q3_k_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,
                          int64_t out_stride)
{
    const int64_t nb = n / SYN_QK_K;
    const __m256i m3 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4);
    __m256 acc[4];
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
        acc[r] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const syn_block_q3_k *x = (const syn_block_q3_k *)w + ib;
        float dw = syn_h2f(x->d);
        __m128i sc = k3_scales(x->scales);
        __m256i hm = _mm256_loadu_si256((const __m256i *)x->hmask);
        __m256i sumi[4];
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++)
            sumi[r] = _mm256_setzero_si256();
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            __m256i bits = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * half));
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) {
                const int v = 4 * half + k;
                __m256i hv = v <= 2 ? _mm256_slli_epi16(hm, 2 - v) : _mm256_srli_epi16(hm, v - 2);
                __m256i q = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), m3),
                                            _mm256_and_si256(hv, m4));
                __m256i s16 = syn_pair_scales_i8(sc, v);
#pragma GCC unroll 4
                for (int r = 0; r < NR; r++) {
                    const int8_t *y = syn_act_q8_k(a, r, a_stride, ib)->qs + 32 * v;
                    __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y));
                    sumi[r] = syn_madd_acc(sumi[r], s16, p);
                }
            }
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(sc);
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++) {
            const syn_block_q8_k *y = syn_act_q8_k(a, r, a_stride, ib);
            __m256i off = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
            __m256i s = _mm256_sub_epi32(sumi[r], _mm256_slli_epi32(off, 2));
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(y->d * dw), _mm256_cvtepi32_ps(s), acc[r]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++)
        out[r * out_stride] = syn_hsum_ps(acc[r]);
}

SYN_AVX2_TILED(q3_k)
