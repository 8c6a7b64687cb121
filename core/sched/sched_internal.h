/* Inside the scheduler: its sequences and step buffers, shared by the files
 * of core/sched. The scheduler thread alone touches the context, the slots
 * and the sequences; the queue and the stats are under mu. */
#ifndef SYN_CORE_SCHED_INTERNAL_H
#define SYN_CORE_SCHED_INTERNAL_H

#include <pthread.h>

#include "core/sched/job.h"

typedef struct seq {
    syn_job *job; /* NULL: this sequence is free */
    int choice;
    int slot;
    int32_t n_past;  /* tokens of this sequence written to the slot's KV */
    int32_t pending; /* sampled token to run next, -1 while prefilling */
    int wait_slot;   /* -1, or the slot of an earlier sequence that will
                      * hold wait_len tokens of this prompt: this one
                      * copies them once they are computed (syn_plan_wait) */
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
    int32_t **hist; /* per slot: the tokens its KV holds */
    int32_t *hist_len;
    uint64_t admitted;

    /* step buffers */
    int32_t *b_tok, *b_pos, *b_slot;
    uint8_t *b_want;
    int *b_seq; /* sequence of each logit row */
    float *logits;
};

/* prefix.c: reusing keys and values other prompts computed */
int32_t syn_common_prefix(const int32_t *a, int32_t na, const int32_t *b, int32_t nb);
int syn_copy_kv(syn_sched *s, seq *q, int donor, const int32_t *prompt, int32_t n);
void syn_copy_prefix(syn_sched *s, seq *q, const syn_job *j);
void syn_plan_wait(syn_sched *s, seq *q, const syn_job *j);
/* Copies the prefixes that waiting sequences waited for, once computed. */
void syn_resolve_waits(syn_sched *s);

/* embed.c: embedding jobs, a chunk of rows at a time */
/* Starts j on free slot `slot` (the job fails if its buffers do not fit). */
void syn_embed_start(syn_sched *s, syn_job *j, int slot);
/* Runs the next chunk of the job in progress; ends it when done or gone. */
void syn_embed_step(syn_sched *s);
/* Ends the job in progress as state (the scheduler stops). */
void syn_embed_abort(syn_sched *s, syn_job_state state, const char *msg);

#endif
