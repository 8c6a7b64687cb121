/* Byte layouts of the quantised blocks (GGUF/ggml's, so mmap'ed weights are
 * used in place) and of the activation formats, plus the ref entry points
 * the x86 table falls back to. Internal to kernels/; any thread. */
#ifndef SYN_KERNELS_BLOCKS_H
#define SYN_KERNELS_BLOCKS_H

#include <stdint.h>

#include "kernels/kernels.h"

#define SYN_QK 32   /* elements per legacy block */
#define SYN_QK_K 256 /* elements per K-quant superblock */

/* f16 fields are raw IEEE half bit patterns */
typedef struct {
    uint16_t d;
    uint8_t qs[16]; /* element j in low nibble of qs[j], j+16 in the high one */
} syn_block_q4_0;

typedef struct {
    uint16_t d, m; /* x = q * d + m */
    uint8_t qs[16];
} syn_block_q4_1;

typedef struct {
    uint16_t d;
    uint8_t qh[4]; /* bit j of the little-endian u32 is bit 4 of element j */
    uint8_t qs[16];
} syn_block_q5_0;

typedef struct {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[16];
} syn_block_q5_1;

typedef struct {
    uint16_t d;
    int8_t qs[32];
} syn_block_q8_0;

/* activation format of Q4_1/Q5_1 rows: s = d * sum(qs), for the offset term */
typedef struct {
    uint16_t d, s;
    int8_t qs[32];
} syn_block_q8_1;

typedef struct {
    uint8_t scales[16]; /* low nibble scale, high nibble min, per 16 elements */
    uint8_t qs[64];
    uint16_t d, dmin;
} syn_block_q2_k;

typedef struct {
    uint8_t hmask[32];
    uint8_t qs[64];
    uint8_t scales[12]; /* 16 6-bit scales, biased by 32 */
    uint16_t d;
} syn_block_q3_k;

typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12]; /* 8 6-bit scales and 8 6-bit mins, packed */
    uint8_t qs[128];
} syn_block_q4_k;

typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12];
    uint8_t qh[32];
    uint8_t qs[128];
} syn_block_q5_k;

typedef struct {
    uint8_t ql[128];
    uint8_t qh[64];
    int8_t scales[16];
    uint16_t d;
} syn_block_q6_k;

/* activation format of K-quant rows */
typedef struct {
    float d;
    int8_t qs[256];
    int16_t bsums[16]; /* sum of each 16 consecutive qs */
} syn_block_q8_k;

_Static_assert(sizeof(syn_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(syn_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(syn_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(syn_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(syn_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(syn_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(syn_block_q2_k) == 84, "q2_K layout");
_Static_assert(sizeof(syn_block_q3_k) == 110, "q3_K layout");
_Static_assert(sizeof(syn_block_q4_k) == 144, "q4_K layout");
_Static_assert(sizeof(syn_block_q5_k) == 176, "q5_K layout");
_Static_assert(sizeof(syn_block_q6_k) == 210, "q6_K layout");
_Static_assert(sizeof(syn_block_q8_k) == 292, "q8_K layout");

/* Scale j (0..7) and min j of a Q4_K/Q5_K superblock: the first four pairs
 * are the low 6 bits of bytes 0..7; the last four combine a nibble of bytes
 * 8..11 with the top 2 bits of bytes 0..7. */
static inline void syn_k4_scale_min(const uint8_t *s, int j, int *sc, int *mn)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* Scale j (0..15) of a Q3_K superblock, still biased by 32. */
static inline int syn_k3_scale(const uint8_t *s, int j)
{
    int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    int hi = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
    return lo | (hi << 4);
}

/* A vec_dot_rows made of nr calls of a vec_dot, for types without a tiled
 * kernel (this is the contract the tiled kernels meet bit for bit). */
#define SYN_DEFINE_DOT_ROWS(fname, dot)                                                                              \
    void fname(int64_t n, const void *w, const void *a, size_t a_stride, int nr, float *out, int64_t out_stride)    \
    {                                                                                                                \
        for (int r = 0; r < nr; r++)                                                                                 \
            dot(n, w, (const char *)a + (size_t)r * a_stride, out + r * out_stride);                                 \
    }

/* --- ref entry points, shared with the x86 table for types it does not
 * vectorise --- */
void syn_ref_dequant_f32(const void *src, float *dst, int64_t n);
void syn_ref_dequant_f16(const void *src, float *dst, int64_t n);
void syn_ref_dequant_bf16(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q4_0(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q4_1(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q5_0(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q5_1(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q8_0(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q8_1(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q2_k(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q3_k(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q4_k(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q5_k(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q6_k(const void *src, float *dst, int64_t n);
void syn_ref_dequant_q8_k(const void *src, float *dst, int64_t n);

void syn_ref_quant_f32(const float *src, void *dst, int64_t n);
void syn_ref_quant_f16(const float *src, void *dst, int64_t n);
void syn_ref_quant_bf16(const float *src, void *dst, int64_t n);
void syn_ref_quant_q8_0(const float *src, void *dst, int64_t n);
void syn_ref_quant_q8_1(const float *src, void *dst, int64_t n);
void syn_ref_quant_q8_k(const float *src, void *dst, int64_t n);

void syn_ref_dot_f32(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_f16(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_bf16(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q4_0(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q4_1(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q5_0(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q5_1(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q8_0(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q8_1(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q2_k(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q3_k(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q4_k(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q5_k(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q6_k(int64_t n, const void *w, const void *a, float *out);
void syn_ref_dot_q8_k(int64_t n, const void *w, const void *a, float *out);

void syn_ref_dot_rows_f32(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_f16(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_bf16(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q4_0(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q4_1(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q5_0(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q5_1(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q8_0(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q8_1(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q2_k(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q3_k(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q4_k(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q5_k(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q6_k(int64_t, const void *, const void *, size_t, int, float *, int64_t);
void syn_ref_dot_rows_q8_k(int64_t, const void *, const void *, size_t, int, float *, int64_t);

void syn_ref_attend_f16(int32_t hd, int32_t n_pos, const syn_kv_view *kv, const float *q, int nq, float scale,
                        float *out, float *work);
void syn_ref_f32_to_f16(const float *src, uint16_t *dst, int64_t n);
void syn_ref_rms_norm(int64_t n, const float *x, const float *w, float eps, float *out);
void syn_ref_swiglu(int64_t n, const float *gate, const float *up, float *out);
float syn_ref_exp_sum(int64_t n, float *x, float max);
void syn_ref_dot_narrow_f32(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                            float *v);
void syn_ref_dot_narrow_f16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                            float *v);
void syn_ref_dot_narrow_bf16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                            float *v);

#endif
