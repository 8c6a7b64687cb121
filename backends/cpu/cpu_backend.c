/* The CPU backend plugin: the model graph's ops on host memory, run by a
 * persistent thread pool over the kernel table (AMX, AVX-512, AVX-VNNI, AVX2
 * or the plain-C reference, chosen from what the CPU and OS support;
 * SYNAPSE_CPU_ISA=ref, avx2, avx-vnni or avx512 caps the choice at that set).
 * Weights are used in place from the model's mmap. One thread drives a
 * backend instance; the ops fan out to the pool. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <synapse/plugin.h>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/threadpool.h"
#include "kernels/kernels.h"

/* Below this many elements an elementwise op runs on the calling thread:
 * waking the pool costs more than the work. */
#define INLINE_ELEMENTS 32768
/* floats of one thread's AMX results: 16 weight rows x MM_WORK_ROWS */
#define MM_WORK_ROWS 256
#define MM_WORK (16 * MM_WORK_ROWS)

/* A matmul thread's share of output rows: the next row not yet taken and
 * the end. One per cache line: the owner takes from it all the time, the
 * others only once they have finished their own share. */
typedef struct {
    _Alignas(64) _Atomic int64_t next;
    int64_t end;
} mm_share;

struct syn_backend {
    syn_pool *pool;
    mm_share *shares; /* one per pool thread */
    const syn_kernel_set *k;
    char desc[64];
    /* activation rows converted for vec_dot; grown on demand, reused */
    void *act;
    size_t act_cap;
    char *panels; /* activation panels of the current matmul */
    size_t panels_cap;
    char *tiles; /* AMX tiles of the current matmul's prompt rows */
    size_t tiles_cap;
    float *mm_work; /* AMX results before bias/scale/accumulation, MM_WORK floats per pool thread */
    float *attn_work; /* attend_f16 scratch, one share per pool thread */
    size_t attn_work_per_thread;
    /* rope frequencies for the last (head_dim, base) seen */
    float *inv_freq;
    int inv_freq_dim;
    float inv_freq_base;
};

static const syn_kernel_set *pick_kernels(void)
{
    const char *isa = getenv("SYNAPSE_CPU_ISA");
    if (isa && !strcmp(isa, "ref"))
        return syn_kernels_ref();
    /* SYNAPSE_CPU_ISA=avx2, avx-vnni or avx512 caps the choice at that set */
    int cap_avx2 = isa && !strcmp(isa, "avx2"), cap_vnni = cap_avx2 || (isa && !strcmp(isa, "avx-vnni")),
        cap_avx512 = cap_vnni || (isa && !strcmp(isa, "avx512"));
    if (!cap_avx512 && syn_kernels_amx() && syn_cpu_has_amx())
        return syn_kernels_amx();
    if (!cap_vnni && syn_cpu_has_avx512_vnni() && syn_kernels_avx512())
        return syn_kernels_avx512();
    if (!cap_avx2 && syn_cpu_has_avx_vnni() && syn_kernels_vnni())
        return syn_kernels_vnni();
    if (syn_cpu_has_avx2() && syn_kernels_avx2())
        return syn_kernels_avx2();
    return syn_kernels_ref();
}

static void cpu_destroy(syn_backend *b);

static syn_backend *cpu_create(const syn_backend_params *params, syn_error *err)
{
    syn_backend *b = calloc(1, sizeof *b);
    if (!b) {
        syn_fail(err, SYN_ERR_NOMEM, "cpu backend: out of memory");
        return NULL;
    }
    int n = params && params->n_threads > 0 ? params->n_threads : syn_cpu_count();
    b->pool = syn_pool_new(n);
    if (!b->pool) {
        free(b);
        syn_fail(err, SYN_ERR_NOMEM, "cpu backend: cannot start %d threads", n);
        return NULL;
    }
    b->shares = aligned_alloc(64, sizeof(mm_share) * (size_t)syn_pool_size(b->pool));
    if (!b->shares) {
        syn_pool_free(b->pool);
        free(b);
        syn_fail(err, SYN_ERR_NOMEM, "cpu backend: out of memory");
        return NULL;
    }
    b->k = pick_kernels();
    b->mm_work = aligned_alloc(64, sizeof(float) * MM_WORK * (size_t)syn_pool_size(b->pool));
    if (!b->mm_work) {
        cpu_destroy(b);
        syn_fail(err, SYN_ERR_NOMEM, "cpu backend: out of memory");
        return NULL;
    }
    snprintf(b->desc, sizeof b->desc, "cpu %s, %d thread%s", b->k->isa, syn_pool_size(b->pool),
             syn_pool_size(b->pool) == 1 ? "" : "s");
    return b;
}

