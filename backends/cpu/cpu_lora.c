/* The CPU backend's lora op: the LoRA products of a step's rows for all
 * of its adapters in one pass of the thread pool. Phase one (shrink) gives
 * each row t = A x for its run's A, phase two (expand) adds scale * B t to
 * its row of y; between them one barrier, where two matmul calls per run
 * would wake the pool and meet at its barriers twice per run. Work is
 * shared out in small items (a few rank rows of one run's A, a block of
 * output rows of one run's B) from one counter per phase, so four runs of
 * one row each keep both threads busy as well as one run of a whole
 * prompt. Each product goes through the same kernel cpu_matmul would pick
 * for that weight (dot_narrow for short rows, else vec_dot on the
 * activation type), so a row gets what the two matmuls give it. */
#include <stdatomic.h>

#include "backends/cpu/cpu_internal.h"

/* rank rows of A one shrink item takes; output rows one expand item takes */
#define SHRINK_ROWS 4
#define EXPAND_ROWS 256
/* as MM_INLINE_MACS in cpu_matmul.c: below this the calling thread works alone */
#define LORA_INLINE_MACS 65536

struct lora_task {
    syn_backend *b;
    const syn_lora_run *runs;
    int32_t n_runs;
    const float *x;
    int64_t in, out;
    float *y;
    float *tmp;       /* row r's A x at tmp + r * rank_max */
    int64_t rank_max;
    /* x rows in A's activation type (NULL: A takes the floats), and t rows
     * in B's, xq_row and tq_row bytes apart (row r at r * stride) */
    char *xq, *tq;
    size_t xq_row, tq_row;
    int any_xq, any_tq;
    _Atomic int64_t next_shrink, next_expand;
    int64_t shrink_items, expand_items; /* per run */
};

/* the kernels matmul uses for w: narrow for column panels (cpu_is_narrow),
 * else vec_dot over rows converted to the activation type (NULL quant:
 * floats as they are) */
static syn_quant_fn act_quant(const syn_backend *b, const syn_tensor *w)
{
    int act = b->k->type[w->type].act_type;
    return act == SYN_TYPE_F32 ? NULL : b->k->type[act].quant;
}

static size_t act_row_bytes(const syn_backend *b, const syn_tensor *w)
{
    return syn_type_row_bytes(b->k->type[w->type].act_type, w->ne[0]);
}

/* y-side rows of weight rows o0..o1 of w for rows r0..r0+n of src (floats
 * src_stride apart, or their converted copy q, q_row bytes apart):
 * dst[r * dst_stride + o] (+)= alpha * dot, as mm_store writes it */
