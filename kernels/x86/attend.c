/* AVX2/FMA/F16C attention for one row's query heads of one KV group over an
 * f16 KV cache. The cache is walked in blocks of up to SYN_ATTEND_BLOCK
 * positions, each inside one page of the view (the sums run in position
 * order whatever the blocks, so where the pages lie changes nothing):
 * each block of K (then V) rows is widened to floats once, into a small
 * L1-resident buffer, and every head of the group works from that buffer.
 * Scores for 8 positions come out of one pass over q (8 accumulators, one
 * shared q load, one transposing reduction), and each head's output stays in
 * registers while a block of V rows is added in, so the per-position cost is
 * FMAs and loads rather than calls, reductions and output stores.
 * Built with -mavx2 -mfma -mf16c; any thread. */
#include "kernels/x86/simd.h"

/* the whole-vector part of hd f16 values as floats, the tail converted one
 * by one */
SYN_INLINE void widen_row(int32_t hd, const uint16_t *x, float *out)
{
    int32_t i = 0;
    for (; i + 8 <= hd; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < hd; i++)
        out[i] = syn_h2f(x[i]);
}

/* nb rows of a view from position p0, all in one page, as floats; the row
 * one block on is prefetched (the cache streams from memory: its first 64
 * or 128 bytes; a prefetch past the end is harmless) */
static void widen_block(int32_t hd, int32_t nb, const syn_kv_view *kv, const uint16_t *base, int32_t p0, float *out)
{
    const uint16_t *x = syn_kv_row(kv, base, p0);
    for (int32_t p = 0; p < nb; p++) {
        const char *ahead = (const char *)(x + (size_t)(p + SYN_ATTEND_BLOCK) * kv->row_stride);
        _mm_prefetch(ahead, _MM_HINT_T0);
        if (hd > 32)
            _mm_prefetch(ahead + 64, _MM_HINT_T0);
        widen_row(hd, x + (size_t)p * kv->row_stride, out + (size_t)p * hd);
    }
}

/* positions in the block from p0: up to SYN_ATTEND_BLOCK, not past the end
 * of p0's page or of the context */
SYN_INLINE int32_t block_len(const syn_kv_view *kv, int32_t n_pos, int32_t p0)
{
    int32_t nb = n_pos - p0 < SYN_ATTEND_BLOCK ? n_pos - p0 : SYN_ATTEND_BLOCK;
    int32_t in_page = kv->page_len - p0 % kv->page_len;
    return nb < in_page ? nb : in_page;
}

/* the lane sums of a0..a3, in that order */
SYN_INLINE __m128 hsum4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    __m256 t = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

/* s[i] = scale * dot(q, kf row i) for NP (1, 4 or 8, a constant) rows */
SYN_INLINE void dots(const int NP, int32_t hd, const float *kf, const float *q, float scale, float *s)
{
    __m256 acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < NP; i++)
        acc[i] = _mm256_setzero_ps();
    int32_t d = 0;
    for (; d + 8 <= hd; d += 8) {
        __m256 qv = _mm256_loadu_ps(q + d);
#pragma GCC unroll 8
        for (int i = 0; i < NP; i++)
            acc[i] = _mm256_fmadd_ps(_mm256_loadu_ps(kf + (size_t)i * hd + d), qv, acc[i]);
    }
    float t[8];
    if (NP == 1)
        t[0] = syn_hsum_ps(acc[0]);
    else
#pragma GCC unroll 8
        for (int i = 0; i < NP; i += 4)
            _mm_storeu_ps(t + i, hsum4(acc[i], acc[i + 1], acc[i + 2], acc[i + 3]));
#pragma GCC unroll 8
    for (int i = 0; i < NP; i++) {
        for (int32_t e = d; e < hd; e++)
            t[i] += kf[(size_t)i * hd + e] * q[e];
        s[i] = t[i] * scale;
    }
}

static void block_scores(int32_t hd, int32_t nb, const float *kf, const float *q, float scale, float *s)
{
    int32_t p = 0;
    for (; p + 8 <= nb; p += 8)
        dots(8, hd, kf + (size_t)p * hd, q, scale, s + p);
    for (; p + 4 <= nb; p += 4)
        dots(4, hd, kf + (size_t)p * hd, q, scale, s + p);
    for (; p < nb; p++)
        dots(1, hd, kf + (size_t)p * hd, q, scale, s + p);
}

/* o[0..W) += sum over the block of w[p] * vf row p, from column d; W is 64
 * or 8 floats (a constant), held in W / 8 registers */
SYN_INLINE void add_weighted(const int W, int32_t hd, int32_t nb, const float *vf, const float *w, float *o)
{
    __m256 acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < W / 8; i++)
        acc[i] = _mm256_loadu_ps(o + 8 * i);
    for (int32_t p = 0; p < nb; p++) {
        __m256 wp = _mm256_broadcast_ss(w + p);
#pragma GCC unroll 8
        for (int i = 0; i < W / 8; i++)
            acc[i] = _mm256_fmadd_ps(wp, _mm256_loadu_ps(vf + (size_t)p * hd + 8 * i), acc[i]);
    }
#pragma GCC unroll 8
    for (int i = 0; i < W / 8; i++)
        _mm256_storeu_ps(o + 8 * i, acc[i]);
}

static void block_values(int32_t hd, int32_t nb, const float *vf, const float *w, float *o)
{
    int32_t d = 0;
    for (; d + 64 <= hd; d += 64)
        add_weighted(64, hd, nb, vf + d, w, o + d);
    for (; d + 8 <= hd; d += 8)
        add_weighted(8, hd, nb, vf + d, w, o + d);
    for (; d < hd; d++)
        for (int32_t p = 0; p < nb; p++)
            o[d] += w[p] * vf[(size_t)p * hd + d];
}

void syn_avx2_attend_f16(int32_t hd, int32_t n_pos, const syn_kv_view *kv, const float *q, int nq, float scale,
                         float *out, float *work)
{
    float *scores = work, *inv = work + (size_t)nq * n_pos, *buf = inv + nq;
    for (int32_t p0 = 0, nb; p0 < n_pos; p0 += nb) {
        nb = block_len(kv, n_pos, p0);
        widen_block(hd, nb, kv, kv->k, p0, buf);
        for (int j = 0; j < nq; j++)
            block_scores(hd, nb, buf, q + (size_t)j * hd, scale, scores + (size_t)j * n_pos + p0);
    }
    for (int j = 0; j < nq; j++) {
        float *s = scores + (size_t)j * n_pos, mx = s[0];
        for (int32_t p = 1; p < n_pos; p++)
            mx = s[p] > mx ? s[p] : mx;
        inv[j] = 1.0f / syn_avx2_exp_sum(n_pos, s, mx);
    }
    memset(out, 0, sizeof(float) * (size_t)nq * hd);
    for (int32_t p0 = 0, nb; p0 < n_pos; p0 += nb) {
        nb = block_len(kv, n_pos, p0);
        widen_block(hd, nb, kv, kv->v, p0, buf);
        for (int j = 0; j < nq; j++)
            block_values(hd, nb, buf, scores + (size_t)j * n_pos + p0, out + (size_t)j * hd);
    }
    /* the weights were left unnormalised: one scale per output at the end */
    for (int j = 0; j < nq; j++) {
        __m256 vi = _mm256_set1_ps(inv[j]);
        float *o = out + (size_t)j * hd;
        int32_t d = 0;
        for (; d + 8 <= hd; d += 8)
            _mm256_storeu_ps(o + d, _mm256_mul_ps(_mm256_loadu_ps(o + d), vi));
        for (; d < hd; d++)
            o[d] *= inv[j];
    }
}
