/* Prefill on Intel AMX for the K-quants Q4_K, Q5_K and Q6_K against Q8_K
 * activations (the amx set; see amx_legacy.c for the tile unit and why).
 * Built with the avx512 set's flags plus -mamx-tile -mamx-int8; only
 * reached after syn_cpu_has_amx(). Any thread.
 *
 * A K-quant weight is d * scale * q - offset, with one scale (and offset)
 * per subgroup of a 256-element superblock: 32 elements for Q4_K/Q5_K (q
 * 0..15 or 0..31, offset dmin * min), 16 for Q6_K (q 0..63, offset
 * 32 * d * scale). So a superblock's weights are unpacked, 16 rows at a
 * time, into unsigned bytes plus per subgroup the float scale d * scale
 * and the offset's factor, and each subgroup is one TDPBUSD (unsigned
 * weights times signed activations, K = the subgroup's size). The offset
 * needs only the activations' subgroup sums, which Q8_K already carries.
 *
 * Activations are packed once per matmul: per 16 rows and superblock, the
 * 256 quants in the tile unit's layout (per 32 elements, 8 rows of 64
 * bytes, row k holding elements 4k..4k+3 of each of the 16 rows; a
 * 16-element subgroup is 4 of those rows), the 16 rows' scales, and each
 * 16-element subgroup's sums times the row's scale, as floats.
 *
 * Each subgroup's integer sums are exact; the float steps differ from
 * vec_dot's order, so results agree with it to float rounding. */
#include "kernels/x86/simd.h"

enum {
    TILE_ROWS = 16,
    QK_K = 256,
    KQ_D = 8 * 512,                 /* the packed rows' scales follow their quants */
    KQ_SUMS = KQ_D + 64,            /* then 16 subgroups x 16 rows of scaled sums */
    KQ_BYTES = KQ_SUMS + 16 * 64,   /* one packed superblock of 16 rows */
    MAX_GROUPS = 4,                 /* activation groups of 16 rows one pass takes */
    K_CHUNK = 8,                    /* superblocks unpacked at a time */
    WQ_STRIDE = K_CHUNK * QK_K,     /* bytes of an unpacked weight row */
};

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

/* tiles 0-1: sums (16 x 16 int32), 2-3: weights (16 rows x K bytes),
 * 4-5: activations (K / 4 rows x 64 bytes), for K = 32 or 16 */
static const tile_config config_k32 = {
    .palette = 1,
    .colsb = {64, 64, 32, 32, 64, 64},
    .rows = {16, 16, 16, 16, 8, 8},
};
static const tile_config config_k16 = {
    .palette = 1,
    .colsb = {64, 64, 16, 16, 64, 64},
    .rows = {16, 16, 16, 16, 4, 4},
};

void syn_amx_pack_tiles_q8_k(int64_t n, const void *a, size_t a_stride, int m, void *tiles)
{
    const int64_t nsb = n / QK_K;
    const int groups = (m + TILE_ROWS - 1) / TILE_ROWS;
    for (int g = 0; g < groups; g++)
        for (int64_t sb = 0; sb < nsb; sb++) {
            uint8_t *t = (uint8_t *)tiles + ((size_t)g * (size_t)nsb + (size_t)sb) * KQ_BYTES;
            float *d = (float *)(void *)(t + KQ_D), *sums = (float *)(void *)(t + KQ_SUMS);
            for (int r = 0; r < TILE_ROWS; r++) {
                int row = g * TILE_ROWS + r;
                if (row >= m) { /* rows past m multiply as zeros */
                    d[r] = 0;
                    for (int k = 0; k < 64; k++)
                        memset(t + k * 64 + r * 4, 0, 4);
                    for (int s = 0; s < 16; s++)
                        sums[s * 16 + r] = 0;
                    continue;
                }
                const syn_block_q8_k *y = (const syn_block_q8_k *)(const void *)((const uint8_t *)a +
                                                                               (size_t)row * a_stride) +
                                          sb;
                d[r] = y->d;
                /* element 4k of the superblock starts row k (8 per 32 elements) */
                for (int k = 0; k < 64; k++)
                    memcpy(t + k * 64 + r * 4, y->qs + 4 * k, 4);
                for (int s = 0; s < 16; s++)
                    sums[s * 16 + r] = y->d * (float)y->bsums[s];
            }
        }
}

/* One weight row's superblock unpacked: 256 unsigned quants, and per
 * subgroup s the scale dsc[s] and the offset factor off[s]. */
SYN_INLINE void unpack_q4_k(const void *block, uint8_t *q, float *dsc, float *off)
{
    const syn_block_q4_k *x = block;
    const __m256i m4 = _mm256_set1_epi8(15);
    for (int j = 0; j < 4; j++) { /* 32 bytes: group 2j in the low nibbles, 2j + 1 in the high */
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(x->qs + 32 * j));
        _mm256_storeu_si256((__m256i *)(void *)(q + 64 * j), _mm256_and_si256(v, m4));
        _mm256_storeu_si256((__m256i *)(void *)(q + 64 * j + 32), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    }
    __m256 sm = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(k4_scales_mins(x->scales)));
    __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(k4_scales_mins(x->scales), 8)));
    _mm256_storeu_ps(dsc, _mm256_mul_ps(_mm256_set1_ps(syn_h2f(x->d)), sm));
    _mm256_storeu_ps(off, _mm256_mul_ps(_mm256_set1_ps(syn_h2f(x->dmin)), mn));
}

