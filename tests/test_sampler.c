/* Sampler tests: greedy and ties, seeds, each filter against a brute-force
 * reference (excluded tokens never drawn, frequencies within a few standard
 * errors of the expected probabilities), penalties, logprobs. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synapse/sampler.h>
#include "tests/check.h"

/* test-local PRNG for making logits */
static uint64_t lcg_state = 12345;
static float frand(void)
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((lcg_state >> 40) * (1.0 / 16777216.0));
}

static syn_sampler_params plain(float temp, uint64_t seed)
{
    syn_sampler_params p = syn_sampler_params_default();
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}

static syn_sampler *make(const syn_sampler_params *p)
{
    syn_error err = {0};
    syn_sampler *s = syn_sampler_new(p, &err);
    CHECK_MSG(s != NULL, "%s", err.msg);
    if (!s)
        exit(1);
    return s;
}

/* Samples from a copy, since the sampler may overwrite the logits. */
static int32_t sample_copy(syn_sampler *s, const float *logits, int32_t n)
{
    static float copy[151936];
    if ((size_t)n > sizeof copy / sizeof copy[0])
        return -1000;
    memcpy(copy, logits, (size_t)n * sizeof *copy);
    return syn_sampler_sample(s, copy, n);
}

/* ---------------------------------------------------------- reference */

static const float *ref_logits;
static int ref_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (ref_logits[x] != ref_logits[y])
        return ref_logits[x] > ref_logits[y] ? -1 : 1;
    return x < y ? -1 : 1;
}

/* Expected distribution after top_k -> top_p -> min_p -> temperature, by full
 * sort, written into prob[n] (0 for excluded tokens). */
static void reference(const float *logits, int32_t n, const syn_sampler_params *p, double *prob)
{
    int32_t *order = malloc((size_t)n * sizeof *order);
    for (int32_t i = 0; i < n; i++)
        order[i] = i;
    ref_logits = logits;
    qsort(order, (size_t)n, sizeof *order, ref_cmp);
    size_t keep = (size_t)n;
    if (p->top_k > 0 && p->top_k < n)
        keep = (size_t)p->top_k;
    double mx = logits[order[0]];
    if (p->top_p < 1.0f) {
        double sum = 0, cum = 0;
        for (size_t j = 0; j < keep; j++)
            sum += exp(logits[order[j]] - mx);
        for (size_t j = 0; j < keep; j++) {
            cum += exp(logits[order[j]] - mx) / sum;
            if (cum >= p->top_p) {
                keep = j + 1;
                break;
            }
        }
    }
    if (p->min_p > 0.0f)
        while (keep > 1 && exp(logits[order[keep - 1]] - mx) < p->min_p)
            keep--;
    for (int32_t i = 0; i < n; i++)
        prob[i] = 0;
    double sum = 0;
    for (size_t j = 0; j < keep; j++)
        sum += prob[order[j]] = exp((logits[order[j]] - mx) / p->temperature);
    for (size_t j = 0; j < keep; j++)
        prob[order[j]] /= sum;
    free(order);
}

/* Draws `draws` tokens and checks them against the reference distribution:
 * nothing outside its support, every frequency within 5 standard errors (plus
 * a little slack), and the support fully reached when it is small. */
static void check_distribution(const char *what, const float *logits, int32_t n, const syn_sampler_params *p,
                               int draws)
{
    double *prob = malloc((size_t)n * sizeof *prob);
    int *hits = calloc((size_t)n, sizeof *hits);
    reference(logits, n, p, prob);
    syn_sampler *s = make(p);
    int outside = 0;
    for (int d = 0; d < draws; d++) {
        int32_t t = sample_copy(s, logits, n);
        CHECK(t >= 0 && t < n);
        if (t < 0 || t >= n)
            break;
        hits[t]++;
        if (prob[t] == 0)
            outside++;
    }
    CHECK_MSG(outside == 0, "%s: %d draws outside the allowed set", what, outside);
    int support = 0, bad = 0;
    for (int32_t i = 0; i < n; i++) {
        if (prob[i] > 0)
            support++;
        double expect = prob[i] * draws, sd = sqrt(draws * prob[i] * (1 - prob[i]));
        if (fabs(hits[i] - expect) > 5 * sd + 3) {
            if (bad++ < 5)
                fprintf(stderr, "%s: token %d drawn %d times, expected %.1f\n", what, (int)i, hits[i], expect);
        }
    }
    CHECK_MSG(bad == 0, "%s: %d tokens off their expected frequency", what, bad);
    if (support <= 16)
        for (int32_t i = 0; i < n; i++)
            if (prob[i] > 20.0 / draws)
                CHECK_MSG(hits[i] > 0, "%s: token %d never drawn", what, (int)i);
    syn_sampler_free(s);
    free(prob);
    free(hits);
}

