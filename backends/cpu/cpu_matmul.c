/* The CPU backend's matmul: y (+)= alpha (W x + bias) over the thread pool,
 * with x's rows converted once per matmul to the kernels' activation format
 * (quantised rows, VNNI panels or AMX tiles), cache blocking for prefill
 * and work sharing between threads; and the prompt path that sends whole
 * tiles of prompt rows to AMX. */
#include <stdatomic.h>

#include "backends/cpu/cpu_internal.h"

/* bytes of weight rows one matmul block holds (see mm_worker) */
#define MM_BLOCK_BYTES 16384
/* a thread's share of output rows is taken in about this many chunks, of
 * at least MM_CHUNK_MIN rows (see mm_worker) */
#define MM_CHUNKS_PER_THREAD 8
#define MM_CHUNK_MIN 16
/* Decode asks for weight rows this many bytes ahead of the row it reads.
 * The hardware prefetcher stops at every 4 KiB and a vec_dot spends too
 * many instructions per cache line for out-of-order execution to cover
 * the restart: on a 2-core Sapphire Rapids-class VM, a Q8_0 or Q6_K
 * mat-vec over 150 MB ran at 6.5 GB/s per thread without and 10-10.5 with
 * (the panels ask for their own, see syn_prefetch_weights). */
#define MM_DECODE_PREFETCH 2048
/* A matmul of fewer multiply-adds than this (a LoRA adapter's, mostly:
 * rank x 896 for one row) runs on the calling thread: waking the pool and
 * meeting at its barriers costs more than the second thread saves. */
#define MM_INLINE_MACS 65536

struct mm_task {
    syn_backend *b;
    const syn_tensor *w;
    const float *bias;
    float alpha;
    int accumulate;
    /* the exact rows: x, n of them, results to y */
    const float *x;
    int32_t n;
    float *y;
    syn_quant_fn quant;
    syn_vec_dot_fn dot;
    syn_vec_dot_rows_fn dot_rows;
    char *xq;
    size_t xq_row;
    /* activation panels (see pack_panel), when the kernel set has them for
     * this weight type and there is more than one row */
    void (*dot_panel)(int64_t n, const void *w, const void *panel, int nr, float *out, int64_t out_stride);
    /* two weight rows per call (NULL: one) */
    void (*dot_panel2)(int64_t n, const void *w, size_t w_stride, const void *panel, int nr, float *out,
                       int64_t out_stride);
    void (*pack_panel)(int64_t n, const void *a, size_t a_stride, int nr, void *panel);
    char *panels;
    size_t panel_bytes;
    /* the prompt rows on the AMX tiles (see cpu_matmul_prompt): tx, tn of
     * them, results to ty; the set has tiles for this weight type and the
     * weight rows come in whole tiles of 16 */
    const float *tx;
    int32_t tn;
    float *ty;
    void (*gemm)(int64_t n, const void *w, size_t w_stride, int nw, const void *tiles, int m, float *out,
                 int64_t out_stride);
    void (*pack_tiles)(int64_t n, const float *x, size_t x_stride, int m, void *tiles);
    char *tiles;
    /* short F32/F16/BF16 rows (see dot_narrow): set instead of quant, dot
     * and panels, on the float rows */
    syn_dot_narrow_fn narrow;
};

static inline void prefetch_ahead(const char *row, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(row + MM_DECODE_PREFETCH + off, 0, 3);
}

/* y (+)= alpha (v + bias) for output rows o..o+nw of activation rows
 * r0..r0+nr, v[r * nw + j] holding row r's result for weight row o + j */
static void mm_store(const struct mm_task *t, float *y, const float *v, int64_t o, int nw, int32_t r0, int nr)
{
    int64_t out = t->w->ne[1];
    const float *bias = t->bias ? t->bias + o : NULL, alpha = t->alpha;
    /* the cases apart, so each inner loop is plain enough to vectorise */
    for (int j = 0; j < nr; j++) {
        float *dst = y + (size_t)(r0 + j) * out + o;
        const float *src = v + (size_t)j * nw;
        if (bias && t->accumulate)
            for (int i = 0; i < nw; i++)
                dst[i] += alpha * (src[i] + bias[i]);
        else if (bias)
            for (int i = 0; i < nw; i++)
                dst[i] = alpha * (src[i] + bias[i]);
        else if (t->accumulate)
            for (int i = 0; i < nw; i++)
                dst[i] += alpha * (src[i] + 0.0f);
        else
            for (int i = 0; i < nw; i++)
                dst[i] = alpha * (src[i] + 0.0f);
    }
}

