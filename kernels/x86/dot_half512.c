/* F16 and BF16 weight rows against activations of the same type in
 * 512-bit vectors (the avx512 set): the dot_float.c kernels at twice the
 * width, 16 elements per conversion and per FMA. The activations keep the
 * weights' type, as llama.cpp rounds them (float activations moved the
 * golden test's qwen2-BF16 from 0.037 to 0.067 off llama.cpp). Decode of
 * an F16 model streams 2-byte weights, and fewer instructions per byte let
 * a core keep more reads in flight. Each row has four accumulator chains,
 * added in the same order for every row count, so dot_rows gives vec_dot's
 * result bit for bit. Built with the avx512 set's flags; any thread. */
#define SYN_KSET avx512
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

#define HALF512_TILE(name, load, scalar)                                                                             \
    SYN_INLINE void name##_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,   \
                                int64_t out_stride)                                                                  \
    {                                                                                                                \
        const uint16_t *x = w;                                                                                       \
        __m512 acc[4][4];                                                                                            \
        _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)      \
            acc[r][k] = _mm512_setzero_ps();                                                                         \
        int64_t i = 0;                                                                                               \
        for (; i + 64 <= n; i += 64) {                                                                               \
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)                                                      \
            {                                                                                                        \
                __m512 wk = load(x + i + 16 * k);                                                                    \
                _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) acc[r][k] =                                      \
                    _mm512_fmadd_ps(wk, load(SYN_ROW(a, r, a_stride, uint16_t) + i + 16 * k), acc[r][k]);             \
            }                                                                                                        \
        }                                                                                                            \
        for (; i + 16 <= n; i += 16) {                                                                               \
            __m512 w0 = load(x + i);                                                                                 \
            _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) acc[r][0] =                                          \
                _mm512_fmadd_ps(w0, load(SYN_ROW(a, r, a_stride, uint16_t) + i), acc[r][0]);                          \
        }                                                                                                            \
        _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)                                                         \
        {                                                                                                            \
            const uint16_t *y = SYN_ROW(a, r, a_stride, uint16_t);                                                   \
            __m512 s16 = _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]), _mm512_add_ps(acc[r][2], acc[r][3]));   \
            __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(s16),                                                   \
                                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s16), 1)));           \
            float s = syn_hsum_ps(s8);                                                                               \
            for (int64_t j = i; j < n; j++)                                                                          \
                s += scalar(x[j]) * scalar(y[j]);                                                                    \
            out[r * out_stride] = s;                                                                                 \
        }                                                                                                            \
    }

static float bf16_scalar(uint16_t h) { return syn_bf16_to_f32(h); }

HALF512_TILE(f16, load_f16x16, syn_h2f)
HALF512_TILE(bf16, load_bf16x16, bf16_scalar)

/* syn_avx512_dot_f16 and syn_avx512_dot_rows_f16, the same for bf16 */
SYN_AVX2_TILED(f16)
SYN_AVX2_TILED(bf16)
