/* On hosts that are not x86 there is no AVX2 (or AVX-VNNI) kernel set; the
 * CPU backend then runs the reference kernels. */
#include "kernels/kernels.h"

const syn_kernel_set *syn_kernels_avx2(void) { return NULL; }

const syn_kernel_set *syn_kernels_vnni(void) { return NULL; }
