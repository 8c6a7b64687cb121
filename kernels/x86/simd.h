/* AVX2/FMA/F16C helpers shared by the kernels/x86 files, and the avx2 entry
 * points the table wires up. Only for files built with -mavx2 -mfma -mf16c:
 * nothing here may run before the caller has checked the CPU. Any thread. */
#ifndef SYN_KERNELS_X86_SIMD_H
#define SYN_KERNELS_X86_SIMD_H

#include <immintrin.h>
#include <string.h>

#include "kernels/ref/blocks.h"

/* unused: the helpers live in headers shared by every kernel source
 * (simd.h, legacy_blocks.h, k_blocks.h), so each object leaves some of them
 * unused, which clang's -Wunused-function reports where they are static */
#define SYN_INLINE static inline __attribute__((always_inline, unused))

SYN_INLINE float syn_h2f(uint16_t h) { return _cvtsh_ss(h); }

/* A panel spends so long on each weight byte (8 activation rows) that the
 * hardware prefetcher, with the panel itself filling L1, falls behind on
 * weights that come from L3 or memory: at n = 4864 the Q8_0 and Q6_K panels
 * ran at half their cache-resident speed. Their loops ask for the weights
 * this far ahead themselves; a prefetch past the end never faults. */
#ifndef SYN_PANEL_PREFETCH
#define SYN_PANEL_PREFETCH 2048
#endif
SYN_INLINE void syn_prefetch_weights(const void *p, const int bytes)
{
    for (int off = 0; off < bytes; off += 64)
        _mm_prefetch((const char *)p + SYN_PANEL_PREFETCH + off, _MM_HINT_T0);
}

/* A Q4_K/Q5_K superblock's 8 scales then 8 mins, 6 bits each, as 16 bytes
 * (the packing is described at syn_k4_scale_min) */
SYN_INLINE __m128i k4_scales_mins(const uint8_t *s)
{
    uint32_t u[3], v[4];
    memcpy(u, s, 12);
    v[0] = u[0] & 0x3f3f3f3f;
    v[1] = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
    v[2] = u[1] & 0x3f3f3f3f;
    v[3] = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
    return _mm_set_epi32((int)v[3], (int)v[2], (int)v[1], (int)v[0]);
}

SYN_INLINE float syn_hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SYN_INLINE float syn_hsum_ps128(__m128 s)
{
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SYN_INLINE int syn_hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

SYN_INLINE float syn_hmax_ps(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* signed x signed int8 products summed in groups of 4 into int32. maddubs
 * needs one unsigned operand: |x| and y carrying x's sign give the same
 * products; exact as long as not both of a pair are -128 (activations are
 * never -128). */
SYN_INLINE __m256i syn_dot_i8_to_i32(__m256i x, __m256i y)
{
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* unsigned (< 128) x signed int8, the same grouping */
SYN_INLINE __m256i syn_dot_u8_to_i32(__m256i x, __m256i y)
{
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), x, y); /* the EVEX form of the line below */
#elif defined(__AVXVNNI__)
    /* one instruction, the same sums: maddubs never saturates here, as a
     * pair of products stays within 2 * 128 * 127 (activations are never
     * -128) */
    return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), x, y);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1));
#endif
}

/* acc + madd(s, p) (int16 pairs multiplied and summed into int32): one
 * vpdpwssd with AVX-VNNI, the same wrapping integer sums either way */
SYN_INLINE __m256i syn_madd_acc(__m256i acc, __m256i s, __m256i p)
{
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpwssd_epi32(acc, s, p);
#elif defined(__AVXVNNI__)
    return _mm256_dpwssd_avx_epi32(acc, s, p);
#else
    return _mm256_add_epi32(acc, _mm256_madd_epi16(s, p));
#endif
}

/* 16 packed nibbles -> 32 bytes: low nibbles first, then the high ones */
SYN_INLINE __m256i syn_nibbles_32(const uint8_t *p)
{
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

/* 32 bits -> 32 bytes, 0xff where bit j of the little-endian word is set */
SYN_INLINE __m256i syn_bits_to_bytes_32(const uint8_t *p)
{
    uint32_t u;
    memcpy(&u, p, 4);
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)u), spread);
    const __m256i bit = _mm256_set1_epi64x((int64_t)0x8040201008040201);
    return _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
}

