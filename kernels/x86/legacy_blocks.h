/* The 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) as the x86
 * kernels see them: block sizes, field offsets and the unpack of a block's
 * weights to 32 bytes. Only for files built with -mavx2 -mfma -mf16c. */
#ifndef SYN_KERNELS_X86_LEGACY_BLOCKS_H
#define SYN_KERNELS_X86_LEGACY_BLOCKS_H

#include "kernels/x86/simd.h"

enum { K_Q4_0, K_Q4_1, K_Q5_0, K_Q5_1, K_Q8_0 };

/* weight block bytes; offsets of d, m, qh, qs */
static const int wbytes[] = {18, 20, 22, 24, 34};
static const int qh_off[] = {0, 0, 2, 4, 0};
static const int qs_off[] = {2, 4, 6, 8, 2};

SYN_INLINE uint16_t load_u16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* the 32 weights of a block as int8: signed for the symmetric types,
 * unsigned (0..31) for the offset ones */
SYN_INLINE __m256i unpack(const int T, const uint8_t *b)
{
    switch (T) {
    case K_Q4_0:
        return _mm256_sub_epi8(syn_nibbles_32(b + qs_off[T]), _mm256_set1_epi8(8));
    case K_Q4_1:
        return syn_nibbles_32(b + qs_off[T]);
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    /* the 32 high bits go straight into a mask register */
    case K_Q5_0: { /* a clear 5th bit means value - 16 */
        uint32_t qh;
        memcpy(&qh, b + qh_off[T], 4);
        __m256i nib = syn_nibbles_32(b + qs_off[T]);
        return _mm256_mask_sub_epi8(nib, _cvtu32_mask32(~qh), nib, _mm256_set1_epi8(16));
    }
    case K_Q5_1: {
        uint32_t qh;
        memcpy(&qh, b + qh_off[T], 4);
        __m256i nib = syn_nibbles_32(b + qs_off[T]);
        return _mm256_mask_add_epi8(nib, _cvtu32_mask32(qh), nib, _mm256_set1_epi8(16));
    }
#else
    case K_Q5_0: /* a clear 5th bit means value - 16: 0xf0 | q is that in int8 */
        return _mm256_or_si256(syn_nibbles_32(b + qs_off[T]),
                               _mm256_andnot_si256(syn_bits_to_bytes_32(b + qh_off[T]), _mm256_set1_epi8((char)0xf0)));
    case K_Q5_1:
        return _mm256_or_si256(syn_nibbles_32(b + qs_off[T]),
                               _mm256_and_si256(syn_bits_to_bytes_32(b + qh_off[T]), _mm256_set1_epi8(0x10)));
#endif
    default:
        return _mm256_loadu_si256((const __m256i *)(b + qs_off[T]));
    }
}

SYN_INLINE int is_offset(const int T) { return T == K_Q4_1 || T == K_Q5_1; }

#endif
