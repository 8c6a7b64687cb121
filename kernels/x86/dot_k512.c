/* Decode (one activation row) for Q4_K in the avx512 set, in 512-bit
 * vectors. Part of avx512_int.c, after dot_k.c.
 *
 * A 32-byte chunk of a Q4_K superblock holds group 2j in its low nibbles and
 * group 2j + 1 in its high ones, and the activation row holds those two
 * groups as 64 consecutive bytes. Broadcasting the chunk to both halves of
 * a vector and shifting only the upper half by 4 (vpsrlvw) puts the weights
 * in the activations' order, so each chunk takes one 64-byte activation
 * load, one maddubs and one dpwssd with group 2j's scale in the low half and
 * 2j + 1's in the high one. Adding the two halves gives lane for lane the
 * integer sums of dot_k.c's 256-bit kernel (integer adds are exact in any
 * order), and the float steps after that are dot_k.c's, so the result is
 * bit-identical to vec_dot in every set. */

void SYN_KNAME(SYN_KSET, dot1_q4_k)(int64_t n, const void *w, const void *a, float *out)
{
    const int64_t nb = n / SYN_QK_K;
    const __m512i m4 = _mm512_set1_epi8(15);
    /* words of the upper half shift right by 4: its bytes keep the high nibbles */
    const __m512i nibble_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    const k_act act = {a, 0, 0, 0};
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < nb; ib++) {
        const k45_block x = k45_block_at(0, w, ib);
        __m256 dw = _mm256_set1_ps(x.d), mw = _mm256_set1_ps(x.dmin);
        __m128i sm8 = k4_scales_mins(x.scales);
        __m512i scales = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sm8)); /* 8 scales as int16 per lane */
        __m128i mins = _mm_cvtepu8_epi16(_mm_srli_si128(sm8, 8));
        const int8_t *y = k_act_qs(act, NULL, ib, 0);
        __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            __m512i bits = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x.qs + 32 * j)));
            __m512i q = _mm512_and_si512(_mm512_srlv_epi16(bits, nibble_shift), m4);
            /* group 2j's scale in the low half, 2j + 1's in the high one */
            const short lo = (short)(((4 * j + 1) << 8) | (4 * j)), hi = (short)(((4 * j + 3) << 8) | (4 * j + 2));
            __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16(lo)), _mm256_set1_epi16(hi), 1);
            __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512(y + 64 * j));
            sumi = _mm512_dpwssd_epi32(sumi, _mm512_shuffle_epi8(scales, idx), p);
        }
        /* d * dw * sumi - d * dmin * sum(min * 32-element sum), as dot_k.c */
        __m256i si = _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
        __m256i msum = _mm256_zextsi128_si256(_mm_madd_epi16(mins, k_act_sums32(act, NULL, ib, 0)));
        __m256 d = _mm256_set1_ps(k_act_d(act, NULL, ib, 0));
        acc = _mm256_fmadd_ps(_mm256_mul_ps(d, dw), _mm256_cvtepi32_ps(si), acc);
        acc = _mm256_fnmadd_ps(_mm256_mul_ps(d, mw), _mm256_cvtepi32_ps(msum), acc);
    }
    k_store_sums(&acc, 1, 1, out, 1);
}