/* round to nearest, ties to even, as rintf does in the default mode */
SYN_INLINE __m256i syn_round_epi32(__m256 v)
{
    return _mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* four vectors of 8 int32 (in element order) -> 32 int8 in order */
SYN_INLINE __m256i syn_pack_i32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i ab = _mm256_packs_epi32(a, b); /* a0-3 b0-3 | a4-7 b4-7 */
    __m256i cd = _mm256_packs_epi32(c, d);
    __m256i abcd = _mm256_packs_epi16(ab, cd); /* a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7 */
    return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* avx2 entry points */
void syn_avx2_dequant_f16(const void *src, float *dst, int64_t n);
void syn_avx2_dequant_bf16(const void *src, float *dst, int64_t n);

void syn_avx2_quant_f16(const float *src, void *dst, int64_t n);
void syn_avx2_quant_bf16(const float *src, void *dst, int64_t n);
void syn_avx2_quant_q8_0(const float *src, void *dst, int64_t n);
void syn_avx2_quant_q8_1(const float *src, void *dst, int64_t n);
void syn_avx2_quant_q8_k(const float *src, void *dst, int64_t n);

#define SYN_AVX2_DOT(name)                                                                                           \
    void syn_avx2_dot_##name(int64_t n, const void *w, const void *a, float *out);                                   \
    void syn_avx2_dot_rows_##name(int64_t n, const void *w, const void *a, size_t a_stride, int nr, float *out,      \
                                  int64_t out_stride);
SYN_AVX2_DOT(f32)
SYN_AVX2_DOT(f16)
SYN_AVX2_DOT(bf16)
SYN_AVX2_DOT(q4_0)
SYN_AVX2_DOT(q4_1)
SYN_AVX2_DOT(q5_0)
SYN_AVX2_DOT(q5_1)
SYN_AVX2_DOT(q8_0)
SYN_AVX2_DOT(q2_k)
SYN_AVX2_DOT(q3_k)
SYN_AVX2_DOT(q4_k)
SYN_AVX2_DOT(q5_k)
SYN_AVX2_DOT(q6_k)
#undef SYN_AVX2_DOT

/* The integer weight types whose dot products the vnni and avx512 sets
 * rebuild: X(SYN_TYPE_..., name) for each */
#define SYN_INT_TYPES(X)                                                                                             \
    X(SYN_TYPE_Q4_0, q4_0)                                                                                           \
    X(SYN_TYPE_Q4_1, q4_1)                                                                                           \
    X(SYN_TYPE_Q5_0, q5_0)                                                                                           \
    X(SYN_TYPE_Q5_1, q5_1)                                                                                           \
    X(SYN_TYPE_Q8_0, q8_0)                                                                                           \
    X(SYN_TYPE_Q2_K, q2_k)                                                                                           \
    X(SYN_TYPE_Q3_K, q3_k)                                                                                           \
    X(SYN_TYPE_Q4_K, q4_k)                                                                                           \
    X(SYN_TYPE_Q5_K, q5_k)                                                                                           \
    X(SYN_TYPE_Q6_K, q6_k)

/* the activation-panel kernels of a VNNI set (panel_legacy.c, panel_k.c) */
#define SYN_PANEL_FN(set, name)                                                                                      \
    void syn_##set##_dot_panel_##name(int64_t n, const void *w, const void *panel, int nr, float *out,               \
                                      int64_t out_stride);
#define SYN_PANEL_DECLARE(set)                                                                                       \
    void syn_##set##_pack_panel_q8_0(int64_t n, const void *a, size_t a_stride, int nr, void *panel);                \
    void syn_##set##_pack_panel_q8_k(int64_t n, const void *a, size_t a_stride, int nr, void *panel);                \
    SYN_PANEL_FN(set, q4_0) SYN_PANEL_FN(set, q5_0) SYN_PANEL_FN(set, q8_0) SYN_PANEL_FN(set, q4_k)                 \
    SYN_PANEL_FN(set, q5_k)
