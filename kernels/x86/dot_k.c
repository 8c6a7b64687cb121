/* Dot products of the K-quant types Q4_K, Q5_K and Q6_K against Q8_K
 * activations, each tiled over up to four activation rows: a superblock's
 * 256 weights are unpacked to int8 and its scales decoded once, then per
 * row maddubs gives the products, madd applies the 16-bit scales, and the
 * activation's 16-element sums give the min (or -32 offset) term without
 * touching the weights again. Compiled once per kernel set (kernels.am),
 * each object with its set's flags and SYN_KSET naming its functions: avx2
 * (-mavx2 -mfma -mf16c), vnni (adding -mavxvnni, where syn_madd_acc becomes
 * one vpdpwssd) and avx512 (adding AVX-512 VL/BW/VNNI: the EVEX forms of
 * those, and 32 vector registers, which remove the spills of the 4-row
 * tiles). The integer sums are the same in every build, so every result is
 * bit-identical to the avx2 set's. A set's build is only reached after the
 * CPU check for that set. Any thread. */
#include "kernels/x86/k45_tile.h"

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
