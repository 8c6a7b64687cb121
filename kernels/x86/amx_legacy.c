/* Prefill on Intel AMX (the amx kernel set): Q8_0, Q4_0 and Q5_0 weights
 * against Q8_0 activations with TDPBSSD, which multiplies a 16 x 32 int8 tile of weights
 * by a 32 x 16 one of activations into 16 x 16 int32 sums in one
 * instruction, against 64 multiplies per vpdpbusd. Built with the avx512
 * set's flags plus -mamx-tile -mamx-int8; only reached after
 * syn_cpu_has_amx() (which also asks Linux for the tile state). Any
 * thread: each call loads its own tile configuration.
 *
 * A Q8_0 weight tile comes straight from the mapped file: 16 weight rows'
 * quants of one block are 32 bytes each, row_bytes apart, which is what a
 * tile load with that stride reads. Q4_0 and Q5_0 rows are unpacked to
 * int8 first, a chunk of blocks of 16 rows at a time. The activations are packed once per
 * matmul (syn_tiles_bytes) into the layout the second operand needs: per
 * 16 rows and block, 8 rows of 64 bytes, row k holding dword k of each of
 * the 16 activation rows, then the 16 rows' scales as floats.
 *
 * Each block's 16 x 16 sums are exact; the float steps differ from
 * vec_dot's (one sum per block instead of eight lanes), so results match
 * it to float rounding, not bit for bit. */
#include "kernels/x86/legacy_blocks.h"

enum {
    TILE_ROWS = 16,                     /* weight rows of a tile; activation rows of a group */
    ACT_BLOCK = 34,                     /* a Q8_0 activation block: f16 scale + 32 quants */
    GROUP_Q = 8 * 64,                   /* one group's quants of one block */
    GROUP_BLOCK = GROUP_Q + 16 * 4,     /* ... and its 16 scales */
    MAX_GROUPS = 4,                     /* activation groups one pass takes */
    K_CHUNK = 64,                       /* blocks whose weights are unpacked at a time */
};

/* tiles 0-3: the sums of up to four activation groups (16 x 16 int32),
 * 4: the weights (16 x 32 bytes), 5-7: activations (8 x 64 bytes). One
 * weight tile load serves four groups, and four independent sums keep
 * the tile unit busy while earlier ones are stored and scaled. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static const tile_config amx_config = {
    .palette = 1,
    .colsb = {64, 64, 64, 64, 32, 64, 64, 64},
    .rows = {16, 16, 16, 16, 16, 8, 8, 8},
};

void syn_amx_pack_tiles_q8_0(int64_t n, const void *a, size_t a_stride, int m, void *tiles)
{
    const int64_t nb = n / SYN_QK;
    const int groups = (m + TILE_ROWS - 1) / TILE_ROWS;
    for (int g = 0; g < groups; g++)
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *t = (uint8_t *)tiles + ((size_t)g * (size_t)nb + (size_t)b) * GROUP_BLOCK;
            float *d = (float *)(void *)(t + GROUP_Q);
            for (int r = 0; r < TILE_ROWS; r++) {
                int row = g * TILE_ROWS + r;
                if (row >= m) { /* rows past m multiply as zeros */
                    d[r] = 0;
                    for (int k = 0; k < 8; k++)
                        memset(t + k * 64 + r * 4, 0, 4);
                    continue;
                }
                const uint8_t *yb = (const uint8_t *)a + (size_t)row * a_stride + (size_t)b * ACT_BLOCK;
                uint16_t h;
                memcpy(&h, yb, 2);
                d[r] = syn_h2f(h);
                for (int k = 0; k < 8; k++)
                    memcpy(t + k * 64 + r * 4, yb + 2 + k * 4, 4);
            }
        }
}

/* acc[o] += (dw[o] * da) * sums[o] for the 16 weight rows o */
SYN_INLINE void scale_sums(const int32_t sums[16][16], const float *dw, const uint8_t *group_block, float acc[16][16])
{
    __m512 da = _mm512_loadu_ps((const float *)(const void *)(group_block + GROUP_Q));
#pragma GCC unroll 16
    for (int o = 0; o < TILE_ROWS; o++)
        _mm512_storeu_ps(acc[o], _mm512_fmadd_ps(_mm512_mul_ps(da, _mm512_set1_ps(dw[o])),
                                                 _mm512_cvtepi32_ps(_mm512_load_si512(sums[o])),
                                                 _mm512_loadu_ps(acc[o])));
}

/* 16 weight rows against the groups' activation rows (at most four),
 * blocks b0..b1 (dw: their weight scales), into acc[group][o]; block b's
 * 16 x 32 int8 weights start at q + (b - b0) * q_step, rows q_stride
 * bytes apart */