#define SYN_PANEL_SET_ENTRIES(set)                                                                                   \
    set##_set.type[SYN_TYPE_Q8_0].pack_panel = syn_##set##_pack_panel_q8_0;                                          \
    set##_set.type[SYN_TYPE_Q8_K].pack_panel = syn_##set##_pack_panel_q8_k;                                          \
    set##_set.type[SYN_TYPE_Q4_0].dot_panel = syn_##set##_dot_panel_q4_0;                                            \
    set##_set.type[SYN_TYPE_Q5_0].dot_panel = syn_##set##_dot_panel_q5_0;                                            \
    set##_set.type[SYN_TYPE_Q8_0].dot_panel = syn_##set##_dot_panel_q8_0;                                            \
    set##_set.type[SYN_TYPE_Q4_K].dot_panel = syn_##set##_dot_panel_q4_k;                                            \
    set##_set.type[SYN_TYPE_Q5_K].dot_panel = syn_##set##_dot_panel_q5_k;

/* Defines syn_kernels_<set>(): the avx2 set with the dot products of
 * SYN_INT_TYPES swapped for syn_<set>_dot_* and syn_<set>_dot_rows_*, built
 * once on first use under pthread_once (include <pthread.h>). */
#define SYN_INT_DECLARE(set, name)                                                                                   \
    void syn_##set##_dot_##name(int64_t n, const void *w, const void *a, float *out);                                \
    void syn_##set##_dot_rows_##name(int64_t n, const void *w, const void *a, size_t a_stride, int nr, float *out,   \
                                     int64_t out_stride);
#define SYN_INT_SET_ENTRY(set, T, name)                                                                              \
    set##_set.type[T].vec_dot = syn_##set##_dot_##name;                                                              \
    set##_set.type[T].vec_dot_rows = syn_##set##_dot_rows_##name;
#define SYN_DEFINE_INT_SET(set, isa_name, DECLARE_ALL, SET_ALL)                                                      \
    DECLARE_ALL                                                                                                      \
    static syn_kernel_set set##_set;                                                                                 \
    static pthread_once_t set##_once = PTHREAD_ONCE_INIT;                                                            \
    static void set##_init(void)                                                                                     \
    {                                                                                                                \
        set##_set = *syn_kernels_avx2();                                                                             \
        set##_set.isa = isa_name;                                                                                    \
        SET_ALL                                                                                                      \
    }                                                                                                                \
    const syn_kernel_set *syn_kernels_##set(void)                                                                    \
    {                                                                                                                \
        pthread_once(&set##_once, set##_init);                                                                       \
        return &set##_set;                                                                                           \
    }

void syn_avx2_attend_f16(int32_t hd, int32_t n_pos, const syn_kv_view *kv, const float *q, int nq, float scale,
                         float *out, float *work);
void syn_avx2_f32_to_f16(const float *src, uint16_t *dst, int64_t n);
void syn_avx2_rms_norm(int64_t n, const float *x, const float *w, float eps, float *out);
void syn_avx2_swiglu(int64_t n, const float *gate, const float *up, float *out);
float syn_avx2_exp_sum(int64_t n, float *x, float max);
void syn_avx2_dot_narrow_f32(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                              float *v);
void syn_avx2_dot_narrow_f16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                              float *v);
void syn_avx2_dot_narrow_bf16(int64_t n, const void *w, int j0, int nw, const float *x, size_t x_stride, int nr,
                              float *v);

/* The set an object's kernels belong to. A kernel source shared by several
 * sets (dot_legacy.c, dot_k.c, dot_k23.c, ...) is listed in each set's
 * library in kernels/kernels.am and compiled once per set, with that set's
 * ISA flags and -DSYN_KSET=avx2, vnni or avx512 (amx for the AMX library);
 * SYN_KFN(dot_q4_0) then names that object's syn_<set>_dot_q4_0, so the
 * sets' copies of one source never clash at link time. There is no
 * default: an object built without the macro would quietly define the
 * avx2 names with another set's instructions. */
#ifndef SYN_KSET
#error "kernels/x86: compile with -DSYN_KSET=<set> (see kernels/kernels.am)"
#endif
#define SYN_KPASTE(set, x) syn_##set##_##x
#define SYN_KNAME(set, x) SYN_KPASTE(set, x)
#define SYN_KFN(x) SYN_KNAME(SYN_KSET, x)

