/* Prefill for the symmetric 32-element block types (Q4_0, Q5_0, Q8_0) in
 * the avx512 set: the panels of panel_legacy.c in 512-bit vectors, two
 * weight blocks per instruction. Zen 5 and the Intel cores run 512-bit
 * vectors at full width, so each row's vpdpbusd, conversion, scale product
 * and FMA now cover 64 weights instead of 32.
 *
 * Blocks go in pairs (an even block and the odd one after it; a last odd
 * block is paired with zeros). A pair of the panel is
 *     float d[SYN_PANEL_ROWS][2];  uint8_t q[SYN_PANEL_ROWS][64];
 * with row r's even and odd scales side by side and its 64 biased quants
 * interleaved by dwords: dword 2k of the pair is dword k of the even block,
 * dword 2k + 1 dword k of the odd one. The weights are interleaved the same
 * way, so vpdpbusd lane 2k holds the even block's sum of lane k and lane
 * 2k + 1 the odd block's: exactly the lanes of the even and odd
 * accumulators of dot_legacy.c. Every lane sees the same exact scale
 * product and the same FMAs in the same order, and the reduction adds the
 * even and odd lanes before the same horizontal sum, so results stay
 * bit-identical to vec_dot. */
#include "kernels/x86/legacy_blocks.h"

enum {
    PAIR_D = SYN_PANEL_ROWS * 2 * sizeof(float),
    PAIR_BYTES = PAIR_D + SYN_PANEL_ROWS * 2 * SYN_QK,
};

/* dword k of a to lane 2k, dword k of b to lane 2k + 1 */
SYN_INLINE __m512i interleave_dwords(__m256i a, __m256i b)
{
    const __m512i idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    return _mm512_permutex2var_epi32(_mm512_castsi256_si512(a), idx, _mm512_castsi256_si512(b));
}

void SYN_KFN(pack_panel_q8_0)(int64_t n, const void *a, size_t a_stride, int nr, void *panel)
{
    const int64_t nb = n / SYN_QK;
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    uint8_t *out = panel;
    for (int64_t ib = 0; ib < nb; ib += 2, out += PAIR_BYTES) {
        float *d = (float *)(void *)out;
        for (int r = 0; r < SYN_PANEL_ROWS; r++) {
            __m256i q[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}; /* missing: zeros */
            for (int h = 0; h < 2; h++) {
                d[2 * r + h] = 0;
                if (r < nr && ib + h < nb) {
                    const uint8_t *yb = (const uint8_t *)a + (size_t)r * a_stride + (ib + h) * 34;
                    d[2 * r + h] = syn_h2f(load_u16(yb));
                    q[h] = _mm256_loadu_si256((const __m256i *)(yb + 2));
                }
            }
            __m512i z = interleave_dwords(_mm256_xor_si256(q[0], bias), _mm256_xor_si256(q[1], bias));
            _mm512_storeu_si512(out + PAIR_D + 2 * SYN_QK * r, z);
        }
    }
}

/* Q4_0 / Q5_0 weight block pairs (the odd block right after the even one)
 * unpacked straight into the interleaved order: one masked load takes both
 * blocks' nibble bytes, vpermb puts each weight's byte in its lane, a
 * shift per 16-bit word picks the low or high nibble, and for Q5_0 the two
 * 32-bit qh words become one 64-bit mask (pdep spreads them by nibbles) for
 * the "-16 where the 5th bit is clear". A third of the vector instructions
 * of unpacking each block and interleaving, for the same bytes: Q5_0
 * panels 12-16% faster, Q4_0 9-15% (bench/kernels 896 20000).
 *
 * Byte j of the pair: lane L = j / 4 is dword k = L / 2 of block h = L % 2,
 * weight w = 4k + j % 4, which sits in the low (w < 16) or high nibble of
 * byte w % 16 of that block's qs; the tables below hold h * block bytes +
 * w % 16, and per 16-bit word the shift that brings the nibble down. */
