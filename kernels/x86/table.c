/* The avx2 kernel set. What has no vector version here points at the ref
 * kernels: the Q8_1/Q8_K weight types (activation formats, never in real
 * models) and the dequantisation of quantised types (off the hot path, e.g.
 * one embedding row per token). Const data; reaching it is only safe after the
 * caller has checked for AVX2/FMA/F16C. Any thread. */
#include "kernels/x86/simd.h"

/* a type with avx2 dots (and the dequant given), or one on the ref kernels */
#define T(act, dq, name)                                                                                             \
    .act_type = act, .dequant = dq, .vec_dot = syn_avx2_dot_##name, .vec_dot_rows = syn_avx2_dot_rows_##name
#define R(act, name)                                                                                                 \
    .act_type = act, .dequant = syn_ref_dequant_##name, .vec_dot = syn_ref_dot_##name,                              \
    .vec_dot_rows = syn_ref_dot_rows_##name

/* every type starts unsupported (act_type -1), then the known ones are
 * overridden: GCC's range initialiser is the readable way to say that */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const syn_kernel_set avx2_set = {
    .isa = "avx2",
    .type =
        {
            [0 ... SYN_TYPE_COUNT - 1] = {.act_type = -1},
            [SYN_TYPE_F32] = {T(SYN_TYPE_F32, syn_ref_dequant_f32, f32), .quant = syn_ref_quant_f32, /* a copy */
                              .dot_narrow = syn_avx2_dot_narrow_f32},
            [SYN_TYPE_F16] = {T(SYN_TYPE_F16, syn_avx2_dequant_f16, f16), .quant = syn_avx2_quant_f16,
                              .dot_narrow = syn_avx2_dot_narrow_f16},
            [SYN_TYPE_BF16] = {T(SYN_TYPE_BF16, syn_avx2_dequant_bf16, bf16), .quant = syn_avx2_quant_bf16,
                               .dot_narrow = syn_avx2_dot_narrow_bf16},
            [SYN_TYPE_Q4_0] = {T(SYN_TYPE_Q8_0, syn_ref_dequant_q4_0, q4_0)},
            [SYN_TYPE_Q4_1] = {T(SYN_TYPE_Q8_1, syn_ref_dequant_q4_1, q4_1)},
            [SYN_TYPE_Q5_0] = {T(SYN_TYPE_Q8_0, syn_ref_dequant_q5_0, q5_0)},
            [SYN_TYPE_Q5_1] = {T(SYN_TYPE_Q8_1, syn_ref_dequant_q5_1, q5_1)},
            [SYN_TYPE_Q8_0] = {T(SYN_TYPE_Q8_0, syn_ref_dequant_q8_0, q8_0), .quant = syn_avx2_quant_q8_0},
            [SYN_TYPE_Q8_1] = {R(SYN_TYPE_Q8_1, q8_1), .quant = syn_avx2_quant_q8_1},
            [SYN_TYPE_Q2_K] = {T(SYN_TYPE_Q8_K, syn_ref_dequant_q2_k, q2_k)},
            [SYN_TYPE_Q3_K] = {T(SYN_TYPE_Q8_K, syn_ref_dequant_q3_k, q3_k)},
            [SYN_TYPE_Q4_K] = {T(SYN_TYPE_Q8_K, syn_ref_dequant_q4_k, q4_k)},
            [SYN_TYPE_Q5_K] = {T(SYN_TYPE_Q8_K, syn_ref_dequant_q5_k, q5_k)},
            [SYN_TYPE_Q6_K] = {T(SYN_TYPE_Q8_K, syn_ref_dequant_q6_k, q6_k)},
            [SYN_TYPE_Q8_K] = {R(SYN_TYPE_Q8_K, q8_k), .quant = syn_avx2_quant_q8_k},
        },
    .f32_to_f16 = syn_avx2_f32_to_f16,
    .rms_norm = syn_avx2_rms_norm,
    .swiglu = syn_avx2_swiglu,
    .exp_sum = syn_avx2_exp_sum,
    .attend_f16 = syn_avx2_attend_f16,
};
#pragma GCC diagnostic pop

const syn_kernel_set *syn_kernels_avx2(void) { return &avx2_set; }