/* -------------------------------------------------------------- tests */

static void test_greedy(void)
{
    float logits[] = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f};
    syn_sampler_params p = plain(0.0f, 1);
    syn_sampler *s = make(&p);
    CHECK(sample_copy(s, logits, 5) == 1); /* tie 1 vs 3: lower id */
    float all_neg_inf[3] = {-INFINITY, -INFINITY, -INFINITY};
    CHECK(syn_sampler_sample(s, all_neg_inf, 3) == 0);
    float with_nan[4] = {NAN, 1.0f, NAN, 3.0f};
    CHECK(syn_sampler_sample(s, with_nan, 4) == 3);
    CHECK(syn_sampler_sample(s, logits, 0) == SYN_ERR_INVALID);
    CHECK(syn_sampler_sample(s, NULL, 5) == SYN_ERR_INVALID);
    syn_sampler_free(s);

    /* filters cannot change greedy's answer; random logits, big vocab */
    enum { N = 5000 };
    static float big[N];
    for (int i = 0; i < N; i++)
        big[i] = frand() * 10;
    big[4321] = 11.0f;
    p = syn_sampler_params_default();
    p.temperature = 0;
    p.seed = 7;
    s = make(&p);
    CHECK(sample_copy(s, big, N) == 4321);
    syn_sampler_free(s);

    /* sampling: NaN never drawn, a +inf logit takes all the mass, and the
     * vector passes see odd lengths whole */
    p = plain(0.8f, 3);
    s = make(&p);
    float nan_rest[7] = {NAN, -INFINITY, 0.5f, NAN, -INFINITY, NAN, -INFINITY};
    for (int i = 0; i < 50; i++)
        CHECK(sample_copy(s, nan_rest, 7) == 2);
    float pos_inf[6] = {1.0f, INFINITY, 2.0f, INFINITY, 0.0f, 3.0f};
    CHECK(sample_copy(s, pos_inf, 6) == 1);
    syn_sampler_free(s);
}

static void test_top_k1_is_greedy(void)
{
    enum { N = 3000 };
    static float logits[N];
    syn_sampler_params p = plain(1.5f, 99);
    p.top_k = 1;
    syn_sampler *s = make(&p);
    for (int trial = 0; trial < 50; trial++) {
        int32_t best = 0;
        for (int i = 0; i < N; i++) {
            logits[i] = (float)(int)(frand() * 50); /* many ties */
            if (logits[i] > logits[best])
                best = i;
        }
        CHECK(sample_copy(s, logits, N) == best);
    }
    syn_sampler_free(s);
}

static void run_sequence(uint64_t seed, const syn_sampler_params *base, const float *logits, int32_t n,
                         int32_t *out, int len)
{
    syn_sampler_params p = *base;
    p.seed = seed;
    syn_sampler *s = make(&p);
    for (int i = 0; i < len; i++)
        out[i] = sample_copy(s, logits, n);
    /* reset replays the same sequence */
    syn_sampler_reset(s);
    for (int i = 0; i < len; i++)
        CHECK(sample_copy(s, logits, n) == out[i]);
    syn_sampler_free(s);
}

