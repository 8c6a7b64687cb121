/* The CPU backend plugin: the model graph's ops on host memory, run by a
 * persistent thread pool over the kernel table (AMX, AVX-512, AVX-VNNI, AVX2
 * or the plain-C reference, chosen from what the CPU and OS support;
 * SYNAPSE_CPU_ISA=ref, avx2, avx-vnni or avx512 caps the choice at that set).
 * Weights are used in place from the model's mmap. One thread drives a
 * backend instance; the ops fan out to the pool.
 *
 * This file is the plugin itself: its descriptor and ops table, instance
 * create/destroy, memory and weights. The ops are in cpu_ops.c
 * (elementwise and per-row), cpu_matmul.c and cpu_attention.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/cpu/cpu_features.h"
#include "backends/cpu/cpu_internal.h"

static const syn_kernel_set *pick_kernels(void)
{
    const char *isa = getenv("SYNAPSE_CPU_ISA");
    if (isa && !strcmp(isa, "ref"))
        return syn_kernels_ref();
    /* SYNAPSE_CPU_ISA=avx2, avx-vnni or avx512 caps the choice at that set */
    int cap_avx2 = isa && !strcmp(isa, "avx2"), cap_vnni = cap_avx2 || (isa && !strcmp(isa, "avx-vnni")),
        cap_avx512 = cap_vnni || (isa && !strcmp(isa, "avx512"));
    /* the CPU first: a set's table is built by code compiled for its ISA
     * (a compiler may vectorise even that), so it is not touched elsewhere */
    if (!cap_avx512 && syn_cpu_has_amx() && syn_kernels_amx())
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
    size_t bytes = t->row_bytes * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
    /* Short float rows (a LoRA adapter's B) become column panels, which the
     * narrow kernels read a vector of rows at a time; the host bytes are
     * not read again, which t->data != host tells the caller. */
    if (cpu_packs_narrow(b, t)) {
        size_t esize = t->row_bytes / (size_t)t->ne[0];
        size_t packed = syn_narrow_bytes(esize, t->ne[0], t->ne[1]);
        void *p = cpu_alloc(b, packed, err);
        if (!p)
            return err->code;
        syn_narrow_pack(esize, t->ne[0], t->ne[1], host, t->row_bytes, p);
        t->data = t->backend_priv = p;
        return SYN_OK;
    }
    t->data = (void *)host;
    prefault(host, bytes);
    return SYN_OK;
}

static void cpu_weight_unload(syn_backend *b, syn_tensor *t)
{
    if (t->backend_priv)
        cpu_release(b, t->backend_priv);
    t->backend_priv = NULL;
    t->data = NULL;
}

/* Grows a scratch buffer outside the pool's tasks; the token path only
 * allocates the first time a size is seen. Aborting here is a programmer-level
 * failure (out of memory for a few MB of scratch). */
void *cpu_grow(void *p, size_t *cap, size_t need)
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
    .lora = cpu_lora,
    .kv_page_len = CPU_KV_PAGE_LEN,
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
