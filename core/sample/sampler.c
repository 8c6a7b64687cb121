/* Token sampler (see sampler.h for the pipeline): owns the penalty history
 * (token_counts.c), a PRNG (rng.h) and candidate scratch of one sequence.
 * One thread at a time per sampler; syn_sampler_logprobs is stateless. */
#include <synapse/sampler.h>

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/sample/rng.h"
#include "core/sample/token_counts.h"

/* ------------------------------------------------------------- sampler */

struct syn_sampler {
    syn_sampler_params p;
    uint64_t seed;
    uint64_t rng[4];

    bool track_window; /* repeat penalty active */
    bool track_generated; /* presence/frequency active */
    tok_counts window;
    int32_t *ring; /* last repeat_last_n tokens; NULL when the window is unbounded */
    size_t ring_cap, ring_len, ring_head;
    tok_counts generated;

    /* candidate scratch: logits, ids and (top_p without top_k) weights */
    float *cl;
    int32_t *ci;
    float *cw;
    size_t scratch_cap, weights_cap;
    float *chunks; /* the sums of W_CHUNK softmax weights */
    size_t chunks_cap;
};

syn_sampler_params syn_sampler_params_default(void)
{
    return (syn_sampler_params){
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .presence_penalty = 0.0f,
        .frequency_penalty = 0.0f,
        .seed = SYN_SAMPLER_SEED_RANDOM,
    };
}

static int check_params(const syn_sampler_params *p, syn_error *err)
{
    if (!(p->temperature >= 0.0f) || isinf(p->temperature))
        return syn_fail(err, SYN_ERR_INVALID, "temperature must be a number >= 0 (got %g)", (double)p->temperature);
    if (p->top_k < 0)
        return syn_fail(err, SYN_ERR_INVALID, "top_k must be >= 0, 0 = off (got %d)", (int)p->top_k);
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f))
        return syn_fail(err, SYN_ERR_INVALID, "top_p must be in [0, 1], 1 = off (got %g)", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return syn_fail(err, SYN_ERR_INVALID, "min_p must be in [0, 1], 0 = off (got %g)", (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || isinf(p->repeat_penalty))
        return syn_fail(err, SYN_ERR_INVALID, "repeat_penalty must be > 0, 1 = off (got %g)",
                        (double)p->repeat_penalty);
    if (p->repeat_last_n < -1)
        return syn_fail(err, SYN_ERR_INVALID, "repeat_last_n must be >= -1 (-1 = whole history, got %d)",
                        (int)p->repeat_last_n);
    if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
        return syn_fail(err, SYN_ERR_INVALID, "presence/frequency penalties must be finite numbers");
    return 0;
}

syn_sampler *syn_sampler_new(const syn_sampler_params *params, syn_error *err)
{
    if (!params) {
        syn_fail(err, SYN_ERR_INVALID, "sampler: no parameters given");
        return NULL;
    }
    if (check_params(params, err))
        return NULL;
    syn_sampler *s = calloc(1, sizeof *s);
    if (!s) {
        syn_fail(err, SYN_ERR_NOMEM, "sampler: out of memory");
        return NULL;
    }
    s->p = *params;
    s->seed = params->seed == SYN_SAMPLER_SEED_RANDOM ? syn_random_seed() : params->seed;
    s->p.seed = s->seed;
    syn_rng_seed(s->rng, s->seed);
    s->track_window = params->repeat_penalty != 1.0f && params->repeat_last_n != 0;
    s->track_generated = params->presence_penalty != 0.0f || params->frequency_penalty != 0.0f;
    if (s->track_window && params->repeat_last_n > 0) {
        s->ring_cap = (size_t)params->repeat_last_n;
        s->ring = malloc(s->ring_cap * sizeof *s->ring);
        if (!s->ring) {
            free(s);
            syn_fail(err, SYN_ERR_NOMEM, "sampler: out of memory for a %d-token penalty window",
                     (int)params->repeat_last_n);
            return NULL;
        }
    }
    return s;
}

void syn_sampler_free(syn_sampler *s)
{
    if (!s)
        return;
    syn_counts_free(&s->window);
    syn_counts_free(&s->generated);
    free(s->ring);
    free(s->cl);
    free(s->ci);
    free(s->cw);
    free(s->chunks);
    free(s);
}

uint64_t syn_sampler_seed(const syn_sampler *s) { return s->seed; }

const syn_sampler_params *syn_sampler_get_params(const syn_sampler *s) { return &s->p; }

void syn_sampler_reset(syn_sampler *s)
{
    syn_counts_clear(&s->window);
    syn_counts_clear(&s->generated);
    s->ring_len = s->ring_head = 0;
    syn_rng_seed(s->rng, s->seed);
}

static int window_push(syn_sampler *s, int32_t token)
{
    int rc = syn_counts_inc(&s->window, token);
    if (rc || !s->ring)
        return rc;
    if (s->ring_len == s->ring_cap) {
        syn_counts_dec(&s->window, s->ring[s->ring_head]);
        s->ring[s->ring_head] = token;
        s->ring_head = (s->ring_head + 1) % s->ring_cap;
    } else {
        s->ring[(s->ring_head + s->ring_len) % s->ring_cap] = token;
        s->ring_len++;
    }
    return 0;
}

int syn_sampler_accept_prompt(syn_sampler *s, const int32_t *tokens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0)
            return SYN_ERR_INVALID;
    if (!s->track_window)
        return 0;
    /* only the tail can stay in a bounded window */
    size_t start = s->ring && n > s->ring_cap ? n - s->ring_cap : 0;
    for (size_t i = start; i < n; i++) {
        int rc = window_push(s, tokens[i]);
        if (rc)
            return rc;
    }
    return 0;
}

