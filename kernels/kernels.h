/* The CPU kernel table: per element type, how to dequantise a row, which
 * activation format a row of x is converted to before a dot product, and
 * the dot product itself; plus the float helpers attention and the FFN
 * need. kernels/ref is the plain-C oracle; kernels/x86 provides the same
 * table with AVX2/FMA/F16C code and above (compiled with per-set ISA
 * flags). Pure functions, callable from any thread. Not part of the public
 * ABI. */
#ifndef SYN_KERNELS_H
#define SYN_KERNELS_H

#include <stdint.h>
#include <synapse/common.h>

/* dst[0..n) = dequantised src; n is a multiple of the type's block size */
typedef void (*syn_dequant_fn)(const void *src, float *dst, int64_t n);
/* convert n floats to an activation type (Q8_0, Q8_K, F16, BF16, F32) */
typedef void (*syn_quant_fn)(const float *src, void *dst, int64_t n);
/* *out = dot(weight row w of type T, activation row a of type[T].act_type) */
typedef void (*syn_vec_dot_fn)(int64_t n, const void *w, const void *a, float *out);

/* Notes on the table (added with the kernels): act_type is llama.cpp's
 * vec_dot_type, so Q4_1 and Q5_1 rows dot against Q8_1 activations (d and
 * s = d * sum(q), both f16); type[SYN_TYPE_Q8_1].quant exists for them.
 * Every quantiser rounds exactly as llama.cpp's CPU backend does and the
 * x86 ones are bit-identical to the ref ones; quantised activations never
 * hold -128, which the x86 dot products rely on. Q8_1 and Q8_K are also
 * listed as weight types (with dequant) so activation rows can be
 * decoded. */

/* Where one KV head's cached rows are: pages of page_len positions each.
 * Position p's K row is at k + pages[p / page_len] * page_stride +
 * (p % page_len) * row_stride (elements), its V row likewise from v. A
 * contiguous cache is one page: pages = {0}, page_len >= n_pos. The result
 * depends on the rows' values only, never on where the pages lie. */
typedef struct syn_kv_view {
    const uint16_t *k, *v;
    const int32_t *pages;
    int64_t page_stride;
    int64_t row_stride;
    int32_t page_len;
} syn_kv_view;

/* The row of position p in a view's K (base = kv->k) or V (base = kv->v). */
static inline const uint16_t *syn_kv_row(const syn_kv_view *kv, const uint16_t *base, int32_t p)
{
    return base + (int64_t)kv->pages[p / kv->page_len] * kv->page_stride + (int64_t)(p % kv->page_len) * kv->row_stride;
}

/* attend_f16 walks the cache this many positions at a time; its scratch is
 * the scores, one sum per head and one block of rows widened to floats. */
#define SYN_ATTEND_BLOCK 32
#define SYN_ATTEND_WORK(hd, nq, n_pos) ((size_t)(nq) * ((size_t)(n_pos) + 1) + (size_t)SYN_ATTEND_BLOCK * (size_t)(hd))

/* Rows of activations one prefill panel holds, and a panel's bytes for
 * rows of n elements of activation type act (Q8_0 or Q8_K; see pack_panel). */
#define SYN_PANEL_ROWS 8
static inline size_t syn_panel_bytes(int act, int64_t n)
{
    if (act == SYN_TYPE_Q8_K) /* per 256: scales, 32- and 16-element sums, quants */
        return (size_t)n / 256 * (SYN_PANEL_ROWS * (sizeof(float) + 24 * sizeof(int16_t) + 256));
    /* Q8_0, in pairs of blocks (the avx512 set pairs a last odd block with zeros) */
    return ((size_t)n / 32 + 1) / 2 * 2 * (SYN_PANEL_ROWS * (sizeof(float) + 32));
}

/* Bytes of m float rows of n elements packed for the AMX gemm of weight
 * type T: per 16 rows and 32 elements, 16 x 64 bytes of bf16 pairs, and
 * for F16 as many again for the rows' low parts (kernels/x86/amx_bf16.c). */
static inline size_t syn_tiles_bytes(int type, int64_t n, int m)
{
    return (size_t)((m + 15) / 16) * (size_t)(n / 32) * (type == SYN_TYPE_F16 ? 2048 : 1024);
}
/* Most activation rows one vec_dot_rows call takes. */
#define SYN_DOT_ROWS_MAX 4
/* Longest weight rows, and most of them per call, for dot_narrow. */
#define SYN_NARROW_MAX 64
#define SYN_NARROW_ROWS 16
/* Most weight rows one dot_narrow call takes: four panels' */
#define SYN_NARROW_CALL (4 * SYN_NARROW_ROWS)
/* Short float rows (see dot_narrow) are kept as column panels: the rows in
 * groups of SYN_NARROW_ROWS, each group n x SYN_NARROW_ROWS elements with
 * element k of the group's row j at k * SYN_NARROW_ROWS + j, so one load
 * takes element k of every row; the last group is padded with zeros.
 * Bytes of `rows` rows of n elements of esize bytes, so packed: */