static void test_seeds(void)
{
    enum { N = 1000, LEN = 200 };
    static float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = frand() * 3;
    syn_sampler_params configs[3] = {plain(1.0f, 0), syn_sampler_params_default(), plain(0.7f, 0)};
    configs[1].min_p = 0.0f; /* keep enough candidates for sequences to differ */
    configs[2].top_p = 0.9f;
    for (int c = 0; c < 3; c++) {
        int32_t a[LEN], b[LEN], d[LEN];
        run_sequence(42, &configs[c], logits, N, a, LEN);
        run_sequence(42, &configs[c], logits, N, b, LEN);
        run_sequence(43, &configs[c], logits, N, d, LEN);
        CHECK_MSG(memcmp(a, b, sizeof a) == 0, "config %d: same seed gave different tokens", c);
        int same = 0;
        for (int i = 0; i < LEN; i++)
            same += a[i] == d[i];
        CHECK_MSG(same < LEN / 4, "config %d: seeds 42 and 43 agree on %d of %d draws", c, same, LEN);
    }

    syn_sampler_params p = plain(1.0f, SYN_SAMPLER_SEED_RANDOM);
    syn_sampler *s1 = make(&p), *s2 = make(&p);
    CHECK(syn_sampler_seed(s1) != SYN_SAMPLER_SEED_RANDOM);
    CHECK(syn_sampler_seed(s1) != syn_sampler_seed(s2));
    CHECK(syn_sampler_get_params(s1)->seed == syn_sampler_seed(s1));
    syn_sampler_free(s1);
    syn_sampler_free(s2);
}

static void test_low_temperature(void)
{
    enum { N = 500 };
    static float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = (float)((i * 37) % N) * 0.02f; /* distinct, gaps of 0.02 */
    int32_t best = 0;
    for (int i = 0; i < N; i++)
        if (logits[i] > logits[best])
            best = i;
    syn_sampler_params p = plain(1e-3f, 5);
    syn_sampler *s = make(&p);
    for (int d = 0; d < 1000; d++)
        CHECK(sample_copy(s, logits, N) == best);
    syn_sampler_free(s);

    /* temperature 1 on the same logits does spread */
    p = plain(1.0f, 5);
    s = make(&p);
    int not_best = 0;
    for (int d = 0; d < 200; d++)
        not_best += sample_copy(s, logits, N) != best;
    CHECK(not_best > 100);
    syn_sampler_free(s);
}

static void test_filters_small(void)
{
    /* probabilities 0.5, 0.3, 0.15, 0.05 in a scrambled order */
    float logits[6] = {logf(0.15f), logf(0.5f), -INFINITY, logf(0.05f), logf(0.3f), -INFINITY};
    syn_sampler_params p = plain(1.0f, 11);
    check_distribution("plain", logits, 6, &p, 20000);
    p.top_p = 0.75f; /* keeps 0.5 and 0.3 */
    check_distribution("top_p 0.75", logits, 6, &p, 20000);
    p.top_k = 5;
    check_distribution("top_k 5 + top_p 0.75", logits, 6, &p, 20000);
    p = plain(1.0f, 12);
    p.min_p = 0.25f; /* p >= 0.125: keeps 0.5, 0.3, 0.15 */
    check_distribution("min_p 0.25", logits, 6, &p, 20000);
    p.top_k = 5;
    check_distribution("top_k 5 + min_p", logits, 6, &p, 20000);
    p.top_k = 2;
    check_distribution("top_k 2 + min_p", logits, 6, &p, 20000);
    p = plain(2.0f, 13);
    p.top_k = 3;
    check_distribution("top_k 3 temp 2", logits, 6, &p, 20000);
    p.top_p = 0.0f; /* always keeps one */
    check_distribution("top_p 0", logits, 6, &p, 2000);
    p = plain(0.5f, 14);
    p.min_p = 1.0f; /* only the maximum survives */
    check_distribution("min_p 1", logits, 6, &p, 2000);
}

