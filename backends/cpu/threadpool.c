/* Persistent thread pool (see threadpool.h). Tasks are published by bumping a
 * generation counter; workers spin on it for a while, then futex-wait. */
#include "backends/cpu/threadpool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPIN_BEFORE_SLEEP 200000

struct syn_pool {
    int n;
    pthread_t *threads;
    syn_pool_fn fn;
    void *arg;
    _Atomic int generation; /* bumped per task; futex word */
    _Atomic int done;       /* workers finished with the current task */
    _Atomic int stop;
    _Atomic int sleepers; /* workers in (or about to enter) futex_wait */
    /* sense-reversing barrier */
    _Atomic int barrier_count;
    _Atomic int barrier_sense;
};

struct worker_arg {
    syn_pool *pool;
    int ith;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Spin briefly, then yield: on an oversubscribed machine the thread we wait
 * for may be off-CPU, and burning our slice only delays it. */
static inline void backoff(int *spins)
{
    if (++*spins < 2000)
        cpu_relax();
    else
        sched_yield();
}

static void futex_wait(_Atomic int *addr, int expected)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic int *addr)
{
    syscall(SYS_futex, (int *)addr, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

static void wake_sleepers(syn_pool *p)
{
    if (atomic_load(&p->sleepers) > 0)
        futex_wake_all(&p->generation);
}

static void *worker_main(void *opaque)
{
    struct worker_arg *wa = opaque;
    syn_pool *p = wa->pool;
    int ith = wa->ith;
    free(wa);
    /* Generation 0 is the pool's creation: a task (or stop) published before
     * this thread got scheduled must still be seen. */
    int seen = 0;
    for (;;) {
        int gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (++spins < SPIN_BEFORE_SLEEP)
                spins < 2000 ? cpu_relax() : (void)sched_yield();
            else {
                /* seq_cst pairs with wake_sleepers(): either we see the new
                 * generation here or the submitter sees us counted. */
                atomic_fetch_add(&p->sleepers, 1);
                if (atomic_load(&p->generation) == seen)
                    futex_wait(&p->generation, seen);
                atomic_fetch_sub(&p->sleepers, 1);
                spins = 0;
            }
        }
        seen = gen;
        if (atomic_load_explicit(&p->stop, memory_order_acquire))
            return NULL;
        p->fn(p->arg, ith, p->n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel);
    }
}

syn_pool *syn_pool_new(int n_threads)
{
    if (n_threads < 1)
        n_threads = 1;
    syn_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n_threads;
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    for (int i = 1; i < n_threads; i++) {
        struct worker_arg *wa = malloc(sizeof *wa);
        if (wa) {
            wa->pool = p;
            wa->ith = i;
        }
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa)) {
            free(wa);
            p->n = i; /* run with the threads we got */
            break;
        }
    }
    return p;
}

void syn_pool_free(syn_pool *p)
{
    if (!p)
        return;
    atomic_store_explicit(&p->stop, 1, memory_order_release);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_acq_rel);
    futex_wake_all(&p->generation);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    free(p);
}

int syn_pool_size(const syn_pool *p) { return p->n; }

void syn_pool_run(syn_pool *p, syn_pool_fn fn, void *arg)
{
    if (p->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_fetch_add(&p->generation, 1);
    wake_sleepers(p);
    fn(arg, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) != p->n - 1)
        backoff(&spins);
}

void syn_pool_barrier(syn_pool *p)
{
    if (p->n == 1)
        return;
    int sense = atomic_load_explicit(&p->barrier_sense, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->barrier_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->barrier_count, 0, memory_order_relaxed);
        atomic_store_explicit(&p->barrier_sense, !sense, memory_order_release);
    } else {
        int spins = 0;
        while (atomic_load_explicit(&p->barrier_sense, memory_order_acquire) == sense)
            backoff(&spins);
    }
}
