/* Prometheus counters for the server: requests by route and status, token
 * counts, TTFT and per-token latency histograms. Any thread; one mutex. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/metrics.h"

static const double bounds[SYN_METRICS_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                   1,     2.5,  5,     10,   30,  60,  120};

void syn_metrics_init(syn_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void syn_metrics_destroy(syn_metrics *m) { pthread_mutex_destroy(&m->mu); }

void syn_metrics_request(syn_metrics *m, const char *route, int status)
{
    pthread_mutex_lock(&m->mu);
    int r = 0;
    while (r < SYN_METRICS_ROUTES - 1 && m->routes[r] && strcmp(m->routes[r], route))
        r++;
    if (!m->routes[r])
        m->routes[r] = route;
    int c = status - SYN_METRICS_STATUS_MIN;
    if (c < 0 || c >= SYN_METRICS_STATUSES)
        c = 500 - SYN_METRICS_STATUS_MIN; /* not an HTTP status: a server error */
    m->requests[r][c]++;
    pthread_mutex_unlock(&m->mu);
}

void syn_metrics_tokens(syn_metrics *m, uint64_t prompt, uint64_t generated)
{
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens += prompt;
    m->generated_tokens += generated;
    pthread_mutex_unlock(&m->mu);
}

void syn_metrics_prompt_cached(syn_metrics *m, uint64_t tokens)
{
    pthread_mutex_lock(&m->mu);
    m->prompt_tokens_cached += tokens;
    pthread_mutex_unlock(&m->mu);
}

void syn_metrics_specialist(syn_metrics *m, const char *name, uint64_t prompt, uint64_t cached)
{
    pthread_mutex_lock(&m->mu);
    int i = 0;
    while (i < m->n_specialists && strcmp(m->specialists[i].name, name))
        i++;
    if (i == m->n_specialists) {
        if (i == SYN_METRICS_SPECIALISTS) {
            i--; /* the table is full: the last entry counts the rest */
            snprintf(m->specialists[i].name, sizeof m->specialists[i].name, "(other)");
        } else {
            snprintf(m->specialists[i].name, sizeof m->specialists[i].name, "%s", name);
            m->n_specialists++;
        }
    }
    syn_specialist_counts *c = &m->specialists[i];
    c->requests++;
    c->prompt_cached += cached;
    c->prompt_computed += prompt > cached ? prompt - cached : 0;
    pthread_mutex_unlock(&m->mu);
}

static void observe(syn_metrics *m, syn_hist *h, double v)
{
    pthread_mutex_lock(&m->mu);
    int b = 0;
    while (b < SYN_METRICS_BUCKETS && v > bounds[b])
        b++;
    h->counts[b]++;
    h->sum += v;
    h->n++;
    pthread_mutex_unlock(&m->mu);
}

void syn_metrics_ttft(syn_metrics *m, double s) { observe(m, &m->ttft, s); }
void syn_metrics_token_latency(syn_metrics *m, double s) { observe(m, &m->token_latency, s); }

static void render_hist(FILE *f, const char *name, const char *help, const syn_hist *h)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int b = 0; b < SYN_METRICS_BUCKETS; b++) {
        cum += h->counts[b];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[b], (unsigned long long)cum);
    }
    cum += h->counts[SYN_METRICS_BUCKETS];
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)cum, name,
            h->sum, name, (unsigned long long)h->n);
}

