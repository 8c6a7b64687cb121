/* The sampler's PRNG: xoshiro256** seeded by splitmix64, so a seed gives
 * the same draws everywhere. Inline: it runs once per sampled token. */
#ifndef SYN_CORE_SAMPLE_RNG_H
#define SYN_CORE_SAMPLE_RNG_H

#include <stdint.h>

static inline uint64_t syn_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t syn_rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t syn_xoshiro_next(uint64_t st[4])
{
    uint64_t result = syn_rotl64(st[1] * 5, 7) * 9;
    uint64_t t = st[1] << 17;
    st[2] ^= st[0];
    st[3] ^= st[1];
    st[1] ^= st[2];
    st[0] ^= st[3];
    st[2] ^= t;
    st[3] = syn_rotl64(st[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double syn_rng_uniform(uint64_t st[4]) { return (double)(syn_xoshiro_next(st) >> 11) * 0x1.0p-53; }

static inline void syn_rng_seed(uint64_t st[4], uint64_t seed)
{
    /* splitmix64 expansion never yields the all-zero state xoshiro must avoid
     * in practice, and decorrelates nearby seeds. */
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        st[i] = syn_splitmix64(&x);
}

/* A seed from the OS entropy pool (the clock and pid if that fails), never
 * SYN_SAMPLER_SEED_RANDOM. */
uint64_t syn_random_seed(void);

#endif
