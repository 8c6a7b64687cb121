/* The plugin ABI: the one header a plugin needs. A plugin is a shared object
 * exporting `synapse_plugin_v1`, which returns a constant descriptor. The core
 * checks the descriptor before it calls anything else (see core/plugin/plugin_loader.c).
 *
 * Rules
 *  - The first fields of syn_plugin never move: magic, abi_major, abi_minor,
 *    struct_size, kind, name, version.
 *  - Append only. A new field goes at the end of its struct and bumps
 *    SYN_ABI_MINOR; the core copies min(struct_size, sizeof) into zeroed storage,
 *    so an older plugin reads as "field absent (NULL/0)".
 *  - Removing, reordering or retyping a field bumps SYN_ABI_MAJOR and renames the
 *    entry symbol (synapse_plugin_v2, ...).
 *  - Every ops table starts with its own uint32_t struct_size.
 *
 * Changelog
 *  1.0  first version: backend ops (memory, weights, get_rows, rms_norm, matmul,
 *       rope, kv_store, attention, swiglu), capability ops (create/call/destroy).
 *  1.1  backend kv_copy (a sequence's cached prefix reused by another).
 *  1.2  backend matmul_prompt (prompt rows on faster kernels, e.g. AMX tiles).
 *  1.3  backend lora (the LoRA products of rows of many adapters in one call).
 *  1.4  paged KV cache: backend kv_page_len, syn_attn_params page_table
 *       (sequences share the pages of a common prefix).
 */
#ifndef SYNAPSE_PLUGIN_H
#define SYNAPSE_PLUGIN_H

#include <synapse/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYN_PLUGIN_MAGIC 0x504e5953u /* "SYNP" read as little-endian bytes */
#define SYN_ABI_MAJOR 1
#define SYN_ABI_MINOR 4
#define SYN_PLUGIN_ENTRY "synapse_plugin_v1"

typedef enum syn_plugin_kind {
    SYN_PLUGIN_BACKEND = 1,
    SYN_PLUGIN_CAPABILITY = 2,
} syn_plugin_kind;

/* ------------------------------------------------------------------ backend */

typedef struct syn_backend syn_backend; /* a backend instance, owned by the plugin */

typedef struct syn_backend_params {
    uint32_t struct_size;
    int32_t n_threads; /* CPU worker threads; <= 0 means one per core */
    int32_t device;    /* device index for accelerators */
} syn_backend_params;

/* A weight or table the backend holds. `data` is the backend's address of the
 * first element; rows are row_bytes apart. */
typedef struct syn_tensor {
    int32_t type;   /* syn_type */
    int32_t n_dims;
    int64_t ne[4];  /* ne[0] = elements per row, ne[1] = rows, ... */
    size_t row_bytes;
    void *data;
    void *backend_priv; /* backend's own per-tensor state, NULL if none */
} syn_tensor;

/* The rows of one forward step. Each row is one token of one sequence; host
 * memory, read during the call only. */
typedef struct syn_rows {
    int32_t n;
    const int32_t *pos;  /* position of the row's token in its sequence */
    const int32_t *slot; /* KV cache slot (sequence) the row belongs to */
} syn_rows;

/* One layer's attention geometry and its KV cache. Each cache holds
 * n_slots * n_ctx * n_kv_heads * head_dim f16 values, allocated with the
 * backend's alloc; only the backend's kv_store, attention and kv_copy read
 * or write it, so the order inside is the backend's choice.
 *
 * 1.4, paged: when the backend sets kv_page_len, the cache is instead
 * n_pages pages of kv_page_len positions (n_pages * kv_page_len *
 * n_kv_heads * head_dim values), and page_table (host memory,
 * pages_per_slot entries per slot) maps a slot's positions to pages:
 * position p of slot s lies in page page_table[s * pages_per_slot + p /
 * kv_page_len]. kv_store, attention and kv_copy go through it. Slots may map
 * the same page (a prefix they share); the core never stores into a page
 * that more than one slot maps. */
typedef struct syn_attn_params {
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t head_dim;
    int32_t n_ctx;
    float scale;
    void *k_cache;
    void *v_cache;
    /* 1.4 (read only by backends that set kv_page_len) */
    const int32_t *page_table;
    int32_t pages_per_slot;
} syn_attn_params;

/* One run of a lora call: rows row0 .. row0 + n_rows - 1 take one
 * adapter's matrices for one projection, a (rank x in: ne[0] = in, ne[1] =
 * rank) and b (out x rank), scaled by scale. */
typedef struct syn_lora_run {
    const syn_tensor *a;
    const syn_tensor *b;
    float scale;
    int32_t row0;
    int32_t n_rows;
} syn_lora_run;

/* All activations are float32, row-major, contiguous, in backend memory.
 * Calls are issued from one thread per backend instance and may run
 * asynchronously until `sync` or `read`. */
