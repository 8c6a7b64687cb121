/* Every integer dot product (legacy blocks and K-quants) rebuilt for CPUs
 * with AVX-512 VL/BW/VNNI. The row kernels stay 256-bit, but EVEX encoding
 * gives the compiler 32 vector registers, which removes the spills of the
 * 4-row tiles; the prefill panels use 512-bit vectors (full width on Zen 5
 * and Intel, split in two on Zen 4). The integer sums are the same, so
 * every result is bit-identical to the avx2 set's. Built with
 * -mavx2 -mfma -mf16c -mavxvnni -mavx512f -mavx512bw -mavx512vl
 * -mavx512vnni -mavx512vbmi -mbmi2; only reached after
 * syn_cpu_has_avx512_vnni(). Any thread. */
#define SYN_KSET avx512
#include "kernels/x86/dot_legacy.c"
#include "kernels/x86/panel_legacy512.c"
#include "kernels/x86/dot_k.c"
#include "kernels/x86/dot_k512.c"
#include "kernels/x86/panel_k512.c"
#include "kernels/x86/dot_k23.c"
