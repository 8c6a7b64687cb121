/* Server counters and histograms, rendered as Prometheus text for /metrics.
 * Any thread may record; everything is under one mutex (cheap next to a
 * forward step). */
#ifndef SYN_CORE_SERVER_METRICS_H
#define SYN_CORE_SERVER_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <synapse/sched.h>

#include "core/swarm/swarm.h"

#define SYN_METRICS_ROUTES 16 /* the server's routes and "other": fewer */
/* requests are counted by status directly, 100..599, so none is lost to a
 * table of the first few statuses seen */
#define SYN_METRICS_STATUS_MIN 100
#define SYN_METRICS_STATUSES 500
#define SYN_METRICS_BUCKETS 14

typedef struct syn_hist {
    uint64_t counts[SYN_METRICS_BUCKETS + 1]; /* last: +Inf */
    double sum;
    uint64_t n;
} syn_hist;

#define SYN_METRICS_SPECIALISTS 64 /* names counted one by one; later ones add to "(other)" */

typedef struct syn_specialist_counts {
    char name[72];
    uint64_t requests, prompt_computed, prompt_cached;
} syn_specialist_counts;

typedef struct syn_metrics {
    pthread_mutex_t mu;
    const char *routes[SYN_METRICS_ROUTES];
    uint64_t requests[SYN_METRICS_ROUTES][SYN_METRICS_STATUSES];
    uint64_t prompt_tokens, generated_tokens;
    uint64_t prompt_tokens_cached; /* of prompt_tokens: KV reused or copied, not computed */
    syn_hist ttft, token_latency;
    syn_specialist_counts specialists[SYN_METRICS_SPECIALISTS];
    int n_specialists;
} syn_metrics;

void syn_metrics_init(syn_metrics *m);
void syn_metrics_destroy(syn_metrics *m);
/* route must be a string literal (kept by pointer). */
void syn_metrics_request(syn_metrics *m, const char *route, int status);
void syn_metrics_tokens(syn_metrics *m, uint64_t prompt, uint64_t generated);
void syn_metrics_prompt_cached(syn_metrics *m, uint64_t tokens);
void syn_metrics_ttft(syn_metrics *m, double seconds);
/* A request of specialist name ended: of its prompt tokens, cached were
 * reused and the rest computed. */
void syn_metrics_specialist(syn_metrics *m, const char *name, uint64_t prompt, uint64_t cached);
void syn_metrics_token_latency(syn_metrics *m, double seconds);

/* Appends the Prometheus text of the counters plus the given gauges to a
 * malloc'ed buffer. NULL on out of memory. */
/* The scheduler's gauges and counters come from st. */
char *syn_metrics_render(syn_metrics *m, const syn_sched_stats *st, const syn_swarm_adapter_stats *ad);

#endif