static void cpu_destroy(syn_backend *b)
{
    if (!b)
        return;
    syn_pool_free(b->pool);
    free(b->shares);
    free(b->act);
    free(b->panels);
    free(b->tiles);
    free(b->mm_work);
    free(b->attn_work);
    free(b->inv_freq);
    free(b);
}

static const char *cpu_describe(syn_backend *b) { return b->desc; }

static int cpu_supports_type(syn_backend *b, int type)
{
    if (type < 0 || type >= SYN_TYPE_COUNT)
        return 0;
    const syn_type_kernels *tk = &b->k->type[type];
    return tk->dequant && tk->vec_dot && tk->vec_dot_rows;
}

/* Large buffers (activations, KV cache) come straight from mmap: zeroed
 * lazily by the kernel, so start-up does not pay for touching them. A 64-byte
 * header in front keeps the mapping's size for release. */
#define MAP_HEADER 64
#define MMAP_MIN (256 * 1024)

static void *cpu_alloc(syn_backend *b, size_t bytes, syn_error *err)
{
    (void)b;
    size_t rounded = (bytes + 63) & ~(size_t)63;
    if (!rounded)
        rounded = 64;
    char *p;
    if (rounded >= MMAP_MIN) {
        p = mmap(NULL, rounded + MAP_HEADER, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            p = NULL;
    } else {
        p = aligned_alloc(64, rounded + MAP_HEADER);
        if (p)
            memset(p, 0, rounded + MAP_HEADER);
    }
    if (!p) {
        syn_fail(err, SYN_ERR_NOMEM, "cpu backend: cannot allocate %zu bytes", bytes);
        return NULL;
    }
    memcpy(p, &rounded, sizeof rounded);
    return p + MAP_HEADER;
}

static void cpu_release(syn_backend *b, void *ptr)
{
    (void)b;
    if (!ptr)
        return;
    char *p = (char *)ptr - MAP_HEADER;
    size_t rounded;
    memcpy(&rounded, p, sizeof rounded);
    if (rounded >= MMAP_MIN)
        munmap(p, rounded + MAP_HEADER);
    else
        free(p);
}

static void cpu_copy(syn_backend *b, void *dst, const void *src, size_t bytes)
{
    (void)b;
    memcpy(dst, src, bytes);
}

static void cpu_sync(syn_backend *b) { (void)b; }

/* Weights are read in place from the model's mmap; without this, the first
 * forward pass takes one page fault per 4 KiB of weights (about a tenth of
 * a 1.5B prefill on a VM). MADV_POPULATE_READ maps the pages now; kernels
 * without it (before 5.14) get the read-ahead hint only. Failures cost
 * speed, never correctness, so they are ignored. */
static void prefault(const void *p, size_t bytes)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)p & ~(uintptr_t)(page - 1), end = (uintptr_t)p + bytes;
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
    if (madvise((void *)start, end - start, MADV_POPULATE_READ) != 0)
        (void)madvise((void *)start, end - start, MADV_WILLNEED);
}

static int cpu_weight_load(syn_backend *b, syn_tensor *t, const void *host, syn_error *err)
{
    if (!cpu_supports_type(b, t->type))
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "cpu backend: tensor type %s is not supported",
                        syn_type_name(t->type));
    t->data = (void *)host;
    prefault(host, t->row_bytes * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]));
    return SYN_OK;
}

static void cpu_weight_unload(syn_backend *b, syn_tensor *t)
{
    (void)b;
    t->data = NULL;
}

/* Grows a scratch buffer outside the pool's tasks; the token path only
 * allocates the first time a size is seen. Aborting here is a programmer-level
 * failure (out of memory for a few MB of scratch). */
static void *grow(void *p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return p;
    free(p);
    size_t rounded = (need + 63) & ~(size_t)63;
    p = aligned_alloc(64, rounded);
    if (!p) {
        fprintf(stderr, "synapse: cpu backend: out of memory for %zu bytes of scratch\n", need);
        abort();
    }
    *cap = rounded;
    return p;
}

