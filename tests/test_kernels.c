/* Tests of the CPU kernel tables: exhaustive f16/bf16 conversions; ref
 * dequantisation against independent formulations (npref.py's for the
 * types it knows, llama.cpp's loop structure for the rest); ref vec_dot
 * against a double dot of the dequantised rows; and the avx2 set against
 * the ref one (dot products within tight tolerances, quantisers and
 * conversions bit for bit, multi-row dots bit-identical to single ones);
 * the avx-vnni and avx512 sets the same way, and their integer dots bit for
 * bit against avx2's. The avx2 half skips on CPUs without AVX2/FMA/F16C,
 * the vnni part on CPUs without AVX-VNNI, the avx512 part without AVX-512
 * F/BW/VL/VNNI. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_features.h"
#include "kernels/kernels.h"
#include "kernels/ref/blocks.h"
#include "tests/check.h"

/* ---- deterministic random numbers ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd_u64(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double rnd_unit(void) { return (double)(rnd_u64() >> 11) / 9007199254740992.0; } /* [0, 1) */

static float rnd_normal(void)
{
    double s = 0;
    for (int i = 0; i < 4; i++)
        s += rnd_unit() - 0.5;
    return (float)(s * 1.7);
}

static void rnd_bytes(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd_u64();
}

/* a sane positive f16 scale in [lo, hi) */
static uint16_t rnd_scale(double lo, double hi) { return syn_f32_to_f16((float)(lo + (hi - lo) * rnd_unit())); }

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(99);
    }
    return p;
}

/* ---- (e) conversions ---- */

static void test_f16_conversions(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        float got = syn_f16_to_f32((uint16_t)h);
        if (e == 31) {
            uint32_t want = (uint32_t)sign << 31 | 0x7f800000u | (uint32_t)m << 13;
            bad += f32_bits(got) != want;
            /* every NaN comes back NaN with its sign, quiet */
            if (m) {
                uint16_t back = syn_f32_to_f16(got);
                bad += !(((back >> 10) & 31) == 31 && (back & 0x200) && (back >> 15) == sign);
            } else {
                bad += syn_f32_to_f16(got) != h;
            }
            continue;
        }
        double v = e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
        if (sign)
            v = -v;
        bad += got != (float)v || !!signbit(got) != (sign != 0);
        bad += syn_f32_to_f16(got) != h; /* exact values round-trip */
    }
    CHECK_MSG(bad == 0, "%d f16 patterns wrong", bad);

    /* every rounding boundary: the midpoint of two neighbours is a tie (to
     * even), one float ulp either side decides */
    bad = 0;
    for (uint32_t h = 0; h < 0x7c00; h++) {
        for (int s = 0; s < 2; s++) {
            uint16_t sg = (uint16_t)(s << 15);
            double lo = syn_f16_to_f32((uint16_t)h);
            double hi = h + 1 == 0x7c00 ? 65536.0 : syn_f16_to_f32((uint16_t)(h + 1));
            float mid = (float)((lo + hi) / 2);
            CHECK((double)mid == (lo + hi) / 2);
            if (s)
                mid = -mid;
            uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            bad += syn_f32_to_f16(mid) != (sg | even);
            bad += syn_f32_to_f16(nextafterf(mid, 0.0f)) != (sg | h);
            bad += syn_f32_to_f16(nextafterf(mid, s ? -INFINITY : INFINITY)) != (sg | (h + 1));
        }
    }
    CHECK_MSG(bad == 0, "%d f16 rounding boundaries wrong", bad);
    CHECK(syn_f32_to_f16(1e-30f) == 0 && syn_f32_to_f16(-1e-30f) == 0x8000);
    CHECK(syn_f32_to_f16(1e10f) == 0x7c00 && syn_f32_to_f16(-INFINITY) == 0xfc00);
    CHECK(syn_f32_to_f16(bits_f32(0x00000001)) == 0); /* float subnormal */
}

static void test_bf16_conversions(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int sign = h >> 15, e = (h >> 7) & 255, m = h & 127;
        float got = syn_bf16_to_f32((uint16_t)h);
        if (e == 255) {
            bad += !(m ? isnan(got) : isinf(got)) || !!signbit(got) != (sign != 0);
            uint16_t back = syn_f32_to_bf16(got);
            bad += m ? !(((back >> 7) & 255) == 255 && (back & 0x40) && (back >> 15) == sign) : back != h;
            continue;
        }
        double v = e ? ldexp(128 + m, e - 134) : ldexp(m, -133);
        if (sign)
            v = -v;
        bad += got != (float)v || !!signbit(got) != (sign != 0);
        bad += syn_f32_to_bf16(got) != h;
    }
    CHECK_MSG(bad == 0, "%d bf16 patterns wrong", bad);

    bad = 0;
    for (uint32_t h = 0; h < 0x7f80; h++) {
        for (int s = 0; s < 2; s++) {
            uint16_t sg = (uint16_t)(s << 15);
            double lo = syn_bf16_to_f32((uint16_t)h);
            double hi = h + 1 == 0x7f80 ? ldexp(1.0, 128) : syn_bf16_to_f32((uint16_t)(h + 1));
            double midd = (lo + hi) / 2;
            if (midd > 3.4028234663852886e38) /* the tie above the largest bf16 is not a float */
                continue;
            float mid = (float)midd;
            if (s)
                mid = -mid;
            uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
            bad += syn_f32_to_bf16(mid) != (sg | even);
            bad += syn_f32_to_bf16(nextafterf(mid, 0.0f)) != (sg | h);
            bad += syn_f32_to_bf16(nextafterf(mid, s ? -INFINITY : INFINITY)) != (sg | (h + 1));
        }
    }
    CHECK_MSG(bad == 0, "%d bf16 rounding boundaries wrong", bad);
    CHECK(syn_f32_to_bf16(3.4028235e38f) == 0x7f80); /* rounds up to inf, as llama.cpp's does */
}

/* ---- random valid weight rows ---- */

static void fill_weights(int type, void *row, int64_t n)
{
    size_t bytes = syn_type_row_bytes(type, n);
    int64_t nb = n / syn_type_block_size(type);
    rnd_bytes(row, bytes);
    uint8_t *p = row;
    size_t bb = syn_type_block_bytes(type);
    switch (type) {
    case SYN_TYPE_F32:
        for (int64_t i = 0; i < n; i++)
            ((float *)row)[i] = rnd_normal() * 0.1f;
        return;
    case SYN_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)row)[i] = syn_f32_to_f16(rnd_normal() * 0.1f);
        return;
    case SYN_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)row)[i] = syn_f32_to_bf16(rnd_normal() * 0.1f);
        return;
    default:
        break;
    }
    for (int64_t i = 0; i < nb; i++, p += bb) {
        uint16_t d = rnd_scale(1e-3, 2e-2), m = rnd_scale(1e-3, 2e-2);
        if (rnd_u64() & 1) /* signed scales are valid for the symmetric types */
            d |= 0x8000;
        switch (type) {
        case SYN_TYPE_Q4_0:
        case SYN_TYPE_Q5_0:
        case SYN_TYPE_Q8_0:
            memcpy(p, &d, 2);
            break;
        case SYN_TYPE_Q4_1:
        case SYN_TYPE_Q5_1:
        case SYN_TYPE_Q8_1:
            m |= (uint16_t)((rnd_u64() & 1) << 15);
            memcpy(p, &d, 2);
            memcpy(p + 2, &m, 2);
            break;
        case SYN_TYPE_Q2_K: {
            syn_block_q2_k *b = (void *)p;
            b->d = d & 0x7fff, b->dmin = m;
            break;
        }
        case SYN_TYPE_Q3_K:
            ((syn_block_q3_k *)(void *)p)->d = d;
            break;
        case SYN_TYPE_Q4_K: {
            syn_block_q4_k *b = (void *)p;
            b->d = rnd_scale(1e-4, 2e-3), b->dmin = rnd_scale(1e-4, 2e-3);
            break;
        }
        case SYN_TYPE_Q5_K: {
            syn_block_q5_k *b = (void *)p;
            b->d = rnd_scale(1e-4, 2e-3), b->dmin = rnd_scale(1e-4, 2e-3);
            break;
        }
        case SYN_TYPE_Q6_K:
            ((syn_block_q6_k *)(void *)p)->d = d;
            break;
        case SYN_TYPE_Q8_K: {
            syn_block_q8_k *b = (void *)p;
            b->d = (float)(1e-3 + 1e-2 * rnd_unit());
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int l = 0; l < 16; l++) {
                    if (b->qs[16 * g + l] == -128)
                        b->qs[16 * g + l] = -127;
                    s += b->qs[16 * g + l];
                }
                b->bsums[g] = (int16_t)s;
            }
            break;
        }
        default:
            break;
        }
        if (type == SYN_TYPE_Q8_1) { /* an activation block: keep s consistent */
            syn_block_q8_1 *b = (void *)p;
            int s = 0;
            for (int j = 0; j < 32; j++)
                s += b->qs[j] == -128 ? (b->qs[j] = -127) : b->qs[j];
            b->s = syn_f32_to_f16(syn_f16_to_f32(b->d) * (float)s);
        }
    }
}

