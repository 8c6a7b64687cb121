/* Inside a context, shared by context.c (making one, its KV cache and
 * adapters) and forward.c (the forward pass). Not for other files. */
#ifndef SYN_CORE_ENGINE_CONTEXT_H
#define SYN_CORE_ENGINE_CONTEXT_H

#include "core/model/model_internal.h"

struct syn_ctx {
    syn_model *m;
    syn_ctx_params p;
    void **k_cache, **v_cache; /* per layer, backend memory */
    /* paged KV (page_len > 0): slot s's i-th page is page_table[s * pages_per_slot + i] */
    int32_t page_len, pages_per_slot, n_pages;
    int32_t *page_table;
    /* activations, backend memory, max_rows rows each */
    float *x, *h, *q, *k, *v, *att, *gate, *up, *lora_tmp, *out_h, *logits;
    int32_t lora_tmp_cols;
    syn_lora_run *lora_runs; /* max_rows of them, for the backend's lora op */
    /* adapters rows may name */
    syn_lora **adapters;
    float *adapter_scale; /* user_scale * the adapter's scale (alpha / rank, ...) */
    int32_t n_adapters;
    int32_t *default_slot; /* host scratch: slot 0 for every row */
};

/* The attention parameters of layer il (its caches and the page table). */
syn_attn_params syn_ctx_attn_params(const syn_ctx *c, int il);

#endif
