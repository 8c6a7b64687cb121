/* The cloud fallback, the server's side: when the upstream (config cloud:,
 * core/cloud) answers a chat request instead of the local model, or after
 * it. It answers first when the client asked "synapse" and the answerer's
 * record for the domain predicts a confidence below the threshold (auto),
 * or for every streamed request (always); it replaces a finished local
 * answer whose own confidence is below the threshold (auto, not streamed)
 * or every one (always, not streamed: the upstream as a teacher). Its
 * answer is served with route mode "cloud" and kept as a preference pair
 * over the local answer; a failed or slow upstream leaves the local
 * answer, with the reason in the route. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/answer.h"
#include "core/server/fallback.h"

/* The prediction needs a record of this many local answers. Once it is
 * below the threshold, the domain's requests go upstream until the record
 * changes (a new version of the specialist starts a new one). */
#define MIN_RECORD 3

static int cloud_on(const gen_ctx *g)
{
    const syn_gen_request *r = g->r;
    /* n > 1, a schema: the upstream's one free answer would not do */
    /* tools: the upstream is not told them */
    return g->s->cfg.cloud.mode != SYN_CLOUD_NEVER && r->kind == SYN_REQ_CHAT && !strcmp(r->model, "synapse") &&
           r->n == 1 && !r->schema && !g->constrained && !syn_gen_request_tooled(r);
}

int syn_fallback_first(const gen_ctx *g, char *why, size_t n)
{
    if (!cloud_on(g))
        return 0;
    const syn_cloud_config *k = &g->s->cfg.cloud;
    if (k->mode == SYN_CLOUD_ALWAYS) {
        if (!g->r->stream)
            return 0; /* answered locally first, for the pair */
        snprintf(why, n, "cloud mode always");
        return 1;
    }
    char key[3 * (SYN_SPECIALIST_MAX_NAME + 1)];
    const char *who = syn_gen_who(g, '+', key, sizeof key);
    syn_store_stats st;
    syn_error err = {0};
    if (syn_store_stats_get(g->s->store, who ? who : "", g->route->domain, &st, &err) || st.answers < MIN_RECORD)
        return 0;
    double predicted = st.confidence_sum / (double)st.answers;
    if (predicted >= k->threshold)
        return 0;
    snprintf(why, n, "predicted confidence %.3f of %s in '%s' is below the threshold %.2f", predicted,
             who ? who : "the base model", g->route->domain, k->threshold);
    return 1;
}

int syn_fallback_after(const gen_ctx *g, double confidence, char *why, size_t n)
{
    if (!cloud_on(g) || g->r->stream)
        return 0;
    const syn_cloud_config *k = &g->s->cfg.cloud;
    if (k->mode == SYN_CLOUD_ALWAYS) {
        snprintf(why, n, "cloud mode always (the local answer kept as the rejected one)");
        return 1;
    }
    if (confidence >= k->threshold)
        return 0;
    snprintf(why, n, "the local answer's confidence %.3f is below the threshold %.2f", confidence, k->threshold);
    return 1;
}

/* A needed fallback is a failure of who answered (not in mode always,
 * where the upstream teaches every answer). */
static void weaken(const gen_ctx *g)
{
    if (g->s->cfg.cloud.mode != SYN_CLOUD_AUTO)
        return;
    syn_gen_outcome(g, -0.5f, "a fallback");
    char key[3 * (SYN_SPECIALIST_MAX_NAME + 1)];
    syn_server_unserved(g->s, syn_gen_request_query(g->r), g->route->domain, syn_gen_who(g, '+', key, sizeof key),
                        "fallback");
}

void syn_fallback_keep(gen_ctx *g, const char *answer, size_t len, const char *local, double local_conf)
{
    g->upstream = 1;
    /* the local answer, though not served, is who would have answered's record */
    char key[3 * (SYN_SPECIALIST_MAX_NAME + 1)];
    const char *who = syn_gen_who(g, '+', key, sizeof key);
    syn_error err = {0};
    if (local && syn_store_count_local(g->s->store, who ? who : "", g->route->domain, local_conf, &err))
        syn_log(SYN_LOG_ERROR, "a local answer is not counted: %s", err.msg);
    const char *texts[1] = {answer};
    syn_gen_record(g, texts, &len, 1, NULL);
    json_object *taught = syn_server_learn(g->s, answer, SYN_SOURCE_UPSTREAM); /* a trusted answer teaches */
    if (taught && !g->learned)
        g->learned = taught;
    else if (taught) {
        for (size_t i = 0; i < json_object_array_length(taught); i++)
            json_object_array_add(g->learned, json_object_get(json_object_array_get_idx(taught, i)));
        json_object_put(taught);
    }
    int64_t pair;
    if (syn_store_add_pair(g->s->store, g->id, g->specialist, answer, local, "cloud", &pair, &err))
        syn_log(SYN_LOG_ERROR, "the upstream's answer to %s is not kept as a pair: %s", g->id, err.msg);
    if (local) /* a local answer below the threshold: evidence; a prediction is not new evidence */
        weaken(g);
}

/* The client's request as the upstream gets it: within this server's
 * token cap, with its stop strings. */
static syn_cloud_request request_of(const gen_ctx *g)
{
    const syn_gen_request *r = g->r;
    return (syn_cloud_request){.msgs = r->msgs, .n_msgs = r->n_msgs, .max_tokens = syn_server_token_cap(g->s, r->max_tokens),
                               .temperature = r->sp.temperature, .stops = (const char *const *)r->stops,
                               .n_stops = r->n_stops};
}

int syn_fallback_call(const gen_ctx *g, char **text, size_t *len, syn_error *err)
{
    syn_cloud_request q = request_of(g);
    return syn_cloud_chat(&g->s->cfg.cloud, &q, text, len, err);
}

int syn_fallback_stream(struct mg_connection *c, gen_ctx *g, int *handled)
{
    syn_text_stream x = {.c = c, .g = g};
    syn_cloud_request q = request_of(g);
    q.on_piece = syn_text_stream_piece;
    q.user = &x;
    char *text = NULL;
    size_t len = 0;
    syn_error err = {0};
    int rc = syn_cloud_chat(&g->s->cfg.cloud, &q, &text, &len, &err);
    *handled = x.started || x.gone;
    if (rc && !*handled) {
        char why[640];
        snprintf(why, sizeof why, "%s: the local model answers", err.msg);
        syn_chat_route_set(g->route, g->route->n_members > 1 ? "swarm" : "single", why, 1);
        free(text);
        return 0;
    }
    *handled = 1;
    if (!rc && !x.gone)
        syn_fallback_keep(g, text, len, NULL, 0);
    free(text);
    return syn_text_stream_end(&x, "stop", rc ? err.msg : NULL, "upstream_failed");
}

int syn_fallback_send(struct mg_connection *c, gen_ctx *g, const char *text, size_t len, const char *local,
                      double local_conf)
{
    syn_fallback_keep(g, text, len, local, local_conf); /* in the store before the client has it */
    return syn_text_answer_send(c, g, text, len, "stop");
}