static inline size_t syn_narrow_bytes(size_t esize, int64_t n, int64_t rows)
{
    return (size_t)((rows + SYN_NARROW_ROWS - 1) / SYN_NARROW_ROWS) * SYN_NARROW_ROWS * (size_t)n * esize;
}
/* Packs `rows` rows (row_bytes apart) into syn_narrow_bytes of dst. */
static inline void syn_narrow_pack(size_t esize, int64_t n, int64_t rows, const void *src, size_t row_bytes,
                                   void *dst)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    int64_t padded = (rows + SYN_NARROW_ROWS - 1) / SYN_NARROW_ROWS * SYN_NARROW_ROWS;
    for (int64_t i = 0; i < padded; i++) {
        unsigned char *group = d + (size_t)(i / SYN_NARROW_ROWS) * SYN_NARROW_ROWS * (size_t)n * esize;
        for (int64_t k = 0; k < n; k++) {
            unsigned char *e = group + ((size_t)k * SYN_NARROW_ROWS + (size_t)(i % SYN_NARROW_ROWS)) * esize;
            for (size_t b = 0; b < esize; b++)
                e[b] = i < rows ? s[(size_t)i * row_bytes + (size_t)k * esize + b] : 0;
        }
    }
}
/* out[r * out_stride] = dot(w, (const char *)a + r * a_stride) for
 * 0 <= r < nr, 1 <= nr <= SYN_DOT_ROWS_MAX. Each result is bit-identical to
 * the same set's vec_dot on that row, so how a matmul is tiled never changes
 * its output; the point is that each weight block is unpacked once for all
 * nr rows. */
typedef void (*syn_vec_dot_rows_fn)(int64_t n, const void *w, const void *a, size_t a_stride, int nr, float *out,
                                    int64_t out_stride);

/* The prefill and short-row kernels' signatures; what each does is
 * described at its member of syn_type_kernels below. */
typedef void (*syn_pack_panel_fn)(int64_t n, const void *a, size_t a_stride, int nr, void *panel);
typedef void (*syn_dot_panel_fn)(int64_t n, const void *w, const void *panel, int nr, float *out,
                                 int64_t out_stride);
typedef void (*syn_dot_panel2_fn)(int64_t n, const void *w, size_t w_stride, const void *panel, int nr, float *out,
                                  int64_t out_stride);
typedef void (*syn_pack_tiles_fn)(int64_t n, const float *x, size_t x_stride, int m, void *tiles);
typedef void (*syn_gemm_fn)(int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m, float *out,
                            int64_t out_stride);
typedef void (*syn_dot_narrow_fn)(int64_t n, const void *panel, int j0, int nw, const float *x, size_t x_stride,
                                  int nr, float *v);

/* Everything a kernel set has for one element type T, as weights and as
 * activations: one struct per type, so a caller looks a type up once
 * (&set->type[T]) instead of in one array per kernel, and a set's table
 * lists each type's kernels together. A member is NULL (act_type -1) where
 * the set has no such kernel for T. Two members are about T as the format
 * activations are converted to (T is then some weight type's act_type):
 * quant and pack_panel; a matmul of weight type W uses
 * set->type[set->type[W].act_type].quant and .pack_panel. */