static void cpu_get_rows(syn_backend *b, const syn_tensor *table, const int32_t *ids, int32_t n, float *out)
{
    syn_dequant_fn dq = b->k->type[table->type].dequant;
    int64_t dim = table->ne[0];
    for (int32_t r = 0; r < n; r++) {
        const char *row = (const char *)table->data + (size_t)ids[r] * table->row_bytes;
        dq(row, out + (size_t)r * dim, dim);
    }
}

/* ---------------------------------------------------------------- rms_norm */

struct norm_task {
    const syn_kernel_set *k;
    const float *x, *w;
    float *out;
    int32_t n_rows, dim;
    float eps;
};

static void norm_worker(void *arg, int ith, int nth)
{
    struct norm_task *t = arg;
    for (int32_t r = ith; r < t->n_rows; r += nth)
        t->k->rms_norm(t->dim, t->x + (size_t)r * t->dim, t->w, t->eps, t->out + (size_t)r * t->dim);
}

static void cpu_rms_norm(syn_backend *b, const float *x, const syn_tensor *w, int32_t n_rows, int32_t dim, float eps,
                         float *out)
{
    struct norm_task t = {b->k, x, w->data, out, n_rows, dim, eps};
    if ((int64_t)n_rows * dim <= INLINE_ELEMENTS)
        norm_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, norm_worker, &t);
}

/* ------------------------------------------------------------------ matmul */

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
    void (*narrow)(int64_t n, const void *w, int nw, const float *x, size_t x_stride, int nr, float *v);
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

/* output rows o0..o1 of short weight rows (see dot_narrow), up to
 * SYN_NARROW_ROWS weight rows and 16 activation rows a call */
