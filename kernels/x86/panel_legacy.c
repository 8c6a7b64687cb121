/* Prefill for the symmetric 32-element block types (Q4_0, Q5_0, Q8_0) on
 * CPUs with VNNI: activation panels.
 *
 * vpdpbusd multiplies unsigned bytes by signed ones. The row-at-a-time dots
 * make the activations fit by moving each weight's sign onto them (one
 * vpsignb per row and block). A panel instead stores SYN_PANEL_ROWS
 * activation rows once per matmul with their quants biased by +128 (so they
 * are unsigned) and their scales as floats, block by block:
 *     float d[SYN_PANEL_ROWS]; uint8_t q[SYN_PANEL_ROWS][32];
 * The bias adds 128 * sum(w) to every row's block sum; starting vpdpbusd
 * from -128 * sum(w), computed once per weight block, removes it exactly.
 * Per row and block that leaves one vpdpbusd, one conversion, the scale
 * product and one FMA.
 *
 * The integer sums are exact and the float steps (the f32 product of the
 * two f16 scales, one FMA per block into the even or odd accumulator, the
 * final reduction) are those of dot_legacy.c, so every result is
 * bit-identical to the same set's vec_dot.
 *
 * Compiled for the vnni set (kernels.am); the avx512 set has its own
 * (panel_legacy512.c). */
#include "kernels/x86/legacy_blocks.h"

/* bytes of one block of a panel: SYN_PANEL_ROWS float scales, then each
 * row's 32 biased quants */
enum { PANEL_D = SYN_PANEL_ROWS * sizeof(float), PANEL_BLOCK = PANEL_D + SYN_PANEL_ROWS * SYN_QK };

/* rows one pass over the weights takes: with 32 vector registers the even
 * and odd accumulators of 8 rows fit, with 16 those of 4 */
#if defined(__AVX512VL__)
#define PANEL_TILE 8
#else
#define PANEL_TILE 4
#endif

void SYN_KFN(pack_panel_q8_0)(int64_t n, const void *a, size_t a_stride, int nr, void *panel)
{
    const int64_t nb = n / SYN_QK;
    uint8_t *out = panel;
    for (int64_t ib = 0; ib < nb; ib++, out += PANEL_BLOCK) {
        float *d = (float *)(void *)out;
        for (int r = 0; r < SYN_PANEL_ROWS; r++) {
            __m256i q = _mm256_setzero_si256(); /* missing rows: zeros */
            d[r] = 0;
            if (r < nr) {
                const uint8_t *yb = (const uint8_t *)a + (size_t)r * a_stride + ib * 34;
                d[r] = syn_h2f(load_u16(yb));
                q = _mm256_loadu_si256((const __m256i *)(yb + 2));
            }
            _mm256_storeu_si256((__m256i *)(out + PANEL_D + SYN_QK * r),
                                _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80)));
        }
    }
}

SYN_INLINE __m256i dpbusd(__m256i acc, __m256i u, __m256i s)
{
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(acc, u, s);
#else
    return _mm256_dpbusd_avx_epi32(acc, u, s);
#endif
}

/* one weight block against block ib of NR panel rows from row r0 */
SYN_INLINE void panel_block(const int T, const uint8_t *b, const uint8_t *pb, int r0, const int NR, __m256 *acc)
{
    __m256i q = unpack(T, b);
    __m256i bias = dpbusd(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), q);
    __m256i start = _mm256_sub_epi32(_mm256_setzero_si256(), bias);
    /* each row's scale product straight from the panel (exact in f32, as
     * both factors are f16 values), with no trip through memory */
    __m256 wd = _mm256_cvtph_ps(_mm_set1_epi16((short)load_u16(b)));
    const float *da = (const float *)(const void *)pb + r0;
    const uint8_t *qa = pb + PANEL_D + SYN_QK * r0;
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        __m256i p = dpbusd(start, _mm256_loadu_si256((const __m256i *)(qa + SYN_QK * r)), q);
        __m256 dd = _mm256_mul_ps(wd, _mm256_broadcast_ss(da + r));
        acc[r] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(p), acc[r]);
    }
}

/* out[r * out_stride] for the nr (<= NR) panel rows from r0 */
SYN_INLINE void panel_tile(const int T, int64_t n, const void *w, const uint8_t *pn, int r0, const int NR, int nr,
                           float *out, int64_t out_stride)
{
    const uint8_t *x = w;
    const int64_t nb = n / SYN_QK;
    __m256 acc0[PANEL_TILE], acc1[PANEL_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        acc0[r] = acc1[r] = _mm256_setzero_ps();
    int64_t ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        panel_block(T, x + ib * wbytes[T], pn + ib * PANEL_BLOCK, r0, NR, acc0);
        panel_block(T, x + (ib + 1) * wbytes[T], pn + (ib + 1) * PANEL_BLOCK, r0, NR, acc1);
    }
    if (ib < nb)
        panel_block(T, x + ib * wbytes[T], pn + ib * PANEL_BLOCK, r0, NR, acc0);
    /* all rows reduced with a constant count, so the accumulators stay in
     * registers; + 0.0f: dot_legacy.c adds the (zero) offset sum the same way */
    float sums[PANEL_TILE];
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++)
        sums[r] = syn_hsum_ps(_mm256_add_ps(acc0[r], acc1[r])) + 0.0f;
    for (int r = 0; r < nr; r++)
        out[(r0 + r) * out_stride] = sums[r];
}

/* Tiles of PANEL_TILE rows, and of 4 where no more than 4 rows are left
 * (a short batch of sequences should not pay for 8 rows). */
SYN_INLINE void panel_dot(const int T, int64_t n, const void *w, const void *panel, int nr, float *out,
                          int64_t out_stride)
{
    for (int r0 = 0; r0 < nr; r0 += PANEL_TILE) {
        int left = nr - r0 < PANEL_TILE ? nr - r0 : PANEL_TILE;
        if (PANEL_TILE > 4 && left > 4)
            panel_tile(T, n, w, panel, r0, PANEL_TILE, left, out, out_stride);
        else
            panel_tile(T, n, w, panel, r0, 4, left, out, out_stride);
    }
}

#define PANEL(name, T)                                                                                               \
    void SYN_KFN(dot_panel_##name)(int64_t n, const void *w, const void *panel, int nr, float *out,                  \
                                   int64_t out_stride)                                                               \
    {                                                                                                                \
        panel_dot(T, n, w, panel, nr, out, out_stride);                                                              \
    }

PANEL(q4_0, K_Q4_0)
PANEL(q5_0, K_Q5_0)
PANEL(q8_0, K_Q8_0)
