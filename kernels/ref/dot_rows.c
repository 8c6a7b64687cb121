/* Plain-C multi-row dot products for prefill tiling: each is nr calls of the
 * type's ref vec_dot, which is the contract every faster version must meet
 * bit for bit within its own set. Pure functions, any thread. */
#include "kernels/ref/blocks.h"

SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_f32, syn_ref_dot_f32)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_f16, syn_ref_dot_f16)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_bf16, syn_ref_dot_bf16)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q4_0, syn_ref_dot_q4_0)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q4_1, syn_ref_dot_q4_1)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q5_0, syn_ref_dot_q5_0)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q5_1, syn_ref_dot_q5_1)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q8_0, syn_ref_dot_q8_0)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q8_1, syn_ref_dot_q8_1)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q2_k, syn_ref_dot_q2_k)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q3_k, syn_ref_dot_q3_k)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q4_k, syn_ref_dot_q4_k)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q5_k, syn_ref_dot_q5_k)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q6_k, syn_ref_dot_q6_k)
SYN_DEFINE_DOT_ROWS(syn_ref_dot_rows_q8_k, syn_ref_dot_q8_k)