/* The tiled F16/BF16 dot NAME_tile (for SYN_AVX2_TILED below) in vectors
 * of type V, L floats wide (dot_float.c: 256-bit, dot_half512.c: 512-bit):
 * four accumulator chains per row, so one row is not bound by FMA latency,
 * and each weight vector widened (load: L halves to V) once for all NR
 * activation rows of the same type. reduce4 adds a row's four chains; the
 * scalar tail follows. Every row runs the same sequence whatever NR is. */
#define SYN_HALF_TILE(name, V, L, load, fma, zero, reduce4, scalar)                                                  \
    SYN_INLINE void name##_tile(int64_t n, const void *w, const void *a, size_t a_stride, const int NR, float *out,   \
                                int64_t out_stride)                                                                  \
    {                                                                                                                \
        const uint16_t *x = w;                                                                                       \
        V acc[4][4];                                                                                                 \
        _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)      \
            acc[r][k] = zero();                                                                                      \
        int64_t i = 0;                                                                                               \
        for (; i + 4 * (L) <= n; i += 4 * (L)) {                                                                     \
            _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)                                                      \
            {                                                                                                        \
                V wk = load(x + i + (L) * k);                                                                        \
                _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) acc[r][k] =                                      \
                    fma(wk, load(SYN_ROW(a, r, a_stride, uint16_t) + i + (L) * k), acc[r][k]);                       \
            }                                                                                                        \
        }                                                                                                            \
        for (; i + (L) <= n; i += (L)) {                                                                             \
            V w0 = load(x + i);                                                                                      \
            _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) acc[r][0] =                                          \
                fma(w0, load(SYN_ROW(a, r, a_stride, uint16_t) + i), acc[r][0]);                                     \
        }                                                                                                            \
        _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)                                                         \
        {                                                                                                            \
            const uint16_t *y = SYN_ROW(a, r, a_stride, uint16_t);                                                   \
            float s = reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);                                           \
            for (int64_t j = i; j < n; j++)                                                                          \
                s += scalar(x[j]) * scalar(y[j]);                                                                    \
            out[r * out_stride] = s;                                                                                 \
        }                                                                                                            \
    }

/* A tiled kernel `static void NAME_tile(n, w, a, a_stride, NR, out,
 * out_stride)` (always inlined, NR a constant) becomes the pair of entry
 * points; nr == 1 runs the very same code as vec_dot, which is what makes
 * the rows results bit-identical to it. */
#define SYN_AVX2_TILED(name)                                                                                         \
    void SYN_KFN(dot_##name)(int64_t n, const void *w, const void *a, float *out)                                    \
    {                                                                                                                \
        name##_tile(n, w, a, 0, 1, out, 0);                                                                          \
    }                                                                                                                \
    void SYN_KFN(dot_rows_##name)(int64_t n, const void *w, const void *a, size_t a_stride, int nr,                  \
                                  float *out, int64_t out_stride)                                                    \
    {                                                                                                                \
        switch (nr) {                                                                                                \
        case 1:                                                                                                      \
            name##_tile(n, w, a, a_stride, 1, out, out_stride);                                                      \
            break;                                                                                                   \
        case 2:                                                                                                      \
            name##_tile(n, w, a, a_stride, 2, out, out_stride);                                                      \
            break;                                                                                                   \
        case 3:                                                                                                      \
            name##_tile(n, w, a, a_stride, 3, out, out_stride);                                                      \
            break;                                                                                                   \
        default:                                                                                                     \
            name##_tile(n, w, a, a_stride, 4, out, out_stride);                                                      \
            break;                                                                                                   \
        }                                                                                                            \
    }

#define SYN_ROW(a, r, stride, T) ((const T *)(const void *)((const char *)(a) + (size_t)(r) * (stride)))

/* block ib of Q8_K activation row r */
SYN_INLINE const syn_block_q8_k *syn_act_q8_k(const void *a, int r, size_t a_stride, int64_t ib)
{
    return SYN_ROW(a, r, a_stride, syn_block_q8_k) + ib;
}

/* int16 per 16 elements for 32-element vector v of a K-quant superblock:
 * signed scale byte 2v in the low lane, 2v+1 in the high one; sc holds the
 * 16 scales */
SYN_INLINE __m256i syn_pair_scales_i8(__m128i sc, const int v)
{
    __m128i pick = _mm_set_epi64x(0x0101010101010101LL * (2 * v + 1), 0x0101010101010101LL * (2 * v));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, pick));
}

#endif

