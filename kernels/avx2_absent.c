/* On hosts that are not x86 there are no x86 kernel sets (avx2, avx-vnni,
 * avx512, amx); the CPU backend then runs the reference kernels. The
 * backend asks for every set, so each needs its NULL here: the vnni,
 * avx512 and amx libraries are only built for x86 (kernels.am). */
#include "kernels/kernels.h"

const syn_kernel_set *syn_kernels_avx2(void) { return NULL; }

const syn_kernel_set *syn_kernels_vnni(void) { return NULL; }

const syn_kernel_set *syn_kernels_avx512(void) { return NULL; }

const syn_kernel_set *syn_kernels_amx(void) { return NULL; }