static const uint8_t pair_bytes_q4_0[64] = {
    0, 1, 2, 3, 18, 19, 20, 21, 4, 5, 6, 7, 22, 23, 24, 25,
    8, 9, 10, 11, 26, 27, 28, 29, 12, 13, 14, 15, 30, 31, 32, 33,
    0, 1, 2, 3, 18, 19, 20, 21, 4, 5, 6, 7, 22, 23, 24, 25,
    8, 9, 10, 11, 26, 27, 28, 29, 12, 13, 14, 15, 30, 31, 32, 33,
};
static const uint8_t pair_bytes_q5_0[64] = {
    0, 1, 2, 3, 22, 23, 24, 25, 4, 5, 6, 7, 26, 27, 28, 29,
    8, 9, 10, 11, 30, 31, 32, 33, 12, 13, 14, 15, 34, 35, 36, 37,
    0, 1, 2, 3, 22, 23, 24, 25, 4, 5, 6, 7, 26, 27, 28, 29,
    8, 9, 10, 11, 30, 31, 32, 33, 12, 13, 14, 15, 34, 35, 36, 37,
};
static const uint16_t pair_nibble_shift[32] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

SYN_INLINE __m512i unpack_pair(const int T, const uint8_t *even)
{
    const int stride = wbytes[T];
    __m512i bytes = _mm512_maskz_loadu_epi8((__mmask64)((1ull << (stride + 16)) - 1), even + qs_off[T]);
    __m512i placed = _mm512_permutexvar_epi8(_mm512_loadu_si512(T == K_Q4_0 ? pair_bytes_q4_0 : pair_bytes_q5_0),
                                             bytes);
    __m512i q = _mm512_and_si512(_mm512_srlv_epi16(placed, _mm512_loadu_si512(pair_nibble_shift)),
                                 _mm512_set1_epi8(15));
    if (T == K_Q4_0)
        return _mm512_sub_epi8(q, _mm512_set1_epi8(8));
    uint32_t qh0, qh1;
    memcpy(&qh0, even + qh_off[T], 4);
    memcpy(&qh1, even + stride + qh_off[T], 4);
    uint64_t high = _pdep_u64(qh0, 0x0f0f0f0f0f0f0f0full) | _pdep_u64(qh1, 0xf0f0f0f0f0f0f0f0ull);
    return _mm512_mask_sub_epi8(q, _cvtu64_mask64(~high), q, _mm512_set1_epi8(16));
}

/* A weight pair ready for the panel rows: its 64 weights interleaved, the
 * bias term that undoes the panel's +128 on the activations, and its two
 * scales [even, odd] in every lane pair. The odd block is absent when odd
 * is NULL. */
typedef struct {
    __m512i q, start;
    __m512 wd;
} weight_pair;

SYN_INLINE weight_pair pair_weights(const int T, const uint8_t *even, const uint8_t *odd)
{
    weight_pair wp;
    if (odd && (T == K_Q4_0 || T == K_Q5_0))
        wp.q = unpack_pair(T, even);
    else
        wp.q = interleave_dwords(unpack(T, even), odd ? unpack(T, odd) : _mm256_setzero_si256());
    wp.start = _mm512_sub_epi32(_mm512_setzero_si512(),
                                _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), wp.q));
    uint32_t scales = load_u16(even) | (uint32_t)(odd ? load_u16(odd) : 0) << 16;
    __m128 wd2 = _mm_cvtph_ps(_mm_cvtsi32_si128((int)scales));
    wp.wd = _mm512_castpd_ps(_mm512_broadcastsd_pd(_mm_castps_pd(wd2)));
    return wp;
}

/* Block pair ib of NW weight rows (at x[j]) against the pair's NR panel
 * rows from r0; with two weight rows each panel row's load and scale
 * broadcast serve both. */
SYN_INLINE void pair_block(const int T, const int NW, const uint8_t *const *x, int64_t ib, int odd, const uint8_t *pp,
                           int r0, const int NR, __m512 acc[][SYN_PANEL_ROWS])
{
    weight_pair wp[2];
#pragma GCC unroll 2
    for (int j = 0; j < NW; j++)
        wp[j] = pair_weights(T, x[j] + ib * wbytes[T], odd ? x[j] + (ib + 1) * wbytes[T] : NULL);
    const double *da = (const double *)(const void *)pp + r0;
    const uint8_t *qa = pp + PAIR_D + 2 * SYN_QK * r0;
#pragma GCC unroll 8
    for (int r = 0; r < NR; r++) {
        __m512i a = _mm512_loadu_si512(qa + 2 * SYN_QK * r);
        __m512 ds = _mm512_castpd_ps(_mm512_set1_pd(da[r]));
#pragma GCC unroll 2
        for (int j = 0; j < NW; j++) {
            __m512i p = _mm512_dpbusd_epi32(wp[j].start, a, wp[j].q);
            acc[j][r] = _mm512_fmadd_ps(_mm512_mul_ps(wp[j].wd, ds), _mm512_cvtepi32_ps(p), acc[j][r]);
        }
    }
}

