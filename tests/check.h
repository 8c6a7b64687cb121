/* Minimal assertions for the C unit tests: a failed CHECK prints where and
 * why, and the test exits 1 at the end (99 = hard error, 77 = skipped). */
#ifndef SYN_TESTS_CHECK_H
#define SYN_TESTS_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                 \
            check_failures++;                                                                        \
        }                                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                         \
    do {                                                                                             \
        if (!(cond)) {                                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                            \
            fputc('\n', stderr);                                                                     \
            check_failures++;                                                                        \
        }                                                                                            \
    } while (0)

#define CHECK_NEAR(a, b, tol) CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%g vs %g", (double)(a), (double)(b))

/* Path of a file under ../shared/testdata (SYN_TESTDATA from make check). */
static inline const char *testdata(const char *rel)
{
    static char buf[4][1024];
    static int k;
    const char *root = getenv("SYN_TESTDATA");
    char *out = buf[k++ & 3];
    snprintf(out, sizeof buf[0], "%s/%s", root ? root : "../shared/testdata", rel);
    return out;
}

#define CHECK_DONE() (check_failures ? (fprintf(stderr, "%d check(s) failed\n", check_failures), 1) : 0)
#endif
