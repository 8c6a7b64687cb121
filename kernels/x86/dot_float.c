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

/* Four accumulator chains per row, so one row is not bound by FMA latency;
 * with four rows a couple of them spill, which costs less than converting
 * the weights four times. */
#define HALF_TILE(name, load, scalar)                                                                                \
    SYN_INLINE void name##_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,   \
                                int64_t out_stride)                                                                  \
    {                                                                                                                \
        const uint16_t *x = w;                                                                                       \
        __m256 acc[4][4];                                                                                            \
        _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)      \
            acc[r][k] = _mm256_setzero_ps();                                                                         \
        int64_t i = 0;                                                                                               \
        for (; i + 32 <= n; i += 32) {                                                                               \
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)                                                      \
            {                                                                                                        \
                __m256 wk = load(x + i + 8 * k);                                                                     \
                _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) acc[r][k] =                                      \
                    _mm256_fmadd_ps(wk, load(SYN_ROW(a, r, a_stride, uint16_t) + i + 8 * k), acc[r][k]);              \
            }                                                                                                        \
        }                                                                                                            \
        for (; i + 8 <= n; i += 8) {                                                                                 \
            __m256 w0 = load(x + i);                                                                                 \
            _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) acc[r][0] =                                          \
                _mm256_fmadd_ps(w0, load(SYN_ROW(a, r, a_stride, uint16_t) + i), acc[r][0]);                          \
        }                                                                                                            \
        _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)                                                         \
        {                                                                                                            \
            const uint16_t *y = SYN_ROW(a, r, a_stride, uint16_t);                                                   \
            __m256 s4 = _mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3]));     \
            float s = syn_hsum_ps(s4);                                                                               \
            for (int64_t j = i; j < n; j++)                                                                          \
                s += scalar(x[j]) * scalar(y[j]);                                                                    \
            out[r * out_stride] = s;                                                                                 \
        }                                                                                                            \
    }

static float bf16_scalar(uint16_t h) { return syn_bf16_to_f32(h); }

HALF_TILE(f16, load_f16x8, syn_h2f)
HALF_TILE(bf16, load_bf16x8, bf16_scalar)
SYN_AVX2_TILED(f16)
SYN_AVX2_TILED(bf16)
