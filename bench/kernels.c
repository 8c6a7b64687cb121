/* Kernel throughput, one thread, for A/B work on the CPU kernels:
 *   bench/kernels [N [ROWS]]
 * For each integer weight type and each kernel set this build and CPU have,
 * times the decode shape (ROWS weight rows against one activation row with
 * vec_dot) and the prefill shape (the same rows against a panel of
 * SYN_PANEL_ROWS activation rows where the set has panels for the type,
 * else 4 rows with vec_dot_rows, as the CPU backend's matmul does) and
 * prints GMAC/s. Weights are random bytes (speed
 * does not depend on the values) sized to stay in L2 by default, so the
 * figure is the kernel's, not the memory's. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/cpu/cpu_features.h"
#include "kernels/kernels.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *random_bytes(size_t n, uint64_t *state)
{
    uint8_t *p = aligned_alloc(64, (n + 63) & ~(size_t)63);
    if (!p) {
        fprintf(stderr, "bench/kernels: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (uint8_t)(*state >> 56);
    }
    /* every f16 scale sits at an even offset (all block sizes are even):
     * clearing bit 14 of each 16-bit word keeps them finite */
    for (size_t i = 1; i < n; i += 2)
        p[i] &= 0xbf;
    return p;
}

#define ROWS_MAX (SYN_PANEL_ROWS > SYN_DOT_ROWS_MAX ? SYN_PANEL_ROWS : SYN_DOT_ROWS_MAX)

/* best of a few timed passes, in GMAC/s */
static double time_pass(const syn_kernel_set *k, int type, int64_t n, int rows, const void *w, const void *a,
                        size_t a_bytes, int nr, const void *panel)
{
    size_t w_bytes = syn_type_row_bytes(type, n);
    float out[2 * ROWS_MAX];
    /* two weight rows per call where the set can, as the backend does;
     * SYN_BENCH_NO_PANEL2=1 times one row per call for comparison */
    int two = panel && k->type[type].dot_panel2 && !getenv("SYN_BENCH_NO_PANEL2");
    double best = 0;
    for (int pass = 0; pass < 5; pass++) {
        int reps = 0;
        double t0 = now(), t;
        do {
            for (int o = 0; o < rows; o++) {
                const char *wr = (const char *)w + (size_t)o * w_bytes;
                if (nr == 1)
                    k->type[type].vec_dot(n, wr, a, out);
                else if (two && o + 1 < rows)
                    k->type[type].dot_panel2(n, wr, w_bytes, panel, nr, out, 2), o++;
                else if (k->type[type].dot_panel)
                    k->type[type].dot_panel(n, wr, panel, nr, out, 1);
                else
                    k->type[type].vec_dot_rows(n, wr, a, a_bytes, nr, out, 1);
            }
            reps++;
        } while ((t = now() - t0) < 0.05);
        double gmac = (double)reps * rows * nr * (double)n / t / 1e9;
        if (gmac > best)
            best = gmac;
    }
    return best;
}

int main(int argc, char **argv)
{
    int64_t n = argc > 1 ? atoll(argv[1]) : 1536;
    int rows = argc > 2 ? atoi(argv[2]) : 128;
    if (n <= 0 || n % 32 != 0 || rows <= 0) {
        fprintf(stderr, "usage: bench/kernels [N (a multiple of 32; K-quants need 256) [ROWS]]\n");
        return 2;
    }
    static const int types[] = {SYN_TYPE_Q4_0, SYN_TYPE_Q5_0, SYN_TYPE_Q8_0, SYN_TYPE_Q2_K, SYN_TYPE_Q3_K,
                                SYN_TYPE_Q4_K, SYN_TYPE_Q5_K, SYN_TYPE_Q6_K, SYN_TYPE_F16,  SYN_TYPE_BF16};
    const syn_kernel_set *sets[] = {syn_kernels_ref(), NULL, NULL, NULL};
    /* the CPU backend's own probes: a set is timed where the backend would use it */
    if (syn_cpu_has_avx2())
        sets[1] = syn_kernels_avx2();
    if (sets[1] && syn_cpu_has_avx_vnni())
        sets[2] = syn_kernels_vnni();
    if (sets[2] && syn_cpu_has_avx512_vnni())
        sets[3] = syn_kernels_avx512();
    const char *isa_env = getenv("SYN_BENCH_ISA"); /* e.g. "avx2": only that set */
    uint64_t seed = 42;
    printf("n=%lld rows=%d, GMAC/s on one thread: decode (1 activation row) / prefill (a panel or a 4-row tile)\n", (long long)n,
           rows);
    printf("%-6s", "type");
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
        if (sets[s] && (!isa_env || !strcmp(isa_env, sets[s]->isa)))
            printf(" %18s", sets[s]->isa);
    printf("\n");
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        int type = types[t], act = syn_kernels_ref()->type[type].act_type;
        if (n % syn_type_block_size(type) || n % syn_type_block_size(act))
            continue; /* e.g. the K-quants at n = 896 */
        size_t a_bytes = syn_type_row_bytes(act, n);
        void *w = random_bytes(syn_type_row_bytes(type, n) * (size_t)rows, &seed);
        float *x = malloc((size_t)n * sizeof(float));
        char *a = aligned_alloc(64, (a_bytes * ROWS_MAX + 63) & ~(size_t)63);
        for (int r = 0; r < ROWS_MAX; r++) {
            for (int64_t i = 0; i < n; i++)
                x[i] = (float)((i * 7 + r * 13) % 31) / 31.0f - 0.5f;
            syn_kernels_ref()->type[act].quant(x, a + (size_t)r * a_bytes, n);
        }
        printf("%-6s", syn_type_name(type));
        for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
            if (!sets[s] || (isa_env && strcmp(isa_env, sets[s]->isa)))
                continue;
            /* prefill runs as the CPU backend's matmul does: on panels
             * where the set has them */
            char *panel = NULL;
            if (sets[s]->type[type].dot_panel) {
                panel = malloc(syn_panel_bytes(act, n));
                sets[s]->type[act].pack_panel(n, a, a_bytes, SYN_PANEL_ROWS, panel);
            }
            printf("      %5.1f / %5.1f", time_pass(sets[s], type, n, rows, w, a, a_bytes, 1, NULL),
                   time_pass(sets[s], type, n, rows, w, a, a_bytes, panel ? SYN_PANEL_ROWS : SYN_DOT_ROWS_MAX, panel));
            free(panel);
        }
        printf("\n");
        free(w);
        free(x);
        free(a);
    }
    return 0;
}
