/* Seeds from the OS for samplers asked for a random one. */
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <synapse/sampler.h>

#include "core/sample/rng.h"

uint64_t syn_random_seed(void)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32;
        seed = syn_splitmix64(&x);
    }
    /* keep the sentinel out so the reported seed reproduces this run */
    return seed == SYN_SAMPLER_SEED_RANDOM ? seed - 1 : seed;
}
