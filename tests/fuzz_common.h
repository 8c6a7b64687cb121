/* What the make-check mutation fuzzers (fuzz_gguf.c, fuzz_safetensors.c)
 * share: a byte walk ASan can see, the tally of how each parse ended, and a
 * fixed-seed generator so every run mutates the same way. */
#ifndef SYN_TESTS_FUZZ_COMMON_H
#define SYN_TESTS_FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <synapse/common.h>
#include "tests/check.h"

/* A hash of every byte of p[0..n), so each is read. */
static inline uint64_t touch(const void *p, uint64_t n)
{
    const uint8_t *b = p;
    uint64_t h = n;
    for (uint64_t i = 0; i < n; i++)
        h = h * 31 + b[i];
    return h;
}

/* Keeps the walks' reads from being optimised away. */
static volatile uint64_t fuzz_sink;

struct stats {
    long runs, opened, format, unsupported, other;
};

/* Counts a parse that failed with rc and err: a reader's failure is a
 * format or unsupported error whose message starts "<memory>: ". */
static inline void fuzz_count_failure(int rc, const syn_error *err, struct stats *st)
{
    CHECK_MSG(strncmp(err->msg, "<memory>: ", 10) == 0 && strlen(err->msg) > 12, "rc %d: '%s'", rc, err->msg);
    if (rc == SYN_ERR_FORMAT)
        st->format++;
    else if (rc == SYN_ERR_UNSUPPORTED)
        st->unsupported++;
    else {
        st->other++;
        fprintf(stderr, "unexpected code %d: %s\n", rc, err->msg);
    }
}

/* xorshift64*, fixed seed */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static inline size_t rng_below(size_t n) { return n ? (size_t)(rng() % n) : 0; }

#endif
