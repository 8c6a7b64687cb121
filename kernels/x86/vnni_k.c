/* The K-quant dot products (Q2_K .. Q6_K) rebuilt with AVX-VNNI: the same
 * source as dot_k.c and dot_k23.c, where syn_madd_acc (scale the int16
 * products and add them to the int32 sums) becomes one vpdpwssd instead of
 * vpmaddwd + vpaddd. The integer sums are the same, so every result is
 * bit-identical to the avx2 set's. Built with -mavx2 -mfma -mf16c
 * -mavxvnni; only reached after syn_cpu_has_avx_vnni(). Any thread. */
#define SYN_KSET vnni
#include "kernels/x86/dot_k.c"
#include "kernels/x86/panel_k.c"
#include "kernels/x86/dot_k23.c"