/* AMX: output rows o0..o1 (whole tiles of 16 weight rows) of the tile
 * rows; with bias, scale or accumulation, 16 weight rows at a time through
 * the thread's work buffer */
static void mm_tiles(const struct mm_task *t, const char *wbase, int64_t o0, int64_t o1, float *work)
{
    int64_t in = t->w->ne[0], out = t->w->ne[1];
    if (!t->bias && t->alpha == 1.0f && !t->accumulate) {
        t->gemm(in, wbase + (size_t)o0 * t->w->row_bytes, t->w->row_bytes, (int)(o1 - o0), t->tiles, t->tn, t->ty + o0,
                out);
        return;
    }
    for (int64_t o = o0; o < o1; o += 16)
        for (int32_t r = 0; r < t->tn; r += MM_WORK_ROWS) {
            int m = t->tn - r < MM_WORK_ROWS ? t->tn - r : MM_WORK_ROWS;
            t->gemm(in, wbase + (size_t)o * t->w->row_bytes, t->w->row_bytes, 16,
                    t->tiles + syn_tiles_bytes(t->w->type, in, r), m, work, 16);
            mm_store(t, t->ty, work, o, 16, r, m);
        }
}

/* output rows o0..o1 of the exact rows, in blocks of ob weight rows */
static void mm_rows(const struct mm_task *t, const char *wbase, int64_t o0, int64_t o1, int64_t ob, int group)
{
    int64_t in = t->w->ne[0], out = t->w->ne[1];
    /* without bias, scale or accumulation the kernels write y directly */
    int plain = !t->bias && t->alpha == 1.0f && !t->accumulate;
    for (int64_t oa = o0; oa < o1; oa += ob) {
        int64_t oe = oa + ob < o1 ? oa + ob : o1;
        for (int32_t r = 0; r < t->n; r += group) {
            int nr = t->n - r < group ? t->n - r : group;
            const char *xr = t->xq + (size_t)r * t->xq_row;
            for (int64_t o = oa; o < oe;) {
                const char *wrow = wbase + (size_t)o * t->w->row_bytes;
                const char *panel = t->dot_panel ? t->panels + (size_t)(r / group) * t->panel_bytes : NULL;
                /* results of weight rows o, o + 1 for activation row j go
                 * to res[j * res_stride + 0 and 1] */
                float v[2 * (SYN_PANEL_ROWS > SYN_DOT_ROWS_MAX ? SYN_PANEL_ROWS : SYN_DOT_ROWS_MAX)];
                float *res = plain ? t->y + (size_t)r * out + o : v;
                int two = t->dot_panel2 && o + 1 < oe;
                int64_t res_stride = plain ? out : two ? 2 : 1;
                if (two)
                    t->dot_panel2(in, wrow, t->w->row_bytes, panel, nr, res, res_stride);
                else if (t->dot_panel)
                    t->dot_panel(in, wrow, panel, nr, res, res_stride);
                else if (nr == 1) {
                    prefetch_ahead(wrow, t->w->row_bytes);
                    t->dot(in, wrow, xr, res);
                }
                else
                    t->dot_rows(in, wrow, xr, t->xq_row, nr, res, res_stride);
                if (!plain)
                    mm_store(t, t->y, v, o, 1 + two, r, nr);
                o += 1 + two;
            }
        }
    }
}

/* output rows o0..o1 of short weight rows (column panels, see dot_narrow),
 * up to SYN_NARROW_CALL weight rows and 16 activation rows a call */
static void mm_narrow(const struct mm_task *t, int64_t o0, int64_t o1)
{
    int64_t in = t->w->ne[0];
    size_t group_bytes = (size_t)SYN_NARROW_ROWS * (size_t)in * (t->w->row_bytes / (size_t)in);
    float v[SYN_NARROW_CALL * 16];
    for (int64_t o = o0; o < o1;) {
        int j0 = (int)(o % SYN_NARROW_ROWS);
        int nw = o1 - o < SYN_NARROW_CALL - j0 ? (int)(o1 - o) : SYN_NARROW_CALL - j0;
        const char *panel = (const char *)t->w->data + (size_t)(o / SYN_NARROW_ROWS) * group_bytes;
        for (int32_t r = 0; r < t->n; r += 16) {
            int nr = t->n - r < 16 ? t->n - r : 16;
            t->narrow(in, panel, j0, nw, t->x + (size_t)r * (size_t)in, (size_t)in, nr, v);
            mm_store(t, t->y, v, o, nw, r, nr);
        }
        o += nw;
    }
}