/* an activation row: mostly normal values, a few outliers, some exact
 * zeros and one all-zero 32-block when long enough */
static void fill_x(float *x, int64_t n)
{
    float scale = (float)(0.1 + 3 * rnd_unit());
    for (int64_t i = 0; i < n; i++) {
        x[i] = rnd_normal() * scale;
        uint64_t r = rnd_u64() % 64;
        if (r == 0)
            x[i] *= 8;
        else if (r == 1)
            x[i] = 0;
    }
    if (n >= 96)
        memset(x + 32, 0, 32 * sizeof *x);
}

/* ---- (a) independent dequantisers ---- */

static float h2f(uint16_t h) { return syn_f16_to_f32(h); }

/* npref.py's scale_min_k4, transcribed */
static void npref_scale_min_k4(const uint8_t *sc, float *d, float *m)
{
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            d[j] = sc[j] & 63;
            m[j] = sc[j + 4] & 63;
        } else {
            d[j] = (sc[j + 4] & 15) | ((sc[j - 4] >> 6) << 4);
            m[j] = (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4);
        }
    }
}

/* One block of type `type` at b into out, written after npref.py's numpy
 * formulas (Q8_0, Q4_0, Q5_0, Q4_K, Q5_K, Q6_K) or llama.cpp's pointer-
 * walking loops (the others). Returns 0 for types it does not know. */