static void test_filters_medium(void)
{
    /* enough candidates for the mass quickselect to partition several times,
     * few enough for tight frequency checks */
    enum { N = 2000 };
    static float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = frand() * 4.0f;
    for (int i = 0; i < 60; i++)
        logits[(i * 131) % N] = 6.0f + frand() * 1.5f;
    syn_sampler_params p = plain(1.0f, 31);
    p.top_p = 0.6f;
    check_distribution("medium top_p 0.6", logits, N, &p, 20000);
    p.temperature = 0.7f;
    p.min_p = 0.3f;
    check_distribution("medium top_p + min_p temp 0.7", logits, N, &p, 20000);
    p = plain(1.3f, 32);
    p.top_k = 50;
    p.top_p = 0.7f;
    check_distribution("medium top_k + top_p temp 1.3", logits, N, &p, 20000);
    p.top_p = 1.0f;
    p.min_p = 0.5f;
    check_distribution("medium top_k + min_p", logits, N, &p, 20000);

    /* The token where the mass crosses top_p is the first partition's pivot
     * (median of candidates 0, 50 and 100 by position, i.e. by id). */
    enum { M = 101 };
    float v[M], pivot_case[M];
    for (int r = 0; r < M; r++)
        v[r] = 3.0f - 0.05f * (float)r; /* v[r]: the logit of rank r */
    int next_rank = 1;
    for (int id = 0; id < M; id++) {
        if (id == 0)
            pivot_case[id] = v[0];
        else if (id == 50)
            pivot_case[id] = v[10];
        else if (id == 100)
            pivot_case[id] = v[M - 1];
        else {
            if (next_rank == 10)
                next_rank++;
            pivot_case[id] = v[next_rank++];
        }
    }
    double total = 0, cum9 = 0;
    for (int r = 0; r < M; r++) {
        total += exp(v[r]);
        if (r < 10)
            cum9 += exp(v[r]);
    }
    p = plain(1.0f, 33);
    p.top_p = (float)((cum9 + 0.5 * exp(v[10])) / total);
    check_distribution("top_p crossing at the pivot", pivot_case, M, &p, 20000);
}

static void test_filters_vocab(void)
{
    /* Qwen-sized vocabulary: a peaked head and a long flat tail, so top_p
     * without top_k must sort deep (several rounds of partial selection). */
    enum { N = 151936 };
    float *logits = malloc(N * sizeof *logits);
    for (int i = 0; i < N; i++)
        logits[i] = frand() * 2.0f;
    for (int i = 0; i < 40; i++)
        logits[(i * 7919) % N] = 8.0f + frand() * 3.0f;

    syn_sampler_params p = plain(1.0f, 21);
    p.top_p = 0.9f;
    check_distribution("vocab top_p 0.9", logits, N, &p, 300);
    p.top_p = 0.5f;
    check_distribution("vocab top_p 0.5", logits, N, &p, 300);
    p = plain(0.8f, 22);
    p.min_p = 0.05f;
    check_distribution("vocab min_p", logits, N, &p, 500);
    p.top_p = 0.8f;
    check_distribution("vocab top_p + min_p", logits, N, &p, 500);
    p = syn_sampler_params_default();
    p.seed = 23;
    check_distribution("vocab defaults", logits, N, &p, 500);
    p.top_k = 100;
    p.min_p = 0;
    p.top_p = 1;
    check_distribution("vocab top_k 100", logits, N, &p, 500);

    /* flat logits: the nucleus is most of the vocabulary */
    for (int i = 0; i < N; i++)
        logits[i] = frand() * 0.5f;
    p = plain(1.0f, 24);
    p.top_p = 0.3f;
    double *prob = malloc(N * sizeof *prob);
    reference(logits, N, &p, prob);
    syn_sampler *s = make(&p);
    int outside = 0;
    for (int d = 0; d < 200; d++) {
        int32_t t = sample_copy(s, logits, N);
        outside += t < 0 || t >= N || prob[t] == 0;
    }
    CHECK_MSG(outside == 0, "flat top_p: %d draws outside the nucleus", outside);
    syn_sampler_free(s);

    /* speed, for the record (not a pass/fail criterion) */
    p = syn_sampler_params_default();
    p.seed = 1;
    s = make(&p);
    float *tmp = malloc(N * sizeof *tmp);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int d = 0; d < 50; d++) {
        memcpy(tmp, logits, N * sizeof *tmp);
        syn_sampler_sample(s, tmp, N);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / 50;
    fprintf(stderr, "default chain on %d logits: %.0f us per token\n", N, us);
    syn_sampler_free(s);
    free(tmp);
    free(prob);
    free(logits);
}