SYN_INLINE void unpack_q5_k(const void *block, uint8_t *q, float *dsc, float *off)
{
    const syn_block_q5_k *x = block;
    const __m256i m4 = _mm256_set1_epi8(15), sixteen = _mm256_set1_epi8(16);
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(const void *)x->qh);
    for (int j = 0; j < 4; j++) { /* the fifth bit of element l of group g is bit g of qh[l] */
        __m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(x->qs + 32 * j));
        __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        lo = _mm256_mask_add_epi8(lo, _mm256_test_epi8_mask(qh, _mm256_set1_epi8((char)(1 << (2 * j)))), lo, sixteen);
        hi = _mm256_mask_add_epi8(hi, _mm256_test_epi8_mask(qh, _mm256_set1_epi8((char)(2 << (2 * j)))), hi, sixteen);
        _mm256_storeu_si256((__m256i *)(void *)(q + 64 * j), lo);
        _mm256_storeu_si256((__m256i *)(void *)(q + 64 * j + 32), hi);
    }
    __m256 sm = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(k4_scales_mins(x->scales)));
    __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(k4_scales_mins(x->scales), 8)));
    _mm256_storeu_ps(dsc, _mm256_mul_ps(_mm256_set1_ps(syn_h2f(x->d)), sm));
    _mm256_storeu_ps(off, _mm256_mul_ps(_mm256_set1_ps(syn_h2f(x->dmin)), mn));
}

/* Q6_K: in half h, element 32k + l takes nibble k / 2 of ql[64h + 32(k % 2) + l]
 * and bits 2k..2k+1 of qh[32h + l]; the offset is 32 * d * scale */
SYN_INLINE void unpack_q6_k(const void *block, uint8_t *q, float *dsc, float *off)
{
    const syn_block_q6_k *x = block;
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; h++) {
        __m256i ql0 = _mm256_loadu_si256((const __m256i *)(const void *)(x->ql + 64 * h)),
                ql1 = _mm256_loadu_si256((const __m256i *)(const void *)(x->ql + 64 * h + 32)),
                qh = _mm256_loadu_si256((const __m256i *)(const void *)(x->qh + 32 * h));
        for (int k = 0; k < 4; k++) {
            __m256i lo = _mm256_and_si256(_mm256_srli_epi16(k % 2 ? ql1 : ql0, 4 * (k / 2)), m4);
            __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2), 4);
            _mm256_storeu_si256((__m256i *)(void *)(q + 128 * h + 32 * k), _mm256_or_si256(lo, hi));
        }
    }
    __m512 sc = _mm512_mul_ps(_mm512_set1_ps(syn_h2f(x->d)), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
                                                                 _mm_loadu_si128((const __m128i *)(const void *)x->scales))));
    _mm512_storeu_ps(dsc, sc);
    _mm512_storeu_ps(off, _mm512_mul_ps(_mm512_set1_ps(32.0f), sc));
}

/* v[o] += (da * dsc[o][s]) * sums[o] for the 16 weight rows o */
SYN_INLINE void scale_sums(const int32_t sums[16][16], const float (*dsc)[16], int s, __m512 da, __m512 *v)
{
#pragma GCC unroll 16
    for (int o = 0; o < TILE_ROWS; o++)
        v[o] = _mm512_fmadd_ps(_mm512_mul_ps(da, _mm512_set1_ps(dsc[o][s])),
                               _mm512_cvtepi32_ps(_mm512_load_si512(sums[o])), v[o]);
}

/* One activation group's superblock against the unpacked 16 weight rows:
 * ns subgroups of K = 256 / ns, then the offsets. wq: this superblock's
 * first unpacked byte of weight row 0. */
SYN_INLINE void group_superblock(const int ns, const uint8_t *wq, const uint8_t *t, const float (*dsc)[16],
                                 const float (*off)[16], __m512 *v)
{
    const int k = QK_K / ns;
    _Alignas(64) int32_t sums[2][16][16];
    const __m512 da = _mm512_loadu_ps((const float *)(const void *)(t + KQ_D));
    for (int s = 0; s < ns; s += 2) {
        /* subgroup s's activations start at element k s: row k s / 4 */
        _tile_loadd(2, wq + s * k, WQ_STRIDE);
        _tile_loadd(4, t + s * k * 16, 64);
        _tile_zero(0);
        _tile_dpbusd(0, 2, 4);
        _tile_loadd(3, wq + (s + 1) * k, WQ_STRIDE);
        _tile_loadd(5, t + (s + 1) * k * 16, 64);
        _tile_zero(1);
        _tile_dpbusd(1, 3, 5);
        _tile_stored(0, sums[0], 64);
        scale_sums(sums[0], dsc, s, da, v);
        _tile_stored(1, sums[1], 64);
        scale_sums(sums[1], dsc, s + 1, da, v);
    }
    /* offsets: sums of 16 elements (already times the rows' scales); a
     * 32-element subgroup adds two */
    const float *tsum = (const float *)(const void *)(t + KQ_SUMS);
    for (int s = 0; s < ns; s++) {
        __m512 a = ns == 16 ? _mm512_loadu_ps(tsum + 16 * s)
                            : _mm512_add_ps(_mm512_loadu_ps(tsum + 32 * s), _mm512_loadu_ps(tsum + 32 * s + 16));
#pragma GCC unroll 16
        for (int o = 0; o < TILE_ROWS; o++)
            v[o] = _mm512_fnmadd_ps(_mm512_set1_ps(off[o][s]), a, v[o]);
    }
}