int syn_sampler_accept(syn_sampler *s, int32_t token)
{
    if (token < 0)
        return SYN_ERR_INVALID;
    if (s->track_generated) {
        int rc = syn_counts_inc(&s->generated, token);
        if (rc)
            return rc;
    }
    return s->track_window ? window_push(s, token) : 0;
}

static void apply_penalties(const syn_sampler *s, float *logits, int32_t n_vocab)
{
    if (s->track_window) {
        const tok_counts *m = &s->window;
        float rp = s->p.repeat_penalty;
        for (size_t i = 0; i < m->cap; i++) {
            int32_t t = m->keys[i];
            if (t < 0 || t >= n_vocab || m->counts[i] == 0)
                continue;
            logits[t] = logits[t] > 0.0f ? logits[t] / rp : logits[t] * rp;
        }
    }
    if (s->track_generated) {
        const tok_counts *m = &s->generated;
        for (size_t i = 0; i < m->cap; i++) {
            int32_t t = m->keys[i];
            if (t < 0 || t >= n_vocab || m->counts[i] == 0)
                continue;
            logits[t] -= s->p.presence_penalty + s->p.frequency_penalty * (float)m->counts[i];
        }
    }
}

/* ------------------------------------------- candidate ordering helpers */

/* Candidates as parallel arrays: logit, token id and, where a caller needs
 * it, the weight exp(logit - max) (w NULL otherwise). */
typedef struct cands {
    float *l;
    int32_t *id;
    float *w;
} cands;

/* The one total order used everywhere: higher logit first, then lower id. */
static inline bool better(float la, int32_t ia, float lb, int32_t ib) { return la > lb || (la == lb && ia < ib); }

static inline bool c_better(const cands *c, size_t a, size_t b) { return better(c->l[a], c->id[a], c->l[b], c->id[b]); }

static inline void c_swap(const cands *c, size_t a, size_t b)
{
    float tl = c->l[a];
    c->l[a] = c->l[b];
    c->l[b] = tl;
    int32_t ti = c->id[a];
    c->id[a] = c->id[b];
    c->id[b] = ti;
    if (c->w) {
        float tw = c->w[a];
        c->w[a] = c->w[b];
        c->w[b] = tw;
    }
}

/* Heap over c[base, base+n) whose root is the WORST element, so it keeps the
 * best n seen. */
