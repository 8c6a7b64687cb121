/* AVX2/FMA dot products of float-typed weight rows (F32, F16, BF16) against
 * activations of the same type; F16 and BF16 also tiled over several
 * activation rows, converting each weight vector once. Built with -mavx2
 * -mfma -mf16c; any thread. */
#include "kernels/x86/simd.h"

void syn_avx2_dot_f32(int64_t n, const void *w, const void *a, float *out)
{
    const float *x = w, *y = a;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    float s = syn_hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        s += x[i] * y[i];
    *out = s;
}

/* no weight unpacking to share: rows are plain calls */
SYN_DEFINE_DOT_ROWS(syn_avx2_dot_rows_f32, syn_avx2_dot_f32)

SYN_INLINE __m256 load_f16x8(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

/* the bf16 bits are the top half of the float */
SYN_INLINE __m256 load_bf16x8(const uint16_t *p)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

/* the four chains' sums of a row, in the order both widths use */
SYN_INLINE float reduce4_256(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    return syn_hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

/* with four rows a couple of the 16 accumulators spill, which costs less
 * than converting the weights four times */
SYN_HALF_TILE(f16, __m256, 8, load_f16x8, _mm256_fmadd_ps, _mm256_setzero_ps, reduce4_256, syn_h2f)
SYN_HALF_TILE(bf16, __m256, 8, load_bf16x8, _mm256_fmadd_ps, _mm256_setzero_ps, reduce4_256, syn_bf16_to_f32)
SYN_AVX2_TILED(f16)
SYN_AVX2_TILED(bf16)
