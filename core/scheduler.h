/* Continuous-batching scheduler: one thread owns the syn_ctx and runs a step
 * loop that puts every active sequence into one forward pass (a decode row per
 * generating sequence plus prefill chunks of new prompts), samples each row
 * with that sequence's own sampler, stop matcher, detokenizer and constraint,
 * and hands text to the waiting HTTP thread through the job's channel.
 *
 * Threads: syn_sched_new/free on the main thread; syn_sched_submit, the
 * syn_job_* calls and syn_sched_get_stats from any thread. A job is shared by
 * its submitter and the scheduler (reference counted); its output fields are
 * read under job->mu. */
#ifndef SYN_CORE_SCHEDULER_H
#define SYN_CORE_SCHEDULER_H

#include <pthread.h>
#include <stdint.h>

#include "core/json_schema.h"
#include "core/model.h"
#include "core/sampler.h"
#include "core/tokenizer.h"

#define SYN_MAX_TOP_LOGPROBS 20

typedef enum syn_finish { SYN_FINISH_NONE = 0, SYN_FINISH_STOP, SYN_FINISH_LENGTH, SYN_FINISH_ERROR } syn_finish;
typedef enum syn_job_kind { SYN_JOB_GENERATE = 0, SYN_JOB_EMBED } syn_job_kind;

typedef struct syn_token_lp {
    int32_t id;
    float logprob;
    int32_t n_top;
    int32_t top_id[SYN_MAX_TOP_LOGPROBS];
    float top_lp[SYN_MAX_TOP_LOGPROBS];
} syn_token_lp;

/* What one choice has produced so far; grows while the job runs. */
typedef struct syn_choice_out {
    char *text; /* final text (past the stop matcher), not NUL-terminated */
    size_t len, cap;
    syn_token_lp *lps; /* one per generated token, when logprobs were asked for */
    size_t n_lps, cap_lps;
    int32_t n_gen;   /* generated tokens, end-of-generation token excluded */
    syn_finish finish;
} syn_choice_out;

typedef struct syn_job {
    /* the request: set before syn_sched_submit, read-only afterwards */
    syn_job_kind kind;
    int32_t *prompt; /* GENERATE: the prompt; EMBED: all inputs back to back */
    int32_t n_prompt;
    int32_t *input_len; /* EMBED: length of each input */
    int32_t n_inputs;
    int n_choices;
    int32_t max_tokens; /* per choice; <= 0: up to the context */
    syn_sampler_params sp; /* choice i uses seed sp.seed + i unless random */
    char **stops;
    size_t n_stops;
    int logprobs, top_logprobs;
    syn_jschema *schema; /* NULL: unconstrained; owned by the job */

    /* shared with the scheduler, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int cancelled;
    int failed;         /* the job ended in an error (msg holds it): 1, or SYN_JOB_FAILED_STOPPING */
    char msg[256];
    syn_choice_out *out; /* n_choices of them */
    int n_done;          /* choices finished */
    float *embd;         /* EMBED: n_inputs x n_embd, normalised */
    int32_t n_embd;
    double t_submit, t_first; /* CLOCK_MONOTONIC seconds; t_first 0 until the first token */
    uint64_t version;    /* bumped on every change, for waiters */
} syn_job;

/* job->failed when the job was dropped because the server stops (503, not 500) */
#define SYN_JOB_FAILED_STOPPING 2

/* A new job with one reference (the caller's), everything zeroed. */
syn_job *syn_job_new(syn_job_kind kind);
/* Drops a reference; the last one frees the job. */
void syn_job_release(syn_job *j);
/* The client went away: the scheduler drops the job at its next step. */
void syn_job_cancel(syn_job *j);
/* Every choice finished (or the job failed). Call with j->mu held. */
int syn_job_finished_locked(const syn_job *j);

typedef struct syn_sched_params {
    int32_t n_slots;   /* sequences at once */
    int32_t n_ctx;     /* positions per sequence */
    int32_t max_rows;  /* tokens per forward step */
    int32_t max_queue; /* waiting jobs before submit refuses */
} syn_sched_params;

typedef struct syn_sched syn_sched;
struct syn_metrics;

/* Creates the context (n_slots x n_ctx KV) and starts the scheduler thread.
 * The model and tokenizer are borrowed; metrics may be NULL. */
int syn_sched_new(syn_model *m, const syn_tokenizer *tok, const syn_sched_params *p, struct syn_metrics *metrics,
                  syn_sched **out, syn_error *err);
/* Fails every unfinished job ("server shutting down") and joins the thread;
 * later submits fail. The scheduler stays valid until syn_sched_free. */
void syn_sched_stop(syn_sched *s);
/* Stops (if needed) and frees everything. Jobs still referenced by their
 * submitters live on. */
void syn_sched_free(syn_sched *s);

/* Queues a job (takes a reference of its own). SYN_ERR_RANGE: the queue is
 * full; SYN_ERR_INVALID: the scheduler is shutting down or the job cannot fit
 * (more choices than slots). */
int syn_sched_submit(syn_sched *s, syn_job *j, syn_error *err);

typedef struct syn_sched_stats {
    int32_t n_slots, n_ctx;
    int32_t active;   /* sequences in the batch */
    int32_t queued;   /* jobs waiting */
    int64_t kv_used;  /* KV positions held by active sequences */
    uint64_t steps;   /* forward steps run */
    uint64_t rows;    /* rows run in those steps */
} syn_sched_stats;
void syn_sched_get_stats(syn_sched *s, syn_sched_stats *st);

#endif
