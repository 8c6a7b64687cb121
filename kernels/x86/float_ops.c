/* AVX2/FMA/F16C float helpers: f16 conversion of rows, f16/bf16
 * dequantisation, RMS norm (sum of squares in double), SwiGLU and softmax
 * numerators with a vector expf accurate to a few ulp. Built with -mavx2
 * -mfma -mf16c; any thread. */
#include <math.h>

#include "kernels/x86/simd.h"

#define F16_RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

void syn_avx2_f32_to_f16(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), F16_RNE));
    for (; i < n; i++)
        dst[i] = _cvtss_sh(src[i], F16_RNE);
}

void syn_avx2_dequant_f16(const void *src, float *dst, int64_t n)
{
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
    for (; i < n; i++)
        dst[i] = syn_h2f(s[i]);
}

void syn_avx2_dequant_bf16(const void *src, float *dst, int64_t n)
{
    const uint16_t *s = src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(s + i)));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(v, 16));
    }
    for (; i < n; i++)
        dst[i] = syn_bf16_to_f32(s[i]);
}

void syn_avx2_rms_norm(int64_t n, const float *x, const float *w, float eps, float *out)
{
    /* double sums: a float sum over a few thousand squares drifts by ~1e-6 */
    __m256d s0 = _mm256_setzero_pd(), s1 = s0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    __m256d s = _mm256_add_pd(s0, s1);
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    double ss = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; i < n; i++)
        ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / (double)n + eps));
    __m256 vs = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(w + i)));
    for (; i < n; i++)
        out[i] = x[i] * scale * w[i];
}

/* e^x: x = k ln2 + r with |r| <= ln2/2 (ln2 split in two so k ln2 is exact
 * enough), e^r by a degree-6 minimax polynomial, 2^k through the exponent
 * bits. Inputs are clamped so 2^k stays a normal float; the callers only
 * need e^x to saturate there. */
SYN_INLINE __m256 exp_ps(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

void syn_avx2_swiglu(int64_t n, const float *gate, const float *up, float *out)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
        __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++)
        out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* Eight weight rows per vector: lane j gathers element k of row j, and
 * each of up to four x rows adds it times its element k to its sums, so
 * lane j of row r is fmaf's chain over k, as in ref. */
void syn_avx2_dot_narrow_f32(int64_t n, const void *wv, int nw, const float *x, size_t x_stride, int nr, float *v)
{
    const float *w = wv;
    const __m256i lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    const __m256i idx = _mm256_mullo_epi32(lane, _mm256_set1_epi32((int)n));
    for (int j0 = 0; j0 < nw; j0 += 8) {
        /* lanes past the last weight row: gathered as 0, never stored */
        const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(nw - j0), lane);
        const float *wj = w + (size_t)j0 * (size_t)n;
        for (int r0 = 0; r0 < nr; r0 += 4) {
            const int rows = nr - r0 < 4 ? nr - r0 : 4;
            const float *xr = x + (size_t)r0 * x_stride;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int64_t k = 0; k < n; k++) {
                __m256 col = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), wj + k, idx, _mm256_castsi256_ps(live), 4);
                for (int r = 0; r < rows; r++)
                    acc[r] = _mm256_fmadd_ps(col, _mm256_broadcast_ss(xr + (size_t)r * x_stride + (size_t)k), acc[r]);
            }
            for (int r = 0; r < rows; r++)
                _mm256_maskstore_ps(v + (r0 + r) * nw + j0, live, acc[r]);
        }
    }
}

/* F16 and BF16 rows: the nw x n block (at most SYN_NARROW_ROWS x
 * SYN_NARROW_MAX, contiguous) is widened to floats, exactly, then taken as
 * F32 rows */
SYN_INLINE void dot_narrow_half(const int bf16, int64_t n, const void *w, int nw, const float *x, size_t x_stride,
                                int nr, float *v)
{
    float block[SYN_NARROW_ROWS * SYN_NARROW_MAX];
    const uint16_t *h = w;
    int64_t i = 0, count = (int64_t)nw * n;
    for (; i + 8 <= count; i += 8) {
        __m128i eight = _mm_loadu_si128((const __m128i *)(const void *)(h + i));
        _mm256_storeu_ps(block + i, bf16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(eight), 16))
                                         : _mm256_cvtph_ps(eight));
    }
    for (; i < count; i++)
        block[i] = bf16 ? syn_bf16_to_f32(h[i]) : syn_h2f(h[i]);
    syn_avx2_dot_narrow_f32(n, block, nw, x, x_stride, nr, v);
}

void syn_avx2_dot_narrow_f16(int64_t n, const void *w, int nw, const float *x, size_t x_stride, int nr, float *v)
{
    dot_narrow_half(0, n, w, nw, x, x_stride, nr, v);
}

void syn_avx2_dot_narrow_bf16(int64_t n, const void *w, int nw, const float *x, size_t x_stride, int nr, float *v)
{
    dot_narrow_half(1, n, w, nw, x, x_stride, nr, v);
}

float syn_avx2_exp_sum(int64_t n, float *x, float max)
{
    const __m256 m = _mm256_set1_ps(max);
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), m));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = syn_hsum_ps(acc);
    for (; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    return sum;
}
