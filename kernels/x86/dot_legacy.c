/* Dot products of the 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0)
 * against Q8_0/Q8_1 activations, one template tiled over up to four
 * activation rows: each weight block is unpacked to 32 int8 once, then
 * multiplied with maddubs per row. Compiled once per kernel set
 * (kernels.am), each object with its set's flags and SYN_KSET naming its
 * functions: avx2 (-mavx2 -mfma -mf16c), vnni (adding -mavxvnni, where
 * syn_dot_u8_to_i32 becomes one vpdpbusd) and avx512 (adding AVX-512
 * VL/BW/VNNI: the EVEX forms of those, and 32 vector registers, which
 * remove the spills of the 4-row tiles). The integer sums are the same in
 * every build, so every result is bit-identical to the avx2 set's. A set's
 * build is only reached after the CPU check for that set. Any thread. */
#include "kernels/x86/legacy_blocks.h"

/* The block scales of the offset types: weight (d, m) and activation (d, s)
 * go through one vcvtph2ps together: lane 0 of the result is d*d, lane 1
 * m*s. */
SYN_INLINE __m128 offset_scales(const uint8_t *b, const uint8_t *yb)
{
    uint32_t wdm, yds;
    memcpy(&wdm, b, 4);
    memcpy(&yds, yb, 4);
    __m128 v = _mm_cvtph_ps(_mm_set_epi32(0, 0, (int)yds, (int)wdm));
    return _mm_mul_ps(v, _mm_movehl_ps(v, v));
}

/* one weight block against block ib of each of NR activation rows */
SYN_INLINE void legacy_block(const int T, const uint8_t *b, const void *a, size_t a_stride, int64_t ib, const int NR,
                             __m256 *acc, __m128 *msum)
{
    const int abytes = is_offset(T) ? 36 : 34, aqs = is_offset(T) ? 4 : 2;
    __m256i q = unpack(T, b);
    /* signed weights: maddubs takes |q| and the activations get q's sign */
    __m256i uq = is_offset(T) ? q : _mm256_sign_epi8(q, q);
    /* symmetric types: the NR activation scales are gathered in the integer
     * unit and converted and multiplied by the weight's scale in one go,
     * then each row broadcasts its product from memory (the same exact f32
     * product of two f16 values as one multiply per row, so no result
     * changes; the vector units are what bounds this loop) */
    float dd[4];
    __m256 wd = _mm256_setzero_ps();
    if (!is_offset(T) && NR == 1) /* one row: nothing to share */
        wd = _mm256_cvtph_ps(_mm_set1_epi16((short)load_u16(b)));
    else if (!is_offset(T)) {
        uint64_t bits = 0;
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++)
            bits |= (uint64_t)load_u16((const uint8_t *)a + (size_t)r * a_stride + ib * abytes) << (16 * r);
        __m128 wd4 = _mm_cvtph_ps(_mm_set1_epi16((short)load_u16(b)));
        _mm_storeu_ps(dd, _mm_mul_ps(wd4, _mm_cvtph_ps(_mm_cvtsi64_si128((long long)bits))));
    }
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++) {
        const uint8_t *yb = (const uint8_t *)a + (size_t)r * a_stride + ib * abytes;
        __m256i qy = _mm256_loadu_si256((const __m256i *)(yb + aqs));
        if (!is_offset(T))
            qy = _mm256_sign_epi8(qy, q);
        __m256i p = syn_dot_u8_to_i32(uq, qy);
        if (is_offset(T)) {
            __m128 ds = offset_scales(b, yb);
            acc[r] = _mm256_fmadd_ps(_mm256_broadcastss_ps(ds), _mm256_cvtepi32_ps(p), acc[r]);
            msum[r] = _mm_add_ps(msum[r], ds);
        } else if (NR == 1) {
            __m256 d1 = _mm256_mul_ps(wd, _mm256_cvtph_ps(_mm_set1_epi16((short)load_u16(yb))));
            acc[r] = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(p), acc[r]);
        } else {
            acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(&dd[r]), _mm256_cvtepi32_ps(p), acc[r]);
        }
    }
}

/* Even and odd blocks go to separate accumulators to hide FMA latency. */
SYN_INLINE void legacy_tile(const int T, int64_t n, const void *w, const void *a, size_t a_stride, const int NR,
                            float *out, int64_t out_stride)
{
    const uint8_t *x = w;
    const int64_t nb = n / SYN_QK;
    __m256 acc0[4], acc1[4];
    __m128 msum[4];
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++) {
        acc0[r] = acc1[r] = _mm256_setzero_ps();
        msum[r] = _mm_setzero_ps();
    }
    int64_t ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        legacy_block(T, x + ib * wbytes[T], a, a_stride, ib, NR, acc0, msum);
        legacy_block(T, x + (ib + 1) * wbytes[T], a, a_stride, ib + 1, NR, acc1, msum);
    }
    if (ib < nb)
        legacy_block(T, x + ib * wbytes[T], a, a_stride, ib, NR, acc0, msum);
#pragma GCC unroll 4
    for (int r = 0; r < NR; r++) {
        float m = _mm_cvtss_f32(_mm_movehdup_ps(msum[r])); /* lane 1: the sum of m*s */
        out[r * out_stride] = syn_hsum_ps(_mm256_add_ps(acc0[r], acc1[r])) + m;
    }
}

#define LEGACY(name, T)                                                                                              \
    SYN_INLINE void name##_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,   \
                                int64_t out_stride)                                                                  \
    {                                                                                                                \
        legacy_tile(T, n, w, a, a_stride, NR, out, out_stride);                                                      \
    }                                                                                                                \
    SYN_AVX2_TILED(name)

LEGACY(q4_0, K_Q4_0)
LEGACY(q4_1, K_Q4_1)
LEGACY(q5_0, K_Q5_0)
LEGACY(q5_1, K_Q5_1)
LEGACY(q8_0, K_Q8_0)