/* Converts the task's activation rows for the kernels: quantized rows,
 * their panels, the AMX tiles; one barrier before any thread reads them
 * (none when the calling thread runs the task alone). */
static void mm_prepare(const struct mm_task *t, int ith, int nth)
{
    int64_t in = t->w->ne[0];
    int barrier = 0;
    if (t->quant) {
        for (int32_t r = ith; r < t->n; r += nth)
            t->quant(t->x + (size_t)r * in, t->xq + (size_t)r * t->xq_row, in);
        /* one row with a panel: thread 0 quantizes it and packs it, so only
         * the barrier after the packing is needed */
        if (!(t->n == 1 && t->dot_panel) && nth > 1)
            syn_pool_barrier(t->b->pool);
    }
    if (t->dot_panel) {
        for (int32_t r = ith * SYN_PANEL_ROWS; r < t->n; r += nth * SYN_PANEL_ROWS)
            t->pack_panel(in, t->xq + (size_t)r * t->xq_row, t->xq_row,
                          t->n - r < SYN_PANEL_ROWS ? t->n - r : SYN_PANEL_ROWS,
                          t->panels + (size_t)(r / SYN_PANEL_ROWS) * t->panel_bytes);
        barrier = 1;
    }
    if (t->tn) {
        for (int32_t r = ith * 16; r < t->tn; r += nth * 16)
            t->pack_tiles(in, t->tx + (size_t)r * in, (size_t)in, t->tn - r < 16 ? t->tn - r : 16,
                          t->tiles + syn_tiles_bytes(t->w->type, in, r));
        barrier = 1;
    }
    if (barrier && nth > 1)
        syn_pool_barrier(t->b->pool);
}

static void mm_worker(void *arg, int ith, int nth)
{
    struct mm_task *t = arg;
    int64_t out = t->w->ne[1];
    mm_prepare(t, ith, nth);
    const char *wbase = t->w->data;
    float *work = t->b->mm_work + (size_t)ith * MM_WORK;
    /* Cache blocking for prefill: a block of weight rows (about half of L1)
     * meets each group of activation rows (a panel or a row tile) in turn,
     * so both stay in L1 instead of every weight row streaming all
     * activation rows from L2/L3. Tiling never changes a result (see
     * vec_dot_rows and dot_panel). One row has nothing to block; an even
     * block lets dot_panel2 take its weight rows in pairs. With tile rows,
     * blocks are whole 16-row tiles, and the exact rows read each block
     * just before the tiles do, so a mixed step reads its weights from
     * memory once. */
    int64_t ob = t->tn       ? 16
                 : t->narrow ? SYN_NARROW_CALL
                 : t->n > 1  ? (int64_t)(MM_BLOCK_BYTES / t->w->row_bytes)
                             : MM_CHUNK_MIN;
    if (ob < 1)
        ob = 1;
    /* activation rows one call takes: a panel, or a row tile */
    int group = t->dot_panel ? SYN_PANEL_ROWS : SYN_DOT_ROWS_MAX;
    /* Each thread owns a contiguous share of the output rows and takes it
     * in chunks, front to back; a thread done with its own share helps the
     * others with theirs, so none waits long for the slowest (memory-bound
     * decode, a core shared with the server's threads). Which thread
     * computes a row never changes its result. */
    int64_t chunk = out / ((int64_t)nth * MM_CHUNKS_PER_THREAD);
    chunk = chunk < MM_CHUNK_MIN ? MM_CHUNK_MIN : chunk;
    chunk = (chunk + ob - 1) / ob * ob;
    for (int k = 0; k < nth; k++) {
        mm_share *sh = &t->b->shares[(ith + k) % nth];
        for (;;) {
            int64_t o0 = atomic_fetch_add_explicit(&sh->next, chunk, memory_order_relaxed);
            if (o0 >= sh->end)
                break;
            int64_t o1 = o0 + chunk < sh->end ? o0 + chunk : sh->end;
            if (!t->tn && t->narrow)
                mm_narrow(t, o0, o1);
            else if (!t->tn)
                mm_rows(t, wbase, o0, o1, ob, group);
            else if (!t->n)
                mm_tiles(t, wbase, o0, o1, work);
            else
                for (int64_t o = o0; o < o1; o += 16) {
                    if (t->narrow)
                        mm_narrow(t, o, o + 16);
                    else
                        mm_rows(t, wbase, o, o + 16, 16, group);
                    mm_tiles(t, wbase, o, o + 16, work);
                }
        }
    }
}