static int indep_block(int type, const uint8_t *b, float *out)
{
    switch (type) {
    case SYN_TYPE_Q8_0:
        for (int j = 0; j < 32; j++)
            out[j] = h2f((uint16_t)(b[0] | b[1] << 8)) * (int8_t)b[2 + j];
        return 1;
    case SYN_TYPE_Q4_0: {
        float d = h2f((uint16_t)(b[0] | b[1] << 8));
        for (int j = 0; j < 16; j++) {
            out[j] = d * ((float)(b[2 + j] & 15) - 8);
            out[16 + j] = d * ((float)(b[2 + j] >> 4) - 8);
        }
        return 1;
    }
    case SYN_TYPE_Q5_0: {
        float d = h2f((uint16_t)(b[0] | b[1] << 8));
        uint64_t qh = (uint64_t)b[2] | (uint64_t)b[3] << 8 | (uint64_t)b[4] << 16 | (uint64_t)b[5] << 24;
        for (int j = 0; j < 16; j++) {
            int lo = (b[6 + j] & 15) | (int)(((qh >> j) & 1) << 4);
            int hi = (b[6 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            out[j] = d * (float)(lo - 16);
            out[16 + j] = d * (float)(hi - 16);
        }
        return 1;
    }
    case SYN_TYPE_Q4_1:
    case SYN_TYPE_Q5_1: {
        int five = type == SYN_TYPE_Q5_1;
        float d = h2f((uint16_t)(b[0] | b[1] << 8)), m = h2f((uint16_t)(b[2] | b[3] << 8));
        uint32_t qh = five ? (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24 : 0;
        const uint8_t *qs = b + (five ? 8 : 4);
        for (int j = 0; j < 16; j++) {
            int x0 = (qs[j] & 15) | (int)(((qh >> (j + 0)) << 4) & 0x10);
            int x1 = (qs[j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
            out[j] = x0 * d + m;
            out[j + 16] = x1 * d + m;
        }
        return 1;
    }
    case SYN_TYPE_Q2_K: {
        const uint8_t *sc = b, *q = b + 16;
        float d = h2f((uint16_t)(b[80] | b[81] << 8)), mn = h2f((uint16_t)(b[82] | b[83] << 8));
        float *y = out;
        int is = 0;
        for (int n = 0; n < 256; n += 128, q += 32)
            for (int shift = 0; shift < 8; shift += 2)
                for (int half = 0; half < 2; half++, is++)
                    for (int l = 0; l < 16; l++)
                        *y++ = d * (sc[is] & 15) * ((q[l + 16 * half] >> shift) & 3) - mn * (sc[is] >> 4);
        return 1;
    }
    case SYN_TYPE_Q3_K: {
        const uint8_t *hm = b, *q = b + 32, *s = b + 96;
        float d = h2f((uint16_t)(b[108] | b[109] << 8));
        /* llama.cpp's word-wise unpacking of the 12 scale bytes */
        uint32_t aux[4];
        memcpy(aux, s, 12);
        uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4);
        aux[3] = ((aux[1] >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4);
        aux[0] = (aux[0] & 0x0f0f0f0f) | (((tmp >> 0) & 0x03030303) << 4);
        aux[1] = (aux[1] & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4);
        int8_t scales[16];
        memcpy(scales, aux, 16);
        float *y = out;
        int is = 0;
        uint8_t m = 1;
        for (int n = 0; n < 256; n += 128, q += 32)
            for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                for (int half = 0; half < 2; half++, is++)
                    for (int l = 0; l < 16; l++)
                        *y++ = d * (scales[is] - 32) *
                               (((q[l + 16 * half] >> shift) & 3) - ((hm[l + 16 * half] & m) ? 0 : 4));
        return 1;
    }
    case SYN_TYPE_Q4_K:
    case SYN_TYPE_Q5_K: {
        int five = type == SYN_TYPE_Q5_K;
        float d = h2f((uint16_t)(b[0] | b[1] << 8)), dmin = h2f((uint16_t)(b[2] | b[3] << 8)), sc[8], mn[8];
        npref_scale_min_k4(b + 4, sc, mn);
        const uint8_t *qh = b + 16, *q = b + (five ? 48 : 16);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                int qq = q[32 * c + l];
                int lo = (qq & 15) + (five ? ((qh[l] >> (2 * c)) & 1) * 16 : 0);
                int hi = (qq >> 4) + (five ? ((qh[l] >> (2 * c + 1)) & 1) * 16 : 0);
                out[64 * c + l] = d * sc[2 * c] * lo - dmin * mn[2 * c];
                out[64 * c + 32 + l] = d * sc[2 * c + 1] * hi - dmin * mn[2 * c + 1];
            }
        return 1;
    }
    case SYN_TYPE_Q6_K: {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        float d = h2f((uint16_t)(b[208] | b[209] << 8));
        for (int h = 0; h < 2; h++) {
            const uint8_t *L = ql + 64 * h, *Hh = qh + 32 * h;
            const int8_t *S = sc + 8 * h;
            for (int l = 0; l < 32; l++) {
                int qq[4] = {((L[l] & 15) | ((Hh[l] & 3) << 4)) - 32, ((L[32 + l] & 15) | (((Hh[l] >> 2) & 3) << 4)) - 32,
                             ((L[l] >> 4) | (((Hh[l] >> 4) & 3) << 4)) - 32,
                             ((L[32 + l] >> 4) | (((Hh[l] >> 6) & 3) << 4)) - 32};
                for (int k = 0; k < 4; k++)
                    out[128 * h + 32 * k + l] = d * S[2 * k + l / 16] * qq[k];
            }
        }
        return 1;
    }
    default:
        return 0;
    }
}

/* ---- per-type checks ---- */

static const int weight_types[] = {SYN_TYPE_F32,  SYN_TYPE_F16,  SYN_TYPE_BF16, SYN_TYPE_Q4_0, SYN_TYPE_Q4_1,
                                   SYN_TYPE_Q5_0, SYN_TYPE_Q5_1, SYN_TYPE_Q8_0, SYN_TYPE_Q8_1, SYN_TYPE_Q2_K,
                                   SYN_TYPE_Q3_K, SYN_TYPE_Q4_K, SYN_TYPE_Q5_K, SYN_TYPE_Q6_K, SYN_TYPE_Q8_K};
#define N_WEIGHT_TYPES (int)(sizeof weight_types / sizeof weight_types[0])

static const int act_types[] = {SYN_TYPE_F32, SYN_TYPE_F16, SYN_TYPE_BF16, SYN_TYPE_Q8_0, SYN_TYPE_Q8_1, SYN_TYPE_Q8_K};

/* sizes in blocks (elements for block size 1) */
static const int64_t sizes_blocks[] = {1, 2, 3, 7, 16, 37, 64};
static const int64_t sizes_elems[] = {1, 7, 8, 15, 16, 31, 33, 100, 257, 1000, 4099};

static int n_sizes(int bs) { return bs == 1 ? (int)(sizeof sizes_elems / sizeof sizes_elems[0]) : 7; }
static int64_t size_at(int bs, int i) { return bs == 1 ? sizes_elems[i] : sizes_blocks[i] * bs; }

/* Q4_1/Q5_1 use the activation's stored s = f16(d * sum(q)) rather than
 * f16(d) * sum(q) (llama.cpp's choice): the difference an exact dot of the
 * dequantised rows does not see. */
static double offset_correction(int type, const uint8_t *w, const void *a, int64_t n)
{
    if (type != SYN_TYPE_Q4_1 && type != SYN_TYPE_Q5_1)
        return 0;
    const syn_block_q8_1 *y = a;
    size_t bb = syn_type_block_bytes(type);
    double c = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++)
            s += y[i].qs[j];
        double m = h2f((uint16_t)(w[i * bb + 2] | w[i * bb + 3] << 8));
        c += m * (h2f(y[i].s) - (double)h2f(y[i].d) * s);
    }
    return c;
}

static void test_type(const syn_kernel_set *ref, const syn_kernel_set *avx, int type)
{
    const syn_type_kernels *tk = &ref->type[type];
    const char *name = syn_type_name(type);
    CHECK_MSG(tk->dequant && tk->vec_dot && tk->act_type >= 0, "%s unsupported in ref", name);
    if (!tk->dequant || !tk->vec_dot || tk->act_type < 0)
        return;
    int act = tk->act_type, bs = syn_type_block_size(type);
    CHECK_MSG(ref->type[act].quant != NULL, "%s: no quantiser for %s", name, syn_type_name(act));
    if (avx) {
        CHECK_MSG(avx->type[type].act_type == act && avx->type[type].vec_dot && avx->type[type].dequant,
                  "%s: avx2 entry differs", name);
    }
    for (int si = 0; si < n_sizes(bs); si++) {
        int64_t n = size_at(bs, si);
        size_t wbytes = syn_type_row_bytes(type, n), abytes = syn_type_row_bytes(act, n);
        CHECK(wbytes > 0 && abytes > 0);
        uint8_t *w = xmalloc(wbytes);
        uint8_t *arows = xmalloc(abytes * SYN_DOT_ROWS_MAX);
        float *x = xmalloc((size_t)n * sizeof(float)), *dw = xmalloc((size_t)n * sizeof(float));
        float *da = xmalloc((size_t)n * sizeof(float)), *ind = xmalloc(256 * sizeof(float));
        fill_weights(type, w, n);

        /* (a) dequant against the independent formulation */
        tk->dequant(w, dw, n);
        int64_t nb = n / bs;
        size_t bb = syn_type_block_bytes(type);
        int bad = 0;
        for (int64_t i = 0; bs > 1 && i < nb; i++) {
            if (!indep_block(type, w + i * bb, ind))
                break;
            for (int j = 0; j < bs; j++)
                bad += fabsf(ind[j] - dw[i * bs + j]) > 1e-6f * fabsf(ind[j]) + 1e-9f;
        }
        CHECK_MSG(bad == 0, "%s n=%lld: %d dequantised values differ from the independent formula", name,
                  (long long)n, bad);
        if (avx) {
            float *dv = xmalloc((size_t)n * sizeof(float));
            avx->type[type].dequant(w, dv, n);
            CHECK_MSG(memcmp(dv, dw, (size_t)n * sizeof(float)) == 0, "%s n=%lld: avx2 dequant differs", name,
                      (long long)n);
            free(dv);
        }

        for (int r = 0; r < SYN_DOT_ROWS_MAX; r++) {
            fill_x(x, n);
            ref->type[act].quant(x, arows + r * abytes, n);
        }

        /* (b) ref vec_dot against the exact dot of the dequantised rows */
        float got_ref[SYN_DOT_ROWS_MAX];
        double mags[SYN_DOT_ROWS_MAX];
        for (int r = 0; r < SYN_DOT_ROWS_MAX; r++) {
            const uint8_t *a = arows + r * abytes;
            ref->type[act].dequant(a, da, n);
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) {
                want += (double)dw[i] * da[i];
                mag += fabs((double)dw[i] * da[i]);
            }
            want += offset_correction(type, w, a, n);
            tk->vec_dot(n, w, a, &got_ref[r]);
            mags[r] = mag;
            CHECK_MSG(fabs(got_ref[r] - want) <= 5e-7 * mag + 1e-7 * fabs(want) + 1e-12,
                      "%s n=%lld row %d: ref vec_dot %.9g, dequantised dot %.9g (sum |terms| %g)", name, (long long)n,
                      r, got_ref[r], want, mag);
        }

        /* multi-row: bit-identical to vec_dot, strided output */
        float outs[SYN_DOT_ROWS_MAX * 3];
        for (int nr = 1; nr <= SYN_DOT_ROWS_MAX; nr++) {
            for (int k = 0; k < SYN_DOT_ROWS_MAX * 3; k++)
                outs[k] = -1234.5f;
            ref->type[type].vec_dot_rows(n, w, arows, abytes, nr, outs, 3);
            for (int r = 0; r < SYN_DOT_ROWS_MAX; r++) {
                CHECK_MSG(r < nr ? f32_bits(outs[3 * r]) == f32_bits(got_ref[r]) : outs[3 * r] == -1234.5f,
                          "%s n=%lld: ref rows nr=%d row %d", name, (long long)n, nr, r);
                CHECK(outs[3 * r + 1] == -1234.5f && outs[3 * r + 2] == -1234.5f);
            }
        }

        if (avx) {
            /* (c) an x86 set's vec_dot against ref */
            float got_avx[SYN_DOT_ROWS_MAX];
            for (int r = 0; r < SYN_DOT_ROWS_MAX; r++) {
                avx->type[type].vec_dot(n, w, arows + r * abytes, &got_avx[r]);
                CHECK_MSG(fabs(got_avx[r] - got_ref[r]) <= 4e-6 * fabs(got_ref[r]) + 4e-7 * mags[r] + 1e-12,
                          "%s n=%lld row %d: %s vec_dot %.9g vs ref %.9g (sum |terms| %g)", name, (long long)n, r,
                          avx->isa, got_avx[r], got_ref[r], mags[r]);
            }
            for (int nr = 1; nr <= SYN_DOT_ROWS_MAX; nr++) {
                for (int k = 0; k < SYN_DOT_ROWS_MAX * 3; k++)
                    outs[k] = -1234.5f;
                avx->type[type].vec_dot_rows(n, w, arows, abytes, nr, outs, 3);
                for (int r = 0; r < SYN_DOT_ROWS_MAX; r++) {
                    CHECK_MSG(r < nr ? f32_bits(outs[3 * r]) == f32_bits(got_avx[r]) : outs[3 * r] == -1234.5f,
                              "%s n=%lld: %s rows nr=%d row %d: %.9g vs vec_dot %.9g", name, (long long)n, avx->isa,
                              nr, r, outs[3 * r], got_avx[r]);
                    CHECK(outs[3 * r + 1] == -1234.5f && outs[3 * r + 2] == -1234.5f);
                }
            }
        }
        free(w);
        free(arows);
        free(x);
        free(dw);
        free(da);
        free(ind);
    }
}

/* ---- (d) activation quantisers bit for bit ---- */

static void test_quantisers(const syn_kernel_set *ref, const syn_kernel_set *avx)
{
    for (size_t t = 0; t < sizeof act_types / sizeof act_types[0]; t++) {
        int act = act_types[t], bs = syn_type_block_size(act);
        CHECK_MSG(ref->type[act].quant && avx->type[act].quant, "%s: quantiser missing", syn_type_name(act));
        if (!ref->type[act].quant || !avx->type[act].quant)
            continue;
        for (int si = 0; si < n_sizes(bs); si++) {
            int64_t n = size_at(bs, si);
            size_t bytes = syn_type_row_bytes(act, n);
            float *x = xmalloc((size_t)n * sizeof(float));
            uint8_t *qa = xmalloc(bytes), *qb = xmalloc(bytes);
            for (int variant = 0; variant < 4; variant++) {
                fill_x(x, n);
                if (variant == 1) /* exact ties: amax 127 makes the scale 1 */
                    for (int64_t i = 0; i < n; i++)
                        x[i] = (i % 32 == 5) ? 127.0f : (float)((int64_t)(rnd_u64() % 200) - 100) / 2;
                if (variant == 2) /* equal magnitudes of both signs: the first decides */
                    for (int64_t i = 0; i < n; i++)
                        x[i] = (i % 7 == 3) ? ((i / 7) & 1 ? 2.5f : -2.5f) : x[i] * 0.1f;
                if (variant == 3) /* specials for the float formats, tiny values */
                    for (int64_t i = 0; i < n; i++)
                        x[i] = x[i] * 1e-6f;
                memset(qa, 0x55, bytes);
                memset(qb, 0xaa, bytes);
                ref->type[act].quant(x, qa, n);
                avx->type[act].quant(x, qb, n);
                CHECK_MSG(memcmp(qa, qb, bytes) == 0, "%s n=%lld variant %d: avx2 quantiser differs",
                          syn_type_name(act), (long long)n, variant);
            }
            free(x);
            free(qa);
            free(qb);
        }
    }
}

/* Q8_0 and Q8_K against npref.py's actq() rounding, written out */
static void test_actq_semantics(const syn_kernel_set *ref)
{
    float x[256];
    for (int i = 0; i < 256; i++)
        x[i] = rnd_normal();
    x[17] = -4.0f; /* largest magnitude, first: the Q8_K scale follows its sign */
    x[200] = 4.0f;
    syn_block_q8_0 q0[8];
    ref->type[SYN_TYPE_Q8_0].quant(x, q0, 256);
    for (int b = 0; b < 8; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[32 * b + j]));
        CHECK(q0[b].d == syn_f32_to_f16(amax / 127));
        for (int j = 0; j < 32; j++)
            CHECK(q0[b].qs[j] == (int8_t)nearbyintf(x[32 * b + j] * (127 / amax)));
    }
    syn_block_q8_k qk;
    ref->type[SYN_TYPE_Q8_K].quant(x, &qk, 256);
    CHECK(qk.qs[17] == -127 && qk.qs[200] == 127);
    CHECK(qk.d == 1 / (-127 / -4.0f));
    for (int g = 0; g < 16; g++) {
        int s = 0;
        for (int l = 0; l < 16; l++)
            s += qk.qs[16 * g + l];
        CHECK(qk.bsums[g] == s);
    }
    for (int j = 0; j < 256; j++)
        CHECK(qk.qs[j] == (int8_t)fminf(127, nearbyintf(x[j] * (-127 / -4.0f))));
}

