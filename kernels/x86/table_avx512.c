/* The avx512 kernel set: the avx2 set with the integer dot products swapped
 * for their AVX-512 builds (dot_legacy.c, dot_k.c and dot_k23.c compiled
 * with this set's flags, see kernels.am), whose prefill panels
 * (panel_legacy512.c, panel_k512.c) and K-quant decode (dot_k512.c) use
 * 512-bit vectors, and the F16/BF16 dots in 512-bit vectors
 * (dot_half512.c). Reaching it is only safe after the caller has checked
 * for AVX-512 F/BW/VL/VNNI/VBMI and BMI2 (and the OS's saved ZMM state) as
 * well as AVX-VNNI and AVX2/FMA/F16C. Any thread. */
#include <pthread.h>

#include "kernels/x86/simd.h"

#define DECLARE(T, name) SYN_INT_DECLARE(avx512, name)
#define SET(T, name) SYN_INT_SET_ENTRY(avx512, T, name)
#define PANEL2_FN(name)                                                                                              \
    void syn_avx512_dot_panel2_##name(int64_t n, const void *w, size_t w_stride, const void *panel, int nr,          \
                                      float *out, int64_t out_stride);
SYN_PANEL_FN(avx512, q6_k)
PANEL2_FN(q4_0)
PANEL2_FN(q5_0)
PANEL2_FN(q8_0)
void syn_avx512_dot1_q4_k(int64_t n, const void *w, const void *a, float *out);
void syn_avx512_dot1_q5_k(int64_t n, const void *w, const void *a, float *out);
void syn_avx512_dot1_q6_k(int64_t n, const void *w, const void *a, float *out);
SYN_INT_DECLARE(avx512, f16)
SYN_INT_DECLARE(avx512, bf16)

/* What this set has beyond a VNNI set's integer dots and panels. */
static void avx512_entries(syn_kernel_set *s)
{
    /* with 512-bit vectors, Q6_K panels pay off too (panel_k512.c) */
    s->type[SYN_TYPE_Q6_K].dot_panel = syn_avx512_dot_panel_q6_k;
    /* the legacy types take two weight rows per call, and decode on
     * one-row panels (panel_legacy512.c) */
    s->type[SYN_TYPE_Q4_0].dot_panel2 = syn_avx512_dot_panel2_q4_0;
    s->type[SYN_TYPE_Q5_0].dot_panel2 = syn_avx512_dot_panel2_q5_0;
    s->type[SYN_TYPE_Q8_0].dot_panel2 = syn_avx512_dot_panel2_q8_0;
    s->type[SYN_TYPE_Q4_0].panel_decode = 1;
    s->type[SYN_TYPE_Q5_0].panel_decode = 1;
    s->type[SYN_TYPE_Q8_0].panel_decode = 1;
    /* the K-quants' decode runs in 512-bit vectors (dot_k512.c) */
    s->type[SYN_TYPE_Q4_K].vec_dot = syn_avx512_dot1_q4_k;
    s->type[SYN_TYPE_Q5_K].vec_dot = syn_avx512_dot1_q5_k;
    s->type[SYN_TYPE_Q6_K].vec_dot = syn_avx512_dot1_q6_k;
    /* and the F16/BF16 dots are 512-bit (dot_half512.c) */
    s->type[SYN_TYPE_F16].vec_dot = syn_avx512_dot_f16;
    s->type[SYN_TYPE_F16].vec_dot_rows = syn_avx512_dot_rows_f16;
    s->type[SYN_TYPE_BF16].vec_dot = syn_avx512_dot_bf16;
    s->type[SYN_TYPE_BF16].vec_dot_rows = syn_avx512_dot_rows_bf16;
}

SYN_DEFINE_INT_SET(avx512, "avx512", SYN_INT_TYPES(DECLARE) SYN_PANEL_DECLARE(avx512),
                   SYN_INT_TYPES(SET) SYN_PANEL_SET_ENTRIES(avx512) avx512_entries(&avx512_set);)