static void products(const syn_backend *b, const syn_tensor *w, int64_t o0, int64_t o1, const float *src,
                     int64_t src_stride, const char *q, size_t q_row, int32_t r0, int32_t n, float *dst,
                     int64_t dst_stride, float alpha, int accumulate)
{
    const syn_type_kernels *tk = &b->k->type[w->type];
    int64_t k = w->ne[0];
    const char *wd = w->data;
    if (cpu_is_narrow(w)) {
        size_t group_bytes = (size_t)SYN_NARROW_ROWS * (size_t)w->row_bytes;
        float v[SYN_NARROW_CALL * 16];
        for (int64_t o = o0; o < o1;) {
            int j0 = (int)(o % SYN_NARROW_ROWS);
            int nw = o1 - o < SYN_NARROW_CALL - j0 ? (int)(o1 - o) : SYN_NARROW_CALL - j0;
            const char *panel = wd + (size_t)(o / SYN_NARROW_ROWS) * group_bytes;
            /* the next call's panels, ahead of the prefetcher's 4 KiB restarts */
            size_t call_bytes = (size_t)(SYN_NARROW_CALL / SYN_NARROW_ROWS) * group_bytes;
            for (size_t off = 0; off < call_bytes; off += 64)
                __builtin_prefetch(panel + call_bytes + off, 0, 3);
            for (int32_t r = r0; r < r0 + n; r += 16) {
                int nr = r0 + n - r < 16 ? r0 + n - r : 16;
                tk->dot_narrow(k, panel, j0, nw, src + (size_t)r * (size_t)src_stride, (size_t)src_stride, nr, v);
                for (int j = 0; j < nr; j++) {
                    float *d = dst + (size_t)(r + j) * (size_t)dst_stride + o;
                    const float *s = v + (size_t)j * nw;
                    if (accumulate)
                        for (int i = 0; i < nw; i++)
                            d[i] += alpha * (s[i] + 0.0f);
                    else
                        for (int i = 0; i < nw; i++)
                            d[i] = alpha * (s[i] + 0.0f);
                }
            }
            o += nw;
        }
        return;
    }
    /* matmul writes plain products (alpha 1, no accumulation) straight from
     * the kernel; otherwise through alpha * (v + 0) */
    int plain = alpha == 1.0f && !accumulate;
    for (int64_t o = o0; o < o1; o++) {
        const char *wrow = wd + (size_t)o * w->row_bytes;
        /* the next weight row, as for the panels above */
        for (size_t off = 0; off < w->row_bytes; off += 64)
            __builtin_prefetch(wrow + w->row_bytes + off, 0, 3);
        for (int32_t r = r0; r < r0 + n; r += SYN_DOT_ROWS_MAX) {
            int nr = r0 + n - r < SYN_DOT_ROWS_MAX ? r0 + n - r : SYN_DOT_ROWS_MAX;
            float v[SYN_DOT_ROWS_MAX];
            tk->vec_dot_rows(k, wrow, q + (size_t)r * q_row, q_row, nr, v, 1);
            for (int j = 0; j < nr; j++) {
                float *d = dst + (size_t)(r + j) * (size_t)dst_stride + o;
                if (plain)
                    *d = v[j];
                else if (accumulate)
                    *d += alpha * (v[j] + 0.0f);
                else
                    *d = alpha * (v[j] + 0.0f);
            }
        }
    }
}

/* rows of a run converted for w's vec_dot, spread over the threads by row */
static void convert_rows(const syn_backend *b, const syn_lora_run *run, const syn_tensor *w, const float *src,
                         int64_t src_stride, char *q, size_t q_row, int ith, int nth)
{
    syn_quant_fn quant = act_quant(b, w);
    if (cpu_is_narrow(w) || !quant)
        return;
    for (int32_t r = run->row0 + ith; r < run->row0 + run->n_rows; r += nth)
        quant(src + (size_t)r * (size_t)src_stride, q + (size_t)r * q_row, w->ne[0]);
}

/* where vec_dot reads w's rows from: the converted copy, or the floats */
static const char *dot_source(const syn_backend *b, const syn_tensor *w, char *q, const float *src)
{
    return act_quant(b, w) ? q : (const char *)src;
}

static size_t dot_stride(const syn_backend *b, const syn_tensor *w, size_t q_row, int64_t src_stride)
{
    return act_quant(b, w) ? q_row : (size_t)src_stride * sizeof(float);
}

