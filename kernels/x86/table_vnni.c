/* The vnni kernel set: the avx2 set with the integer dot products swapped
 * for their AVX-VNNI builds (vnni_legacy.c, vnni_k.c). Built once, on first
 * use, under pthread_once; reaching it is only safe after the caller has
 * checked for AVX-VNNI as well as AVX2/FMA/F16C. Any thread. */
#include <pthread.h>

#include "kernels/x86/simd.h"

#define DECLARE(T, name)                                                                                             \
    void syn_vnni_dot_##name(int64_t n, const void *w, const void *a, float *out);                                   \
    void syn_vnni_dot_rows_##name(int64_t n, const void *w, const void *a, size_t a_stride, int nr, float *out,      \
                                  int64_t out_stride);
SYN_INT_TYPES(DECLARE)
#undef DECLARE

static syn_kernel_set vnni_set;
static pthread_once_t vnni_once = PTHREAD_ONCE_INIT;

static void vnni_init(void)
{
    vnni_set = *syn_kernels_avx2();
    vnni_set.isa = "avx-vnni";
#define SET(T, name)                                                                                                 \
    vnni_set.type[T].vec_dot = syn_vnni_dot_##name;                                                                  \
    vnni_set.vec_dot_rows[T] = syn_vnni_dot_rows_##name;
    SYN_INT_TYPES(SET)
#undef SET
}

const syn_kernel_set *syn_kernels_vnni(void)
{
    pthread_once(&vnni_once, vnni_init);
    return &vnni_set;
}
