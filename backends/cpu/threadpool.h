/* A persistent worker pool for the CPU backend: the caller and n-1 workers run
 * one task together, with a spinning barrier between phases. Workers spin
 * briefly after a task (decode issues hundreds of small tasks per token) and
 * then sleep on a futex, so an idle server costs no CPU.
 * One thread (the backend's owner) submits tasks; tasks run on all threads. */
#ifndef SYN_CPU_THREADPOOL_H
#define SYN_CPU_THREADPOOL_H

typedef struct syn_pool syn_pool;

/* fn runs once per thread with ith in [0, nth). */
typedef void (*syn_pool_fn)(void *arg, int ith, int nth);

syn_pool *syn_pool_new(int n_threads);
void syn_pool_free(syn_pool *p);
int syn_pool_size(const syn_pool *p);
/* Runs fn on every thread and returns when all have finished. */
void syn_pool_run(syn_pool *p, syn_pool_fn fn, void *arg);
/* Inside a task: waits until every thread of the task has arrived. */
void syn_pool_barrier(syn_pool *p);

#endif