static void test_penalties(void)
{
    enum { N = 10 };
    const float base[N] = {1.0f, 2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 0.0f, 4.0f, 1.5f, -0.5f};
    float l[N];

    /* repeat penalty over prompt + generated, window of 4 */
    syn_sampler_params p = plain(0.0f, 1);
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 4;
    syn_sampler *s = make(&p);
    int32_t prompt[] = {0, 1, 2, 1};
    CHECK(syn_sampler_accept_prompt(s, prompt, 4) == 0);
    memcpy(l, base, sizeof l);
    syn_sampler_sample(s, l, N);
    CHECK_NEAR(l[0], 0.5, 1e-6); /* positive: divided */
    CHECK_NEAR(l[1], 1.0, 1e-6); /* twice in the window, penalised once */
    CHECK_NEAR(l[2], -2.0, 1e-6); /* negative: multiplied */
    CHECK_NEAR(l[3], 0.5, 1e-6);
    CHECK_NEAR(l[7], 4.0, 1e-6);
    CHECK(syn_sampler_accept(s, 7) == 0); /* window now 1 2 1 7: 0 left */
    memcpy(l, base, sizeof l);
    syn_sampler_sample(s, l, N);
    CHECK_NEAR(l[0], 1.0, 1e-6);
    CHECK_NEAR(l[7], 2.0, 1e-6);
    CHECK_NEAR(l[1], 1.0, 1e-6);
    /* a prompt longer than the window keeps only its tail */
    int32_t long_prompt[] = {3, 4, 5, 6, 8, 9};
    syn_sampler_reset(s);
    CHECK(syn_sampler_accept_prompt(s, long_prompt, 6) == 0);
    memcpy(l, base, sizeof l);
    syn_sampler_sample(s, l, N);
    CHECK_NEAR(l[3], 0.5, 1e-6);
    CHECK_NEAR(l[4], 3.0, 1e-6);
    CHECK_NEAR(l[5], -4.0, 1e-6);
    CHECK_NEAR(l[6], 0.0, 1e-6);
    CHECK_NEAR(l[8], 0.75, 1e-6);
    CHECK_NEAR(l[9], -1.0, 1e-6);
    /* tokens past the vocabulary and negative ids */
    CHECK(syn_sampler_accept(s, 1000) == 0);
    CHECK(syn_sampler_accept(s, -1) == SYN_ERR_INVALID);
    int32_t bad_prompt[] = {1, -3};
    CHECK(syn_sampler_accept_prompt(s, bad_prompt, 2) == SYN_ERR_INVALID);
    syn_sampler_free(s);

    /* presence/frequency over generated tokens only, not windowed */
    p = plain(0.0f, 1);
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    p.repeat_last_n = 2;
    s = make(&p);
    CHECK(syn_sampler_accept_prompt(s, prompt, 4) == 0);
    int32_t gen[] = {4, 4, 4, 7, 2, 9, 9};
    for (size_t i = 0; i < sizeof gen / sizeof gen[0]; i++)
        CHECK(syn_sampler_accept(s, gen[i]) == 0);
    memcpy(l, base, sizeof l);
    int32_t t = syn_sampler_sample(s, l, N);
    CHECK_NEAR(l[0], 1.0, 1e-6);                /* prompt only: untouched */
    CHECK_NEAR(l[1], 2.0, 1e-6);
    CHECK_NEAR(l[4], 3.0 - 0.5 - 0.75, 1e-6);   /* 3 times */
    CHECK_NEAR(l[7], 4.0 - 0.5 - 0.25, 1e-6);   /* once, outside any window */
    CHECK_NEAR(l[2], -1.0 - 0.5 - 0.25, 1e-6);
    CHECK_NEAR(l[9], -0.5 - 0.5 - 0.5, 1e-6);
    CHECK(t == 7); /* greedy over the penalised logits */
    syn_sampler_free(s);

    /* all three, whole history (-1), repeat before presence/frequency */
    p = plain(0.0f, 1);
    p.repeat_penalty = 1.5f;
    p.repeat_last_n = -1;
    p.presence_penalty = 1.0f;
    p.frequency_penalty = 0.5f;
    s = make(&p);
    CHECK(syn_sampler_accept_prompt(s, prompt, 4) == 0);
    for (int i = 0; i < 300; i++) /* many distinct tokens: the count table grows */
        CHECK(syn_sampler_accept(s, 10 + i) == 0);
    CHECK(syn_sampler_accept(s, 7) == 0);
    CHECK(syn_sampler_accept(s, 7) == 0);
    memcpy(l, base, sizeof l);
    t = syn_sampler_sample(s, l, N);
    CHECK_NEAR(l[7], 4.0 / 1.5 - 1.0 - 1.0, 1e-5);
    CHECK_NEAR(l[0], 1.0 / 1.5, 1e-6);
    CHECK_NEAR(l[2], -1.5, 1e-6);
    CHECK_NEAR(l[4], 3.0, 1e-6);
    CHECK(t == 4);
    syn_sampler_free(s);

    /* a bounded window over a long history: evictions keep counts exact */
    p = plain(0.0f, 1);
    p.repeat_penalty = 2.0f;
    p.repeat_last_n = 3;
    s = make(&p);
    for (int i = 0; i < 1000; i++)
        CHECK(syn_sampler_accept(s, i % 10) == 0);
    /* last three: 7, 8, 9 */
    memcpy(l, base, sizeof l);
    syn_sampler_sample(s, l, N);
    for (int i = 0; i < N; i++) {
        double want = i >= 7 ? (base[i] > 0 ? base[i] / 2.0 : base[i] * 2.0) : base[i];
        CHECK_NEAR(l[i], want, 1e-6);
    }
    syn_sampler_free(s);
}

