/* Prefill on Intel AMX in BF16 (the amx kernel set): 16 weight rows at a
 * time are dequantised to bf16 (BF16 weights are copied), the float
 * activations are rounded to bf16 once per matmul, and TDPBF16PS
 * multiplies a 16 x 32 tile of one by a 32 x 16 tile of the other, adding
 * into 16 x 16 floats that stay in the tile unit for the whole row. Built
 * with the avx512 set's flags plus -mavx512bf16 -mamx-tile -mamx-bf16;
 * only reached after syn_cpu_has_amx(). Any thread: each call loads its
 * own tile configuration.
 *
 * Why BF16 and not the integer tiles: every quantised format scales each
 * block of 16 or 32 weights on its own, so integer sums must leave the tile
 * unit after every block to be scaled (a tile store and a vector epilogue
 * per 16 x 16 x 32 multiply, which made an int8 version of these kernels
 * 1.1-2 times slower than this one on the same data). Dequantised to bf16,
 * a row's scales are already in its weights. bf16 keeps 8 bits of
 * mantissa: each weight and each activation is rounded by at most 2^-9 of
 * itself, which is finer than the Q8_0/Q8_K quantisation of activations
 * that the integer kernels use (a step of max|x| / 127), so these results
 * are at least as close to the exact dot as vec_dot's, though not equal to
 * them. The dequantisation is the floor of a call's cost (about 0.1 ns
 * per weight), whatever the number of rows.
 *
 * F16 weights and their activations are each split into two bf16 parts
 * (see split_f16 and pack_act), three products per step instead of one:
 * about 16 bits of both are kept, more than the f16 activations of
 * vec_dot.
 *
 * Activation tiles: per 16 rows and 32 elements, 16 rows of 64 bytes, row
 * k holding elements 2k and 2k + 1 of each of the 16 activation rows (the
 * pairs TDPBF16PS takes). */
#include "kernels/x86/legacy_blocks.h"

enum {
    TILE_ROWS = 16,
    K_STEP = 32,                   /* elements one multiply takes */
    ACT_TILE = TILE_ROWS * 64,     /* bytes of one activation tile */
    MAX_GROUPS = 4,                /* activation groups of 16 rows one pass takes */
    K_CHUNK = 2048,                /* elements of 16 weight rows dequantised at a time */
};

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* tiles 0-3: results of up to four activation groups (16 x 16 floats),
 * 4: weights (16 rows x 32 bf16), 5-6: activations (16 x 64 bytes), 7: the
 * low parts of F16 weights */
static const tile_config amx_config = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

/* The bf16 pairs of one activation tile: dword lane c of row k takes
 * row c's elements 2k and 2k + 1 (even in the low half), from the even and
 * odd elements of the 16 rows */
SYN_INLINE __m512i act_pairs(__m512 even, __m512 odd)
{
    /* vcvtne2ps2bf16 puts its second source in the low halves */
    __m512i pairs = (__m512i)_mm512_cvtne2ps_pbh(odd, even);
    return _mm512_permutexvar_epi16(_mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23,
                                                     7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0),
                                    pairs);
}

/* v less v rounded to bf16 (exact in float) */
SYN_INLINE __m512 bf16_residual(__m512 v)
{
    __m512i r = _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v)), 16);
    return _mm512_sub_ps(v, _mm512_castsi512_ps(r));
}

/* split: each step's tile of the rows rounded to bf16 is followed by one of
 * what that rounding left (rounded to bf16 in turn) */
SYN_INLINE void pack_act(const int split, int64_t n, const float *x, size_t x_stride, int m, void *tiles)
{
    const int64_t steps = n / K_STEP;
    const int groups = (m + TILE_ROWS - 1) / TILE_ROWS;
    const size_t step_bytes = (size_t)ACT_TILE * (split ? 2 : 1);
    /* a 16 x 16 dword transpose per step, done with gathers from the float
     * rows */
    const __m512i rows = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                            _mm512_set1_epi32((int)x_stride));
    for (int g = 0; g < groups; g++) {
        int nr = m - g * TILE_ROWS < TILE_ROWS ? m - g * TILE_ROWS : TILE_ROWS;
        __mmask16 live = (__mmask16)((1u << nr) - 1);
        const float *xg = x + (size_t)g * TILE_ROWS * x_stride;
        for (int64_t s = 0; s < steps; s++) {
            __m512i *t = (__m512i *)(void *)((uint8_t *)tiles + ((size_t)g * (size_t)steps + (size_t)s) * step_bytes);
            for (int k = 0; k < TILE_ROWS; k++) {
                const float *e = xg + s * K_STEP + 2 * k;
                __m512 even = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, rows, e, 4);
                __m512 odd = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, rows, e + 1, 4);
                _mm512_storeu_si512(t + k, act_pairs(even, odd));
                if (split)
                    _mm512_storeu_si512(t + TILE_ROWS + k, act_pairs(bf16_residual(even), bf16_residual(odd)));
            }
        }
    }
}