static void lora_worker(void *arg, int ith, int nth)
{
    struct lora_task *t = arg;
    const syn_backend *b = t->b;
    if (t->any_xq) {
        for (int32_t g = 0; g < t->n_runs; g++)
            convert_rows(b, &t->runs[g], t->runs[g].a, t->x, t->in, t->xq, t->xq_row, ith, nth);
        if (nth > 1)
            syn_pool_barrier(b->pool);
    }
    /* shrink: tmp[r][j] = A[j] . x[r] for a few rank rows j of one run */
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&t->next_shrink, 1, memory_order_relaxed);
        if (i >= t->shrink_items * t->n_runs)
            break;
        const syn_lora_run *run = &t->runs[i / t->shrink_items];
        int64_t j0 = i % t->shrink_items * SHRINK_ROWS, rank = run->a->ne[1];
        if (j0 >= rank)
            continue;
        int64_t j1 = j0 + SHRINK_ROWS < rank ? j0 + SHRINK_ROWS : rank;
        products(b, run->a, j0, j1, t->x, t->in, dot_source(b, run->a, t->xq, t->x),
                 dot_stride(b, run->a, t->xq_row, t->in), run->row0, run->n_rows, t->tmp, t->rank_max, 1.0f, 0);
    }
    if (nth > 1)
        syn_pool_barrier(b->pool);
    if (t->any_tq) {
        for (int32_t g = 0; g < t->n_runs; g++)
            convert_rows(b, &t->runs[g], t->runs[g].b, t->tmp, t->rank_max, t->tq, t->tq_row, ith, nth);
        if (nth > 1)
            syn_pool_barrier(b->pool);
    }
    /* expand: y[r][o] += scale * B[o] . tmp[r] for a block of output rows o */
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&t->next_expand, 1, memory_order_relaxed);
        if (i >= t->expand_items * t->n_runs)
            break;
        const syn_lora_run *run = &t->runs[i / t->expand_items];
        int64_t o0 = i % t->expand_items * EXPAND_ROWS;
        int64_t o1 = o0 + EXPAND_ROWS < t->out ? o0 + EXPAND_ROWS : t->out;
        products(b, run->b, o0, o1, t->tmp, t->rank_max, dot_source(b, run->b, t->tq, t->tmp),
                 dot_stride(b, run->b, t->tq_row, t->rank_max), run->row0, run->n_rows, t->y, t->out, run->scale, 1);
    }
}

void cpu_lora(syn_backend *b, const syn_lora_run *runs, int32_t n_runs, const float *x, int64_t in, float *y,
              int64_t out, float *tmp)
{
    struct lora_task t = {.b = b, .runs = runs, .n_runs = n_runs, .x = x, .in = in, .out = out, .y = y, .tmp = tmp};
    int32_t last_row = 0;
    int64_t macs = 0;
    for (int32_t g = 0; g < n_runs; g++) {
        const syn_lora_run *run = &runs[g];
        if (run->a->ne[1] > t.rank_max)
            t.rank_max = run->a->ne[1];
        if (run->row0 + run->n_rows > last_row)
            last_row = run->row0 + run->n_rows;
        if (act_quant(b, run->a) && !cpu_is_narrow(run->a)) {
            t.any_xq = 1;
            if (act_row_bytes(b, run->a) > t.xq_row)
                t.xq_row = act_row_bytes(b, run->a);
        }
        if (act_quant(b, run->b) && !cpu_is_narrow(run->b)) {
            t.any_tq = 1;
            if (act_row_bytes(b, run->b) > t.tq_row)
                t.tq_row = act_row_bytes(b, run->b);
        }
        macs += (int64_t)run->n_rows * run->a->ne[1] * (in + out);
    }
    if (!n_runs)
        return;
    /* one scratch area for both converted copies: x's rows, then t's */
    size_t xq_bytes = (t.xq_row * (size_t)last_row + 63) & ~(size_t)63;
    if (t.any_xq || t.any_tq) {
        b->act = cpu_grow(b->act, &b->act_cap, xq_bytes + t.tq_row * (size_t)last_row);
        t.xq = b->act;
        t.tq = (char *)b->act + xq_bytes;
    }
    t.shrink_items = (t.rank_max + SHRINK_ROWS - 1) / SHRINK_ROWS;
    t.expand_items = (out + EXPAND_ROWS - 1) / EXPAND_ROWS;
    atomic_init(&t.next_shrink, 0);
    atomic_init(&t.next_expand, 0);
    if (macs < LORA_INLINE_MACS || syn_pool_size(b->pool) == 1)
        lora_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, lora_worker, &t);
}