typedef struct syn_backend_ops {
    uint32_t struct_size;

    syn_backend *(*create)(const syn_backend_params *params, syn_error *err);
    void (*destroy)(syn_backend *b);
    const char *(*describe)(syn_backend *b); /* e.g. "cpu avx2, 2 threads" */
    int (*supports_type)(syn_backend *b, int type);

    void *(*alloc)(syn_backend *b, size_t bytes, syn_error *err); /* zeroed */
    void (*release)(syn_backend *b, void *p);
    void (*write)(syn_backend *b, void *dst, const void *host_src, size_t bytes);
    void (*read)(syn_backend *b, void *host_dst, const void *src, size_t bytes);
    void (*sync)(syn_backend *b);

    /* Make t usable: host points at t's bytes (in the model's mmap, valid for
     * the model's lifetime). Sets t->data; may use host in place. */
    int (*weight_load)(syn_backend *b, syn_tensor *t, const void *host, syn_error *err);
    void (*weight_unload)(syn_backend *b, syn_tensor *t);

    /* out[r] = dequantised row ids[r] of table (ids in host memory) */
    void (*get_rows)(syn_backend *b, const syn_tensor *table, const int32_t *ids, int32_t n, float *out);
    /* out[r] = x[r] / rms(x[r]) * w, rows of `dim`; out may equal x */
    void (*rms_norm)(syn_backend *b, const float *x, const syn_tensor *w, int32_t n_rows, int32_t dim, float eps, float *out);
    /* y[r][o] = alpha * (sum_i W[o][i] * x[r][i] + bias[o])   (bias may be NULL)
     * accumulate != 0 adds into y instead of overwriting it. */
    void (*matmul)(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_rows,
                   float *y, float alpha, int accumulate);
    /* rotary embedding in place on rows of n_heads * head_dim; neox rotates
     * (i, i + head_dim/2) pairs, otherwise (2i, 2i+1). pos in host memory. */
    void (*rope)(syn_backend *b, float *x, int32_t n_rows, int32_t n_heads, int32_t head_dim, const int32_t *pos,
                 float freq_base, int neox);
    /* store rows of k and v (n_kv_heads * head_dim each) at (slot, pos) */
    void (*kv_store)(syn_backend *b, const syn_attn_params *a, const float *k, const float *v, const syn_rows *rows);
    /* causal attention of each q row over its slot's positions 0..pos */
    void (*attention)(syn_backend *b, const syn_attn_params *a, const float *q, const syn_rows *rows, float *out);
    /* out = silu(gate) * up, n elements */
    void (*swiglu)(syn_backend *b, const float *gate, const float *up, int64_t n, float *out);

    /* 1.1: copy positions 0..n_pos-1 of slot src's K and V to slot dst (src
     * != dst). Optional: without it the core recomputes the prefix. */
    void (*kv_copy)(syn_backend *b, const syn_attn_params *a, int32_t src, int32_t dst, int32_t n_pos);

    /* 1.2: matmul of a batch whose rows from n_exact on are prompt tokens.
     * Rows before n_exact get exactly what matmul gives them; a prompt row
     * may get a result of other kernels (rounded otherwise, e.g. AMX tiles
     * in bf16), but one that depends only on that row and w, never on the
     * other rows or their number, so a sequence's results do not depend on
     * what it was batched with. Optional: without it the core calls
     * matmul for all rows. */
    void (*matmul_prompt)(syn_backend *b, const syn_tensor *w, const syn_tensor *bias, const float *x, int32_t n_rows,
                          int32_t n_exact, float *y, float alpha, int accumulate);

    /* 1.3: for every run and each of its rows r, y[r] += scale * b (a x[r]),
     * rows of x `in` and of y `out` floats (a->ne[0] and b->ne[1] of every
     * run). Runs may name the same or different adapters, in any order, but
     * no row twice. tmp is scratch of the backend's memory: (the last row
     * named + 1) x (the largest rank) floats. Each row gets exactly what
     * matmul(a, x[r]) into t, then matmul(b, t, alpha = scale, accumulate)
     * would give it, so its result does not depend on the other runs; the
     * point is one call for all of a step's adapters (one wake of a thread
     * pool, one launch) instead of two matmuls per run. Optional: without it
     * the core makes those two matmul calls per run. */
    void (*lora)(syn_backend *b, const syn_lora_run *runs, int32_t n_runs, const float *x, int64_t in, float *y,
                 int64_t out, float *tmp);

    /* 1.4: positions per KV page when the backend's kv_store, attention and
     * kv_copy follow syn_attn_params.page_table (see there); 0 (and for
     * older plugins): a contiguous cache per slot, no sharing. */
    int32_t kv_page_len;
} syn_backend_ops;

/* --------------------------------------------------------------- capability */

/* A capability (router, extractor, hallucination checker, spawner) speaks JSON
 * in and out so its contract can grow without ABI changes. */
typedef struct syn_capability_ops {
    uint32_t struct_size;
    const char *capability; /* "router", "extractor", "hallucination", "spawner" */
    void *(*create)(const char *config_json, syn_error *err);
    void (*destroy)(void *inst);
    /* On success *response is a malloc'ed JSON string the caller frees. */
    int (*call)(void *inst, const char *request_json, char **response, syn_error *err);
} syn_capability_ops;

/* ---------------------------------------------------------------- descriptor */

typedef struct syn_plugin {
    uint32_t magic;     /* SYN_PLUGIN_MAGIC */
    uint16_t abi_major; /* SYN_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;
    uint32_t struct_size; /* sizeof(syn_plugin) as the plugin saw it */
    uint32_t kind;        /* syn_plugin_kind */
    const char *name;
    const char *version;
    /* > 0: usable, larger is preferred; 0: not usable on this machine. */
    int (*probe)(void);
    int (*init)(syn_error *err); /* optional */
    void (*fini)(void);          /* optional */
    const void *ops;             /* syn_backend_ops or syn_capability_ops */
} syn_plugin;

typedef const syn_plugin *(*syn_plugin_entry_fn)(void);

/* Fills the fixed head of a descriptor with this header's values. */
#define SYN_PLUGIN_HEAD(kind_, name_, version_)                                                              \
    .magic = SYN_PLUGIN_MAGIC, .abi_major = SYN_ABI_MAJOR, .abi_minor = SYN_ABI_MINOR,                        \
    .struct_size = (uint32_t)sizeof(syn_plugin), .kind = (kind_), .name = (name_), .version = (version_)

#ifdef __cplusplus
}
#endif
#endif