void syn_amx_pack_bf16(int64_t n, const float *x, size_t x_stride, int m, void *tiles)
{
    pack_act(0, n, x, x_stride, m, tiles);
}

void syn_amx_pack_bf16_split(int64_t n, const float *x, size_t x_stride, int m, void *tiles)
{
    pack_act(1, n, x, x_stride, m, tiles);
}

/* 32 floats (two vectors) to 32 bf16 at dst */
SYN_INLINE void store_bf16(uint16_t *dst, __m512 lo, __m512 hi)
{
    _mm512_storeu_si512(dst, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/* elements k0..k1 of one weight row as bf16 (k0, k1 multiples of the
 * type's block, at most K_CHUNK apart). The vector shuffle port is the
 * busiest one in this loop, so the blocks' scales are converted 16 at a time
 * first (one gather) and each block's two halves are widened straight
 * from 16 bytes: three shuffles per block instead of eight (one-thread
 * dequantisation of Q8_0, best of 30 passes: 0.10 -> 0.085 ns per weight). */
SYN_INLINE void dequant_legacy(const int T, const uint8_t *row, int64_t k0, int64_t k1, uint16_t *dst)
{
    const int64_t b0 = k0 / SYN_QK, nb = (k1 - k0) / SYN_QK;
    const int bytes = wbytes[T];
    _Alignas(64) float d[K_CHUNK / SYN_QK];
    const __m512i offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                               _mm512_set1_epi32(bytes));
    for (int64_t i = 0; i < nb; i += 16) {
        /* lane l: block i + l's f16 scale and the 2 bytes after it; lanes
         * past the last block are masked off */
        __mmask16 live = (__mmask16)(nb - i >= 16 ? 0xffff : (1u << (nb - i)) - 1);
        __m512i raw = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offsets,
                                                  row + (size_t)(b0 + i) * (size_t)bytes, 1);
        _mm512_store_ps(d + i, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(raw)));
    }
    const __m128i m4 = _mm_set1_epi8(15), sixteen = _mm_set1_epi8(16), eight = _mm_set1_epi8(8);
    for (int64_t i = 0; i < nb; i++, dst += SYN_QK) {
        const uint8_t *b = row + (size_t)(b0 + i) * (size_t)bytes;
        __m128i lo, hi; /* elements 0-15 and 16-31 as int8 */
        if (T == K_Q8_0) {
            lo = _mm_loadu_si128((const __m128i *)(const void *)(b + 2));
            hi = _mm_loadu_si128((const __m128i *)(const void *)(b + 18));
        } else {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + qs_off[T]));
            lo = _mm_and_si128(v, m4);
            hi = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
            if (T == K_Q5_0) { /* a clear 5th bit means value - 16 */
                uint32_t qh;
                memcpy(&qh, b + qh_off[T], 4);
                lo = _mm_mask_sub_epi8(lo, (__mmask16)~qh, lo, sixteen);
                hi = _mm_mask_sub_epi8(hi, (__mmask16)(~qh >> 16), hi, sixteen);
            } else {
                lo = _mm_sub_epi8(lo, eight);
                hi = _mm_sub_epi8(hi, eight);
            }
        }
        __m512 s = _mm512_set1_ps(d[i]);
        store_bf16(dst, _mm512_mul_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(lo))),
                   _mm512_mul_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(hi))));
    }
}

/* 16 + 16 unsigned quants (elements 0-15 and 16-31 of a group) times a
 * scale minus an offset, to 32 bf16 */
SYN_INLINE void store_scaled_u8(uint16_t *dst, __m128i q0, __m128i q1, const float *d, const float *off)
{
    __m512 s = _mm512_set1_ps(*d), o = _mm512_set1_ps(*off);
    store_bf16(dst, _mm512_fmsub_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(q0)), o),
               _mm512_fmsub_ps(s, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(q1)), o));
}

/* Q4_K / Q5_K: group g of 32 (chunk g / 2's low or high nibbles, Q5_K's
 * fifth bit g of qh) is d * scale_g * q - dmin * min_g. As in
 * dequant_legacy, the scales are converted first and the quants widened
 * from 16-byte halves, which keeps the shuffle port to three per 32. */