static void mm_narrow(const struct mm_task *t, int64_t o0, int64_t o1)
{
    int64_t in = t->w->ne[0];
    const char *w = t->w->data;
    float v[SYN_NARROW_ROWS * 16];
    for (int64_t o = o0; o < o1; o += SYN_NARROW_ROWS) {
        int nw = o1 - o < SYN_NARROW_ROWS ? (int)(o1 - o) : SYN_NARROW_ROWS;
        for (int32_t r = 0; r < t->n; r += 16) {
            int nr = t->n - r < 16 ? t->n - r : 16;
            t->narrow(in, w + (size_t)o * t->w->row_bytes, nw, t->x + (size_t)r * (size_t)in, (size_t)in, nr, v);
            mm_store(t, t->y, v, o, nw, r, nr);
        }
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
                 : t->narrow ? SYN_NARROW_ROWS
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
        b->tiles = grow(b->tiles, &b->tiles_cap, syn_tiles_bytes(w->type, in, n_tiles));
        t.tiles = b->tiles;
    }
    /* short rows take the float activations as they are */
    if (n_exact && in <= SYN_NARROW_MAX && tk->dot_narrow)
        t.narrow = tk->dot_narrow;
    else if (n_exact && tk->act_type == SYN_TYPE_F32) {
        t.xq = (char *)x;
        t.xq_row = (size_t)in * sizeof(float);
    } else if (n_exact) {
        t.quant = ak->quant;
        t.xq_row = syn_type_row_bytes(tk->act_type, in);
        b->act = grow(b->act, &b->act_cap, t.xq_row * (size_t)n_exact);
        t.xq = b->act;
    }
    if (!t.narrow && n_exact && (n_exact > 1 || tk->panel_decode) && tk->dot_panel && ak->pack_panel) {
        t.dot_panel = tk->dot_panel;
        t.dot_panel2 = tk->dot_panel2;
        t.pack_panel = ak->pack_panel;
        t.panel_bytes = syn_panel_bytes(tk->act_type, in);
        size_t n_panels = (size_t)(n_exact + SYN_PANEL_ROWS - 1) / SYN_PANEL_ROWS;
        b->panels = grow(b->panels, &b->panels_cap, t.panel_bytes * n_panels);
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

static void cpu_matmul(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_rows,
                       float *y, float alpha, int accumulate)
{
    mm_run(b, w, bias, x, n_rows, 0, y, alpha, accumulate);
}

/* Prompt rows go to the AMX tiles where the set has them for w (whole
 * tiles of 16 weight rows of whole 32-element steps); a tile's results for
 * a row depend on nothing but that row, whatever else it is packed with.
 * A mixed step's exact and tile rows share one pass over the weights. */
static void cpu_matmul_prompt(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x,
                              int32_t n_rows, int32_t n_exact, float *y, float alpha, int accumulate)
{
    if (!b->k->type[w->type].gemm || w->ne[1] % 16 || w->ne[0] % 32 || n_exact >= n_rows)
        mm_run(b, w, bias, x, n_rows, 0, y, alpha, accumulate);
    else
        mm_run(b, w, bias, x, n_exact, n_rows - n_exact, y, alpha, accumulate);
}

/* -------------------------------------------------------------------- rope */

struct rope_task {
    float *x;
    int32_t n_rows, n_heads, head_dim;
    const int32_t *pos;
    const float *inv_freq;
    int neox;
};

static void rope_worker(void *arg, int ith, int nth)
{
    struct rope_task *t = arg;
    int32_t half = t->head_dim / 2;
    for (int32_t r = ith; r < t->n_rows; r += nth) {
        float *row = t->x + (size_t)r * t->n_heads * t->head_dim;
        for (int32_t i = 0; i < half; i++) {
            float theta = (float)t->pos[r] * t->inv_freq[i];
            float c = cosf(theta), s = sinf(theta);
            for (int32_t h = 0; h < t->n_heads; h++) {
                float *v = row + (size_t)h * t->head_dim;
                int32_t i0 = t->neox ? i : 2 * i, i1 = t->neox ? i + half : 2 * i + 1;
                float a = v[i0], bb = v[i1];
                v[i0] = a * c - bb * s;
                v[i1] = a * s + bb * c;
            }
        }
    }
}

static void cpu_rope(syn_backend *b, float *x, int32_t n_rows, int32_t n_heads, int32_t head_dim, const int32_t *pos,
                     float freq_base, int neox)
{
    if (b->inv_freq_dim != head_dim || b->inv_freq_base != freq_base) {
        size_t cap = 0;
        free(b->inv_freq);
        b->inv_freq = grow(NULL, &cap, sizeof(float) * (size_t)(head_dim / 2 + 1));
        for (int32_t i = 0; i < head_dim / 2; i++)
            b->inv_freq[i] = (float)pow(freq_base, -2.0 * i / head_dim);
        b->inv_freq_dim = head_dim;
        b->inv_freq_base = freq_base;
    }
    struct rope_task t = {x, n_rows, n_heads, head_dim, pos, b->inv_freq, neox};
    if (n_rows == 1)
        rope_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, rope_worker, &t);
}

/* --------------------------------------------------------------- attention */

/* The cache is laid out [slot][KV head][position][head_dim]: one KV head's
 * rows for one sequence are contiguous, so attention streams them in order. */
static size_t head_offset(const syn_attn_params *a, int32_t slot, int32_t kv_head, int32_t pos)
{
    return (((size_t)slot * a->n_kv_heads + (size_t)kv_head) * a->n_ctx + (size_t)pos) * a->head_dim;
}

static void cpu_kv_store(syn_backend *b, const syn_attn_params *a, const float *k, const float *v, const syn_rows *rows)
{
    size_t kv_dim = (size_t)a->n_kv_heads * a->head_dim;
    uint16_t *kc = a->k_cache, *vc = a->v_cache;
    for (int32_t r = 0; r < rows->n; r++)
        for (int32_t g = 0; g < a->n_kv_heads; g++) {
            size_t off = head_offset(a, rows->slot[r], g, rows->pos[r]), src = r * kv_dim + (size_t)g * a->head_dim;
            b->k->f32_to_f16(k + src, kc + off, a->head_dim);
            b->k->f32_to_f16(v + src, vc + off, a->head_dim);
        }
}

static void cpu_kv_copy(syn_backend *b, const syn_attn_params *a, int32_t src, int32_t dst, int32_t n_pos)
{
    (void)b;
    size_t bytes = (size_t)n_pos * a->head_dim * sizeof(uint16_t);
    uint16_t *kc = a->k_cache, *vc = a->v_cache;
    for (int32_t g = 0; g < a->n_kv_heads; g++) {
        memcpy(kc + head_offset(a, dst, g, 0), kc + head_offset(a, src, g, 0), bytes);
        memcpy(vc + head_offset(a, dst, g, 0), vc + head_offset(a, src, g, 0), bytes);
    }
}

struct attn_task {
    syn_backend *b;
    const syn_attn_params *a;
    const float *q;
    const syn_rows *rows;
    float *out;
};

/* One (row, KV head) item covers the query heads j0..j1 of that KV head's
 * group: each cached K and V row is read once for all of them. */
static void attn_group(struct attn_task *t, float *work, int32_t r, int32_t g, int32_t j0, int32_t j1)
{
    const syn_attn_params *a = t->a;
    int32_t hd = a->head_dim, group = a->n_heads / a->n_kv_heads;
    size_t base = head_offset(a, t->rows->slot[r], g, 0);
    size_t head0 = (size_t)r * a->n_heads * hd + ((size_t)g * group + j0) * hd;
    t->b->k->attend_f16(hd, t->rows->pos[r] + 1, (const uint16_t *)a->k_cache + base,
                        (const uint16_t *)a->v_cache + base, hd, t->q + head0, j1 - j0, a->scale,
                        t->out + head0, work);
}

static void attn_worker(void *arg, int ith, int nth)
{
    struct attn_task *t = arg;
    float *work = t->b->attn_work + (size_t)ith * t->b->attn_work_per_thread;
    int32_t kvh = t->a->n_kv_heads, group = t->a->n_heads / kvh;
    /* with fewer (row, KV head) pairs than threads, split the groups' heads */
    int64_t pairs = (int64_t)t->rows->n * kvh;
    int32_t parts = pairs >= nth ? 1 : (int32_t)((nth + pairs - 1) / pairs);
    if (parts > group)
        parts = group;
    int64_t items = pairs * parts;
    for (int64_t it = ith; it < items; it += nth) {
        int64_t pair = it / parts;
        int32_t part = (int32_t)(it % parts);
        attn_group(t, work, (int32_t)(pair / kvh), (int32_t)(pair % kvh), group * part / parts,
                   group * (part + 1) / parts);
    }
}

static void cpu_attention(syn_backend *b, const syn_attn_params *a, const float *q, const syn_rows *rows, float *out)
{
    size_t need = SYN_ATTEND_WORK(a->head_dim, a->n_heads / a->n_kv_heads, a->n_ctx);
    if (need > b->attn_work_per_thread) {
        size_t cap = 0;
        free(b->attn_work);
        b->attn_work = grow(NULL, &cap, sizeof(float) * need * (size_t)syn_pool_size(b->pool));
        b->attn_work_per_thread = need;
    }
    struct attn_task t = {b, a, q, rows, out};
    syn_pool_run(b->pool, attn_worker, &t);
}

/* ------------------------------------------------------------------ swiglu */

struct swiglu_task {
    const syn_kernel_set *k;
    const float *gate, *up;
    float *out;
    int64_t n;
};

static void swiglu_worker(void *arg, int ith, int nth)
{
    struct swiglu_task *t = arg;
    int64_t i0 = t->n * ith / nth, i1 = t->n * (ith + 1) / nth;
    t->k->swiglu(i1 - i0, t->gate + i0, t->up + i0, t->out + i0);
}

static void cpu_swiglu(syn_backend *b, const float *gate, const float *up, int64_t n, float *out)
{
    struct swiglu_task t = {b->k, gate, up, out, n};
    if (n <= INLINE_ELEMENTS)
        swiglu_worker(&t, 0, 1);
    else
        syn_pool_run(b->pool, swiglu_worker, &t);
}

/* ------------------------------------------------------------------ plugin */

static const syn_backend_ops cpu_ops = {
    .struct_size = sizeof(syn_backend_ops),
    .create = cpu_create,
    .destroy = cpu_destroy,
    .describe = cpu_describe,
    .supports_type = cpu_supports_type,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .write = cpu_copy,
    .read = cpu_copy,
    .sync = cpu_sync,
    .weight_load = cpu_weight_load,
    .weight_unload = cpu_weight_unload,
    .get_rows = cpu_get_rows,
    .rms_norm = cpu_rms_norm,
    .matmul = cpu_matmul,
    .rope = cpu_rope,
    .kv_store = cpu_kv_store,
    .attention = cpu_attention,
    .swiglu = cpu_swiglu,
    .kv_copy = cpu_kv_copy,
    .matmul_prompt = cpu_matmul_prompt,
};

/* Always usable (the reference kernels run anywhere); AVX2 scores higher so a
 * future scalar-only build of another backend never wins over it. */
static int cpu_probe(void) { return syn_cpu_has_avx2() ? 20 : 10; }

static const syn_plugin cpu_plugin = {
    SYN_PLUGIN_HEAD(SYN_PLUGIN_BACKEND, "cpu", "0.1.0"),
    .probe = cpu_probe,
    .ops = &cpu_ops,
};

SYN_EXPORT const syn_plugin *synapse_plugin_v1(void) { return &cpu_plugin; }
