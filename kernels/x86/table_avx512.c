/* The avx512 kernel set: the avx2 set with the integer dot products swapped
 * for their AVX-512 VL/BW/VNNI builds (avx512_int.c). Reaching it is only
 * safe after the caller has checked for AVX-512 F/BW/VL/VNNI (and the OS's
 * saved ZMM state) as well as AVX-VNNI and AVX2/FMA/F16C. Any thread. */
#include <pthread.h>

#include "kernels/x86/simd.h"

#define DECLARE(T, name) SYN_INT_DECLARE(avx512, name)
#define SET(T, name) SYN_INT_SET_ENTRY(avx512, T, name)
SYN_DEFINE_INT_SET(avx512, "avx512", SYN_INT_TYPES(DECLARE) SYN_PANEL_DECLARE(avx512),
                   SYN_INT_TYPES(SET) SYN_PANEL_SET_ENTRIES(avx512))