SYN_INLINE void dequant_k45(const int five, const uint8_t *row, int64_t k0, int64_t k1, uint16_t *dst)
{
    const __m128i m4 = _mm_set1_epi8(15), sixteen = _mm_set1_epi8(16);
    const size_t bytes = five ? sizeof(syn_block_q5_k) : sizeof(syn_block_q4_k);
    for (int64_t k = k0; k < k1; k += SYN_QK_K, dst += SYN_QK_K) {
        const uint8_t *blk = row + (size_t)(k / SYN_QK_K) * bytes;
        const uint8_t *qh = five ? blk + 16 : NULL, *qs = blk + (five ? 48 : 16);
        /* sd[g] = d * scale_g, sd[8 + g] = dmin * min_g */
        _Alignas(64) float sd[16];
        int d_dmin;
        memcpy(&d_dmin, blk, 4);
        __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(d_dmin)); /* d, dmin */
        __m512 dsc = _mm512_castpd_ps(_mm512_broadcastsd_pd(_mm_castps_pd(dd)));     /* d dmin d dmin ... */
        dsc = _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), dsc);
        _mm512_store_ps(sd, _mm512_mul_ps(dsc, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(k4_scales_mins(blk + 4)))));
        for (int j = 0; j < 4; j++) {
            __m128i lo[2], hi[2];
            for (int h = 0; h < 2; h++) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(qs + 32 * j + 16 * h));
                lo[h] = _mm_and_si128(v, m4);
                hi[h] = _mm_and_si128(_mm_srli_epi16(v, 4), m4);
                if (five) { /* the fifth bit of element l of group g is bit g of qh[l] */
                    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(qh + 16 * h));
                    lo[h] = _mm_mask_add_epi8(lo[h], _mm_test_epi8_mask(b, _mm_set1_epi8((char)(1 << (2 * j)))), lo[h],
                                              sixteen);
                    hi[h] = _mm_mask_add_epi8(hi[h], _mm_test_epi8_mask(b, _mm_set1_epi8((char)(2 << (2 * j)))), hi[h],
                                              sixteen);
                }
            }
            store_scaled_u8(dst + 64 * j, lo[0], lo[1], &sd[2 * j], &sd[8 + 2 * j]);
            store_scaled_u8(dst + 64 * j + 32, hi[0], hi[1], &sd[2 * j + 1], &sd[8 + 2 * j + 1]);
        }
    }
}

/* Q6_K: in half h, element 32k + l is nibble k / 2 of ql[64h + 32(k % 2) + l]
 * with bits 2k..2k+1 of qh[32h + l] above it, minus 32, times d * scale of
 * its 16 (the 16 scales converted first) */
SYN_INLINE void dequant_q6_k(const uint8_t *row, int64_t k0, int64_t k1, uint16_t *dst)
{
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    for (int64_t k = k0; k < k1; k += SYN_QK_K, dst += SYN_QK_K) {
        const syn_block_q6_k *x = (const syn_block_q6_k *)(const void *)row + k / SYN_QK_K;
        _Alignas(64) float sd[16];
        _mm512_store_ps(sd, _mm512_mul_ps(_mm512_set1_ps(syn_h2f(x->d)),
                                          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                              _mm_loadu_si128((const __m128i *)(const void *)x->scales)))));
        for (int h = 0; h < 2; h++) {
            __m256i ql0 = _mm256_loadu_si256((const __m256i *)(const void *)(x->ql + 64 * h)),
                    ql1 = _mm256_loadu_si256((const __m256i *)(const void *)(x->ql + 64 * h + 32)),
                    qh = _mm256_loadu_si256((const __m256i *)(const void *)(x->qh + 32 * h));
            for (int j = 0; j < 4; j++) {
                __m256i lo = _mm256_and_si256(_mm256_srli_epi16(j % 2 ? ql1 : ql0, 4 * (j / 2)), m4);
                __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), m2), 4);
                __m256i q = _mm256_sub_epi8(_mm256_or_si256(lo, hi), _mm256_set1_epi8(32));
                const int s = 8 * h + 2 * j; /* the two 16s of these 32 */
                __m512 v0 = _mm512_mul_ps(_mm512_set1_ps(sd[s]),
                                          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(q))));
                __m512 v1 = _mm512_mul_ps(_mm512_set1_ps(sd[s + 1]),
                                          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(q, 1))));
                store_bf16(dst + 128 * h + 32 * j, v0, v1);
            }
        }
    }
}