static void heap_sift_down(const cands *c, size_t base, size_t n, size_t i)
{
    for (;;) {
        size_t worst = i, k = 2 * i + 1;
        if (k < n && c_better(c, base + worst, base + k))
            worst = k;
        if (k + 1 < n && c_better(c, base + worst, base + k + 1))
            worst = k + 1;
        if (worst == i)
            return;
        c_swap(c, base + i, base + worst);
        i = worst;
    }
}

/* Adds (lv, iv) to a heap of capacity k at c[0, *size). */
static void heap_offer(const cands *c, size_t *size, size_t k, float lv, int32_t iv)
{
    if (*size < k) {
        size_t i = (*size)++;
        c->l[i] = lv;
        c->id[i] = iv;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!c_better(c, parent, i))
                break;
            c_swap(c, parent, i);
            i = parent;
        }
    } else if (better(lv, iv, c->l[0], c->id[0])) {
        c->l[0] = lv;
        c->id[0] = iv;
        heap_sift_down(c, 0, *size, 0);
    }
}

/* Turns a worst-rooted heap at c[base, base+n) into best-first order. */
static void heap_sort_best_first(const cands *c, size_t base, size_t n)
{
    for (size_t end = n; end > 1; end--) {
        c_swap(c, base, base + end - 1);
        heap_sift_down(c, base, end - 1, 0);
    }
}

static void sort_best_first(const cands *c, size_t base, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        heap_sift_down(c, base, n, i);
    heap_sort_best_first(c, base, n);
}

/* *buf holds at least need floats (contents kept); *cap is its size */
static int grow_floats(float **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    float *p = realloc(*buf, need * sizeof *p);
    if (!p)
        return SYN_ERR_NOMEM;
    *buf = p;
    *cap = need;
    return 0;
}

static int ensure_scratch(syn_sampler *s, size_t n, bool weights)
{
    if (s->scratch_cap < n) {
        float *cl = realloc(s->cl, n * sizeof *cl);
        if (!cl)
            return SYN_ERR_NOMEM;
        s->cl = cl;
        int32_t *ci = realloc(s->ci, n * sizeof *ci);
        if (!ci)
            return SYN_ERR_NOMEM;
        s->ci = ci;
        s->scratch_cap = n;
    }
    return weights ? grow_floats(&s->cw, &s->weights_cap, n) : 0;
}

/* Draws index j with probability w[j] / total. */
static size_t pick(syn_sampler *s, const float *w, size_t n, double total)
{
    double u = syn_rng_uniform(s->rng) * total, acc = 0.0;
    size_t last_positive = 0;
    for (size_t j = 0; j < n; j++) {
        if (w[j] <= 0.0f)
            continue;
        acc += w[j];
        last_positive = j;
        if (u < acc)
            return j;
    }
    /* rounding left u at the very top of the range */
    return last_positive;
}

/* Softmax weights are made and summed this many at a time; the draw then
 * skips whole chunks by their sums. */
#define W_CHUNK 64

/* Sixteen floats, in GCC/clang vector extensions: plain C the compiler
 * maps to the SIMD of the target (four SSE2 or NEON operations, two AVX2
 * ones, one AVX-512 one), so sampling needs no kernels of its own. Values
 * only pass through memory (memcpy) and locals, never as arguments, which
 * would have an ABI that depends on the target. */
#define LANES 16
typedef float vf __attribute__((vector_size(4 * LANES)));
typedef int32_t vi __attribute__((vector_size(4 * LANES)));
typedef uint32_t vu __attribute__((vector_size(4 * LANES)));

/* The passes over the whole vocabulary are built for AVX-512, AVX2 and
 * the baseline, the best the CPU runs picked at load time (an ifunc), where
 * the compiler and platform can; elsewhere for the build's target alone.
 * Every clone gives the same results (libsynapse is built without FMA
 * contraction), so a seed draws the same tokens on any x86 machine. */
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VOCAB_PASS __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VOCAB_PASS
#define VOCAB_PASS
#endif