/* ---- (f) float helpers ---- */


/* dot_narrow (LoRA B rows, as a column panel) for F32, F16 and BF16
 * weights: ref against the exact dot, every other set bit for bit against
 * ref (both are fmaf chains over k), and a row's results the same whatever
 * nr is, wherever it sits among the rows and whichever of the panel's rows
 * (j0, nw) a call takes; nothing is written past nw. */
static void test_narrow(const syn_kernel_set *ref, const syn_kernel_set *set)
{
    static const int types[] = {SYN_TYPE_F32, SYN_TYPE_F16, SYN_TYPE_BF16};
    static const int64_t ns[] = {1, 7, 16, 33, SYN_NARROW_MAX};
    enum { NR = 19, XS = SYN_NARROW_MAX + 5, NWMAX = SYN_NARROW_CALL * SYN_NARROW_MAX };
    float wf[NWMAX], x[NR * XS], pf[NWMAX];
    uint16_t wh[NWMAX], ph[NWMAX];
    float want[NR * SYN_NARROW_CALL], got[NR * SYN_NARROW_CALL + 8], one[SYN_NARROW_CALL + 8];
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
            int type = types[ti];
            int64_t n = ns[ni];
            /* wf: the weights as floats, exactly; wh: their 16-bit form */
            for (int i = 0; i < SYN_NARROW_CALL * n; i++) {
                float r = rnd_normal();
                if (type == SYN_TYPE_F16)
                    r = syn_f16_to_f32(wh[i] = syn_f32_to_f16(r));
                else if (type == SYN_TYPE_BF16)
                    r = syn_bf16_to_f32(wh[i] = syn_f32_to_bf16(r));
                wf[i] = r;
            }
            size_t esize = type == SYN_TYPE_F32 ? 4 : 2;
            /* the rows as the cpu backend keeps them: four full panels */
            CHECK(syn_narrow_bytes(esize, n, SYN_NARROW_CALL) == esize * (size_t)(SYN_NARROW_CALL * n));
            if (type == SYN_TYPE_F32)
                syn_narrow_pack(4, n, SYN_NARROW_CALL, wf, (size_t)n * 4, pf);
            else
                syn_narrow_pack(2, n, SYN_NARROW_CALL, wh, (size_t)n * 2, ph);
            const void *w = type == SYN_TYPE_F32 ? (const void *)pf : (const void *)ph;
            for (int i = 0; i < NR * XS; i++)
                x[i] = rnd_normal();
            for (int j0 = 0; j0 < SYN_NARROW_ROWS; j0 += 5)
                for (int nw = 1; j0 + nw <= SYN_NARROW_CALL; nw += nw < 8 ? 7 : nw < 16 ? 1 : 13) {
                    const char *name = syn_type_name(type);
                    ref->type[type].dot_narrow(n, w, j0, nw, x, XS, NR, want);
                    int bad = 0;
                    for (int r = 0; r < NR; r++)
                        for (int j = 0; j < nw; j++) {
                            double e = 0, mag = 0;
                            for (int64_t k = 0; k < n; k++) {
                                e += (double)wf[(j0 + j) * n + k] * x[r * XS + k];
                                mag += fabs((double)wf[(j0 + j) * n + k] * x[r * XS + k]);
                            }
                            bad += !(fabs(want[r * nw + j] - e) <= 1e-6 * mag + 1e-30);
                        }
                    CHECK_MSG(bad == 0, "ref dot_narrow %s n=%lld j0=%d nw=%d: %d sums off", name, (long long)n, j0,
                              nw, bad);
                    for (int i = 0; i < NR * SYN_NARROW_CALL + 8; i++)
                        got[i] = -1234.5f;
                    set->type[type].dot_narrow(n, w, j0, nw, x, XS, NR, got);
                    CHECK_MSG(memcmp(got, want, sizeof(float) * (size_t)(NR * nw)) == 0 && got[NR * nw] == -1234.5f,
                              "%s dot_narrow %s n=%lld j0=%d nw=%d: not ref's, or written past", set->isa, name,
                              (long long)n, j0, nw);
                    for (int r = 0; r < NR; r += 5) {
                        for (int j = 0; j < SYN_NARROW_CALL + 8; j++)
                            one[j] = -1234.5f;
                        set->type[type].dot_narrow(n, w, j0, nw, x + r * XS, XS, 1, one);
                        CHECK_MSG(memcmp(one, want + r * nw, sizeof(float) * (size_t)nw) == 0 && one[nw] == -1234.5f,
                                  "%s dot_narrow %s n=%lld j0=%d nw=%d: row %d alone differs", set->isa, name,
                                  (long long)n, j0, nw, r);
                    }
                }
        }
    /* padding: 3 rows of 5 fill one panel, the other 13 rows zeros */
    float three[15], packed[SYN_NARROW_ROWS * 5];
    for (int i = 0; i < 15; i++)
        three[i] = (float)(i + 1);
    syn_narrow_pack(4, 5, 3, three, 5 * 4, packed);
    int ok = 1;
    for (int k = 0; k < 5; k++)
        for (int j = 0; j < SYN_NARROW_ROWS; j++)
            ok &= packed[k * SYN_NARROW_ROWS + j] == (j < 3 ? three[j * 5 + k] : 0.0f);
    CHECK_MSG(ok, "syn_narrow_pack: element k of row j is not at k * %d + j, or the padding is not zero",
              SYN_NARROW_ROWS);
}

