/* The amx kernel set: the avx512 set plus AMX-BF16 tiles for the prefill of
 * F16, BF16, Q4_0, Q5_0, Q8_0, Q4_K, Q5_K and Q6_K weights (amx_bf16.c).
 * Reaching it is only safe after syn_cpu_has_amx(), which checks the
 * avx512 set's requirements too. Any thread. */
#include <pthread.h>

#include "kernels/x86/simd.h"

#define GEMM_FN(name)                                                                                                \
    void syn_amx_gemm_##name(int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m, float *out, \
                             int64_t out_stride);
GEMM_FN(f16)
GEMM_FN(bf16)
GEMM_FN(q4_0)
GEMM_FN(q5_0)
GEMM_FN(q8_0)
GEMM_FN(q4_k)
GEMM_FN(q5_k)
GEMM_FN(q6_k)
void syn_amx_pack_bf16(int64_t n, const float *x, size_t x_stride, int m, void *tiles);
void syn_amx_pack_bf16_split(int64_t n, const float *x, size_t x_stride, int m, void *tiles);

static syn_kernel_set amx_set;
static pthread_once_t amx_once = PTHREAD_ONCE_INIT;

static void amx_init(void)
{
    amx_set = *syn_kernels_avx512();
    amx_set.isa = "amx";
    for (int t = 0; t < SYN_TYPE_COUNT; t++)
        amx_set.type[t].pack_tiles = syn_amx_pack_bf16;
    amx_set.type[SYN_TYPE_F16].pack_tiles = syn_amx_pack_bf16_split;
    amx_set.type[SYN_TYPE_F16].gemm = syn_amx_gemm_f16;
    amx_set.type[SYN_TYPE_BF16].gemm = syn_amx_gemm_bf16;
    amx_set.type[SYN_TYPE_Q4_0].gemm = syn_amx_gemm_q4_0;
    amx_set.type[SYN_TYPE_Q5_0].gemm = syn_amx_gemm_q5_0;
    amx_set.type[SYN_TYPE_Q8_0].gemm = syn_amx_gemm_q8_0;
    amx_set.type[SYN_TYPE_Q4_K].gemm = syn_amx_gemm_q4_k;
    amx_set.type[SYN_TYPE_Q5_K].gemm = syn_amx_gemm_q5_k;
    amx_set.type[SYN_TYPE_Q6_K].gemm = syn_amx_gemm_q6_k;
}

const syn_kernel_set *syn_kernels_amx(void)
{
    /* the avx512 set is this one's base: without it there is no amx set */
    if (!syn_kernels_avx512())
        return NULL;
    pthread_once(&amx_once, amx_init);
    return &amx_set;
}
