/* Built when the compiler cannot target AVX-VNNI: no such kernel set, so the
 * CPU backend falls back to the AVX2 one. */
#include "kernels/kernels.h"

const syn_kernel_set *syn_kernels_vnni(void) { return NULL; }