char *syn_metrics_render(syn_metrics *m, const syn_sched_stats *st, const syn_swarm_adapter_stats *ad)
{
    int64_t kv_total = (int64_t)st->n_slots * st->n_ctx;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    pthread_mutex_lock(&m->mu);
    fprintf(f, "# HELP synapse_requests_total HTTP requests by route and status.\n"
               "# TYPE synapse_requests_total counter\n");
    for (int r = 0; r < SYN_METRICS_ROUTES && m->routes[r]; r++)
        for (int c = 0; c < SYN_METRICS_STATUSES; c++)
            if (m->requests[r][c])
                fprintf(f, "synapse_requests_total{route=\"%s\",status=\"%d\"} %llu\n", m->routes[r],
                        c + SYN_METRICS_STATUS_MIN, (unsigned long long)m->requests[r][c]);
    if (m->n_specialists)
        fprintf(f, "# HELP synapse_specialist_requests_total Generation requests by specialist.\n"
                   "# TYPE synapse_specialist_requests_total counter\n");
    for (int i = 0; i < m->n_specialists; i++)
        fprintf(f, "synapse_specialist_requests_total{specialist=\"%s\"} %llu\n", m->specialists[i].name,
                (unsigned long long)m->specialists[i].requests);
    if (m->n_specialists)
        fprintf(f, "# HELP synapse_specialist_prompt_tokens_total Prompt tokens by specialist, reused from the "
                   "KV cache or computed.\n"
                   "# TYPE synapse_specialist_prompt_tokens_total counter\n");
    for (int i = 0; i < m->n_specialists; i++)
        fprintf(f,
                "synapse_specialist_prompt_tokens_total{specialist=\"%s\",source=\"cache\"} %llu\n"
                "synapse_specialist_prompt_tokens_total{specialist=\"%s\",source=\"computed\"} %llu\n",
                m->specialists[i].name, (unsigned long long)m->specialists[i].prompt_cached, m->specialists[i].name,
                (unsigned long long)m->specialists[i].prompt_computed);
    fprintf(f,
            "# HELP synapse_prompt_tokens_total Prompt tokens processed.\n"
            "# TYPE synapse_prompt_tokens_total counter\nsynapse_prompt_tokens_total %llu\n"
            "# HELP synapse_prompt_tokens_cached_total Prompt tokens whose KV came from the prefix cache, not "
            "computed.\n"
            "# TYPE synapse_prompt_tokens_cached_total counter\nsynapse_prompt_tokens_cached_total %llu\n"
            "# HELP synapse_generated_tokens_total Tokens generated.\n"
            "# TYPE synapse_generated_tokens_total counter\nsynapse_generated_tokens_total %llu\n",
            (unsigned long long)m->prompt_tokens, (unsigned long long)m->prompt_tokens_cached,
            (unsigned long long)m->generated_tokens);
    render_hist(f, "synapse_ttft_seconds", "Time from request to first generated token.", &m->ttft);
    render_hist(f, "synapse_token_latency_seconds", "Time between generated tokens of one sequence.",
                &m->token_latency);
    pthread_mutex_unlock(&m->mu);
    fprintf(f,
            "# HELP synapse_queue_depth Requests waiting for a slot.\n# TYPE synapse_queue_depth gauge\n"
            "synapse_queue_depth %d\n"
            "# HELP synapse_active_sequences Sequences in the running batch.\n"
            "# TYPE synapse_active_sequences gauge\nsynapse_active_sequences %d\n"
            "# HELP synapse_kv_cache_used_tokens KV positions held by active sequences.\n"
            "# TYPE synapse_kv_cache_used_tokens gauge\nsynapse_kv_cache_used_tokens %lld\n"
            "# HELP synapse_kv_cache_capacity_tokens KV positions in all slots.\n"
            "# TYPE synapse_kv_cache_capacity_tokens gauge\nsynapse_kv_cache_capacity_tokens %lld\n"
            "# HELP synapse_kv_cache_usage_ratio Used share of the KV cache.\n"
            "# TYPE synapse_kv_cache_usage_ratio gauge\nsynapse_kv_cache_usage_ratio %.6f\n"
            "# HELP synapse_forward_steps_total Batched forward steps.\n"
            "# TYPE synapse_forward_steps_total counter\nsynapse_forward_steps_total %llu\n"
            "# HELP synapse_forward_rows_total Rows (tokens) run in those steps.\n"
            "# TYPE synapse_forward_rows_total counter\nsynapse_forward_rows_total %llu\n"
            "# HELP synapse_embedding_jobs_active Embedding requests being computed (a chunk between steps).\n"
            "# TYPE synapse_embedding_jobs_active gauge\nsynapse_embedding_jobs_active %d\n"
            "# HELP synapse_embedding_rows_total Of the forward rows: embedding inputs.\n"
            "# TYPE synapse_embedding_rows_total counter\nsynapse_embedding_rows_total %llu\n",
            st->queued, st->active, (long long)st->kv_used, (long long)kv_total,
            kv_total ? (double)st->kv_used / (double)kv_total : 0.0, (unsigned long long)st->steps,
            (unsigned long long)st->rows, st->embedding, (unsigned long long)st->embed_rows);
    fprintf(f,
            "# HELP synapse_adapters_loaded LoRA adapters of specialists in memory.\n"
            "# TYPE synapse_adapters_loaded gauge\nsynapse_adapters_loaded %d\n"
            "# HELP synapse_adapter_bytes Bytes those adapters take.\n"
            "# TYPE synapse_adapter_bytes gauge\nsynapse_adapter_bytes %zu\n"
            "# HELP synapse_adapter_budget_bytes limits.adapter_bytes (0: no limit).\n"
            "# TYPE synapse_adapter_budget_bytes gauge\nsynapse_adapter_budget_bytes %zu\n"
            "# HELP synapse_adapter_evictions_total Adapters freed to keep within the budget.\n"
            "# TYPE synapse_adapter_evictions_total counter\nsynapse_adapter_evictions_total %llu\n"
            "# HELP synapse_adapter_reloads_total Evicted adapters loaded again for a request.\n"
            "# TYPE synapse_adapter_reloads_total counter\nsynapse_adapter_reloads_total %llu\n",
            ad->loaded, ad->bytes, ad->budget, (unsigned long long)ad->evictions, (unsigned long long)ad->loads);
    if (st->kv_pages)
        fprintf(f,
                "# HELP synapse_kv_pages KV cache pages: mapped by a sequence, cached (a prefix nobody holds, kept "
                "until needed), free.\n"
                "# TYPE synapse_kv_pages gauge\nsynapse_kv_pages{state=\"used\"} %d\n"
                "synapse_kv_pages{state=\"cached\"} %d\nsynapse_kv_pages{state=\"free\"} %d\n"
                "# HELP synapse_kv_page_tokens Positions per KV page.\n"
                "# TYPE synapse_kv_page_tokens gauge\nsynapse_kv_page_tokens %d\n"
                "# HELP synapse_kv_page_evictions_total Cached pages taken for new positions, least recently used "
                "first.\n"
                "# TYPE synapse_kv_page_evictions_total counter\nsynapse_kv_page_evictions_total %llu\n",
                st->kv_pages_used, st->kv_pages_cached, st->kv_pages - st->kv_pages_used - st->kv_pages_cached,
                st->kv_page_len, (unsigned long long)st->kv_evictions);
    if (fclose(f)) {
        free(buf);
        return NULL;
    }
    return buf;
}
