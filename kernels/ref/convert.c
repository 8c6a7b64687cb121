/* Exact scalar f16/bf16 <-> f32 conversions (round to nearest even, NaN
 * kept quiet, subnormals handled). The oracle for every vector conversion;
 * pure functions, any thread. */
#include <string.h>

#include "kernels/kernels.h"

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float syn_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) /* inf, or NaN with its payload */
        return bits_to_f32(sign | 0x7f800000 | (man << 13));
    if (exp)
        return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
    if (!man)
        return bits_to_f32(sign);
    /* subnormal half: every one is a normal float once the leading 1 is
     * shifted up to the implicit position */
    uint32_t e = 113;
    while (!(man & 0x400)) {
        man <<= 1;
        e--;
    }
    return bits_to_f32(sign | (e << 23) | ((man & 0x3ff) << 13));
}

uint16_t syn_f32_to_f16(float f)
{
    uint32_t x = f32_to_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
    if (ax >= 0x477ff000) /* 65520 and up round (ties to even) to inf */
        return (uint16_t)(sign | 0x7c00);
    if (ax >= 0x38800000) { /* normal half */
        uint32_t t = ax + 0xfff + ((ax >> 13) & 1);
        return (uint16_t)(sign | ((t >> 13) - (112u << 10)));
    }
    /* subnormal half (or zero): value * 2^24 rounded to an integer */
    uint32_t e = ax >> 23;
    if (e < 102) /* below 2^-25, half the smallest subnormal: rounds to 0 */
        return sign;
    uint32_t m = (ax & 0x7fffff) | 0x800000;
    uint32_t shift = 126 - e;
    uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1)))
        r++;
    return (uint16_t)(sign | r);
}

float syn_bf16_to_f32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

uint16_t syn_f32_to_bf16(float f)
{
    uint32_t x = f32_to_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000) /* NaN: truncating could give inf */
        return (uint16_t)((x >> 16) | 0x40);
    return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}