/* BF16 rows are copied as they are. */
SYN_INLINE void copy_bf16(const uint8_t *row, int64_t k0, int64_t k1, uint16_t *dst)
{
    memcpy(dst, (const uint16_t *)(const void *)row + k0, (size_t)(k1 - k0) * sizeof(uint16_t));
}

/* An F16 weight rounded to bf16 would lose 3 of its 11 bits, so each is
 * split into a high part, its float with the low 16 bits cleared, and the
 * rest, which holds at most the 3 low bits of the f16 mantissa: both are
 * exact in bf16 and add up to the weight exactly. The high parts go to
 * dst, the low ones to lo; every step multiplies both. */
SYN_INLINE void split_f16(const uint8_t *row, int64_t k0, int64_t k1, uint16_t *dst, uint16_t *lo)
{
    const uint16_t *h = (const uint16_t *)(const void *)row;
    const __m512i top = _mm512_set1_epi32((int)0xffff0000u);
    for (int64_t k = k0; k < k1; k += 32, dst += 32, lo += 32) {
        __m512 v0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(h + k)));
        __m512 v1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(h + k + 16)));
        __m512 h0 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v0), top));
        __m512 h1 = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v1), top));
        store_bf16(dst, h0, h1);
        store_bf16(lo, _mm512_sub_ps(v0, h0), _mm512_sub_ps(v1, h1));
    }
}

/* weight type T; elements k0..k1 of 16 rows w_stride bytes apart into wq,
 * a row every K_CHUNK bf16 (F16: the low parts TILE_ROWS * K_CHUNK
 * further on) */
SYN_INLINE void dequant_rows(const int T, const uint8_t *w, size_t w_stride, int64_t k0, int64_t k1, uint16_t *wq)
{
    for (int o = 0; o < TILE_ROWS; o++) {
        const uint8_t *row = w + (size_t)o * w_stride;
        uint16_t *dst = wq + (size_t)o * K_CHUNK;
        switch (T) {
        case SYN_TYPE_F16:
            split_f16(row, k0, k1, dst, dst + TILE_ROWS * K_CHUNK);
            break;
        case SYN_TYPE_BF16:
            copy_bf16(row, k0, k1, dst);
            break;
        case SYN_TYPE_Q4_0:
            dequant_legacy(K_Q4_0, row, k0, k1, dst);
            break;
        case SYN_TYPE_Q5_0:
            dequant_legacy(K_Q5_0, row, k0, k1, dst);
            break;
        case SYN_TYPE_Q8_0:
            dequant_legacy(K_Q8_0, row, k0, k1, dst);
            break;
        case SYN_TYPE_Q4_K:
            dequant_k45(0, row, k0, k1, dst);
            break;
        case SYN_TYPE_Q5_K:
            dequant_k45(1, row, k0, k1, dst);
            break;
        default:
            dequant_q6_k(row, k0, k1, dst);
            break;
        }
    }
}

/* a pass's results into acc (save) or back out of it: tile g's row o,
 * column i is activation row 16 g + i against weight row o. (The tile
 * number must be a constant, hence one line per tile.) */
#define MOVE_TILE(save, g, acc)          \
    do {                                 \
        if (save)                        \
            _tile_stored(g, acc[g], 64); \
        else                             \
            _tile_loadd(g, acc[g], 64);  \
    } while (0)
SYN_INLINE void move_pass(const int save, int groups, float (*acc)[16][16])
{
    MOVE_TILE(save, 0, acc);
    if (groups > 1)
        MOVE_TILE(save, 1, acc);
    if (groups > 2)
        MOVE_TILE(save, 2, acc);
    if (groups > 3)
        MOVE_TILE(save, 3, acc);
}

/* One step of one activation group into accumulator tile A: the weight
 * tile (4) times activation tile X; split (F16): also the weights' low
 * parts (7) times X, and the weights times the activations' low parts,
 * loaded into tile XL from t + ACT_TILE. (The low parts' product, under
 * 2^-16 of the whole, is left out.) */
#define GROUP_STEP(split, A, X, XL, t)           \
    do {                                         \
        _tile_loadd(X, t, 64);                   \
        _tile_dpbf16ps(A, 4, X);                 \
        if (split) {                             \
            _tile_dpbf16ps(A, 7, X);             \
            _tile_loadd(XL, (t) + ACT_TILE, 64); \
            _tile_dpbf16ps(A, 4, XL);            \
        }                                        \
    } while (0)

/* K-steps k0..k1 of a pass: the weight tile of each step (from wq, whose
 * first step is kw; split: and its low parts' tile) meets up to four
 * activation groups from tg */
