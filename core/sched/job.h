/* Inside a job: the request (read-only once submitted) and the output the
 * scheduler appends under mu. Only core/sched includes this; everyone else
 * goes through <synapse/sched.h>. */
#ifndef SYN_CORE_SCHED_JOB_H
#define SYN_CORE_SCHED_JOB_H

#include <pthread.h>
#include <synapse/sched.h>

typedef enum job_kind { JOB_GENERATE = 0, JOB_EMBED } job_kind;

/* What one choice has produced so far. */
typedef struct job_choice {
    char *text; /* final text, not NUL-terminated */
    size_t len, cap;
    syn_token_lp *lps; /* one per generated token, when logprobs were asked for */
    size_t n_lps, cap_lps;
    int32_t n_gen; /* generated tokens, end-of-generation excluded */
    syn_finish finish;
    syn_gen_stats stats;
} job_choice;

struct syn_job {
    /* the request */
    job_kind kind;
    int32_t *prompt; /* GENERATE: the prompt; EMBED: all inputs back to back */
    int32_t n_prompt;
    int32_t *input_len; /* EMBED: length of each input */
    int32_t n_inputs;
    int n_choices;
    int32_t max_tokens;
    syn_gen_params gen; /* gen.stops points at stops; gen.constraint at constraint */
    char **stops;
    syn_logit_bias *bias; /* gen.bias points here */
    syn_constraint constraint;
    syn_lora *adapter; /* NULL: the base model; a reference of the job's */
    float adapter_scale;

    /* shared with the scheduler, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int cancelled;
    syn_job_state ended; /* RUNNING until it failed or was stopped; DONE is n_done == n_choices */
    char msg[256];
    job_choice *out; /* n_choices of them */
    int n_done;      /* choices finished */
    float *embd;     /* EMBED: n_inputs x n_embd, normalised */
    int32_t n_embd;
    double t_submit;          /* CLOCK_MONOTONIC seconds */
    double t_first, t_end;    /* under mu: choice 0's first token, the last choice's end (0: not yet) */
    int32_t n_cached;         /* atomic: choice 0's prompt tokens reused, not computed */
    uint64_t version;         /* bumped on every change, for waiters */
};

double syn_now_s(void);
/* A reference more (the queue's, a sequence's). */
void syn_job_retain(syn_job *j);
/* Ends the job as state (FAILED or STOPPED) with msg, unless it already ended. */
void syn_job_end(syn_job *j, syn_job_state state, const char *msg);
/* Appends final text (and a logprob) to choice c, counts tokens more
 * generated and wakes waiters; -1 when out of memory. */
int syn_job_append(syn_job *j, int c, const char *text, size_t n, const syn_token_lp *lp, int tokens);
/* Choice c's generator stats now (see syn_gen_stats). */
void syn_job_set_stats(syn_job *j, int c, const syn_gen_stats *stats);
/* The first token is out (the scheduler's clock reading now). */
void syn_job_first_token(syn_job *j, double now);
/* Choice c finished for why; wakes waiters. */
void syn_job_choice_done(syn_job *j, int c, syn_finish why);
/* The job's embeddings are ready (takes embd). */
void syn_job_set_embeddings(syn_job *j, float *embd, int32_t n_embd);
/* Cancelled or ended: the scheduler drops it. */
int syn_job_gone(syn_job *j);

#endif
