/* The legacy-block dot products (Q4_0 .. Q8_0) rebuilt with AVX-VNNI: the
 * same source as dot_legacy.c, where syn_dot_u8_to_i32 becomes one vpdpbusd.
 * The integer block sums are the same, so every result is bit-identical to
 * the avx2 set's. Also the prefill panel kernels (panel_legacy.c). Built
 * with -mavx2 -mfma -mf16c -mavxvnni; only reached after
 * syn_cpu_has_avx_vnni(). Any thread. */
#define SYN_KSET vnni
#include "kernels/x86/dot_legacy.c"
#include "kernels/x86/panel_legacy.c"
