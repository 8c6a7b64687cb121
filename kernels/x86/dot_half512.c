/* F16 and BF16 weight rows against activations of the same type in
 * 512-bit vectors (the avx512 set): the dot_float.c kernels at twice the
 * width, 16 elements per conversion and per FMA. The activations keep the
 * weights' type, as llama.cpp rounds them (float activations moved the
 * golden test's qwen2-BF16 from 0.037 to 0.067 off llama.cpp). Decode of
 * an F16 model streams 2-byte weights, and fewer instructions per byte let
 * a core keep more reads in flight. Each row has four accumulator chains,
 * added in the same order for every row count, so dot_rows gives vec_dot's
 * result bit for bit. Built with the avx512 set's flags and
 * -DSYN_KSET=avx512; any thread. */
#include "kernels/x86/simd.h"

SYN_INLINE __m512 load_f16x16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)p));
}

/* the bf16 bits are the top half of the float */
SYN_INLINE __m512 load_bf16x16(const uint16_t *p)
{
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* the four chains' sums of a row: folded to 256 bits, then as there */
SYN_INLINE float reduce4_512(__m512 a0, __m512 a1, __m512 a2, __m512 a3)
{
    __m512 s16 = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    return syn_hsum_ps(_mm256_add_ps(_mm512_castps512_ps256(s16),
                                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s16), 1))));
}

SYN_HALF_TILE(f16, __m512, 16, load_f16x16, _mm512_fmadd_ps, _mm512_setzero_ps, reduce4_512, syn_h2f)
SYN_HALF_TILE(bf16, __m512, 16, load_bf16x16, _mm512_fmadd_ps, _mm512_setzero_ps, reduce4_512, syn_bf16_to_f32)

/* syn_avx512_dot_f16 and syn_avx512_dot_rows_f16, the same for bf16 */
SYN_AVX2_TILED(f16)
SYN_AVX2_TILED(bf16)