SYN_INLINE void pass_steps(const int split, int groups, const uint16_t *wq, int64_t kw, const uint8_t *tg, size_t gs,
                           int64_t k0, int64_t k1)
{
    const size_t step_bytes = (size_t)ACT_TILE * (split ? 2 : 1);
    for (int64_t k = k0; k < k1; k += K_STEP) {
        const uint8_t *t = tg + (size_t)(k / K_STEP) * step_bytes;
        _tile_loadd(4, wq + (k - kw), K_CHUNK * 2);
        if (split)
            _tile_loadd(7, wq + TILE_ROWS * K_CHUNK + (k - kw), K_CHUNK * 2);
        /* groups alternate between tiles 5 and 6 (split: both, per group) */
        GROUP_STEP(split, 0, 5, 6, t);
        if (groups > 1)
            GROUP_STEP(split, 1, 6, 5, t + gs);
        if (groups > 2)
            GROUP_STEP(split, 2, 5, 6, t + 2 * gs);
        if (groups > 3)
            GROUP_STEP(split, 3, 6, 5, t + 3 * gs);
    }
}

/* Rows are taken ROW_BLOCK at a time: each chunk of dequantised weights
 * serves all of them, four groups of 16 per pass through the tiles, whose
 * sums wait in acc between chunks. */
SYN_INLINE void gemm_bf16(const int T, int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m,
                          float *out, int64_t out_stride)
{
    enum { ROW_BLOCK = 256 };
    const int64_t steps = n / K_STEP;
    /* one group's tiles to the next */
    const size_t gs = (size_t)steps * ACT_TILE * (T == SYN_TYPE_F16 ? 2 : 1);
    const __m512i column = _mm512_slli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 4);
    _tile_loadconfig(&amx_config);
    /* F16 uses the second half for its low parts */
    _Alignas(64) uint16_t wq[2 * TILE_ROWS * K_CHUNK];
    _Alignas(64) float acc[ROW_BLOCK / TILE_ROWS][16][16];
    for (int rb = 0; rb < m; rb += ROW_BLOCK) {
        int rows = m - rb < ROW_BLOCK ? m - rb : ROW_BLOCK, groups = (rows + TILE_ROWS - 1) / TILE_ROWS;
        const uint8_t *tb = (const uint8_t *)tiles + (size_t)(rb / TILE_ROWS) * gs;
        for (int o0 = 0; o0 + TILE_ROWS <= nw; o0 += TILE_ROWS) {
            const uint8_t *wt = (const uint8_t *)w + (size_t)o0 * w_stride;
            for (int64_t k0 = 0; k0 < n; k0 += K_CHUNK) {
                int64_t k1 = k0 + K_CHUNK < n ? k0 + K_CHUNK : n;
                dequant_rows(T, wt, w_stride, k0, k1, wq);
                for (int g = 0; g < groups; g += MAX_GROUPS) {
                    int pg = groups - g < MAX_GROUPS ? groups - g : MAX_GROUPS;
                    if (k0 == 0) {
                        _tile_zero(0);
                        _tile_zero(1);
                        _tile_zero(2);
                        _tile_zero(3);
                    } else {
                        move_pass(0, pg, acc + g);
                    }
                    pass_steps(T == SYN_TYPE_F16, pg, wq, k0, tb + (size_t)g * gs, gs, k0, k1);
                    move_pass(1, pg, acc + g);
                }
            }
            for (int r = 0; r < rows; r++)
                _mm512_storeu_ps(out + (int64_t)(rb + r) * out_stride + o0,
                                 _mm512_i32gather_ps(column, &acc[r / 16][0][r % 16], 4));
        }
    }
    _tile_release();
}

#define GEMM(name, T)                                                                                                 \
    void syn_amx_gemm_##name(int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m, float *out, \
                             int64_t out_stride)                                                                      \
    {                                                                                                                 \
        gemm_bf16(T, n, w, w_stride, nw, tiles, m, out, out_stride);                                                  \
    }

GEMM(f16, SYN_TYPE_F16)
GEMM(bf16, SYN_TYPE_BF16)
GEMM(q4_0, SYN_TYPE_Q4_0)
GEMM(q5_0, SYN_TYPE_Q5_0)
GEMM(q8_0, SYN_TYPE_Q8_0)
GEMM(q4_k, SYN_TYPE_Q4_K)
GEMM(q5_k, SYN_TYPE_Q5_K)
GEMM(q6_k, SYN_TYPE_Q6_K)
