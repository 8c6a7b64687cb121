/* Continuous-batching scheduler: one thread owns a context and runs a step
 * loop that puts every active sequence into one forward pass (a decode row
 * per generating sequence plus prefill chunks of new prompts) and runs each
 * row through its sequence's generator. Callers see jobs only through the
 * calls below: they submit one, wait for it to change and read copies of
 * what it produced.
 *
 * Threads: syn_sched_new/stop/free on one thread; syn_sched_submit, every
 * syn_job_* call and syn_sched_get_stats from any thread. A job is shared by
 * its submitter and the scheduler and reference counted. */
#ifndef SYNAPSE_SCHED_H
#define SYNAPSE_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <synapse/common.h>
#include <synapse/generate.h>
#include <synapse/model.h>
#include <synapse/tokenizer.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_job syn_job;

/* A generation request. Everything is copied, except the constraint, which
 * the job takes over (freed with the job, or by a failed syn_job_generate). */
typedef struct syn_job_request {
    const int32_t *prompt;
    int32_t n_prompt;
    int n_choices;          /* choice i samples with seed sp.seed + i unless random */
    int32_t max_tokens;     /* per choice; <= 0: up to the context */
    syn_gen_params gen;
    syn_constraint constraint; /* ops NULL: unconstrained */
} syn_job_request;

/* A new job with one reference (the caller's). */
SYN_API int syn_job_generate(const syn_job_request *r, syn_job **out, syn_error *err);
/* Embeddings of n_inputs inputs, input_len[i] tokens each, back to back in
 * tokens (copied). */
SYN_API int syn_job_embed(const int32_t *tokens, const int32_t *input_len, int32_t n_inputs, syn_job **out,
                          syn_error *err);
/* Before submitting: every row of the job runs with adapter (NULL: the base
 * model) at scale (1 = as trained: alpha / rank). The job keeps a reference
 * to the adapter until it is freed, so the caller may drop its own. */
SYN_API int syn_job_set_adapter(syn_job *j, syn_lora *adapter, float scale, syn_error *err);
/* Drops a reference; the last one frees the job. */
SYN_API void syn_job_release(syn_job *j);
/* The caller no longer wants it: the scheduler drops it at its next step. */
SYN_API void syn_job_cancel(syn_job *j);

typedef enum syn_job_state {
    SYN_JOB_RUNNING = 0, /* queued or generating */
    SYN_JOB_DONE,        /* every choice finished */
    SYN_JOB_FAILED,      /* an error ended it (see syn_job_status) */
    SYN_JOB_STOPPED,     /* dropped because the scheduler stopped */
} syn_job_state;

/* Waits until the job changed since *version (0 at first) or ended, at most
 * timeout_ms (< 0: no limit), and sets *version to what it saw. */
SYN_API syn_job_state syn_job_wait(syn_job *j, uint64_t *version, int timeout_ms);
/* The state now, and the error message of a failed or stopped job ("" else). */
SYN_API syn_job_state syn_job_status(syn_job *j, char *msg, size_t msg_size);

SYN_API int syn_job_n_choices(const syn_job *j);
SYN_API int32_t syn_job_n_prompt(const syn_job *j);
/* Of those, the tokens whose keys and values were reused (held by the slot
 * or copied from another) rather than computed; final once the job ended. */
SYN_API int32_t syn_job_n_cached(syn_job *j);

/* Seconds from submit to the first token (queueing and the prompt), and
 * from it to the end of the last choice; 0 for what has not happened. */
SYN_API void syn_job_timing(syn_job *j, double *to_first, double *generating);

/* What a choice produced past the reader's cursor (zeroed at first). */
typedef struct syn_choice_cursor {
    size_t text, lps;
} syn_choice_cursor;