static void test_logprobs(void)
{
    enum { N = 2000 };
    static float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = frand() * 20 - 10;
    logits[17] = logits[18] = 11.0f; /* tie at the top */
    static int32_t ids[N];
    static float lps[N];
    float tok_lp = 0;
    int m = syn_sampler_logprobs(logits, N, 5, &tok_lp, N + 5, ids, lps);
    CHECK(m == N);
    double total = 0, lse = 0, mx = 11.0;
    for (int i = 0; i < N; i++)
        lse += exp((double)logits[i] - mx);
    lse = mx + log(lse);
    for (int j = 0; j < m; j++) {
        total += exp(lps[j]);
        CHECK_NEAR(lps[j], logits[ids[j]] - lse, 1e-5);
        if (j)
            CHECK(lps[j] < lps[j - 1] || (lps[j] == lps[j - 1] && ids[j] > ids[j - 1]));
    }
    CHECK_NEAR(total, 1.0, 1e-4);
    CHECK_NEAR(tok_lp, logits[5] - lse, 1e-5);
    CHECK(ids[0] == 17 && ids[1] == 18);

    int32_t top[5];
    float top_lp[5];
    CHECK(syn_sampler_logprobs(logits, N, 17, &tok_lp, 5, top, top_lp) == 5);
    for (int j = 0; j < 5; j++) {
        CHECK(top[j] == ids[j]);
        CHECK_NEAR(top_lp[j], lps[j], 1e-6);
    }
    CHECK_NEAR(tok_lp, top_lp[0], 1e-6);
    CHECK(syn_sampler_logprobs(logits, N, 3, &tok_lp, 0, NULL, NULL) == 0);
    CHECK(syn_sampler_logprobs(logits, N, N, &tok_lp, 0, NULL, NULL) == SYN_ERR_INVALID);
    CHECK(syn_sampler_logprobs(logits, N, 0, NULL, 3, NULL, NULL) == SYN_ERR_INVALID);
    float two[2] = {0.0f, 0.0f};
    CHECK(syn_sampler_logprobs(two, 2, 1, &tok_lp, 0, NULL, NULL) == 0);
    CHECK_NEAR(tok_lp, log(0.5), 1e-6);
    float masked[3] = {-INFINITY, 1.0f, -INFINITY};
    CHECK(syn_sampler_logprobs(masked, 3, 0, &tok_lp, 1, top, top_lp) == 1);
    CHECK(isinf(tok_lp) && tok_lp < 0);
    CHECK(top[0] == 1 && top_lp[0] == 0.0f);
}