typedef struct syn_type_kernels {
    int act_type;           /* format of x rows for vec_dot; -1 if type unsupported */
    syn_dequant_fn dequant; /* NULL if unsupported */
    syn_vec_dot_fn vec_dot; /* NULL if unsupported */
    /* Prefill tiling: one weight row of type T against nr activation rows
     * of type act_type. NULL where vec_dot is NULL. */
    syn_vec_dot_rows_fn vec_dot_rows;
    /* floats to T as activations (F32, F16, BF16, Q8_0, Q8_1, Q8_K) */
    syn_quant_fn quant;
    /* Prefill on VNNI CPUs (NULL in sets without it): pack_panel of an
     * activation type A (Q8_0 or Q8_K) repacks nr <= SYN_PANEL_ROWS rows
     * of A (a_stride bytes apart) into syn_panel_bytes(A, n) bytes, once
     * per matmul; dot_panel of a weight type (Q4_0, Q5_0, Q8_0 weights on
     * Q8_0 panels; Q4_K, Q5_K on Q8_K panels) then sets out[r * out_stride]
     * for r < nr, each bit-identical to vec_dot on that row, with less work
     * per row than vec_dot_rows. */
    syn_pack_panel_fn pack_panel;
    syn_dot_panel_fn dot_panel;
    /* dot_panel over two weight rows at once, w and w + w_stride bytes:
     * out[r * out_stride + j] for weight row j, each the same float
     * dot_panel gives. Where a set has it (avx512 Q4_0, Q5_0, Q8_0), each
     * panel row is loaded once for both rows, which pays on short rows. */
    syn_dot_panel2_fn dot_panel2;
    /* Nonzero where a one-row panel beats vec_dot in decode (the avx512
     * Q4_0, Q5_0 and Q8_0 panels: two blocks per 512-bit instruction and
     * the activation's scales converted once per matmul instead of once per
     * weight block). Results are the same either way. */
    uint8_t panel_decode;
    /* Prefill on AMX tiles in bf16 (the amx set; NULL elsewhere).
     * pack_tiles rounds m float rows (x_stride floats apart) to bf16 in
     * the tiles' layout for weight type T, syn_tiles_bytes(T, n, m) bytes,
     * once per matmul; gemm then sets out[r * out_stride + j] to the dot
     * product of weight row j (w_stride bytes apart, j < nw, nw a multiple
     * of 16, n a multiple of 32), dequantised to bf16, with activation row
     * r < m. A call sets up the tile unit once, so it should take many
     * rows. The products are of bf16-rounded values, added in float:
     * results agree with the exact dot of those (kernels/x86/amx_bf16.c
     * says why that is as close as vec_dot's quantised activations). F16
     * weights and their activations are each split into two bf16 parts,
     * which keeps about 16 bits of both. */
    syn_pack_tiles_fn pack_tiles;
    syn_gemm_fn gemm;
    /* Short F32, F16 or BF16 weight rows (n <= SYN_NARROW_MAX: a LoRA
     * adapter's B matrix, whose rows are its rank long), where a dot per
     * row would be mostly call and horizontal sum. The rows come as column
     * panels (see syn_narrow_pack), `panel` the first of consecutive ones:
     * v[r * nw + j] = dot(row j0 + j counted from that panel's first row,
     * row r of x) for j0 + nw <= SYN_NARROW_CALL and nr
     * float rows of x, x_stride floats apart (the activations are not
     * rounded to the weights' type). Each sum is one chain of fused
     * multiply-adds over k in order (the ref set uses fmaf), so results
     * are the same in every set and do not depend on nr, j0 or nw. NULL
     * for the other types. */
    syn_dot_narrow_fn dot_narrow;
} syn_type_kernels;

/* A kernel set: per element type its kernels (above), plus the float
 * helpers that do not depend on a type. */
typedef struct syn_kernel_set {
    const char *isa; /* "ref", "avx2", "avx-vnni", "avx512", "amx" */
    syn_type_kernels type[SYN_TYPE_COUNT];

    void (*f32_to_f16)(const float *src, uint16_t *dst, int64_t n);
    /* out = x / sqrt(mean(x^2) + eps) * w */
    void (*rms_norm)(int64_t n, const float *x, const float *w, float eps, float *out);
    /* out = gate * sigmoid(gate) * up */
    void (*swiglu)(int64_t n, const float *gate, const float *up, float *out);
    /* For attention's softmax: x[i] = e^(x[i] - max) in place, returns the
     * sum of the new x (in float, ascending order within each lane). */
    float (*exp_sum)(int64_t n, float *x, float max);
    /* Attention over an f16 KV cache (uint16_t bit patterns): the nq query
     * heads of one KV head's group, for one query row, attend over cached
     * positions 0..n_pos-1 (n_pos >= 1), found through kv (see
     * syn_kv_view). q and out hold nq heads of hd floats back to back;
     * work holds SYN_ATTEND_WORK(hd, nq, n_pos) floats of scratch.
     * out[j] = softmax(scale * K q[j]) V. */
    void (*attend_f16)(int32_t hd, int32_t n_pos, const syn_kv_view *kv, const float *q, int nq, float scale,
                       float *out, float *work);
} syn_kernel_set;

const syn_kernel_set *syn_kernels_ref(void);
/* NULL when this build has no AVX2 kernels. The caller checks the CPU (and
 * the OS's saved AVX state) before using the result. */
const syn_kernel_set *syn_kernels_avx2(void);
/* NULL when this build has no AVX-VNNI kernels: the avx2 set with the
 * legacy-block dots (Q4_0..Q8_0) using vpdpbusd and the K-quant ones using
 * vpdpwssd, bit-identical to avx2's.
 * The caller checks for AVX-VNNI as well as everything avx2 needs. */
const syn_kernel_set *syn_kernels_vnni(void);
/* NULL when this build has no AVX-512 kernels: the avx2 set with every
 * integer dot built for AVX-512 VL/BW/VNNI (32 registers, EVEX vpdpbusd and
 * vpdpwssd), bit-identical to avx2's. The caller checks for AVX-512
 * F/BW/VL/VNNI with the ZMM state enabled, AVX-VNNI, and everything avx2
 * needs. */
const syn_kernel_set *syn_kernels_avx512(void);
/* NULL when this build has no AMX kernels: the avx512 set plus AMX-BF16
 * tiles for prefill (gemm). The caller checks syn_cpu_has_amx(). */
const syn_kernel_set *syn_kernels_amx(void);

/* scalar conversions, exact (round to nearest even) */
float syn_f16_to_f32(uint16_t h);
uint16_t syn_f32_to_f16(float f);
float syn_bf16_to_f32(uint16_t h);
uint16_t syn_f32_to_bf16(float f);

#endif
