/* AVX2/FMA/F16C float helpers: f16 conversion of rows, f16/bf16
 * dequantisation, RMS norm (sum of squares in double), SwiGLU and softmax
 * numerators with a vector expf accurate to a few ulp. Built with -mavx2
 * -mfma -mf16c; any thread. */
#include <string.h>
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

/* A column panel's element k of its 16 rows in two vectors, as floats
 * (exactly: F16 and BF16 widen without rounding) */
SYN_INLINE void narrow_load(const int type, const void *panel, int64_t k, __m256 *lo, __m256 *hi)
{
    if (type == SYN_TYPE_F32) {
        const float *p = (const float *)panel + (size_t)k * SYN_NARROW_ROWS;
        *lo = _mm256_loadu_ps(p);
        *hi = _mm256_loadu_ps(p + 8);
        return;
    }
    const uint16_t *h = (const uint16_t *)panel + (size_t)k * SYN_NARROW_ROWS;
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)h), b = _mm_loadu_si128((const __m128i *)(const void *)(h + 8));
    if (type == SYN_TYPE_F16) {
        *lo = _mm256_cvtph_ps(a);
        *hi = _mm256_cvtph_ps(b);
    } else {
        *lo = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(a), 16));
        *hi = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
    }
}

/* RT x rows against PT panels from `panels` on: lane j of a row's pair of
 * vectors for a panel sums that panel's row j, one fused multiply-add per
 * k, in order, as ref's fmaf chain. RT * PT <= 4 gives 8 independent
 * chains, enough to hide the latency of each; all[r][p * 16 + j] gets the
 * sums. */
SYN_INLINE void narrow_tile(const int type, const int RT, const int PT, int64_t n, const void *panels, const float *x,
                            size_t x_stride, float all[4][SYN_NARROW_CALL])
{
    size_t esize = type == SYN_TYPE_F32 ? 4 : 2, panel_bytes = esize * SYN_NARROW_ROWS * (size_t)n;
    __m256 acc[4][4][2];
    for (int r = 0; r < RT; r++)
        for (int p = 0; p < PT; p++)
            acc[r][p][0] = acc[r][p][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < n; k++) {
        __m256 lo[4], hi[4];
        for (int p = 0; p < PT; p++)
            narrow_load(type, (const char *)panels + (size_t)p * panel_bytes, k, &lo[p], &hi[p]);
        for (int r = 0; r < RT; r++) {
            __m256 xv = _mm256_broadcast_ss(x + (size_t)r * x_stride + (size_t)k);
            for (int p = 0; p < PT; p++) {
                acc[r][p][0] = _mm256_fmadd_ps(lo[p], xv, acc[r][p][0]);
                acc[r][p][1] = _mm256_fmadd_ps(hi[p], xv, acc[r][p][1]);
            }
        }
    }
    for (int r = 0; r < RT; r++)
        for (int p = 0; p < PT; p++) {
            _mm256_storeu_ps(all[r] + p * SYN_NARROW_ROWS, acc[r][p][0]);
            _mm256_storeu_ps(all[r] + p * SYN_NARROW_ROWS + 8, acc[r][p][1]);
        }
}

/* Four x rows at a time take the panels one by one; fewer take up to four
 * panels at once, so a decode row (nr = 1) still has 8 chains. */
SYN_INLINE void dot_narrow_panel(const int type, int64_t n, const void *panels, int j0, int nw, const float *x,
                                 size_t x_stride, int nr, float *v)
{
    size_t panel_bytes = (type == SYN_TYPE_F32 ? 4 : 2) * SYN_NARROW_ROWS * (size_t)n;
    int np = (j0 + nw + SYN_NARROW_ROWS - 1) / SYN_NARROW_ROWS;
    float all[4][SYN_NARROW_CALL];
    for (int r0 = 0; r0 < nr;) {
        const float *xr = x + (size_t)r0 * x_stride;
        int rows = nr - r0 >= 4 ? 4 : 1;
        if (rows == 4)
            for (int p = 0; p < np; p++) {
                float one[4][SYN_NARROW_CALL];
                narrow_tile(type, 4, 1, n, (const char *)panels + (size_t)p * panel_bytes, xr, x_stride, one);
                for (int r = 0; r < 4; r++)
                    memcpy(all[r] + p * SYN_NARROW_ROWS, one[r], SYN_NARROW_ROWS * sizeof(float));
            }
        else if (np == 1)
            narrow_tile(type, 1, 1, n, panels, xr, x_stride, all);
        else if (np == 2)
            narrow_tile(type, 1, 2, n, panels, xr, x_stride, all);
        else if (np == 3)
            narrow_tile(type, 1, 3, n, panels, xr, x_stride, all);
        else
            narrow_tile(type, 1, 4, n, panels, xr, x_stride, all);
        for (int r = 0; r < rows; r++)
            memcpy(v + (size_t)(r0 + r) * (size_t)nw, all[r] + j0, (size_t)nw * sizeof(float));
        r0 += rows;
    }
}

void syn_avx2_dot_narrow_f32(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                             float *v)
{
    dot_narrow_panel(SYN_TYPE_F32, n, w, j0, nw, x, x_stride, nr, v);
}

void syn_avx2_dot_narrow_f16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                             float *v)
{
    dot_narrow_panel(SYN_TYPE_F16, n, w, j0, nw, x, x_stride, nr, v);
}

void syn_avx2_dot_narrow_bf16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                              float *v)
{
    dot_narrow_panel(SYN_TYPE_BF16, n, w, j0, nw, x, x_stride, nr, v);
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
