/* Internals shared by model.c (loading), lora.c (adapters) and core/engine
 * (contexts and the forward pass). Not for other files. */
#ifndef SYN_CORE_MODEL_INTERNAL_H
#define SYN_CORE_MODEL_INTERNAL_H

#include <synapse/model.h>

/* The matrices a LoRA adapter may touch, in the order the layer uses them. */
enum syn_proj { SYN_PROJ_Q, SYN_PROJ_K, SYN_PROJ_V, SYN_PROJ_O, SYN_PROJ_GATE, SYN_PROJ_UP, SYN_PROJ_DOWN, SYN_PROJ_COUNT };
extern const char *const syn_proj_names[SYN_PROJ_COUNT]; /* "attn_q", ... */

typedef struct syn_layer {
    syn_tensor attn_norm, ffn_norm;
    syn_tensor proj[SYN_PROJ_COUNT];
    syn_tensor bq, bk, bv;          /* qwen2; data NULL when absent */
    syn_tensor q_norm, k_norm;      /* qwen3; data NULL when absent */
} syn_layer;

struct syn_model {
    syn_gguf *gguf;
    syn_backend_ref be;
    syn_model_config cfg;
    syn_tensor tok_embd, out_norm, output;
    syn_layer *layers;
};

typedef struct syn_lora_pair {
    syn_tensor a; /* rank x in  (ne[0] = in,   ne[1] = rank) */
    syn_tensor b; /* out x rank (ne[0] = rank, ne[1] = out) */
} syn_lora_pair;

struct syn_lora {
    const syn_model *model;
    int refs;        /* atomic: its owners (a registry, jobs, a scheduler) */
    uint64_t serial; /* distinct for every adapter this process loads */
    syn_gguf *gguf;  /* a GGUF adapter's file, or NULL */
    struct syn_st *st; /* a PEFT adapter's safetensors file, or NULL */
    int32_t rank;
    float alpha;
    float scale; /* of B (A x) at user scale 1: alpha / rank, PEFT's rsLoRA alpha / sqrt(rank), 1 without alpha */
    syn_lora_pair *pairs; /* [n_layer][SYN_PROJ_COUNT]; a.data NULL when absent */
    void **owned; /* [n_layer][SYN_PROJ_COUNT][2]: bytes converted for a matrix (PEFT's permuted q/k B), or NULL */
};

/* Loads a Hugging Face PEFT adapter into l (calloc'ed, model and serial
 * set): path is a directory with adapter_config.json and
 * adapter_model.safetensors, or a .safetensors file with the config beside
 * it (lora_peft.c). */
int syn_lora_load_peft(syn_lora *l, const char *path, syn_error *err);

/* Fills t for a host matrix of type, (ne0 x ne1; ne1 = 0 for vectors) and
 * loads it on the backend; `name` is for messages. */
int syn_tensor_bind_host(const syn_backend_ref *be, const char *name, int type, int64_t ne0, int64_t ne1,
                         const void *host, syn_tensor *t, syn_error *err);

/* Fills t from the GGUF tensor `name` and loads it on the backend, checking
 * the shape (ne0, ne1; ne1 = 0 for vectors). */
int syn_tensor_bind(const syn_gguf *g, const syn_backend_ref *be, const char *name, int64_t ne0, int64_t ne1,
                    int optional, syn_tensor *t, syn_error *err);

#endif