/* y (+)= alpha (W x + bias) for n_exact + n_tiles rows: the first n_exact
 * by the exact kernels, the rest on the AMX tiles, which the caller has
 * checked the set has for w */
static void mm_run(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_exact,
                   int32_t n_tiles, float *y, float alpha, int accumulate)
{
    /* the weight type's kernels, and those of its activation format (a
     * type: cpu_weight_load refuses weights whose type has no kernels) */
    const syn_type_kernels *tk = &b->k->type[w->type], *ak = &b->k->type[tk->act_type];
    int64_t in = w->ne[0], out = w->ne[1];
    struct mm_task t = {
        .b = b, .w = w, .bias = bias ? bias->data : NULL, .alpha = alpha, .accumulate = accumulate,
        .x = x, .n = n_exact, .y = y, .dot = tk->vec_dot, .dot_rows = tk->vec_dot_rows,
    };
    if (n_tiles) {
        t.tx = x + (size_t)n_exact * (size_t)in;
        t.tn = n_tiles;
        t.ty = y + (size_t)n_exact * (size_t)out;
        t.gemm = tk->gemm;
        t.pack_tiles = tk->pack_tiles;
        b->tiles = cpu_grow(b->tiles, &b->tiles_cap, syn_tiles_bytes(w->type, in, n_tiles));
        t.tiles = b->tiles;
    }
    /* short rows take the float activations as they are */
    if (n_exact && cpu_is_narrow(w))
        t.narrow = tk->dot_narrow;
    else if (n_exact && tk->act_type == SYN_TYPE_F32) {
        t.xq = (char *)x;
        t.xq_row = (size_t)in * sizeof(float);
    } else if (n_exact) {
        t.quant = ak->quant;
        t.xq_row = syn_type_row_bytes(tk->act_type, in);
        b->act = cpu_grow(b->act, &b->act_cap, t.xq_row * (size_t)n_exact);
        t.xq = b->act;
    }
    if (!t.narrow && n_exact && (n_exact > 1 || tk->panel_decode) && tk->dot_panel && ak->pack_panel) {
        t.dot_panel = tk->dot_panel;
        t.dot_panel2 = tk->dot_panel2;
        t.pack_panel = ak->pack_panel;
        t.panel_bytes = syn_panel_bytes(tk->act_type, in);
        size_t n_panels = (size_t)(n_exact + SYN_PANEL_ROWS - 1) / SYN_PANEL_ROWS;
        b->panels = cpu_grow(b->panels, &b->panels_cap, t.panel_bytes * n_panels);
        t.panels = b->panels;
    }
    int nth = in * out * (n_exact + n_tiles) < MM_INLINE_MACS ? 1 : syn_pool_size(b->pool);
    /* with tile rows, shares start at whole tiles of 16 rows */
    int64_t unit = n_tiles ? 16 : 1, units = out / unit;
    for (int i = 0; i < nth; i++) {
        atomic_store_explicit(&b->shares[i].next, units * i / nth * unit, memory_order_relaxed);
        b->shares[i].end = units * (i + 1) / nth * unit;
    }
    if (nth == 1)
        mm_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, mm_worker, &t);
}

void cpu_matmul(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_rows,
                float *y, float alpha, int accumulate)
{
    mm_run(b, w, bias, x, n_rows, 0, y, alpha, accumulate);
}

/* Prompt rows go to the AMX tiles where the set has them for w (whole
 * tiles of 16 weight rows of whole 32-element steps); a tile's results for
 * a row depend on nothing but that row, whatever else it is packed with.
 * A mixed step's exact and tile rows share one pass over the weights. */
void cpu_matmul_prompt(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x,
                       int32_t n_rows, int32_t n_exact, float *y, float alpha, int accumulate)
{
    if (!b->k->type[w->type].gemm || cpu_is_narrow(w) || w->ne[1] % 16 || w->ne[0] % 32 || n_exact >= n_rows)
        mm_run(b, w, bias, x, n_rows, 0, y, alpha, accumulate);
    else
        mm_run(b, w, bias, x, n_exact, n_rows - n_exact, y, alpha, accumulate);
}