/* out[r * out_stride + j] for the nr (<= NR) panel rows from r0 and the NW
 * weight rows from w, w_stride bytes apart */
SYN_INLINE void pair_tile(const int T, const int NW, int64_t n, const void *w, size_t w_stride, const uint8_t *pn,
                          int r0, const int NR, int nr, float *out, int64_t out_stride)
{
    const uint8_t *x[2] = {w, (const uint8_t *)w + w_stride};
    const int64_t nb = n / SYN_QK;
    __m512 acc[2][SYN_PANEL_ROWS];
#pragma GCC unroll 2
    for (int j = 0; j < NW; j++)
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++)
            acc[j][r] = _mm512_setzero_ps();
    int64_t ib = 0;
    for (; ib + 2 <= nb; ib += 2, pn += PAIR_BYTES) {
#pragma GCC unroll 2
        for (int j = 0; j < NW; j++)
            syn_prefetch_weights(x[j] + ib * wbytes[T], 2 * wbytes[T]);
        pair_block(T, NW, x, ib, 1, pn, r0, NR, acc);
    }
    if (ib < nb)
        pair_block(T, NW, x, ib, 0, pn, r0, NR, acc);
    /* even lanes to the low half, odd ones to the high half: their sum is
     * dot_legacy.c's acc0 + acc1, reduced the same way (+ 0.0f: its offset
     * sum, zero here) */
    const __m512i halves = _mm512_set_epi32(15, 13, 11, 9, 7, 5, 3, 1, 14, 12, 10, 8, 6, 4, 2, 0);
#pragma GCC unroll 2
    for (int j = 0; j < NW; j++) {
        float sums[SYN_PANEL_ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < NR; r++) {
            __m512 s = _mm512_permutexvar_ps(halves, acc[j][r]);
            __m256 lo = _mm512_castps512_ps256(s),
                   hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1));
            sums[r] = syn_hsum_ps(_mm256_add_ps(lo, hi)) + 0.0f;
        }
        for (int r = 0; r < nr; r++)
            out[(r0 + r) * out_stride + j] = sums[r];
    }
}

/* One tile for the whole panel: 8 accumulators fit in the 32 registers;
 * a short batch of sequences (4 rows or fewer) should not pay for 8, nor
 * decode (one row) for 4. */
SYN_INLINE void pair_dot(const int T, int64_t n, const void *w, const void *panel, int nr, float *out,
                         int64_t out_stride)
{
    if (nr > 4)
        pair_tile(T, 1, n, w, 0, panel, 0, SYN_PANEL_ROWS, nr, out, out_stride);
    else if (nr > 1)
        pair_tile(T, 1, n, w, 0, panel, 0, 4, nr, out, out_stride);
    else
        pair_tile(T, 1, n, w, 0, panel, 0, 1, nr, out, out_stride);
}

/* Two weight rows: 16 accumulators for up to 8 panel rows */
SYN_INLINE void pair_dot2(const int T, int64_t n, const void *w, size_t w_stride, const void *panel, int nr,
                          float *out, int64_t out_stride)
{
    if (nr > 4)
        pair_tile(T, 2, n, w, w_stride, panel, 0, SYN_PANEL_ROWS, nr, out, out_stride);
    else if (nr > 1)
        pair_tile(T, 2, n, w, w_stride, panel, 0, 4, nr, out, out_stride);
    else
        pair_tile(T, 2, n, w, w_stride, panel, 0, 1, nr, out, out_stride);
}

#define PANEL(name, T)                                                                                               \
    void SYN_KFN(dot_panel_##name)(int64_t n, const void *w, const void *panel, int nr, float *out,                  \
                                   int64_t out_stride)                                                               \
    {                                                                                                                \
        pair_dot(T, n, w, panel, nr, out, out_stride);                                                               \
    }                                                                                                                \
    void SYN_KFN(dot_panel2_##name)(int64_t n, const void *w, size_t w_stride, const void *panel, int nr,            \
                                    float *out, int64_t out_stride)                                                  \
    {                                                                                                                \
        pair_dot2(T, n, w, w_stride, panel, nr, out, out_stride);                                                    \
    }

PANEL(q4_0, K_Q4_0)
PANEL(q5_0, K_Q5_0)
PANEL(q8_0, K_Q8_0)
