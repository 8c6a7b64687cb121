/* The vnni kernel set: the avx2 set with the integer dot products swapped
 * for their AVX-VNNI builds (dot_legacy.c, dot_k.c and dot_k23.c compiled
 * with this set's flags, see kernels.am) and the prefill panels
 * (panel_legacy.c, panel_k.c). Reaching it is only safe after the caller
 * has checked for AVX-VNNI as well as AVX2/FMA/F16C. Any thread. */
#include <pthread.h>

#include "kernels/x86/simd.h"

#define DECLARE(T, name) SYN_INT_DECLARE(vnni, name)
#define SET(T, name) SYN_INT_SET_ENTRY(vnni, T, name)
SYN_DEFINE_INT_SET(vnni, "avx-vnni", SYN_INT_TYPES(DECLARE) SYN_PANEL_DECLARE(vnni),
                   SYN_INT_TYPES(SET) SYN_PANEL_SET_ENTRIES(vnni))
