/* The ref kernel set: every supported type wired to its plain-C kernels,
 * one entry per type. Const data, any thread. */
#include "kernels/ref/blocks.h"

/* the kernels every supported type has: dequant, the dot and its tiled form */
#define T(act, name)                                                                                                 \
    .act_type = act, .dequant = syn_ref_dequant_##name, .vec_dot = syn_ref_dot_##name,                              \
    .vec_dot_rows = syn_ref_dot_rows_##name

/* every type starts unsupported (act_type -1), then the known ones are
 * overridden: GCC's range initialiser is the readable way to say that */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const syn_kernel_set ref_set = {
    .isa = "ref",
    .type =
        {
            [0 ... SYN_TYPE_COUNT - 1] = {.act_type = -1},
            [SYN_TYPE_F32] = {T(SYN_TYPE_F32, f32), .quant = syn_ref_quant_f32, .dot_narrow = syn_ref_dot_narrow_f32},
            [SYN_TYPE_F16] = {T(SYN_TYPE_F16, f16), .quant = syn_ref_quant_f16, .dot_narrow = syn_ref_dot_narrow_f16},
            [SYN_TYPE_BF16] = {T(SYN_TYPE_BF16, bf16), .quant = syn_ref_quant_bf16,
                               .dot_narrow = syn_ref_dot_narrow_bf16},
            [SYN_TYPE_Q4_0] = {T(SYN_TYPE_Q8_0, q4_0)},
            [SYN_TYPE_Q4_1] = {T(SYN_TYPE_Q8_1, q4_1)},
            [SYN_TYPE_Q5_0] = {T(SYN_TYPE_Q8_0, q5_0)},
            [SYN_TYPE_Q5_1] = {T(SYN_TYPE_Q8_1, q5_1)},
            [SYN_TYPE_Q8_0] = {T(SYN_TYPE_Q8_0, q8_0), .quant = syn_ref_quant_q8_0},
            [SYN_TYPE_Q8_1] = {T(SYN_TYPE_Q8_1, q8_1), .quant = syn_ref_quant_q8_1},
            [SYN_TYPE_Q2_K] = {T(SYN_TYPE_Q8_K, q2_k)},
            [SYN_TYPE_Q3_K] = {T(SYN_TYPE_Q8_K, q3_k)},
            [SYN_TYPE_Q4_K] = {T(SYN_TYPE_Q8_K, q4_k)},
            [SYN_TYPE_Q5_K] = {T(SYN_TYPE_Q8_K, q5_k)},
            [SYN_TYPE_Q6_K] = {T(SYN_TYPE_Q8_K, q6_k)},
            [SYN_TYPE_Q8_K] = {T(SYN_TYPE_Q8_K, q8_k), .quant = syn_ref_quant_q8_k},
        },
    .f32_to_f16 = syn_ref_f32_to_f16,
    .rms_norm = syn_ref_rms_norm,
    .swiglu = syn_ref_swiglu,
    .exp_sum = syn_ref_exp_sum,
    .attend_f16 = syn_ref_attend_f16,
};
#pragma GCC diagnostic pop

const syn_kernel_set *syn_kernels_ref(void) { return &ref_set; }