/* out[0, LANES) = e^x[i] for x <= 0 to about 3e-6 relative (plenty for
 * drawing a token), and exactly 0 below -86 (masked -inf logits, and
 * tokens below e^-86 of the best): a sampled token costs one vector pass
 * over the vocabulary instead of a libm call per logit. 2^n comes from t's
 * low mantissa bits after adding 1.5 * 2^23, and e^r, |r| <= ln2 / 2, from
 * its Taylor series to r^5. Lanes below -86 compute garbage (even NaN)
 * that the mask drops. */
static inline __attribute__((always_inline)) void exp_nonpositive(const float *in, float *out)
{
    const float magic = 12582912.0f; /* bits 0x4b400000 */
    vf x;
    memcpy(&x, in, sizeof x);
    vi keep = x >= -86.0f; /* all ones where e^x is kept */
    vf t = x * 1.44269504f + magic, n = t - magic;
    vf r = x - n * 0.693147182f;
    vf p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120)))));
    /* n fits the exponent where kept: -124 <= n <= 0 */
    vu scaled = (vu)p + (((vu)t - 0x4b400000u) << 23);
    vi e = (vi)scaled & keep;
    memcpy(out, &e, sizeof e);
}

static int ensure_chunks(syn_sampler *s, size_t n)
{
    return grow_floats(&s->chunks, &s->chunks_cap, n / W_CHUNK + 1);
}

/* The softmax weights e^((l - lmax) / temp) of chunk c of l[0, n) into w
 * (zeros past n); returns how many are real. The same inputs always give
 * the same weights, so a draw can sum the chunks in one pass and make
 * again only the chunk it lands in. */
static inline __attribute__((always_inline)) size_t chunk_weights(const float *l, size_t n, size_t c, float lmax,
                                                                  float inv, float w[W_CHUNK])
{
    size_t j = c * W_CHUNK, m = n - j < W_CHUNK ? n - j : W_CHUNK;
    for (size_t k = 0; k < W_CHUNK; k += LANES) {
        vf v;
        if (k + LANES <= m)
            memcpy(&v, l + j + k, sizeof v);
        else /* past the end: -inf has weight 0 */
            for (size_t q = 0; q < LANES; q++)
                v[q] = k + q < m ? l[j + k + q] : -INFINITY;
        v = (v - lmax) * inv;
        memcpy(w + k, &v, sizeof v);
        exp_nonpositive(w + k, w + k);
    }
    return m;
}

static inline __attribute__((always_inline)) float chunk_sum(const float w[W_CHUNK])
{
    vf lanes = {0};
    for (size_t k = 0; k < W_CHUNK; k += LANES) {
        vf v;
        memcpy(&v, w + k, sizeof v);
        lanes += v;
    }
    float t[LANES]; /* then halves added pairwise */
    memcpy(t, &lanes, sizeof t);
    for (int width = LANES / 2; width >= 1; width /= 2)
        for (int q = 0; q < width; q++)
            t[q] += t[q + width];
    return t[0];
}

/* Draws from softmax((l - lmax) / temp) over l[0, n); returns the index
 * drawn, or an error. One pass sums the weights chunk by chunk; the draw
 * skips whole chunks by their sums and walks the one it lands in. */
VOCAB_PASS static int64_t draw_tempered(syn_sampler *s, const float *l, size_t n, float lmax, float temp)
{
    int rc = ensure_chunks(s, n);
    if (rc)
        return rc;
    const float inv = 1.0f / temp;
    const size_t n_chunks = (n + W_CHUNK - 1) / W_CHUNK;
    float w[W_CHUNK], *sums = s->chunks;
    double total = 0.0;
    for (size_t c = 0; c < n_chunks; c++) {
        chunk_weights(l, n, c, lmax, inv, w);
        sums[c] = chunk_sum(w);
        total += sums[c];
    }
    double u = syn_rng_uniform(s->rng) * total, acc = 0.0;
    size_t c = 0;
    while (c + 1 < n_chunks && u >= acc + sums[c])
        acc += sums[c++];
    /* the walk goes on into later chunks if rounding left u past this one */
    for (; c < n_chunks; c++) {
        size_t m = chunk_weights(l, n, c, lmax, inv, w);
        for (size_t k = 0; k < m; k++) {
            if (w[k] > 0.0f) {
                acc += w[k];
                if (u < acc)
                    return (int64_t)(c * W_CHUNK + k);
            }
        }
    }
    /* rounding left u at the very top of the range: the last weight */
    for (c = n_chunks; c-- > 0;) {
        if (sums[c] > 0.0f) {
            size_t m = chunk_weights(l, n, c, lmax, inv, w);
            for (size_t k = m; k-- > 0;)
                if (w[k] > 0.0f)
                    return (int64_t)(c * W_CHUNK + k);
        }
    }
    return 0;
}