/* entropy against the direct sum over the softmax, and its bounds */
static void test_entropy(void)
{
    enum { N = 3000 };
    static float logits[N];
    for (int i = 0; i < N; i++)
        logits[i] = frand() * 16 - 8;
    logits[9] = NAN; /* counts as -inf */
    double mx = -INFINITY, z = 0, h = 0;
    for (int i = 0; i < N; i++)
        if (i != 9 && logits[i] > mx)
            mx = logits[i];
    for (int i = 0; i < N; i++)
        if (i != 9)
            z += exp(logits[i] - mx);
    for (int i = 0; i < N; i++)
        if (i != 9) {
            double p = exp(logits[i] - mx) / z;
            h -= p * log(p);
        }
    float lp, ent;
    CHECK(syn_sampler_entropy(logits, N, 4, &lp, &ent) == 0);
    CHECK_NEAR(ent, h, 1e-4);
    CHECK_NEAR(lp, logits[4] - mx - log(z), 1e-5);
    float uniform[4] = {2, 2, 2, 2}, sure[3] = {-INFINITY, 5, -INFINITY};
    CHECK(syn_sampler_entropy(uniform, 4, 0, &lp, &ent) == 0);
    CHECK_NEAR(ent, log(4.0), 1e-6);
    CHECK_NEAR(lp, log(0.25), 1e-6);
    CHECK(syn_sampler_entropy(sure, 3, 1, &lp, &ent) == 0);
    CHECK(ent == 0.0f && lp == 0.0f);
    CHECK(syn_sampler_entropy(sure, 3, 0, &lp, &ent) == 0 && isinf(lp) && lp < 0);
    CHECK(syn_sampler_entropy(sure, 3, 3, &lp, &ent) == SYN_ERR_INVALID);
}

static void test_params(void)
{
    syn_sampler_params d = syn_sampler_params_default();
    CHECK(d.temperature > 0 && d.top_k == 40 && d.top_p == 0.95f && d.min_p == 0.05f);
    CHECK(d.repeat_penalty == 1.0f && d.seed == SYN_SAMPLER_SEED_RANDOM);
    struct {
        const char *what;
        syn_sampler_params p;
    } bad[] = {
        {"temperature", d}, {"top_k", d}, {"top_p", d}, {"min_p", d}, {"repeat_penalty", d}, {"repeat_last_n", d},
        {"presence", d},    {"nan temp", d},
    };
    bad[0].p.temperature = -0.5f;
    bad[1].p.top_k = -1;
    bad[2].p.top_p = 1.5f;
    bad[3].p.min_p = -0.1f;
    bad[4].p.repeat_penalty = 0.0f;
    bad[5].p.repeat_last_n = -2;
    bad[6].p.presence_penalty = INFINITY;
    bad[7].p.temperature = NAN;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        syn_error err = {0};
        syn_sampler *s = syn_sampler_new(&bad[i].p, &err);
        CHECK_MSG(s == NULL && err.code == SYN_ERR_INVALID && err.msg[0], "%s accepted", bad[i].what);
        syn_sampler_free(s);
    }
    syn_error err = {0};
    CHECK(syn_sampler_new(NULL, &err) == NULL && err.code == SYN_ERR_INVALID);
    syn_sampler_free(NULL);
}

int main(void)
{
    test_params();
    test_greedy();
    test_top_k1_is_greedy();
    test_seeds();
    test_low_temperature();
    test_filters_small();
    test_filters_medium();
    test_filters_vocab();
    test_penalties();
    test_logprobs();
    test_entropy();
    return CHECK_DONE();
}