static void test_float_helpers(const syn_kernel_set *ref, const syn_kernel_set *avx)
{
    for (int si = 0; si < (int)(sizeof sizes_elems / sizeof sizes_elems[0]); si++) {
        int64_t n = sizes_elems[si];
        float *x = xmalloc((size_t)n * 4), *w = xmalloc((size_t)n * 4), *o1 = xmalloc((size_t)n * 4),
              *o2 = xmalloc((size_t)n * 4);
        uint16_t *h = xmalloc((size_t)n * 2), *h2 = xmalloc((size_t)n * 2);
        fill_x(x, n);
        for (int64_t i = 0; i < n; i++) {
            w[i] = 1 + rnd_normal() * 0.2f;
            h[i] = syn_f32_to_f16(rnd_normal());
        }

        int bad = 0;
        /* f32 -> f16 bit for bit, over raw bit patterns too (NaN, inf,
         * subnormals) */
        for (int64_t i = 0; i < n; i++)
            if (i % 3 == 0)
                memcpy(&o1[i], &(uint32_t){(uint32_t)rnd_u64()}, 4);
            else
                o1[i] = x[i] * (float)ldexp(1, (int)(rnd_u64() % 60) - 40);
        ref->f32_to_f16(o1, h, n);
        avx->f32_to_f16(o1, h2, n);
        CHECK_MSG(memcmp(h, h2, (size_t)n * 2) == 0, "f32_to_f16 n=%lld differs", (long long)n);

        ref->rms_norm(n, x, w, 1e-6f, o1);
        avx->rms_norm(n, x, w, 1e-6f, o2);
        bad = 0;
        for (int64_t i = 0; i < n; i++)
            bad += fabsf(o1[i] - o2[i]) > 1e-6f * fabsf(o1[i]) + 1e-30f;
        CHECK_MSG(bad == 0, "rms_norm n=%lld: %d values off", (long long)n, bad);

        for (int64_t i = 0; i < n; i++) {
            o1[i] = rnd_normal() * 6;
            if (i % 97 == 1)
                o1[i] = (i & 2) ? 120.0f : -120.0f; /* where e^-g saturates */
        }
        ref->swiglu(n, o1, x, o2);
        float *o3 = xmalloc((size_t)n * 4);
        avx->swiglu(n, o1, x, o3);
        bad = 0;
        for (int64_t i = 0; i < n; i++)
            bad += fabsf(o2[i] - o3[i]) > 1e-6f * fabsf(o2[i]) + 1e-30f;
        CHECK_MSG(bad == 0, "swiglu n=%lld: %d values off", (long long)n, bad);

        /* softmax numerators: scores below a max, some far below (e^x -> 0) */
        for (int64_t i = 0; i < n; i++) {
            o1[i] = rnd_normal() * 8 - 10;
            if (i % 89 == 3)
                o1[i] = -200.0f;
            o2[i] = o3[i] = o1[i];
        }
        float s_ref = ref->exp_sum(n, o2, 2.0f), s_avx = avx->exp_sum(n, o3, 2.0f);
        bad = 0;
        for (int64_t i = 0; i < n; i++)
            /* exp_ps's range reduction loses a little as |x| grows: ~4e-6
             * relative at x = -34, where a softmax weight is ~1e-15 */
            if (fabsf(o2[i] - o3[i]) > 1e-5f * fabsf(o2[i]) + 1e-37f && bad++ == 0)
                fprintf(stderr, "exp_sum: x=%g: %g vs %g\n", o1[i] - 2.0f, o2[i], o3[i]);
        CHECK_MSG(bad == 0, "exp_sum n=%lld: %d values off", (long long)n, bad);
        CHECK_MSG(fabsf(s_ref - s_avx) <= 1e-5f * s_ref, "exp_sum n=%lld: sum %g vs %g", (long long)n, s_ref, s_avx);
        free(o3);
        free(x);
        free(w);
        free(o1);
        free(o2);
        free(h);
        free(h2);
    }
}

static void test_ref_float_helpers(const syn_kernel_set *ref)
{
    float x[4] = {1, -2, 3, 0.5f}, w[4] = {1, 2, 0.5f, -1}, out[4], up[4] = {2, 2, 2, 2};
    ref->rms_norm(4, x, w, 0, out);
    double rms = sqrt((1 + 4 + 9 + 0.25) / 4);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(out[i], x[i] / rms * w[i], 1e-6);
    ref->swiglu(4, x, up, out);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(out[i], x[i] / (1 + exp(-x[i])) * 2, 1e-6);
    /* attention by hand: scores (ln 3, 0) -> weights (3/4, 1/4) */
    float kv[8] = {1, 0, 7, 7, 0, 1, 7, 7}, vv[8] = {1, 2, 7, 7, 3, 4, 7, 7}, q[2] = {logf(3), 0}, o[2];
    uint16_t kh[8], vh[8];
    float work[SYN_ATTEND_WORK(2, 1, 2)];
    ref->f32_to_f16(kv, kh, 8);
    ref->f32_to_f16(vv, vh, 8);
    static const int32_t one_page[1] = {0};
    syn_kv_view kvv = {.k = kh, .v = vh, .pages = one_page, .row_stride = 4, .page_len = 2};
    ref->attend_f16(2, 2, &kvv, q, 1, 1.0f, o, work);
    CHECK_NEAR(o[0], 1.5, 1e-6);
    CHECK_NEAR(o[1], 2.5, 1e-6);
}

/* ---- (e) the vnni and avx512 sets: integer dots bit-identical to avx2's ---- */

