/* The avx512 kernel set: the avx2 set with the integer dot products swapped
 * for their AVX-512 VL/BW/VNNI builds (avx512_int.c). Built once, on first
 * use, under pthread_once; reaching it is only safe after the caller has
 * checked for AVX-512 F/BW/VL/VNNI (and the OS's saved ZMM state) as well
 * as AVX-VNNI and AVX2/FMA/F16C. Any thread. */
#include <pthread.h>

#include "kernels/x86/simd.h"

#define DECLARE(T, name)                                                                                             \
    void syn_avx512_dot_##name(int64_t n, const void *w, const void *a, float *out);                                 \
    void syn_avx512_dot_rows_##name(int64_t n, const void *w, const void *a, size_t a_stride, int nr, float *out,    \
                                    int64_t out_stride);
SYN_INT_TYPES(DECLARE)
#undef DECLARE

static syn_kernel_set avx512_set;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;

static void avx512_init(void)
{
    avx512_set = *syn_kernels_avx2();
    avx512_set.isa = "avx512";
#define SET(T, name)                                                                                                 \
    avx512_set.type[T].vec_dot = syn_avx512_dot_##name;                                                              \
    avx512_set.vec_dot_rows[T] = syn_avx512_dot_rows_##name;
    SYN_INT_TYPES(SET)
#undef SET
}

const syn_kernel_set *syn_kernels_avx512(void)
{
    pthread_once(&avx512_once, avx512_init);
    return &avx512_set;
}
