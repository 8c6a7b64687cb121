/* Inside the scheduler: its sequences and step buffers, shared by the files
 * of core/sched. The scheduler thread alone touches the context, the slots
 * and the sequences; the queue and the stats are under mu. */
#ifndef SYN_CORE_SCHED_INTERNAL_H
#define SYN_CORE_SCHED_INTERNAL_H

#include <pthread.h>

#include "core/sched/job.h"

/* What a KV slot's keys and values were computed under: the same tokens
 * under another adapter (or scale) are other keys and values. */
typedef struct adapter_key {
    uint64_t serial; /* syn_lora_serial; 0: the base model */
    float scale;
} adapter_key;

/* One KV page (kv_pages.c). In the prefix tree (in_tree) it is a child of
 * parent (-1: the root), holds fill positions of tokens under key, and
 * heads a list of children; ref counts the slots that map it. */
typedef struct kv_page {
    int32_t ref;
    int32_t fill;
    int32_t parent, child, sibling;
    int in_tree;
    adapter_key key;
    uint64_t used; /* LRU clock when last matched or let go */
} kv_page;

typedef struct kv_cache {
    int32_t page_len; /* 0: the backend has no pages, so no prefix cache */
    int32_t per_slot; /* pages a slot can map */
    int32_t n_pages;
    int32_t *map;     /* n_slots x per_slot: the page each slot maps there, -1 none */
    kv_page *pages;
    int32_t *tokens;  /* n_pages x page_len: the tokens each tree page holds */
    int32_t *free;    /* stack of pages neither mapped nor cached */
    int32_t n_free;
    int32_t roots;    /* first page of the root's children */
    uint64_t clock;
    uint64_t evictions;
} kv_cache;

typedef struct seq {
    syn_job *job; /* NULL: this sequence is free */
    int choice;
    int slot;
    int32_t n_past;  /* tokens of this sequence written to the slot's KV */
    int32_t pending; /* sampled token to run next, -1 while prefilling */
    int wait_slot;   /* -1, or the slot of an earlier sequence that will
                      * hold wait_len tokens of this prompt: this one
                      * takes them once they are computed (syn_plan_wait) */
    int32_t wait_len;
    uint64_t wait_order; /* that sequence's order, to know it is still there */
    int32_t max_gen;
    int32_t n_gen;
    double t_last;
    syn_generator *gen;
    uint64_t order; /* admission order: earlier prompts prefill first */
} seq;

/* The embedding job in progress: it holds one slot and runs a chunk of
 * rows between generation steps. */
typedef struct embed_run {
    syn_job *job; /* NULL: none */
    int slot;
    int32_t input; /* the input being pooled */
    int32_t pos;   /* its rows done */
    const int32_t *tokens; /* where that input starts in job->prompt */
    float *hidden; /* chunk rows x n_embd */
    float *out;    /* n_inputs x n_embd */
    double *acc;   /* n_embd */
} embed_run;

struct syn_sched {
    syn_model *model;
    const syn_tokenizer *tok;
    syn_ctx *ctx;
    syn_sched_params p;
    syn_sched_observer obs;
    int32_t n_vocab, n_embd;
    int32_t logit_rows;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    int joined;
    syn_job **queue; /* ring of max_queue */
    int q_head, q_len;
    syn_sched_stats stats;

    seq *seqs;      /* n_slots; seq i uses slot i */
    embed_run emb;  /* emb.job's slot is taken though seqs[slot] is free */
    kv_cache kv;
    uint64_t admitted;

    /* step buffers */
    int32_t *b_tok, *b_pos, *b_slot;
    uint8_t *b_want;
    int32_t *b_adapter;
    int *b_seq; /* sequence of each logit row */
    int32_t *seq_adapter; /* per sequence: its index in this step's adapter table */

    /* adapters (adapters.c): the context's table, and the next step's */
    syn_lora **tab, **next_tab; /* n_slots each */
    float *tab_scale, *next_scale;
    int32_t n_tab, n_next;
    float *logits;
};

/* kv_pages.c: the paged KV cache and its prefix tree */
int syn_kv_init(syn_sched *s, syn_error *err);
void syn_kv_free(syn_sched *s);
/* Maps a page for slot's position pos unless one is there: a sequence's
 * (key: its adapter) joins the prefix tree, an embedding's (NULL) not. */
int syn_kv_reserve(syn_sched *s, int slot, int32_t pos, const adapter_key *key, syn_error *err);
/* Records that slot's position pos now holds token (after its step ran). */
void syn_kv_commit(syn_sched *s, int slot, int32_t pos, int32_t token);
/* Unmaps every page of slot (its sequence or embedding ended). */
void syn_kv_release(syn_sched *s, int slot);
/* Moves q's n_past to the end of the longest prefix of j's prompt, up to
 * limit tokens, the tree holds under j's adapter (whole pages shared, the
 * rest copied); dry: only how far that would be. Returns the new n_past. */
int32_t syn_kv_match(syn_sched *s, seq *q, const syn_job *j, int32_t limit, int dry);
/* Pages mapped by some slot, and pages cached that nobody maps. */
void syn_kv_counts(const syn_sched *s, int32_t *used, int32_t *cached);
/* Whether q (cached tokens found in the tree) should wait for an earlier
 * sequence computing more of its prompt; if so, sets q's wait. */
int syn_plan_wait(syn_sched *s, seq *q, const syn_job *j, int32_t cached);
/* Gives waiting sequences what they waited for, once computed. */
void syn_resolve_waits(syn_sched *s);

/* adapters.c: the table of adapters a step's rows index */
adapter_key syn_job_adapter_key(const syn_job *j);
int syn_adapter_key_eq(adapter_key a, adapter_key b);
/* A new table for the next step: add each sequence's job, then apply. */
void syn_adapters_begin(syn_sched *s);
/* j's adapter's index in the next table (-1: the base model). */
int32_t syn_adapters_index(syn_sched *s, const syn_job *j);
/* Gives the next table to the context unless it is the one it has. */
int syn_adapters_apply(syn_sched *s, syn_error *err);
/* Releases the scheduler's references (when it is freed). */
void syn_adapters_drop(syn_sched *s);
/* The context's table emptied and its references dropped (when idle). */
void syn_adapters_release(syn_sched *s);

/* embed.c: embedding jobs, a chunk of rows at a time */
/* Starts j on free slot `slot` (the job fails if its buffers do not fit). */
void syn_embed_start(syn_sched *s, syn_job *j, int slot);
/* Runs the next chunk of the job in progress; ends it when done or gone. */
void syn_embed_step(syn_sched *s);
/* Ends the job in progress as state (the scheduler stops). */
void syn_embed_abort(syn_sched *s, syn_job_state state, const char *msg);

#endif