/* draw_tempered over the first n candidates: the id drawn, or an error */
static int32_t draw_candidate(syn_sampler *s, const cands *c, size_t n, float lmax)
{
    int64_t k = draw_tempered(s, c->l, n, lmax, s->p.temperature);
    return k < 0 ? (int32_t)k : c->id[k];
}

/* Length of the nucleus among n candidates sorted best first. */
static size_t nucleus_sorted(const float *l, size_t n, float lmax, double sum, float top_p)
{
    double cum = 0.0;
    for (size_t j = 0; j < n; j++) {
        cum += expf(l[j] - lmax) / sum;
        if (cum >= top_p)
            return j + 1;
    }
    return n;
}

/* Nucleus over n unsorted candidates with weights, without sorting them: a
 * quickselect that descends by probability mass instead of by rank, so it
 * costs O(n) expected however deep the nucleus reaches. On return [0, keep)
 * holds the `keep` best candidates, in no particular order. */
static size_t nucleus_select(const cands *c, size_t n, double sum, float top_p)
{
    const double target = (double)top_p * sum;
    double acc = 0.0; /* mass of [0, lo), all better than anything in [lo, hi) */
    size_t lo = 0, hi = n;
    int depth_left = 64; /* past this, input defeats median-of-three: sort */
    while (hi - lo > 16 && depth_left-- > 0) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1;
        if (c_better(c, mid, lo))
            c_swap(c, mid, lo);
        if (c_better(c, last, lo))
            c_swap(c, last, lo);
        if (c_better(c, mid, last))
            c_swap(c, mid, last);
        size_t store = lo;
        double mass = 0.0;
        for (size_t i = lo; i < last; i++) {
            if (c_better(c, i, last)) {
                mass += c->w[i];
                c_swap(c, i, store++);
            }
        }
        c_swap(c, store, last);
        /* [lo, store) beats the pivot at `store`, which beats (store, hi) */
        if (acc + mass >= target) {
            hi = store;
            continue;
        }
        acc += mass + c->w[store];
        if (acc >= target)
            return store + 1;
        lo = store + 1;
    }
    sort_best_first(c, lo, hi - lo);
    for (size_t j = lo; j < hi; j++) {
        acc += c->w[j];
        if (acc >= target)
            return j + 1;
    }
    /* rounding: the whole range was needed */
    return hi > 0 ? hi : 1;
}

static int32_t sample_top_k(syn_sampler *s, const float *logits, int32_t n_vocab, size_t top_k, float lmax,
                            float min_p_floor)
{
    int rc = ensure_scratch(s, top_k, false);
    if (rc)
        return rc;
    const cands c = {s->cl, s->ci, NULL};
    size_t m = 0;
    int32_t i = 0;
    for (; i < n_vocab && m < top_k; i++)
        heap_offer(&c, &m, top_k, logits[i], i);
    /* ids only grow from here, so a tie never beats the heap's worst */
    for (float worst = c.l[0]; i < n_vocab; i++) {
        if (logits[i] > worst) {
            c.l[0] = logits[i];
            c.id[0] = i;
            heap_sift_down(&c, 0, m, 0);
            worst = c.l[0];
        }
    }
    heap_sort_best_first(&c, 0, m);
    size_t keep = m;
    if (s->p.top_p < 1.0f) {
        double sum = 0.0;
        for (size_t j = 0; j < m; j++)
            sum += expf(c.l[j] - lmax);
        keep = nucleus_sorted(c.l, m, lmax, sum, s->p.top_p);
    }
    while (keep > 1 && c.l[keep - 1] < min_p_floor)
        keep--;
    return draw_candidate(s, &c, keep, lmax);
}