#define ROWS_MAX (SYN_PANEL_ROWS > SYN_DOT_ROWS_MAX ? SYN_PANEL_ROWS : SYN_DOT_ROWS_MAX)

/* prefill panels of 1..SYN_PANEL_ROWS rows: each row's result bit-identical
 * to avx2's vec_dot, nothing written past the panel's rows */
static void check_panels(const syn_kernel_set *avx, const syn_kernel_set *vnni, int type, int64_t n, const void *w,
                         const uint8_t *arows, size_t abytes)
{
    int act = avx->type[type].act_type;
    void *panel = xmalloc(syn_panel_bytes(act, n));
    for (int nr = 1; nr <= SYN_PANEL_ROWS; nr++) {
        float p[SYN_PANEL_ROWS + 1];
        for (int r = 0; r <= SYN_PANEL_ROWS; r++)
            p[r] = -1;
        vnni->type[act].pack_panel(n, arows, abytes, nr, panel);
        vnni->type[type].dot_panel(n, w, panel, nr, p, 1);
        for (int r = 0; r <= SYN_PANEL_ROWS; r++) {
            float a = -1;
            if (r < nr)
                avx->type[type].vec_dot(n, w, arows + r * abytes, &a);
            CHECK_MSG(f32_bits(a) == f32_bits(p[r]), "%s n=%lld nr=%d row %d: %s panel %.9g vs avx2 %.9g",
                      syn_type_name(type), (long long)n, nr, r, vnni->isa, p[r], a);
        }
    }
    free(panel);
}

/* two weight rows per call: w and a second row wstride bytes on (not
 * adjacent, so the stride is honoured); out[r * 3 + j] bit-identical to
 * avx2's vec_dot on weight row j, nothing written past them */
static void check_panels2(const syn_kernel_set *avx, const syn_kernel_set *vnni, int type, int64_t n, const void *w,
                          const uint8_t *arows, size_t abytes)
{
    int act = avx->type[type].act_type;
    size_t wbytes = syn_type_row_bytes(type, n), wstride = wbytes + 64;
    uint8_t *w2 = xmalloc(2 * wstride);
    memcpy(w2, w, wbytes);
    fill_weights(type, w2 + wstride, n);
    void *panel = xmalloc(syn_panel_bytes(act, n));
    for (int nr = 1; nr <= SYN_PANEL_ROWS; nr++) {
        float p[3 * SYN_PANEL_ROWS + 3];
        for (int i = 0; i < 3 * SYN_PANEL_ROWS + 3; i++)
            p[i] = -1;
        vnni->type[act].pack_panel(n, arows, abytes, nr, panel);
        vnni->type[type].dot_panel2(n, w2, wstride, panel, nr, p, 3);
        for (int r = 0; r <= SYN_PANEL_ROWS; r++)
            for (int j = 0; j < 3; j++) {
                float a = -1;
                if (r < nr && j < 2)
                    avx->type[type].vec_dot(n, w2 + j * wstride, arows + r * abytes, &a);
                CHECK_MSG(f32_bits(a) == f32_bits(p[r * 3 + j]),
                          "%s n=%lld nr=%d row %d weight row %d: %s panel2 %.9g vs avx2 %.9g", syn_type_name(type),
                          (long long)n, nr, r, j, vnni->isa, p[r * 3 + j], a);
            }
    }
    free(panel);
    free(w2);
}

static void test_int_matches_avx2(const syn_kernel_set *ref, const syn_kernel_set *avx, const syn_kernel_set *vnni)
{
    /* the VNNI sets prefill the symmetric legacy types and Q4_K/Q5_K on
     * panels */
    const syn_type_kernels *vk = vnni->type, *ak = avx->type;
    CHECK(vk[SYN_TYPE_Q8_0].pack_panel && vk[SYN_TYPE_Q8_K].pack_panel && vk[SYN_TYPE_Q4_0].dot_panel &&
          vk[SYN_TYPE_Q5_0].dot_panel && vk[SYN_TYPE_Q8_0].dot_panel && vk[SYN_TYPE_Q4_K].dot_panel &&
          vk[SYN_TYPE_Q5_K].dot_panel && !vk[SYN_TYPE_Q4_1].dot_panel && !ak[SYN_TYPE_Q8_0].dot_panel &&
          !ak[SYN_TYPE_Q8_0].pack_panel);
    /* and the avx512 one the legacy types two weight rows at a time */
    CHECK(strcmp(vnni->isa, "avx512") ||
          (vk[SYN_TYPE_Q4_0].dot_panel2 && vk[SYN_TYPE_Q5_0].dot_panel2 && vk[SYN_TYPE_Q8_0].dot_panel2));
    /* and decodes them on one-row panels, which the check_panels below
     * hold to vec_dot's results at nr = 1 */
    CHECK(strcmp(vnni->isa, "avx512") ||
          (vk[SYN_TYPE_Q4_0].panel_decode && vk[SYN_TYPE_Q5_0].panel_decode && vk[SYN_TYPE_Q8_0].panel_decode));
    for (int type = 0; type < SYN_TYPE_COUNT; type++)
        CHECK_MSG(!vnni->type[type].panel_decode ||
                      (vnni->type[type].dot_panel && vnni->type[ref->type[type].act_type].pack_panel),
                  "%s: %s decodes on panels it does not have", vnni->isa, syn_type_name(type));
    static const int integer[] = {SYN_TYPE_Q4_0, SYN_TYPE_Q4_1, SYN_TYPE_Q5_0, SYN_TYPE_Q5_1, SYN_TYPE_Q8_0,
                                  SYN_TYPE_Q2_K, SYN_TYPE_Q3_K, SYN_TYPE_Q4_K, SYN_TYPE_Q5_K, SYN_TYPE_Q6_K};
    for (size_t t = 0; t < sizeof integer / sizeof integer[0]; t++) {
        int type = integer[t], act = ref->type[type].act_type, block = syn_type_block_size(type);
        for (int si = 0; si < n_sizes(block); si++) {
            int64_t n = size_at(block, si);
            size_t wbytes = syn_type_row_bytes(type, n), abytes = syn_type_row_bytes(act, n);
            uint8_t *w = xmalloc(wbytes), *arows = xmalloc(abytes * ROWS_MAX);
            float *x = xmalloc((size_t)n * sizeof(float));
            fill_weights(type, w, n);
            for (int r = 0; r < ROWS_MAX; r++) {
                fill_x(x, n);
                ref->type[act].quant(x, arows + r * abytes, n);
            }
            for (int nr = 1; nr <= SYN_DOT_ROWS_MAX; nr++) {
                float a[SYN_DOT_ROWS_MAX], v[SYN_DOT_ROWS_MAX];
                avx->type[type].vec_dot_rows(n, w, arows, abytes, nr, a, 1);
                vnni->type[type].vec_dot_rows(n, w, arows, abytes, nr, v, 1);
                for (int r = 0; r < nr; r++)
                    CHECK_MSG(f32_bits(a[r]) == f32_bits(v[r]), "%s n=%lld nr=%d row %d: %s %.9g vs avx2 %.9g",
                              syn_type_name(type), (long long)n, nr, r, vnni->isa, v[r], a[r]);
            }
            float a1, v1;
            avx->type[type].vec_dot(n, w, arows, &a1);
            vnni->type[type].vec_dot(n, w, arows, &v1);
            CHECK_MSG(f32_bits(a1) == f32_bits(v1), "%s n=%lld single: %s %.9g vs avx2 %.9g", syn_type_name(type),
                      (long long)n, vnni->isa, v1, a1);
            if (vnni->type[type].dot_panel)
                check_panels(avx, vnni, type, n, w, arows, abytes);
            if (vnni->type[type].dot_panel2)
                check_panels2(avx, vnni, type, n, w, arows, abytes);
            free(w);
            free(arows);
            free(x);
        }
    }
}