typedef struct syn_choice_delta {
    char *text; /* malloc'ed copy of the new text (not NUL-terminated), NULL if none */
    size_t len;
    syn_token_lp *lps; /* malloc'ed copies of the new logprobs, NULL if none */
    size_t n_lps;
    int32_t n_gen;     /* tokens generated so far, end-of-generation excluded */
    syn_finish finish; /* SYN_FINISH_NONE while it runs */
    syn_gen_stats stats; /* so far, when the request's gen.confidence asked for them */
} syn_choice_delta;

/* Fills d and advances cur; SYN_ERR_NOMEM leaves cur as it was. */
SYN_API int syn_job_read(syn_job *j, int choice, syn_choice_cursor *cur, syn_choice_delta *d);
SYN_API void syn_choice_delta_free(syn_choice_delta *d);

/* An embedding job once done: n_inputs rows of n_embd floats, each of unit
 * length; valid while the caller holds the job. NULL before. */
SYN_API const float *syn_job_embeddings(syn_job *j, int32_t *n_inputs, int32_t *n_embd);

typedef struct syn_sched_params {
    int32_t n_slots;   /* sequences at once */
    int32_t n_ctx;     /* positions per sequence */
    int32_t max_rows;  /* tokens per forward step */
    int32_t max_queue; /* waiting jobs before submit refuses */
    /* On a backend that pages its KV cache: positions beyond the slots'
     * (rounded up to pages) that keep prefixes cached once no sequence
     * holds them; 0: only pages no sequence needs yet keep them */
    int32_t cache_tokens;
} syn_sched_params;

/* Told what the scheduler does, on its thread; every hook may be NULL.
 * They must return quickly: the batch waits. */
typedef struct syn_sched_observer {
    void *user;
    void (*tokens)(void *user, uint64_t prompt, uint64_t generated); /* a choice ended */
    void (*prompt_cached)(void *user, uint64_t tokens);  /* prompt tokens reused, not computed */
    void (*first_token)(void *user, double seconds);     /* a job's first token, from submit */
    void (*token_gap)(void *user, double seconds);       /* between two tokens of a sequence */
} syn_sched_observer;

typedef struct syn_sched syn_sched;

/* Creates the context (n_slots x n_ctx KV) and starts the scheduler thread.
 * The model and tokenizer are borrowed; obs (copied) may be NULL. */
SYN_API int syn_sched_new(syn_model *m, const syn_tokenizer *tok, const syn_sched_params *p,
                          const syn_sched_observer *obs, syn_sched **out, syn_error *err);
/* Ends every unfinished job as SYN_JOB_STOPPED and joins the thread; later
 * submits fail. The scheduler stays valid until syn_sched_free. */
SYN_API void syn_sched_stop(syn_sched *s);
/* Stops (if needed) and frees everything. Jobs still referenced by their
 * submitters live on. */
SYN_API void syn_sched_free(syn_sched *s);

/* Queues a job (takes a reference of its own). SYN_ERR_RANGE: the queue is
 * full; SYN_ERR_INVALID: the scheduler is shutting down or the job cannot fit
 * (more choices than slots). */
SYN_API int syn_sched_submit(syn_sched *s, syn_job *j, syn_error *err);

typedef struct syn_sched_stats {
    int32_t n_slots, n_ctx;
    int32_t active;   /* sequences in the batch */
    int32_t queued;   /* jobs waiting */
    int64_t kv_used;  /* KV positions held by active sequences */
    uint64_t steps;   /* forward steps run */
    uint64_t rows;    /* rows run in those steps */
    int32_t embedding;   /* embedding jobs running (one at a time, a chunk between steps) */
    uint64_t embed_rows; /* of rows: embedding inputs */
    /* the paged KV cache (kv_pages 0: the backend has none) */
    int32_t kv_pages, kv_page_len;
    int32_t kv_pages_used;   /* mapped by a sequence */
    int32_t kv_pages_cached; /* holding a prefix nobody maps, evicted least recently used first */
    uint64_t kv_evictions;
} syn_sched_stats;
SYN_API void syn_sched_get_stats(syn_sched *s, syn_sched_stats *st);

#ifdef __cplusplus
}
#endif
#endif