/* Mass histogram for top_p over the whole vocabulary: bucket b holds the
 * tokens with b <= (lmax - logit) * 2 < b + 1, the last one everything
 * further down. */
#define MASS_BUCKETS 64

static inline int mass_bucket(float l, float lmax)
{
    float d = (lmax - l) * 2.0f;
    return d < (float)(MASS_BUCKETS - 1) ? (int)d : MASS_BUCKETS - 1;
}

/* top_p and/or min_p over the whole vocabulary. min_p is a logit floor, so it
 * prunes without sorting. For top_p, one pass sums the softmax and a mass
 * histogram; the nucleus lies within the best buckets that together reach
 * top_p, so only those are collected -- few tokens for the peaked
 * distributions of real models. top_p and min_p both keep a best-first
 * prefix, so the result is the shorter of the two. */
static int32_t sample_top_p_min_p(syn_sampler *s, const float *logits, int32_t n_vocab, float lmax,
                                  float min_p_floor)
{
    const bool use_top_p = s->p.top_p < 1.0f;
    int rc = ensure_scratch(s, (size_t)n_vocab, use_top_p);
    if (rc)
        return rc;
    const cands c = {s->cl, s->ci, use_top_p ? s->cw : NULL};
    size_t m = 0;

    if (!use_top_p) {
        for (int32_t i = 0; i < n_vocab; i++) {
            if (logits[i] >= min_p_floor) {
                c.l[m] = logits[i];
                c.id[m] = i;
                m++;
            }
        }
        return draw_candidate(s, &c, m, lmax);
    }

    double mass[MASS_BUCKETS] = {0};
    for (int32_t i = 0; i < n_vocab; i++)
        mass[mass_bucket(logits[i], lmax)] += expf(logits[i] - lmax);
    double sum = 0.0;
    for (int b = 0; b < MASS_BUCKETS; b++)
        sum += mass[b];
    int last_bucket = MASS_BUCKETS - 1;
    double cum = 0.0;
    for (int b = 0; b < MASS_BUCKETS - 1; b++) {
        cum += mass[b];
        if (cum >= (double)s->p.top_p * sum) {
            last_bucket = b;
            break;
        }
    }
    for (int32_t i = 0; i < n_vocab; i++) {
        float l = logits[i];
        if (l >= min_p_floor && l > -INFINITY && mass_bucket(l, lmax) <= last_bucket) {
            c.l[m] = l;
            c.id[m] = i;
            c.w[m] = expf(l - lmax);
            m++;
        }
    }
    size_t keep = nucleus_select(&c, m, sum, s->p.top_p);
    if (s->p.temperature != 1.0f)
        return draw_candidate(s, &c, keep, lmax);
    double total = 0.0; /* at temperature 1 the weights are the ones already made */
    for (size_t j = 0; j < keep; j++)
        total += c.w[j];
    return c.id[pick(s, c.w, keep, total)];
}

/* The largest logit, NaN logits set to -inf on the way (a vector pass;
 * NaN is rare, so finding one just repeats the pass with the fix). */
VOCAB_PASS static float max_logit(float *l, int32_t n)
{
    vf best;
    vi nan = {0};
    for (int q = 0; q < LANES; q++)
        best[q] = -INFINITY;
    int32_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        vf v;
        memcpy(&v, l + i, sizeof v);
        vi more = v > best;
        nan |= v != v;
        best = (vf)(((vi)v & more) | ((vi)best & ~more));
    }
    float m = -INFINITY;
    int any_nan = 0;
    for (int q = 0; q < LANES; q++) {
        m = best[q] > m ? best[q] : m;
        any_nan |= nan[q] != 0;
    }
    for (; i < n; i++) {
        any_nan |= isnan(l[i]);
        m = l[i] > m ? l[i] : m;
    }
    if (!any_nan)
        return m;
    for (i = 0; i < n; i++)
        if (isnan(l[i]))
            l[i] = -INFINITY;
    return max_logit(l, n);
}

