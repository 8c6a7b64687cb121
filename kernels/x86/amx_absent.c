/* Built when the compiler cannot target AMX (or AVX-512 VNNI): no such
 * kernel set, so the CPU backend falls back to the avx512 one or below. */
#include "kernels/kernels.h"

const syn_kernel_set *syn_kernels_amx(void) { return NULL; }
