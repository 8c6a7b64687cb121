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
 *  1.5  typed capability kinds: router, extractor, verifier, spawner and
 *       specialist, each with its own ops table whose create() takes the
 *       host API (syn_host_api: logging, the base model's embeddings and
 *       generations, the store's routing pathways, get_api for optional
 *       extras).
 *  1.6  specialist claim (a code specialist says which queries are surely
 *       its own, e.g. arithmetic, before the router weighs the others).
 */
#ifndef SYNAPSE_PLUGIN_H
#define SYNAPSE_PLUGIN_H

#include <synapse/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SYN_PLUGIN_MAGIC 0x504e5953u /* "SYNP" read as little-endian bytes */
#define SYN_ABI_MAJOR 1
#define SYN_ABI_MINOR 6
#define SYN_PLUGIN_ENTRY "synapse_plugin_v1"

typedef enum syn_plugin_kind {
    SYN_PLUGIN_BACKEND = 1,
    SYN_PLUGIN_CAPABILITY = 2, /* untyped: JSON in, JSON out (syn_capability_ops) */
    /* 1.5 */
    SYN_PLUGIN_ROUTER = 3,     /* syn_router_ops */
    SYN_PLUGIN_EXTRACTOR = 4,  /* syn_extractor_ops */
    SYN_PLUGIN_VERIFIER = 5,   /* syn_verifier_ops: the hallucination checker */
    SYN_PLUGIN_SPAWNER = 6,    /* syn_spawner_ops */
    SYN_PLUGIN_SPECIALIST = 7, /* syn_specialist_ops: a specialist written in code */
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

/* ------------------------------------------------------------- host API (1.5) */

/* What the host offers a capability plugin, so the plugin links nothing but
 * libc: handed to every typed kind's create(), valid until its destroy().
 * Every call takes `host` first. Any thread may call; a call may block
 * (embed waits for the model). Append only, like the ops tables: a plugin
 * checks struct_size before it uses a field added after 1.5. */
typedef struct syn_host syn_host; /* the host's own state */

/* A routing pathway: how well a set of specialists has answered a domain.
 * Stored by the host (the store's pathways table), learnt by the router. */
typedef struct syn_pathway {
    double strength;   /* the router's own scale */
    int64_t successes; /* outcomes counted each way */
    int64_t failures;
    double updated_at; /* Unix seconds of the last change (for decay) */
} syn_pathway;

/* A generation the host runs for a plugin (a synthesis, a rewrite). */
typedef struct syn_host_generation syn_host_generation;

typedef struct syn_host_api {
    uint32_t struct_size;
    syn_host *host;
    /* An optional extra by name and version ("facts.v1"), NULL when this
     * host has none. */
    const void *(*get_api)(syn_host *host, const char *name);
    /* One line at a syn_log_level, attributed to the plugin. */
    void (*log)(syn_host *host, int level, const char *msg);
    /* The base model's pooled embedding of text, unit length: writes up to
     * cap floats and returns the dimension (> cap: nothing written), or 0
     * with err set (no model, text too long). Blocks until computed. */
    int32_t (*embed)(syn_host *host, const char *text, float *out, int32_t cap, syn_error *err);
    /* The pathway (domain, key): 1 and *out when the store has it, 0 when
     * not, negative with err set on failure. key names a specialist set. */
    int (*pathway_get)(syn_host *host, const char *domain, const char *key, syn_pathway *out, syn_error *err);
    /* Writes it (insert or replace); 0 once committed. */
    int (*pathway_put)(syn_host *host, const char *domain, const char *key, const syn_pathway *p, syn_error *err);
    /* Starts the base model on a chat of system (NULL: none) and user,
     * greedy, up to max_tokens (<= 0: the host's limit), queued with the
     * server's requests; NULL with err set on failure. */
    syn_host_generation *(*generate)(syn_host *host, const char *system, const char *user, int32_t max_tokens,
                                     syn_error *err);
    /* Waits for more of its text: the bytes written to buf (at most cap - 1,
     * then a NUL), 0 once it is all read, negative with err set if it
     * failed. */
    int32_t (*generation_read)(syn_host *host, syn_host_generation *g, char *buf, int32_t cap, syn_error *err);
    /* Stops it if still running and frees it. */
    void (*generation_free)(syn_host *host, syn_host_generation *g);
} syn_host_api;

/* --------------------------------------------------------------- router (1.5) */

/* A specialist as the router sees it; strings live until the next
 * set_specialists or destroy. */
typedef struct syn_route_specialist {
    const char *name;
    const char *description; /* NULL: none */
    const char *const *capabilities;
    int32_t n_capabilities;
    const char *const *examples;
    int32_t n_examples;
} syn_route_specialist;

typedef enum syn_route_mode {
    SYN_ROUTE_SINGLE = 1, /* one specialist (or none: the base model) */
    SYN_ROUTE_SWARM = 2,  /* several answer, a synthesis merges them */
    SYN_ROUTE_CLOUD = 3,  /* the upstream answers */
} syn_route_mode;

#define SYN_ROUTE_MAX_CHOSEN 3

/* One specialist's score, by signal. */
typedef struct syn_route_score {
    float score;      /* the total the decision ranked by */
    float capability; /* whole-word matches of its capabilities, 0..1 */
    float similarity; /* the query's embedding against its description and examples, -1..1 */
    float pathway;    /* Hebbian strength of (domain, it), -1..1 */
} syn_route_score;

/* The router fills what the host zeroed: mode, chosen (indexes into the
 * specialists, best first; n_chosen 0: the base model answers), scores
 * (the host's array, one per specialist, in their order), a domain (the
 * pathway's key: a short lowercase word, "general" when nothing says more)
 * and a reason a person can read. */
typedef struct syn_route_decision {
    uint32_t struct_size; /* set by the host */
    int32_t mode;         /* syn_route_mode */
    int32_t n_chosen;
    int32_t chosen[SYN_ROUTE_MAX_CHOSEN];
    syn_route_score *scores;
    int32_t n_scores;
    char domain[64];
    char reason[256];
} syn_route_decision;

/* Calls may come from many threads at once; the router locks what it
 * shares. */
typedef struct syn_router_ops {
    uint32_t struct_size;
    void *(*create)(const syn_host_api *host, syn_error *err);
    void (*destroy)(void *router);
    /* The specialists now (all of them, in order), after every change. */
    int (*set_specialists)(void *router, const syn_route_specialist *sp, int32_t n, syn_error *err);
    /* query: the request's last user message; embedding: its pooled unit
     * embedding (dim floats), NULL when the host has none. */
    int (*route)(void *router, const char *query, const float *embedding, int32_t dim, syn_route_decision *out,
                 syn_error *err);
    /* What came of an answer the specialists (names) gave for domain:
     * reward in [-1, 1], 1 a thumbs-up, -1 a thumbs-down or a
     * contradiction, fractions for weaker evidence. Never the router's own
     * score: only outcomes teach it. */
    int (*outcome)(void *router, const char *domain, const char *const *specialists, int32_t n, float reward,
                   syn_error *err);
} syn_router_ops;

/* ------------------------------------------------------------ extractor (1.5) */

/* A fact: (subject, predicate, object), perhaps negated ("X does not
 * run on Y"), with the extractor's confidence. Subjects and objects as
 * written; the host normalises them (case, leading articles, spaces). */
typedef struct syn_fact {
    const char *subject;
    const char *predicate;
    const char *object;
    float confidence; /* 0..1 */
    int32_t negated;  /* 1: the statement denies it */
} syn_fact;

/* Receives one fact (valid during the call); nonzero stops the producer. */
typedef int (*syn_fact_fn)(void *user, const syn_fact *fact);

typedef struct syn_extractor_ops {
    uint32_t struct_size;
    void *(*create)(const syn_host_api *host, syn_error *err);
    void (*destroy)(void *extractor);
    /* The facts stated in text (a user's message), each through emit. */
    int (*extract)(void *extractor, const char *text, syn_fact_fn emit, void *user, syn_error *err);
} syn_extractor_ops;

/* ------------------------------------------------------------- verifier (1.5) */

typedef enum syn_claim_label {
    SYN_CLAIM_UNKNOWN = 0,      /* nothing known says either way */
    SYN_CLAIM_SUPPORTED = 1,    /* a known fact says so */
    SYN_CLAIM_CONTRADICTED = 2, /* a known fact says otherwise */
} syn_claim_label;

/* A claim of an answer: bytes [start, end) of it, its label, and the fact
 * the label rests on (NULL and 0 for unknown). */
typedef struct syn_claim {
    int32_t start, end;
    int32_t label; /* syn_claim_label */
    float score;   /* 0..1, how sure the verifier is of the label */
    const syn_fact *fact;
    int64_t fact_id; /* the store's id of that fact */
} syn_claim;

typedef int (*syn_claim_fn)(void *user, const syn_claim *claim);

typedef struct syn_verifier_ops {
    uint32_t struct_size;
    void *(*create)(const syn_host_api *host, syn_error *err);
    void (*destroy)(void *verifier);
    /* Labels the claims of answer (to question), each through emit. */
    int (*verify)(void *verifier, const char *question, const char *answer, syn_claim_fn emit, void *user,
                  syn_error *err);
} syn_verifier_ops;

/* -------------------------------------------------------------- spawner (1.5) */

/* A specialist the swarm lacks, as a definition the host may add. */
typedef struct syn_spawn_proposal {
    const char *name; /* [a-z0-9_-]+ */
    const char *description;
    const char *system_prompt;
    const char *const *capabilities;
    int32_t n_capabilities;
    const char *reason; /* why: which queries went unserved */
} syn_spawn_proposal;

typedef int (*syn_spawn_fn)(void *user, const syn_spawn_proposal *p);

typedef struct syn_spawner_ops {
    uint32_t struct_size;
    void *(*create)(const syn_host_api *host, syn_error *err);
    void (*destroy)(void *spawner);
    /* queries: recent ones no specialist served well; proposals through emit. */
    int (*propose)(void *spawner, const char *const *queries, int32_t n, syn_spawn_fn emit, void *user,
                   syn_error *err);
} syn_spawner_ops;

/* ------------------------------------------- host extra "facts.v1" (1.5) */

/* What get_api("facts.v1") returns: the store's facts, for a verifier. */
#define SYN_HOST_FACTS_V1 "facts.v1"

/* Receives a known fact and its id (valid during the call); nonzero stops. */
typedef int (*syn_known_fact_fn)(void *user, int64_t id, const syn_fact *fact);

typedef struct syn_host_facts_v1 {
    uint32_t struct_size;
    /* The known facts of this subject and predicate (normalised by the host
     * as it normalises facts), each through emit. */
    int (*lookup)(syn_host *host, const char *subject, const char *predicate, syn_known_fact_fn emit, void *user,
                  syn_error *err);
    /* An entity normalised in place, as the host stores them (lowercase, no
     * leading article, single spaces, no final punctuation). */
    void (*normalise)(syn_host *host, char *text);
} syn_host_facts_v1;

/* ----------------------------------------------------------- specialist (1.5) */

/* Receives a piece of an answer (len bytes, valid during the call);
 * nonzero stops the producer (the client left). */
typedef int (*syn_text_fn)(void *user, const char *text, size_t len);

typedef struct syn_specialist_ops {
    uint32_t struct_size;
    void *(*create)(const syn_host_api *host, syn_error *err);
    void (*destroy)(void *specialist);
    /* What the router needs to know of it (name, description,
     * capabilities, examples), pointing into the plugin's memory. */
    int (*describe)(void *specialist, syn_route_specialist *out);
    /* Answers query, streaming the text through emit; when emit returns
     * nonzero, stops and fails. answer and claim are called from many
     * threads at once, on one instance. */
    int (*answer)(void *specialist, const char *query, syn_text_fn emit, void *user, syn_error *err);
    /* 1.6, optional: how sure it is that query is its own, 0 (no claim) to
     * 1 (it answers exactly this kind of query). The host sends a query a
     * specialist claims at >= 0.9 to it without asking the router; below
     * that the router decides as for any specialist. Cheap: called for
     * every routed query. */
    float (*claim)(void *specialist, const char *query);
} syn_specialist_ops;

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
    /* Optional; once per process when the module is first loaded. The host
     * API comes later, to each instance's create() (1.5 kinds), because one
     * process may run several hosts. */
    int (*init)(syn_error *err);
    void (*fini)(void);          /* optional */
    const void *ops; /* the kind's ops table: syn_backend_ops, syn_capability_ops, syn_router_ops, ... */
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