int32_t syn_sampler_sample(syn_sampler *s, float *logits, int32_t n_vocab)
{
    if (!s || !logits || n_vocab <= 0)
        return SYN_ERR_INVALID;
    apply_penalties(s, logits, n_vocab);

    float lmax = max_logit(logits, n_vocab);
    /* greedy, nothing sampleable (every logit -inf), or a logit of +inf
     * (which would take all the mass): the first best */
    if (s->p.temperature <= 0.0f || isinf(lmax)) {
        int32_t best = 0;
        while (best < n_vocab - 1 && logits[best] != lmax)
            best++;
        return best;
    }

    const float min_p_floor = s->p.min_p > 0.0f ? lmax + logf(s->p.min_p) : -INFINITY;
    if (s->p.top_k > 0 && s->p.top_k < n_vocab)
        return sample_top_k(s, logits, n_vocab, (size_t)s->p.top_k, lmax, min_p_floor);
    if (s->p.top_p < 1.0f || s->p.min_p > 0.0f)
        return sample_top_p_min_p(s, logits, n_vocab, lmax, min_p_floor);
    return (int32_t)draw_tempered(s, logits, (size_t)n_vocab, lmax, s->p.temperature);
}

int syn_sampler_logprobs(const float *logits, int32_t n_vocab, int32_t token, float *token_logprob,
                         int32_t n_top, int32_t *top_ids, float *top_logprobs)
{
    if (!logits || n_vocab <= 0 || n_top < 0 || (n_top > 0 && (!top_ids || !top_logprobs)))
        return SYN_ERR_INVALID;
    if (token_logprob && (token < 0 || token >= n_vocab))
        return SYN_ERR_INVALID;
    size_t k = (size_t)(n_top < n_vocab ? n_top : n_vocab), m = 0;
    const cands c = {top_logprobs, top_ids, NULL};
    float lmax = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++) {
        float l = isnan(logits[i]) ? -INFINITY : logits[i];
        if (l > lmax)
            lmax = l;
        if (m < k || (k && l > c.l[0])) /* ids grow: a tie never beats the worst kept */
            heap_offer(&c, &m, k, l, i);
    }
    heap_sort_best_first(&c, 0, m);
    double sum = 0.0;
    if (lmax > -INFINITY)
        for (int32_t i = 0; i < n_vocab; i++)
            if (!isnan(logits[i]))
                sum += expf(logits[i] - lmax);
    /* log_softmax(x)_i = x_i - lmax - log(sum exp(x - lmax)); all -inf gives -inf */
    double lse = lmax > -INFINITY ? lmax + log(sum) : 0.0;
    for (size_t j = 0; j < m; j++)
        top_logprobs[j] = (float)((double)top_logprobs[j] - lse);
    if (token_logprob) {
        float l = isnan(logits[token]) ? -INFINITY : logits[token];
        *token_logprob = (float)((double)l - lse);
    }
    return (int)m;
}

int syn_sampler_entropy(const float *logits, int32_t n_vocab, int32_t token, float *token_logprob, float *entropy)
{
    if (!logits || n_vocab <= 0 || token < 0 || token >= n_vocab)
        return SYN_ERR_INVALID;
    float lmax = -INFINITY;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] > lmax) /* NaN compares false: it counts as -inf */
            lmax = logits[i];
    if (lmax == -INFINITY) {
        *token_logprob = -INFINITY;
        *entropy = 0.0f;
        return 0;
    }
    /* H = lse - sum p_i x_i, from one pass of sum e^(x - lmax) and of
     * (x - lmax) e^(x - lmax) */
    double z = 0.0, zx = 0.0;
    for (int32_t i = 0; i < n_vocab; i++) {
        float l = logits[i];
        if (!(l > -INFINITY))
            continue;
        double d = (double)l - lmax, e = exp(d);
        z += e;
        zx += d * e;
    }
    double logz = log(z);
    float lt = logits[token];
    *token_logprob = lt > -INFINITY ? (float)((double)lt - lmax - logz) : -INFINITY;
    double h = logz - zx / z;
    *entropy = h > 0 ? (float)h : 0.0f;
    return 0;
}
