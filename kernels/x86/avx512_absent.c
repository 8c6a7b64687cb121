/* Built when the compiler cannot target AVX-512 VNNI: no such kernel set,
 * so the CPU backend falls back to the AVX-VNNI or AVX2 one. */
#include "kernels/kernels.h"

const syn_kernel_set *syn_kernels_avx512(void) { return NULL; }
