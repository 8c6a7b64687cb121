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
    return g->s->cfg.cloud.mode != SYN_CLOUD_NEVER && r->kind == SYN_REQ_CHAT && !strcmp(r->model, "synapse") &&
           r->n == 1 && !r->schema && !g->constrained;
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
    if (g->s->cfg.cloud.mode == SYN_CLOUD_AUTO)
        syn_gen_outcome(g, -0.5f, "a fallback");
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

/* A streamed upstream answer: the head and the role chunk wait for the
 * first piece, so an upstream that fails before it leaves the stream to
 * the local model. */
typedef struct relay {
    struct mg_connection *c;
    const gen_ctx *g;
    int started, gone;
} relay;

static int start_stream(relay *x)
{
    char cors[512], header[256];
    syn_gen_header(x->g, header, sizeof header);
    mg_printf(x->c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                    "%s%sConnection: close\r\n\r\n",
              syn_cors_headers(x->g->s, cors, sizeof cors), header);
    x->started = 1;
    return syn_gen_sse(x->c, syn_gen_chunk(x->g, 0, "", 0, 1, NULL, NULL));
}

static int relay_piece(void *user, const char *text, size_t len)
{
    relay *x = user;
    if (!x->started && start_stream(x))
        return x->gone = 1;
    if (syn_gen_sse(x->c, syn_gen_chunk(x->g, 0, text, len, 0, NULL, NULL)))
        return x->gone = 1;
    return 0;
}

int syn_fallback_stream(struct mg_connection *c, gen_ctx *g, int *handled)
{
    relay x = {.c = c, .g = g};
    syn_cloud_request q = request_of(g);
    q.on_piece = relay_piece;
    q.user = &x;
    char *text = NULL;
    size_t len = 0;
    syn_error err = {0};
    int rc = syn_cloud_chat(&g->s->cfg.cloud, &q, &text, &len, &err);
    *handled = x.started || x.gone;
    if (x.gone) {
        free(text);
        return 499;
    }
    if (rc && !x.started) {
        char why[640];
        snprintf(why, sizeof why, "%s: the local model answers", err.msg);
        syn_chat_route_set(g->route, g->route->n_members > 1 ? "swarm" : "single", why, 1);
        return 0;
    }
    *handled = 1;
    if (!x.started && start_stream(&x)) { /* an empty answer */
        free(text);
        return 499;
    }
    int gone = 0;
    if (rc) { /* it failed half way: what came is all there is */
        gone = syn_gen_sse(c, syn_gen_error_event(err.msg, "upstream_failed")) != 0;
    } else {
        syn_fallback_keep(g, text, len, NULL, 0);
        json_object *o = syn_gen_chunk(g, 0, NULL, 0, 0, NULL, "stop");
        json_object_object_add(json_object_array_get_idx(json_object_object_get(o, "choices"), 0), "delta",
                               json_object_new_object());
        gone = syn_gen_sse(c, o) != 0;
        if (!gone) {
            o = syn_gen_envelope(g, 1);
            json_object_object_add(o, "choices", json_object_new_array());
            if (g->r->include_usage)
                json_object_object_add(o, "usage", NULL); /* the upstream's own count is not relayed */
            json_object_object_add(o, "synapse", syn_gen_synapse(g, -1));
            gone = syn_gen_sse(c, o) != 0;
        }
    }
    if (!gone)
        gone = mg_write(c, "data: [DONE]\n\n", 14) != 14;
    free(text);
    return gone ? 499 : 200;
}

int syn_fallback_send(struct mg_connection *c, gen_ctx *g, const char *text, size_t len, const char *local,
                      double local_conf)
{
    json_object *o = syn_gen_envelope(g, 0), *choices = json_object_new_array(), *ch = json_object_new_object(),
                *msg = json_object_new_object();
    json_object_object_add(msg, "role", json_object_new_string("assistant"));
    json_object_object_add(msg, "content", syn_json_string_utf8(text, len));
    json_object_object_add(msg, "refusal", NULL);
    json_object_object_add(ch, "index", json_object_new_int(0));
    json_object_object_add(ch, "message", msg);
    json_object_object_add(ch, "logprobs", NULL);
    json_object_object_add(ch, "finish_reason", json_object_new_string("stop"));
    json_object_array_add(choices, ch);
    json_object_object_add(o, "choices", choices);
    json_object_object_add(o, "usage", NULL); /* the upstream's own count is not relayed */
    json_object_object_add(o, "synapse", syn_gen_synapse(g, -1));
    syn_fallback_keep(g, text, len, local, local_conf);
    char header[256];
    syn_gen_header(g, header, sizeof header);
    return syn_send_json_obj_headers(c, g->s, 200, o, header);
}