/* The AMX tiles against the exact dot of the bf16-rounded weights
 * (dequantised first; dw holds them) and activations (xb), which leaves
 * only the order of the float additions: three 16-row weight tiles,
 * activation rows from 1 to 260 (partial groups of 16, more than one pass
 * of 64 rows and more than one block of 256), rows longer than the
 * kernel's chunk of dequantised weights, an output stride wider than the
 * tiles with nothing written past them. F16 weights and activations are
 * split into two bf16 parts each, so they are compared unrounded, with the
 * split's own error allowed for. */
static float tile_rounded(int type, float v)
{
    return type == SYN_TYPE_F16 ? v : syn_bf16_to_f32(syn_f32_to_bf16(v));
}

static void check_amx_type(const syn_kernel_set *ref, const syn_kernel_set *amx, int type)
{
    static const int64_t blocks[] = {1, 3, 28, 153, 300};
    static const int ms[] = {1, 7, 16, 17, 33, 64, 100, 260};
    enum { NW = 48, OS = NW + 3, M_MAX = 260 };
    int bs = syn_type_block_size(type);
    for (size_t bi = 0; bi < sizeof blocks / sizeof blocks[0]; bi++) {
        int64_t n = blocks[bi] * 32 / bs * bs; /* that many 32-element blocks, in whole type blocks */
        if (n < bs)
            n = bs;
        size_t wbytes = syn_type_row_bytes(type, n);
        uint8_t *w = xmalloc(wbytes * NW);
        float *x = xmalloc(sizeof(float) * (size_t)n * M_MAX), *dw = xmalloc(sizeof(float) * (size_t)n * NW);
        void *tiles = xmalloc(syn_tiles_bytes(type, n, M_MAX));
        float *out = xmalloc(sizeof(float) * M_MAX * OS);
        float *xb = xmalloc(sizeof(float) * (size_t)n * M_MAX); /* x rounded to bf16 */
        for (int j = 0; j < NW; j++) {
            fill_weights(type, w + j * wbytes, n);
            ref->type[type].dequant(w + j * wbytes, dw + (size_t)j * n, n);
            for (int64_t i = 0; i < n; i++)
                dw[(size_t)j * n + i] = tile_rounded(type, dw[(size_t)j * n + i]);
        }
        for (int r = 0; r < M_MAX; r++) {
            fill_x(x + (size_t)r * n, n);
            for (int64_t i = 0; i < n; i++)
                xb[(size_t)r * n + i] = tile_rounded(type, x[(size_t)r * n + i]);
        }
        for (size_t mi = 0; mi < sizeof ms / sizeof ms[0]; mi++) {
            int m = ms[mi], bad = 0;
            if (m > 100 && n > 1024) /* more than one block of 256 rows: short rows do */
                continue;
            for (int i = 0; i < M_MAX * OS; i++)
                out[i] = -1;
            amx->type[type].pack_tiles(n, x, (size_t)n, m, tiles);
            amx->type[type].gemm(n, w, wbytes, NW, tiles, m, out, OS);
            for (int r = 0; r < M_MAX; r++)
                for (int j = 0; j < OS; j++) {
                    float got = out[r * OS + j];
                    if (r >= m || j >= NW) {
                        bad += got != -1;
                        continue;
                    }
                    /* the kernel dequantises with other roundings than
                     * ref (an FMA, say), which can move a weight across a
                     * bf16 rounding boundary: one such step of the
                     * largest product is allowed for (F16 weights are
                     * not rounded: none) */
                    double want = 0, mag = 0, top = 0;
                    for (int64_t i = 0; i < n; i++) {
                        double p = (double)dw[(size_t)j * n + i] * xb[(size_t)r * n + i];
                        want += p;
                        mag += fabs(p);
                        top = fabs(p) > top ? fabs(p) : top;
                    }
                    /* F16: the split leaves the activations' second
                     * rounding (2^-17 of each) and the low parts' product
                     * (under 2^-16) */
                    double slack = type == SYN_TYPE_F16 ? 3e-5 * mag : top / 128;
                    bad += !(fabs(got - want) <= 2e-6 * mag + slack + 1e-12);
                }
            CHECK_MSG(bad == 0, "%s amx gemm n=%lld m=%d: %d results off or written past the tiles",
                      syn_type_name(type), (long long)n, m, bad);
        }
        free(w);
        free(x);
        free(xb);
        free(dw);
        free(tiles);
        free(out);
    }
}

/* The amx set: the avx512 set (the same kernels, already checked) plus
 * tiles for prefill; NULL when skipped. */
static const syn_kernel_set *check_amx_set(const syn_kernel_set *ref, const syn_kernel_set *avx512)
{
    const syn_kernel_set *amx = avx512 ? syn_kernels_amx() : NULL;
    if (!amx)
        return NULL;
    if (!syn_cpu_has_amx()) {
        printf("SKIP: amx part (the CPU or OS lacks it)\n");
        return NULL;
    }
    const syn_type_kernels *xk = amx->type;
    CHECK(strcmp(amx->isa, "amx") == 0 && xk[SYN_TYPE_F16].pack_tiles && xk[SYN_TYPE_Q8_0].gemm &&
          xk[SYN_TYPE_Q4_0].gemm && xk[SYN_TYPE_Q5_0].gemm && xk[SYN_TYPE_Q4_K].gemm && xk[SYN_TYPE_Q5_K].gemm &&
          xk[SYN_TYPE_Q6_K].gemm && xk[SYN_TYPE_F16].gemm && xk[SYN_TYPE_BF16].gemm);
    for (int type = 0; type < SYN_TYPE_COUNT; type++) {
        CHECK_MSG(amx->type[type].vec_dot == avx512->type[type].vec_dot, "amx: %s vec_dot is not avx512's",
                  syn_type_name(type));
        if (amx->type[type].gemm)
            check_amx_type(ref, amx, type);
    }
    return amx;
}

/* An integer rebuild of the avx2 set (NULL when this build has none):
 * checked against ref like avx2, then bit for bit against avx2. Returns it,
 * or NULL when skipped. */
static const syn_kernel_set *check_int_set(const syn_kernel_set *ref, const syn_kernel_set *avx,
                                           const syn_kernel_set *set, const char *isa, int cpu_ok)
{
    if (!set)
        return NULL;
    if (!cpu_ok) {
        printf("SKIP: %s part (the CPU lacks it)\n", isa);
        return NULL;
    }
    CHECK(strcmp(set->isa, isa) == 0);
    for (int t = 0; t < N_WEIGHT_TYPES; t++)
        test_type(ref, set, weight_types[t]);
    test_int_matches_avx2(ref, avx, set);
    return set;
}

/* One set's per-type entries hang together (each type's kernels sit in one
 * struct, so this is where a table entry missing one of them would show): a
 * type with a dot has its tiled form and an activation format with a
 * quantiser; a panel dot has that format's pack, a two-row panel dot and a
 * decode panel have the one-row panel dot, and a gemm has its pack_tiles. */
static void test_table_shape(const syn_kernel_set *set)
{
    for (int t = 0; t < SYN_TYPE_COUNT; t++) {
        const syn_type_kernels *tk = &set->type[t];
        const char *name = syn_type_name(t);
        CHECK_MSG(!tk->vec_dot == !tk->vec_dot_rows && !tk->vec_dot == (tk->act_type < 0),
                  "%s %s: vec_dot, vec_dot_rows and act_type disagree", set->isa, name);
        if (tk->act_type < 0 || tk->act_type >= SYN_TYPE_COUNT)
            continue;
        const syn_type_kernels *ak = &set->type[tk->act_type];
        CHECK_MSG(ak->quant, "%s %s: no quantiser for %s", set->isa, name, syn_type_name(tk->act_type));
        CHECK_MSG(!tk->dot_panel || ak->pack_panel, "%s %s: dot_panel without its pack", set->isa, name);
        CHECK_MSG(!tk->dot_panel2 || tk->dot_panel, "%s %s: dot_panel2 without dot_panel", set->isa, name);
        CHECK_MSG(!tk->panel_decode || tk->dot_panel, "%s %s: panel_decode without dot_panel", set->isa, name);
        CHECK_MSG(!tk->gemm || tk->pack_tiles, "%s %s: gemm without pack_tiles", set->isa, name);
    }
}

