/* The legacy-block dot products (Q4_0 .. Q8_0) rebuilt with AVX-VNNI: the
 * same source as dot_legacy.c, where syn_dot_u8_to_i32 becomes one vpdpbusd.
 * The integer block sums are the same, so every result is bit-identical to
 * the avx2 set's. Built with -mavx2 -mfma -mf16c -mavxvnni; only reached
 * after syn_cpu_has_avx_vnni(). Any thread. */
#define syn_avx2_dot_q4_0 syn_vnni_dot_q4_0
#define syn_avx2_dot_q4_1 syn_vnni_dot_q4_1
#define syn_avx2_dot_q5_0 syn_vnni_dot_q5_0
#define syn_avx2_dot_q5_1 syn_vnni_dot_q5_1
#define syn_avx2_dot_q8_0 syn_vnni_dot_q8_0
#define syn_avx2_dot_rows_q4_0 syn_vnni_dot_rows_q4_0
#define syn_avx2_dot_rows_q4_1 syn_vnni_dot_rows_q4_1
#define syn_avx2_dot_rows_q5_0 syn_vnni_dot_rows_q5_0
#define syn_avx2_dot_rows_q5_1 syn_vnni_dot_rows_q5_1
#define syn_avx2_dot_rows_q8_0 syn_vnni_dot_rows_q8_0

#include "kernels/x86/dot_legacy.c"