SYN_INLINE void gemm_k(const int type, int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m,
                       float *out, int64_t out_stride)
{
    const int ns = type == SYN_TYPE_Q6_K ? 16 : 8;
    const size_t block_bytes = type == SYN_TYPE_Q4_K   ? sizeof(syn_block_q4_k)
                               : type == SYN_TYPE_Q5_K ? sizeof(syn_block_q5_k)
                                                       : sizeof(syn_block_q6_k);
    const int64_t nsb = n / QK_K;
    _tile_loadconfig(ns == 16 ? &config_k16 : &config_k32);
    const __m512i column = _mm512_slli_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 4);
    _Alignas(64) uint8_t wq[TILE_ROWS][WQ_STRIDE];
    float dsc[K_CHUNK][TILE_ROWS][16], off[K_CHUNK][TILE_ROWS][16];
    float acc[MAX_GROUPS][16][16];
    for (int o0 = 0; o0 + TILE_ROWS <= nw; o0 += TILE_ROWS) {
        const uint8_t *wt = (const uint8_t *)w + (size_t)o0 * w_stride;
        for (int r0 = 0; r0 < m; r0 += MAX_GROUPS * TILE_ROWS) {
            int rows = m - r0 < MAX_GROUPS * TILE_ROWS ? m - r0 : MAX_GROUPS * TILE_ROWS;
            int groups = (rows + TILE_ROWS - 1) / TILE_ROWS;
            memset(acc, 0, sizeof acc[0] * (size_t)groups);
            for (int64_t c0 = 0; c0 < nsb; c0 += K_CHUNK) {
                int64_t c1 = c0 + K_CHUNK < nsb ? c0 + K_CHUNK : nsb;
                for (int o = 0; o < TILE_ROWS; o++)
                    for (int64_t sb = c0; sb < c1; sb++) {
                        const uint8_t *blk = wt + (size_t)o * w_stride + (size_t)sb * block_bytes;
                        uint8_t *q = wq[o] + (sb - c0) * QK_K;
                        if (type == SYN_TYPE_Q4_K)
                            unpack_q4_k(blk, q, dsc[sb - c0][o], off[sb - c0][o]);
                        else if (type == SYN_TYPE_Q5_K)
                            unpack_q5_k(blk, q, dsc[sb - c0][o], off[sb - c0][o]);
                        else
                            unpack_q6_k(blk, q, dsc[sb - c0][o], off[sb - c0][o]);
                    }
                for (int g = 0; g < groups; g++) {
                    __m512 v[TILE_ROWS];
                    for (int o = 0; o < TILE_ROWS; o++)
                        v[o] = _mm512_loadu_ps(acc[g][o]);
                    const uint8_t *tg = (const uint8_t *)tiles + (size_t)(r0 / TILE_ROWS + g) * (size_t)nsb * KQ_BYTES;
                    for (int64_t sb = c0; sb < c1; sb++)
                        group_superblock(ns, wq[0] + (sb - c0) * QK_K, tg + (size_t)sb * KQ_BYTES,
                                         (const float(*)[16])dsc[sb - c0], (const float(*)[16])off[sb - c0], v);
                    for (int o = 0; o < TILE_ROWS; o++)
                        _mm512_storeu_ps(acc[g][o], v[o]);
                }
            }
            /* acc[g][o][i] is row r0 + 16 g + i's result for weight row o0 + o */
            for (int r = 0; r < rows; r++)
                _mm512_storeu_ps(out + (int64_t)(r0 + r) * out_stride + o0,
                                 _mm512_i32gather_ps(column, &acc[r / TILE_ROWS][0][r % TILE_ROWS], 4));
        }
    }
    _tile_release();
}

#define GEMM_K(name, T)                                                                                               \
    void syn_amx_gemm_##name(int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m, float *out, \
                             int64_t out_stride)                                                                      \
    {                                                                                                                 \
        gemm_k(T, n, w, w_stride, nw, tiles, m, out, out_stride);                                                     \
    }

GEMM_K(q4_k, SYN_TYPE_Q4_K)
GEMM_K(q5_k, SYN_TYPE_Q5_K)
GEMM_K(q6_k, SYN_TYPE_Q6_K)
