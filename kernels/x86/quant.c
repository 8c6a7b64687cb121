/* AVX2 activation quantisers (F16, BF16, Q8_0, Q8_1, Q8_K), bit-identical
 * to kernels/ref/quant.c: the same float operations in the same order, only
 * eight at a time. Built with -mavx2 -mfma -mf16c; any thread. */
#include "kernels/x86/simd.h"

#define F16_RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

void syn_avx2_quant_f16(const float *src, void *dst, int64_t n) { syn_avx2_f32_to_f16(src, dst, n); }

/* round to nearest even on the bit pattern; NaN stays NaN (quiet) */
void syn_avx2_quant_bf16(const float *src, void *dst, int64_t n)
{
    uint16_t *d = dst;
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff), quiet = _mm256_set1_epi32(0x40);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h[2];
        for (int k = 0; k < 2; k++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)(src + i + 8 * k));
            __m256i odd = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
            __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(x, _mm256_add_epi32(bias, odd)), 16);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf);
            __m256i qnan = _mm256_or_si256(_mm256_srli_epi32(x, 16), quiet);
            h[k] = _mm256_blendv_epi8(rounded, qnan, nan);
        }
        /* packus works per 128-bit lane: put the halves back in order */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(h[0], h[1]), _MM_SHUFFLE(3, 1, 2, 0));
        _mm256_storeu_si256((__m256i *)(d + i), p);
    }
    for (; i < n; i++)
        d[i] = syn_f32_to_bf16(src[i]);
}

SYN_INLINE __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* one 32-element block scaled by id, rounded: 32 int8 in order, and the
 * four int32 vectors (for sums) */
SYN_INLINE __m256i quant_block32(const float *x, float id, __m256i *sum32)
{
    __m256 vid = _mm256_set1_ps(id);
    __m256i q0 = syn_round_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), vid));
    __m256i q1 = syn_round_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), vid));
    __m256i q2 = syn_round_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), vid));
    __m256i q3 = syn_round_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), vid));
    if (sum32)
        *sum32 = _mm256_add_epi32(_mm256_add_epi32(q0, q1), _mm256_add_epi32(q2, q3));
    return syn_pack_i32_to_i8(q0, q1, q2, q3);
}

SYN_INLINE float amax32(const float *x)
{
    __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(_mm256_loadu_ps(x)), abs_ps(_mm256_loadu_ps(x + 8))),
                             _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 16)), abs_ps(_mm256_loadu_ps(x + 24))));
    return syn_hmax_ps(m);
}

void syn_avx2_quant_q8_0(const float *src, void *dst, int64_t n)
{
    syn_block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, src += SYN_QK) {
        float amax = amax32(src);
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        b->d = _cvtss_sh(amax / 127.0f, F16_RNE);
        _mm256_storeu_si256((__m256i *)b->qs, quant_block32(src, id, NULL));
    }
}

void syn_avx2_quant_q8_1(const float *src, void *dst, int64_t n)
{
    syn_block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / SYN_QK; i++, b++, src += SYN_QK) {
        float amax = amax32(src);
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        __m256i s;
        _mm256_storeu_si256((__m256i *)b->qs, quant_block32(src, id, &s));
        b->d = _cvtss_sh(d, F16_RNE);
        b->s = _cvtss_sh(d * (float)syn_hsum_epi32(s), F16_RNE);
    }
}

void syn_avx2_quant_q8_k(const float *src, void *dst, int64_t n)
{
    syn_block_q8_k *b = dst;
    for (int64_t i = 0; i < n / SYN_QK_K; i++, b++, src += SYN_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < SYN_QK_K; j += 8)
            m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(src + j)));
        float amax = syn_hmax_ps(m);
        if (amax == 0.0f) {
            memset(b, 0, sizeof *b);
            continue;
        }
        /* the scale follows the sign of the first element of largest
         * magnitude, as the ref's strict '>' scan picks it */
        __m256 vmax = _mm256_set1_ps(amax);
        float max = 0.0f;
        for (int j = 0; j < SYN_QK_K; j += 8) {
            int hit = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(src + j)), vmax, _CMP_EQ_OQ));
            if (hit) {
                max = src[j + __builtin_ctz((unsigned)hit)];
                break;
            }
        }
        float iscale = -127.0f / max;
        const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
        for (int j = 0; j < SYN_QK_K; j += 32) {
            /* |iscale * x| <= 127 after rounding, so the ref's clamp at 127
             * never changes a value and the saturating packs are exact */
            __m256i q = quant_block32(src + j, iscale, NULL);
            _mm256_storeu_si256((__m256i *)(b->qs + j), q);
            __m256i s4 = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, q), ones16); /* sums of 4, in order */
            __m256i s8 = _mm256_hadd_epi32(s4, s4);                              /* 0+1 2+3 . . | 4+5 6+7 . . */
            __m256i s16 = _mm256_hadd_epi32(s8, s8);
            b->bsums[j / 16] = (int16_t)_mm256_cvtsi256_si32(s16);
            b->bsums[j / 16 + 1] = (int16_t)_mm256_extract_epi32(s16, 4);
        }
        b->d = 1.0f / iscale;
    }
}