/* The rows of a contiguous cache (row_stride apart) scattered over pages
 * of page_len positions in reverse order, with a gap between pages. */
typedef struct paged_copy {
    uint16_t *k, *v;
    int32_t *pages;
    syn_kv_view view;
} paged_copy;

static void paged_copy_make(paged_copy *pc, const uint16_t *k, const uint16_t *v, int64_t stride, int32_t n_pos,
                            int32_t page_len)
{
    int32_t n_pages = (n_pos + page_len - 1) / page_len;
    int64_t page_stride = (int64_t)page_len * stride + 5;
    size_t elems = (size_t)(page_stride * n_pages);
    pc->k = xmalloc(sizeof(uint16_t) * elems);
    pc->v = xmalloc(sizeof(uint16_t) * elems);
    pc->pages = xmalloc(sizeof(int32_t) * (size_t)n_pages);
    for (int32_t lp = 0; lp < n_pages; lp++)
        pc->pages[lp] = n_pages - 1 - lp;
    pc->view = (syn_kv_view){.k = pc->k, .v = pc->v, .pages = pc->pages, .page_stride = page_stride,
                             .row_stride = stride, .page_len = page_len};
    for (int32_t p = 0; p < n_pos; p++) {
        memcpy((uint16_t *)syn_kv_row(&pc->view, pc->k, p), k + (size_t)p * stride, sizeof(uint16_t) * (size_t)stride);
        memcpy((uint16_t *)syn_kv_row(&pc->view, pc->v, p), v + (size_t)p * stride, sizeof(uint16_t) * (size_t)stride);
    }
}

static void paged_copy_free(paged_copy *pc)
{
    free(pc->k);
    free(pc->v);
    free(pc->pages);
}

/* attend_f16 against the double-precision oracle: head sizes with and
 * without a vector tail, contexts shorter and longer than one block, one
 * and several heads per group, a row stride wider than a head. Peaked
 * score distributions (large q) too, where the softmax is near one-hot.
 * The same rows spread over pages (of 16 positions, within a block, and of
 * 48, across blocks) give bit for bit what the contiguous cache gives. */
static void test_attend(const syn_kernel_set *ref, const syn_kernel_set *avx)
{
    static const int32_t hds[] = {8, 13, 64, 72, 128};
    static const int32_t npos[] = {1, 3, 8, 31, 32, 33, 100, 257};
    static const int32_t page_lens[] = {16, 48};
    static const int32_t one_page[1] = {0};
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
        for (size_t pi = 0; pi < sizeof npos / sizeof npos[0]; pi++)
            for (int nq = 1; nq <= 7; nq += 3) {
                int32_t hd = hds[hi], n_pos = npos[pi];
                int64_t stride = 2 * (int64_t)hd + 3;
                float q_scale = (pi % 2) ? 4.0f : 0.5f;
                uint16_t *k = xmalloc(sizeof(uint16_t) * (size_t)stride * n_pos),
                         *v = xmalloc(sizeof(uint16_t) * (size_t)stride * n_pos);
                float *q = xmalloc(sizeof(float) * (size_t)nq * hd), *o1 = xmalloc(sizeof(float) * (size_t)nq * hd),
                      *o2 = xmalloc(sizeof(float) * (size_t)nq * hd), *o3 = xmalloc(sizeof(float) * (size_t)nq * hd),
                      *work = xmalloc(sizeof(float) * SYN_ATTEND_WORK(hd, nq, n_pos));
                for (int64_t i = 0; i < stride * n_pos; i++) {
                    k[i] = syn_f32_to_f16(rnd_normal());
                    v[i] = syn_f32_to_f16(rnd_normal());
                }
                for (int64_t i = 0; i < (int64_t)nq * hd; i++)
                    q[i] = rnd_normal() * q_scale;
                float scale = 1.0f / sqrtf((float)hd);
                syn_kv_view flat = {.k = k, .v = v, .pages = one_page, .row_stride = stride, .page_len = n_pos};
                ref->attend_f16(hd, n_pos, &flat, q, nq, scale, o1, work);
                avx->attend_f16(hd, n_pos, &flat, q, nq, scale, o2, work);
                int bad = 0;
                /* outputs are convex combinations of V entries ~N(0,1) */
                for (int64_t i = 0; i < (int64_t)nq * hd; i++)
                    bad += !(fabsf(o1[i] - o2[i]) <= 2e-5f * (1 + fabsf(o1[i])));
                CHECK_MSG(bad == 0, "%s attend_f16 hd=%d n_pos=%d nq=%d: %d values off", avx->isa, hd, n_pos, nq,
                          bad);
                for (size_t li = 0; li < sizeof page_lens / sizeof page_lens[0]; li++) {
                    paged_copy pc;
                    paged_copy_make(&pc, k, v, stride, n_pos, page_lens[li]);
                    const syn_kernel_set *sets[2] = {ref, avx};
                    const float *want[2] = {o1, o2};
                    for (int si = 0; si < 2; si++) {
                        sets[si]->attend_f16(hd, n_pos, &pc.view, q, nq, scale, o3, work);
                        CHECK_MSG(memcmp(o3, want[si], sizeof(float) * (size_t)nq * hd) == 0,
                                  "%s attend_f16 hd=%d n_pos=%d nq=%d: pages of %d change the result", sets[si]->isa,
                                  hd, n_pos, nq, page_lens[li]);
                    }
                    paged_copy_free(&pc);
                }
                free(k);
                free(v);
                free(q);
                free(o1);
                free(o2);
                free(o3);
                free(work);
            }
}

int main(void)
{
    const syn_kernel_set *ref = syn_kernels_ref();
    CHECK(ref && strcmp(ref->isa, "ref") == 0);
    const syn_kernel_set *avx = syn_kernels_avx2();
    if (avx && !syn_cpu_has_avx2()) {
        printf("SKIP: avx2 half (CPU lacks AVX2/FMA/F16C)\n");
        avx = NULL;
    }
    if (avx)
        CHECK(strcmp(avx->isa, "avx2") == 0);

    test_f16_conversions();
    test_bf16_conversions();
    test_ref_float_helpers(ref);
    test_actq_semantics(ref);
    CHECK(ref->type[SYN_TYPE_COUNT - 1].act_type == -1 && ref->type[4].vec_dot == NULL);
    for (int t = 0; t < N_WEIGHT_TYPES; t++)
        test_type(ref, avx, weight_types[t]);
    test_narrow(ref, ref);
    if (avx) {
        test_quantisers(ref, avx);
        test_float_helpers(ref, avx);
        test_attend(ref, avx);
        test_narrow(ref, avx);
    }
    const syn_kernel_set *vnni = check_int_set(ref, avx, avx ? syn_kernels_vnni() : NULL, "avx-vnni",
                                               syn_cpu_has_avx_vnni());
    const syn_kernel_set *avx512 = check_int_set(ref, avx, vnni ? syn_kernels_avx512() : NULL, "avx512",
                                                 syn_cpu_has_avx512_vnni());
    const syn_kernel_set *amx = check_amx_set(ref, avx512);
    const syn_kernel_set *sets[] = {ref, avx, vnni, avx512, amx};
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
        if (sets[s])
            test_table_shape(sets[s]);
    printf("kernels: ref%s%s%s%s checked\n", avx ? " and avx2" : "", vnni ? " and avx-vnni" : "",
           avx512 ? " and avx512" : "", amx ? " and amx" : "");
    return CHECK_DONE();
}
