/* A loaded base model (weights on a backend, config from GGUF metadata), its
 * inference contexts (KV cache + activations) and LoRA adapters.
 * A model is immutable after load and may be shared; a syn_ctx is driven by
 * one thread at a time. */
#ifndef SYNAPSE_MODEL_H
#define SYNAPSE_MODEL_H

#include <synapse/plugin.h>

#include <synapse/gguf.h>

typedef enum syn_arch { SYN_ARCH_LLAMA, SYN_ARCH_QWEN2, SYN_ARCH_QWEN3 } syn_arch;

typedef struct syn_model_config {
    syn_arch arch;
    char arch_name[16];
    char name[128];     /* general.name, or the file's base name */
    int32_t n_vocab;
    int32_t n_embd;
    int32_t n_ff;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_ctx_train;
    float rms_eps;
    float rope_base;
    int rope_neox;      /* rotate (i, i+d/2) pairs (qwen) or (2i, 2i+1) (llama) */
    int tied_output;    /* output head is token_embd */
} syn_model_config;

/* A backend instance and the ops table it was created from. */
typedef struct syn_backend_ref {
    const syn_backend_ops *ops;
    syn_backend *b;
    const char *plugin_name;
} syn_backend_ref;

/* Creates an instance of the best loaded backend plugin (or the one named). */
SYN_API int syn_backend_open(const char *name, int n_threads, syn_backend_ref *out, syn_error *err);
SYN_API void syn_backend_close(syn_backend_ref *ref);

typedef struct syn_model syn_model;

SYN_API int syn_model_load(const char *path, const syn_backend_ref *be, syn_model **out, syn_error *err);
SYN_API void syn_model_free(syn_model *m);
SYN_API const syn_model_config *syn_model_get_config(const syn_model *m);
SYN_API const syn_gguf *syn_model_get_gguf(const syn_model *m);

/* ---------------------------------------------------------------- adapters */

typedef struct syn_lora syn_lora;

/* Loads a LoRA adapter and checks it fits the model: llama.cpp's GGUF
 * layout (blk.N.<w>.weight.lora_a / .lora_b, adapter.lora.alpha), or
 * Hugging Face PEFT's (a directory with adapter_config.json and
 * adapter_model.safetensors, or a .safetensors file with the config
 * beside it). The adapter is reference counted (one reference for the
 * caller) and immutable, so any thread may use and retain it. */
SYN_API int syn_lora_load(const syn_model *m, const char *path, syn_lora **out, syn_error *err);
/* A reference more; returns l. */
SYN_API syn_lora *syn_lora_retain(syn_lora *l);
/* Drops a reference; the last one frees the adapter. NULL is fine. */
SYN_API void syn_lora_free(syn_lora *l);
/* Distinct for every adapter loaded in this process (never reused), so
 * caches can tell adapters apart even when one is freed and another lands
 * at its address. */
SYN_API uint64_t syn_lora_serial(const syn_lora *l);
/* The model it was loaded for. */
SYN_API const syn_model *syn_lora_model(const syn_lora *l);
SYN_API int32_t syn_lora_rank(const syn_lora *l);
SYN_API float syn_lora_alpha(const syn_lora *l);
/* Bytes its matrices take (what loading it adds, about). */
SYN_API size_t syn_lora_bytes(const syn_lora *l);
/* Nonzero while references other than one (the caller's) exist. */
SYN_API int syn_lora_shared(const syn_lora *l);

/* ------------------------------------------------------------------ context */

typedef struct syn_ctx syn_ctx;

typedef struct syn_ctx_params {
    int32_t n_ctx;           /* positions per sequence slot */
    int32_t n_slots;         /* sequences that can be live at once */
    int32_t max_rows;        /* rows (tokens) per forward step */
    int32_t max_logit_rows;  /* rows per step that may ask for logits */
    /* KV pages, on a backend with a paged cache (syn_model_kv_page_len >
     * 0): 0 for n_slots * syn_ctx_pages_per_slot, else at least that many;
     * on one without, 0 (anything else is refused). */
    int32_t n_pages;
} syn_ctx_params;

SYN_API int syn_ctx_new(syn_model *m, const syn_ctx_params *p, syn_ctx **out, syn_error *err);
SYN_API void syn_ctx_free(syn_ctx *c);
SYN_API const syn_ctx_params *syn_ctx_get_params(const syn_ctx *c);

/* Adapters the rows of a batch can name by index. The ctx borrows them. */
SYN_API int syn_ctx_set_adapters(syn_ctx *c, syn_lora *const *adapters, const float *user_scales, int32_t n,
                         syn_error *err);

/* One forward step. Each row is a token of some sequence: its position, its
 * KV slot and its adapter (-1 = base model). Positions of a slot must be
 * written in order; a row sees its slot's positions 0..pos. */
typedef struct syn_batch {
    int32_t n;
    const int32_t *token;
    const int32_t *pos;
    const int32_t *slot;
    const int32_t *adapter;     /* NULL: no adapter for any row */
    const uint8_t *want_logits; /* NULL: only the last row */
    /* The last n_prompt rows are prompt tokens (0: none, every row is a
     * sampled token fed back). Their projections may run on faster kernels
     * that round otherwise (see matmul_prompt in plugin.h), so a token's
     * results depend on whether it came in a prompt, never on what else
     * the step held. */
    int32_t n_prompt;
} syn_batch;

/* Makes positions 0..n_pos-1 of slot dst hold what slot src holds there
 * (the same tokens, so the same keys and values): a shared prefix is copied
 * instead of recomputed. SYN_ERR_UNSUPPORTED when the backend cannot. */
SYN_API int syn_ctx_kv_copy(syn_ctx *c, int32_t src, int32_t dst, int32_t n_pos, syn_error *err);

/* The paged KV cache. On a backend that pages it, each slot's positions map
 * to pages of syn_ctx_page_len positions through a table, identity at first
 * (slot s's i-th page is page s * pages_per_slot + i) and changed with
 * syn_ctx_map_page, so slots can map the same page: a prefix computed once
 * and read by many. Only positions a row stores into must be in a page no
 * other slot reads. On a backend without pages, syn_ctx_page_len is 0 and
 * each slot has its own contiguous cache. */
SYN_API int32_t syn_ctx_page_len(const syn_ctx *c);
/* The page length a context of m will have (0: no pages). */
SYN_API int32_t syn_model_kv_page_len(const syn_model *m);
SYN_API int32_t syn_ctx_pages_per_slot(const syn_ctx *c);
SYN_API int32_t syn_ctx_n_pages(const syn_ctx *c);
/* Slot `slot`'s index-th page is now `page`. */
SYN_API int syn_ctx_map_page(syn_ctx *c, int32_t slot, int32_t index, int32_t page, syn_error *err);
/* Page dst's first n_pos positions get page src's keys and values. */
SYN_API int syn_ctx_copy_page(syn_ctx *c, int32_t src, int32_t dst, int32_t n_pos, syn_error *err);

/* logits (host memory) receives n_vocab floats for each row that wants them,
 * in row order. */
SYN_API int syn_forward(syn_ctx *c, const syn_batch *batch, float *logits, syn_error *err);
/* The same step, returning instead the final-normed hidden state (n_embd
 * floats) of each row that wants output: the input of embeddings. */
SYN_API int syn_forward_hidden(syn_ctx *c, const syn_batch *batch, float *hidden, syn_error *err);

#endif