static void tile_blocks(const uint8_t *q, size_t q_step, size_t q_stride, const uint8_t *tiles, int64_t nb, int groups,
                        int64_t b0, int64_t b1, const float (*dw)[16], float (*acc)[16][16])
{
    _Alignas(64) int32_t sums[4][16][16];
    const size_t gs = (size_t)nb * GROUP_BLOCK; /* from one group's tiles to the next */
    for (int64_t b = b0; b < b1; b++) {
        const uint8_t *t = tiles + (size_t)b * GROUP_BLOCK;
        _tile_loadd(4, q + (size_t)(b - b0) * q_step, (long)q_stride);
        _tile_loadd(5, t, 64);
        _tile_zero(0);
        _tile_dpbssd(0, 4, 5);
        if (groups > 1) {
            _tile_loadd(6, t + gs, 64);
            _tile_zero(1);
            _tile_dpbssd(1, 4, 6);
        }
        if (groups > 2) {
            _tile_loadd(7, t + 2 * gs, 64);
            _tile_zero(2);
            _tile_dpbssd(2, 4, 7);
        }
        if (groups > 3) {
            _tile_loadd(5, t + 3 * gs, 64);
            _tile_zero(3);
            _tile_dpbssd(3, 4, 5);
        }
        _tile_stored(0, sums[0], 64);
        scale_sums(sums[0], dw[b - b0], t, acc[0]);
        if (groups > 1) {
            _tile_stored(1, sums[1], 64);
            scale_sums(sums[1], dw[b - b0], t + gs, acc[1]);
        }
        if (groups > 2) {
            _tile_stored(2, sums[2], 64);
            scale_sums(sums[2], dw[b - b0], t + 2 * gs, acc[2]);
        }
        if (groups > 3) {
            _tile_stored(3, sums[3], 64);
            scale_sums(sums[3], dw[b - b0], t + 3 * gs, acc[3]);
        }
    }
}

SYN_INLINE void gemm_legacy(const int T, int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m,
                            float *out, int64_t out_stride)
{
    const int64_t nb = n / SYN_QK;
    const size_t bytes = (size_t)wbytes[T];
    /* the configuration costs about as much as a block of tile work, so
     * once per call, which takes all the rows it can */
    _tile_loadconfig(&amx_config);
    const __m512i lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i row_offsets = _mm512_mullo_epi32(lanes, _mm512_set1_epi32((int)w_stride)),
                  column = _mm512_slli_epi32(lanes, 4);
    float acc[MAX_GROUPS][16][16];
    float dw[K_CHUNK][16];
    _Alignas(64) uint8_t wq[TILE_ROWS][K_CHUNK * SYN_QK];
    for (int o0 = 0; o0 + TILE_ROWS <= nw; o0 += TILE_ROWS) {
        const uint8_t *wt = (const uint8_t *)w + (size_t)o0 * w_stride;
        for (int r0 = 0; r0 < m; r0 += MAX_GROUPS * TILE_ROWS) {
            int rows = m - r0 < MAX_GROUPS * TILE_ROWS ? m - r0 : MAX_GROUPS * TILE_ROWS;
            int groups = (rows + TILE_ROWS - 1) / TILE_ROWS;
            const uint8_t *tg = (const uint8_t *)tiles + (size_t)(r0 / TILE_ROWS) * (size_t)nb * GROUP_BLOCK;
            memset(acc, 0, sizeof acc[0] * (size_t)groups);
            for (int64_t b0 = 0; b0 < nb; b0 += K_CHUNK) {
                int64_t b1 = b0 + K_CHUNK < nb ? b0 + K_CHUNK : nb;
                for (int64_t b = b0; b < b1; b++) /* each lane: a row's f16 scale (and 2 bytes after it) */
                    _mm512_storeu_ps(dw[b - b0], _mm512_cvtph_ps(_mm512_cvtepi32_epi16(
                                                     _mm512_i32gather_epi32(row_offsets, wt + (size_t)b * bytes, 1))));
                if (T == K_Q8_0) {
                    tile_blocks(wt + (size_t)b0 * bytes + qs_off[T], bytes, w_stride, tg, nb, groups, b0, b1,
                                (const float(*)[16])dw, acc);
                    continue;
                }
                for (int o = 0; o < TILE_ROWS; o++)
                    for (int64_t b = b0; b < b1; b++)
                        _mm256_store_si256((__m256i *)(void *)(wq[o] + (b - b0) * SYN_QK),
                                           unpack(T, wt + (size_t)o * w_stride + (size_t)b * bytes));
                tile_blocks(wq[0], SYN_QK, sizeof wq[0], tg, nb, groups, b0, b1, (const float(*)[16])dw, acc);
            }
            /* acc[g][o][i] is row r0 + 16 g + i's result for weight row o0 + o */
            for (int r = 0; r < rows; r++)
                _mm512_storeu_ps(out + (int64_t)(r0 + r) * out_stride + o0,
                                 _mm512_i32gather_ps(column, &acc[r / TILE_ROWS][0][r % TILE_ROWS], 4));
        }
    }
    _tile_release();
}

#define GEMM_LEGACY(name, T)                                                                                          \
    void syn_amx_gemm_##name(int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m, float *out, \
                             int64_t out_stride)                                                                      \
    {                                                                                                                 \
        gemm_legacy(T, n, w, w_stride, nw, tiles, m, out, out_stride);                                                \
    }

GEMM_LEGACY(q8_0, K_Q8_0)
GEMM_LEGACY(q4_0, K_Q4_0)
GEMM_LEGACY(q5_0, K_Q5_0)
