/* civetweb glue: one catch-all handler that checks method, API key and body
 * size, dispatches to the routes, and counts every answer for /metrics; plus
 * server start (model, tokenizer, chat template, scheduler, listener) and
 * stop. Handlers run on civetweb's threads; start/stop on the main thread. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include <sys/resource.h>

#include "core/server/dialect.h"
#include "core/server/gate.h"
#include "core/server/internal.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef enum {
    R_CHAT,
    R_COMPLETIONS,
    R_EMBEDDINGS,
    R_MODELS,
    R_HEALTH,
    R_METRICS,
    R_STATUS,
    R_SPECIALISTS,
    R_STORE,
    R_ROUTING,
    R_KNOWLEDGE,
    R_SPAWNER,
    R_NATIVE,
    R_OLLAMA,
    R_RESPONSES
} route_id;

static const struct route {
    const char *path;
    const char *method; /* those allowed, as the Allow header lists them */
    route_id id;
    int inference; /* needs the model: 503 without one */
    int auth;      /* needs an API key when keys are configured */
    int prefix;    /* path/ANYTHING too (the label stays path) */
} routes[] = {
    {"/v1/chat/completions", "POST", R_CHAT, 1, 1, 0},
    {"/v1/completions", "POST", R_COMPLETIONS, 1, 1, 0},
    {"/v1/embeddings", "POST", R_EMBEDDINGS, 1, 1, 0},
    {"/v1/models", "GET", R_MODELS, 0, 1, 0},
    {"/v1/models/", "GET", R_MODELS, 0, 1, 1},
    {"/v1/responses", "POST", R_RESPONSES, 1, 1, 0},
    /* the same without /v1, as llama.cpp's server and some clients call them */
    {"/chat/completions", "POST", R_CHAT, 1, 1, 0},
    {"/completions", "POST", R_COMPLETIONS, 1, 1, 0},
    {"/embeddings", "POST", R_EMBEDDINGS, 1, 1, 0},
    {"/models", "GET", R_MODELS, 0, 1, 0},
    {"/models/", "GET", R_MODELS, 0, 1, 1},
    {"/responses", "POST", R_RESPONSES, 1, 1, 0},
    /* Ollama's */
    {"/api/version", "GET", R_OLLAMA, 0, 1, 0},
    {"/api/tags", "GET", R_OLLAMA, 0, 1, 0},
    {"/api/ps", "GET", R_OLLAMA, 0, 1, 0},
    {"/api/show", "POST", R_OLLAMA, 0, 1, 0},
    {"/api/chat", "POST", R_OLLAMA, 1, 1, 0},
    {"/api/generate", "POST", R_OLLAMA, 1, 1, 0},
    {"/api/embed", "POST", R_OLLAMA, 1, 1, 0},
    {"/api/embeddings", "POST", R_OLLAMA, 1, 1, 0},
    /* llama.cpp's own */
    {"/tokenize", "POST", R_NATIVE, 1, 1, 0},
    {"/detokenize", "POST", R_NATIVE, 1, 1, 0},
    {"/props", "GET", R_NATIVE, 1, 1, 0},
    {"/health", "GET", R_HEALTH, 0, 0, 0},
    {"/metrics", "GET", R_METRICS, 0, 0, 0},
    {"/api/status", "GET", R_STATUS, 0, 1, 0},
    {"/api/specialists", "GET, POST", R_SPECIALISTS, 1, 1, 0},
    {"/api/specialists/", "GET, DELETE", R_SPECIALISTS, 1, 1, 1},
    {"/api/feedback", "POST", R_STORE, 0, 1, 0},
    {"/api/preferences", "GET", R_STORE, 0, 1, 0},
    {"/api/routes", "GET", R_ROUTING, 0, 1, 0},
    {"/api/confidence", "GET", R_ROUTING, 0, 1, 0},
    {"/api/knowledge/facts", "GET, POST", R_KNOWLEDGE, 0, 1, 0},
    {"/api/knowledge/facts/", "DELETE", R_KNOWLEDGE, 0, 1, 1},
    {"/api/knowledge/stats", "GET", R_KNOWLEDGE, 0, 1, 0},
    {"/api/knowledge/extract", "POST", R_KNOWLEDGE, 0, 1, 0},
    {"/api/verify", "POST", R_KNOWLEDGE, 0, 1, 0},
    {"/api/spawner/proposals", "GET", R_SPAWNER, 0, 1, 0},
    {"/api/spawner/proposals/", "POST", R_SPAWNER, 1, 1, 1},
};

static int route_matches(const struct route *r, const char *uri)
{
    size_t n = strlen(r->path);
    return r->prefix ? !strncmp(uri, r->path, n) && uri[n] : !strcmp(uri, r->path);
}

/* method is one of the route's "GET, POST" list (HEAD wherever GET is) */
static int method_allowed(const struct route *r, const char *method)
{
    if (!strcmp(method, "HEAD"))
        method = "GET";
    size_t n = strlen(method);
    for (const char *p = r->method; *p;) {
        const char *e = strchr(p, ',');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !strncmp(p, method, n))
            return 1;
        p += k;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return 0;
}

static int authorized(const syn_server *s, struct mg_connection *c)
{
    const char *env = getenv("SYNAPSE_API_KEY");
    pthread_rwlock_rdlock((pthread_rwlock_t *)&s->keys_lock);
    int open_server = !s->cfg.n_api_keys;
    pthread_rwlock_unlock((pthread_rwlock_t *)&s->keys_lock);
    if (open_server && !(env && *env))
        return 1;
    const char *h = mg_get_header(c, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7))
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    if (env && *env && !strcmp(h, env))
        return 1;
    int ok = 0;
    pthread_rwlock_rdlock((pthread_rwlock_t *)&s->keys_lock);
    for (int i = 0; !ok && i < s->cfg.n_api_keys; i++)
        ok = !strcmp(h, s->cfg.api_keys[i]);
    pthread_rwlock_unlock((pthread_rwlock_t *)&s->keys_lock);
    return ok;
}

/* Reads the whole body; 413 past the limit. */
static int read_body(struct mg_connection *c, const syn_server *s, char **out, size_t *len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    *out = NULL;
    *len = 0;
    size_t max_body = __atomic_load_n(&s->cfg.max_body, __ATOMIC_RELAXED); /* SIGHUP may change it */
    if (ri->content_length > 0 && (unsigned long long)ri->content_length > max_body)
        return 413;
    size_t cap = ri->content_length > 0 ? (size_t)ri->content_length + 1 : 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return 500;
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max_body + 1) {
                free(buf);
                return 413;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return 500;
            }
            buf = nb;
            cap *= 2;
        }
        int k = mg_read(c, buf + n, cap - n - 1);
        if (k <= 0)
            break;
        n += (size_t)k;
        if (n > max_body) {
            free(buf);
            return 413;
        }
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

static json_object *model_json(const syn_server *s, const char *id)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "id", json_object_new_string(id));
    json_object_object_add(m, "object", json_object_new_string("model"));
    json_object_object_add(m, "created", json_object_new_int64(s->created));
    json_object_object_add(m, "owned_by", json_object_new_string("synapse"));
    return m;
}

/* "synapse", the base model's own name, the other base models specialists
 * run on, then synapse/<name> for each specialist; /v1/models/ID: the one
 * of that id, or 404 */
static int route_models(struct mg_connection *c, syn_server *s)
{
    const char *uri = mg_get_request_info(c)->local_uri, *want = strstr(uri, "/models/");
    want = want ? want + strlen("/models/") : NULL;
    syn_specialist **l = NULL;
    int n = 0;
    syn_error err = {0};
    if (s->swarm && syn_swarm_list(s->swarm, &l, &n, &err))
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *o = json_object_new_object(), *data = json_object_new_array();
    if (s->main.model) {
        json_object_array_add(data, model_json(s, "synapse"));
        json_object_array_add(data, model_json(s, s->main.name));
    }
    pthread_mutex_lock(&s->bases_mu); /* specialists' other base models */
    for (int i = 0; i < s->n_bases; i++)
        json_object_array_add(data, model_json(s, s->bases[i]->name));
    pthread_mutex_unlock(&s->bases_mu);
    for (int i = 0; i < n; i++) {
        char id[SYN_SPECIALIST_MAX_NAME + 16];
        snprintf(id, sizeof id, "synapse/%s", l[i]->def.name);
        json_object_array_add(data, model_json(s, id));
    }
    syn_swarm_list_free(l, n);
    if (want) {
        json_object *one = NULL;
        for (size_t i = 0; !one && i < json_object_array_length(data); i++)
            if (!strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(data, i), "id")), want))
                one = json_object_get(json_object_array_get_idx(data, i));
        json_object_put(o);
        json_object_put(data);
        if (one)
            return syn_send_json_obj(c, s, 200, one);
        char shown[80]; /* the id as printable ASCII: it may be any bytes */
        size_t k = 0;
        for (const char *p = want; *p && k < sizeof shown - 1; p++)
            shown[k++] = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f ? *p : '?';
        shown[k] = 0;
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "model_not_found", "there is no model '%s'",
                                  shown);
    }
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    return syn_send_json_obj(c, s, 200, o);
}

static int route_health(struct mg_connection *c, syn_server *s)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    json_object_object_add(o, "model", s->main.model ? json_object_new_string(s->main.name) : NULL);
    return syn_send_json_obj(c, s, 200, o);
}

static int route_status(struct mg_connection *c, syn_server *s)
{
    syn_sched_stats st = {0};
    if (s->main.sched)
        syn_sched_get_stats(s->main.sched, &st);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
    json_object_object_add(o, "uptime_s", json_object_new_double(now_s() - s->t_start));
    json_object_object_add(o, "model", s->main.model ? json_object_new_string(s->main.name) : NULL);
    json_object_object_add(o, "backend", s->main.model ? json_object_new_string(s->main.sess.be.plugin_name) : NULL);
    json_object_object_add(o, "chat_template",
                           s->main.model ? json_object_new_string(syn_chat_template_name(s->main.tmpl)) : NULL);
    json_object_object_add(o, "context_size", json_object_new_int(s->cfg.ctx_size));
    json_object_object_add(o, "slots", json_object_new_int(s->cfg.parallel));
    json_object_object_add(o, "active", json_object_new_int(st.active));
    json_object_object_add(o, "queued", json_object_new_int(st.queued));
    json_object_object_add(o, "embedding", json_object_new_int(st.embedding));
    json_object_object_add(o, "kv_used", json_object_new_int64(st.kv_used));
    if (st.kv_pages) {
        json_object *kv = json_object_new_object();
        json_object_object_add(kv, "page_tokens", json_object_new_int(st.kv_page_len));
        json_object_object_add(kv, "total", json_object_new_int(st.kv_pages));
        json_object_object_add(kv, "used", json_object_new_int(st.kv_pages_used));
        json_object_object_add(kv, "cached", json_object_new_int(st.kv_pages_cached));
        json_object_object_add(kv, "evictions", json_object_new_int64((int64_t)st.kv_evictions));
        json_object_object_add(o, "kv_pages", kv);
    }
    json_object_object_add(o, "steps", json_object_new_int64((int64_t)st.steps));
    return syn_send_json_obj(c, s, 200, o);
}

static int route_metrics(struct mg_connection *c, syn_server *s)
{
    syn_sched_stats st = {0};
    if (s->main.sched)
        syn_sched_get_stats(s->main.sched, &st);
    syn_swarm_adapter_stats ad = {0};
    if (s->swarm)
        syn_swarm_adapter_stats_get(s->swarm, &ad);
    char *t = syn_metrics_render(&s->metrics, &st, &ad);
    if (!t)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
    int rc = syn_send_text(c, s, 200, "text/plain; version=0.0.4", t, strlen(t));
    free(t);
    return rc;
}

/* A browser names the page's origin on cross-origin requests (and on
 * preflights). Allowed: none named (not a browser, or same-origin GET), the
 * server's own origin, or the configured 'cors' ("*": any). Everything else
 * is refused before the request does anything, which also covers the
 * "simple" POSTs (text/plain bodies) that a browser sends without asking. */
static int origin_allowed(const syn_server *s, struct mg_connection *c)
{
    const char *origin = mg_get_header(c, "Origin"), *host = mg_get_header(c, "Host");
    if (!origin)
        return 1;
    if (s->cfg.cors && (!strcmp(s->cfg.cors, "*") || !strcmp(s->cfg.cors, origin)))
        return 1;
    return host && !strncmp(origin, "http://", 7) && !strcmp(origin + 7, host);
}

static int handle(struct mg_connection *c, void *data)
{
    syn_server *s = data;
    const struct mg_request_info *ri = mg_get_request_info(c);
    const struct route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (route_matches(&routes[i], ri->local_uri))
            r = &routes[i];
    const char *label = r ? r->path : "other";
    int status;
    char *body = NULL;
    size_t len = 0;
    double t0 = now_s();
    __atomic_add_fetch(&s->in_flight, 1, __ATOMIC_SEQ_CST);
    if (!r) {
        /* echo the path as printable ASCII only: it may be any bytes */
        char path[129];
        size_t k = 0;
        for (const char *p = ri->local_uri; p && *p && k < sizeof path - 1; p++)
            path[k++] = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f ? *p : '?';
        path[k] = 0;
        status = syn_send_error_msg(c, s, 404, "invalid_request_error", "unknown_url", "Unknown route %.16s %s",
                                    ri->request_method, path);
    }
    else if (!origin_allowed(s, c))
        status = syn_send_error_msg(c, s, 403, "invalid_request_error", "origin_not_allowed",
                                    "Requests from this origin are not allowed (set 'cors' to allow one)");
    else if (!strcmp(ri->request_method, "OPTIONS") && s->cfg.cors) {
        char cors[512];
        mg_printf(c, "HTTP/1.1 204 No Content\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n",
                  syn_cors_headers(s, cors, sizeof cors));
        status = 204;
    } else if (!method_allowed(r, ri->request_method)) {
        char cors[512], msg[160];
        int n = snprintf(msg, sizeof msg,
                         "{\"error\":{\"message\":\"%s takes %s, not %.16s\",\"type\":\"invalid_request_error\","
                         "\"param\":null,\"code\":\"method_not_allowed\"}}",
                         r->path, r->method, ri->request_method);
        for (char *p = msg; *p; p++)
            if (*p == '\\' || (unsigned char)*p < 0x20)
                *p = '?';
        int get = strstr(r->method, "GET") != NULL; /* HEAD is served wherever GET is */
        mg_printf(c,
                  "HTTP/1.1 405 Method Not Allowed\r\nAllow: %s%s\r\nContent-Type: application/json\r\n"
                  "Content-Length: %d\r\n%sConnection: close\r\n\r\n%s",
                  r->method, get ? ", HEAD" : "", n, syn_cors_headers(s, cors, sizeof cors),
                  strcmp(ri->request_method, "HEAD") ? msg : "");
        status = 405;
    } else if (r->auth && !authorized(s, c))
        status = syn_send_error_msg(c, s, 401, "invalid_request_error", "invalid_api_key",
                                    "Missing or invalid API key: send 'Authorization: Bearer KEY'");
    else if (r->inference && !s->main.model)
        status = syn_send_error_msg(c, s, 503, "server_error", "model_not_loaded",
                                    "No model is loaded: start the server with --model FILE.gguf or set 'model:' "
                                    "in the config file");
    else if (strcmp(ri->request_method, "GET") && strcmp(ri->request_method, "HEAD") &&
             (status = read_body(c, s, &body, &len))) {
        if (status == 413)
            syn_send_error_msg(c, s, 413, "invalid_request_error", "request_too_large",
                               "The request body is larger than %zu bytes (limits.max_body_bytes)",
                               __atomic_load_n(&s->cfg.max_body, __ATOMIC_RELAXED));
        else
            syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
    } else {
        switch (r->id) {
        case R_CHAT: status = syn_route_generate(c, s, SYN_REQ_CHAT, body, len); break;
        case R_COMPLETIONS: status = syn_route_generate(c, s, SYN_REQ_COMPLETION, body, len); break;
        case R_EMBEDDINGS: status = syn_route_embeddings(c, s, body, len); break;
        case R_MODELS: status = route_models(c, s); break;
        case R_HEALTH: status = route_health(c, s); break;
        case R_METRICS: status = route_metrics(c, s); break;
        case R_SPECIALISTS: status = syn_route_specialists(c, s, body, len); break;
        case R_STORE: status = syn_route_store(c, s, body, len); break;
        case R_ROUTING: status = syn_route_routing(c, s); break;
        case R_KNOWLEDGE: status = syn_route_knowledge(c, s, body, len); break;
        case R_SPAWNER: status = syn_route_spawner(c, s); break;
        case R_NATIVE: status = syn_route_native(c, s, body, len); break;
        case R_OLLAMA: status = syn_route_ollama(c, s, body, len); break;
        case R_RESPONSES: status = syn_route_responses(c, s, body, len); break;
        default: status = route_status(c, s); break;
        }
    }
    free(body);
    syn_metrics_request(&s->metrics, label, status);
    /* -v: one line a request (the route, not the raw path, which may be any bytes) */
    const char *peer = mg_get_header(c, SYN_GATE_PEER_HEADER);
    syn_log(SYN_LOG_INFO, "%.64s %.16s %s %d %.1f ms", peer ? peer : ri->remote_addr, r ? r->method : "-", label, status,
            (now_s() - t0) * 1e3);
    __atomic_sub_fetch(&s->in_flight, 1, __ATOMIC_SEQ_CST);
    return status < 100 ? 500 : status;
}

static int log_message(const struct mg_connection *c, const char *msg)
{
    (void)c;
    syn_log(SYN_LOG_INFO, "http: %s", msg);
    return 1;
}

/* The scheduler's observer: what it does, counted in the server's metrics. */
static void obs_tokens(void *m, uint64_t prompt, uint64_t generated) { syn_metrics_tokens(m, prompt, generated); }
static void obs_cached(void *m, uint64_t tokens) { syn_metrics_prompt_cached(m, tokens); }
static void obs_ttft(void *m, double seconds) { syn_metrics_ttft(m, seconds); }
static void obs_gap(void *m, double seconds) { syn_metrics_token_latency(m, seconds); }

/* Loads a base model, its tokenizer and chat template, and starts its
 * scheduler (the server's settings for all: slots, context, batch). */
static int open_base(syn_server *s, const char *path, syn_base *b, syn_error *err)
{
    syn_session_params sp = {.model_path = path, .backend = getenv("SYNAPSE_BACKEND"), .n_threads = s->cfg.threads,
                             .chat_template = s->cfg.chat_template};
    int rc = syn_session_open(&sp, &b->sess, err);
    if (rc)
        return rc;
    b->model = b->sess.model;
    b->tok = b->sess.tok;
    b->tmpl = b->sess.chat;
    if (!b->sess.has_chat) {
        /* a model without a known template still serves /v1/completions;
         * chat falls back to ChatML, the most common format */
        syn_log(SYN_LOG_WARN, "%s; chat requests use ChatML", b->sess.chat_error);
        syn_error ignored;
        syn_chat_template_detect(NULL, "chatml", &b->tmpl, &ignored);
    }
    const syn_model_config *mc = syn_model_get_config(b->model);
    snprintf(b->name, sizeof b->name, "%s", mc->name);
    if (s->cfg.ctx_size > mc->n_ctx_train && mc->n_ctx_train > 0)
        syn_log(SYN_LOG_WARN, "context of %d tokens is longer than the model was trained for (%d)", s->cfg.ctx_size,
                mc->n_ctx_train);
    if (s->cfg.prefix_cache_tokens && !syn_model_kv_page_len(b->model))
        syn_log(SYN_LOG_WARN, "limits.prefix_cache_tokens has no effect: backend %s keeps no KV pages, so no prefix "
                "is cached", b->sess.be.plugin_name);
    syn_sched_params sched = {.n_slots = s->cfg.parallel, .n_ctx = s->cfg.ctx_size, .max_rows = s->cfg.batch_rows,
                              .max_queue = s->cfg.max_queue, .cache_tokens = s->cfg.prefix_cache_tokens};
    syn_sched_observer obs = {.user = &s->metrics, .tokens = obs_tokens, .prompt_cached = obs_cached,
                              .first_token = obs_ttft, .token_gap = obs_gap};
    return syn_sched_new(b->model, b->tok, &sched, &obs, &b->sched, err);
}

static void close_base(syn_base *b)
{
    syn_session_close(&b->sess);
    free(b->path);
}

/* A name for /v1/models no other base and no route has: the model's own,
 * else its file's name (without .gguf), else that with -2, -3, ... Under
 * bases_mu. */
static void unique_name(syn_server *s, syn_base *b)
{
    const char *slash = strrchr(b->path, '/'), *file = slash ? slash + 1 : b->path;
    size_t len = strlen(file) > 5 && !strcmp(file + strlen(file) - 5, ".gguf") ? strlen(file) - 5 : strlen(file);
    for (int attempt = 0; attempt < 100; attempt++) {
        int taken = !strcmp(b->name, "synapse") || !strncmp(b->name, "synapse/", 8) || !strcmp(b->name, s->main.name);
        for (int i = 0; !taken && i < s->n_bases; i++)
            taken = !strcmp(b->name, s->bases[i]->name);
        if (!taken)
            return;
        if (attempt == 0)
            snprintf(b->name, sizeof b->name, "%.*s", (int)len, file);
        else
            snprintf(b->name, sizeof b->name, "%.*s-%d", (int)len, file, attempt + 1);
    }
}

/* The swarm's resolver: a specialist's base_model (a path, or a name under
 * models_dir, with or without .gguf) as a base, loaded the first time a
 * file is named; the server's own file is its own base. */
static int resolve_base(void *user, const char *base_model, syn_model **model, void **base, syn_error *err)
{
    syn_server *s = user;
    char want[PATH_MAX], real[PATH_MAX];
    if (strchr(base_model, '/'))
        snprintf(want, sizeof want, "%s", base_model);
    else {
        snprintf(want, sizeof want, "%s/%s", s->cfg.models_dir ? s->cfg.models_dir : ".", base_model);
        if (access(want, R_OK))
            snprintf(want, sizeof want, "%s/%s.gguf", s->cfg.models_dir ? s->cfg.models_dir : ".", base_model);
    }
    if (!realpath(want, real))
        return syn_fail(err, SYN_ERR_INVALID, "%s: %s", want, strerror(errno));
    if (s->main.path && !strcmp(real, s->main.path)) {
        *model = s->main.model;
        *base = NULL;
        return 0;
    }
    pthread_mutex_lock(&s->bases_mu);
    int rc = 0;
    syn_base *b = NULL;
    for (int i = 0; !b && i < s->n_bases; i++)
        if (!strcmp(s->bases[i]->path, real))
            b = s->bases[i];
    if (!b && s->n_bases == SYN_SERVER_MAX_BASES)
        rc = syn_fail(err, SYN_ERR_RANGE, "already %d other base models loaded (the most there may be)",
                      SYN_SERVER_MAX_BASES);
    else if (!b) {
        if (!(b = calloc(1, sizeof *b)) || !(b->path = strdup(real)))
            rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        else if ((rc = open_base(s, real, b, err)))
            syn_error_prefix(err, real);
        if (rc) {
            if (b) {
                syn_sched_free(b->sched);
                close_base(b);
            }
            free(b);
            b = NULL;
        } else {
            unique_name(s, b);
            s->bases[s->n_bases++] = b;
            syn_log(SYN_LOG_WARN, "base model %s loaded from %s", b->name, real);
        }
    }
    pthread_mutex_unlock(&s->bases_mu);
    if (b) {
        *model = b->model;
        *base = b;
    }
    return rc;
}

const syn_base *syn_server_base_of(syn_server *s, const syn_specialist *sp)
{
    return sp && sp->base ? sp->base : &s->main;
}

const syn_base *syn_server_base_named(syn_server *s, const char *name)
{
    pthread_mutex_lock(&s->bases_mu);
    const syn_base *b = NULL;
    for (int i = 0; !b && i < s->n_bases; i++)
        if (!strcmp(s->bases[i]->name, name))
            b = s->bases[i];
    pthread_mutex_unlock(&s->bases_mu);
    return b;
}

/* What plugins may ask of the server's model (the host API's calls). */
static syn_host_model host_model(syn_server *s)
{
    return (syn_host_model){.user = s,
                            .embed = syn_server_embed_text,
                            .generate = syn_server_generate_start,
                            .read = syn_server_generate_read,
                            .free = syn_server_generate_free};
}

/* The configured specialists, each with its adapter (or plugin) loaded;
 * one that cannot be served stops the start, naming it. */
static int start_swarm(syn_server *s, const syn_config *cfg, syn_error *err)
{
    int rc = syn_swarm_new(s->main.model, cfg->data_dir, cfg->path, resolve_base, s, &s->swarm, err);
    if (!rc) {
        syn_host_model model = host_model(s);
        syn_swarm_set_plugin_host(s->swarm, s->store, &model);
        syn_swarm_set_adapter_budget(s->swarm, cfg->adapter_bytes);
    }
    for (int i = 0; !rc && i < cfg->n_specialists; i++)
        rc = syn_swarm_put(s->swarm, &cfg->specialists[i], 0, NULL, err);
    if (!rc && cfg->n_specialists)
        syn_log(SYN_LOG_WARN, "%d specialist%s: synapse/%s%s", cfg->n_specialists, cfg->n_specialists == 1 ? "" : "s",
                cfg->specialists[0].name, cfg->n_specialists > 1 ? ", ..." : "");
    return rc;
}

/* The extractor plugin: one named by the config must load; a search that
 * finds none leaves POST /api/knowledge/extract answering 503. */
static int start_capability(syn_server *s, uint32_t kind, const char *path, syn_capability **out, const char *without,
                            syn_error *err)
{
    int rc = syn_capability_open(path, kind, s->store, NULL, out, err);
    if (rc == SYN_ERR_NOT_FOUND && !path) {
        syn_log(SYN_LOG_WARN, "%s: %s", err->msg, without);
        memset(err, 0, sizeof *err);
        return 0;
    }
    if (!rc)
        syn_log(SYN_LOG_INFO, "%s: %s", syn_plugin_kind_name(kind), (*out)->describe);
    return rc;
}

static int start_extractor(syn_server *s, syn_error *err)
{
    int rc = start_capability(s, SYN_PLUGIN_EXTRACTOR, s->cfg.extractor_plugin, &s->extractor,
                              "no facts are extracted", err);
    rc = rc ? rc
            : start_capability(s, SYN_PLUGIN_VERIFIER, s->cfg.verifier_plugin, &s->verifier,
                               "answers are not verified", err);
    return rc ? rc
              : start_capability(s, SYN_PLUGIN_SPAWNER, s->cfg.spawner_plugin, &s->spawner,
                                 "no specialists are proposed", err);
}

/* The router plugin, fed the specialists. A router named by the config
 * must load; without one named, a search that finds none leaves "synapse"
 * meaning the base model, said once here and in every route's reason. */
static int start_router(syn_server *s, syn_error *err)
{
    syn_host_model model = host_model(s);
    int rc = syn_router_open(s->cfg.router_plugin, s->store, &model, &s->router, err);
    if (rc == SYN_ERR_NOT_FOUND && !s->cfg.router_plugin) {
        syn_log(SYN_LOG_WARN, "%s: \"model\": \"synapse\" is the base model", err->msg);
        memset(err, 0, sizeof *err);
        return 0;
    }
    if (!rc)
        rc = syn_router_update(s->router, s->swarm, err);
    if (!rc)
        syn_log(SYN_LOG_WARN, "router: %s", syn_router_describe(s->router));
    return rc;
}

static int copy_config(syn_config *dst, const syn_config *src, syn_error *err)
{
    *dst = *src;
    dst->host = dst->data_dir = dst->models_dir = dst->model = dst->chat_template = dst->cors = NULL;
    dst->router_plugin = dst->extractor_plugin = dst->verifier_plugin = dst->spawner_plugin = NULL;
    dst->cloud.api_base = dst->cloud.api_key = dst->cloud.model = NULL;
    dst->n_api_keys = 0;
    memset(dst->api_keys, 0, sizeof dst->api_keys);
    dst->specialists = NULL; /* the swarm holds them while serving */
    dst->n_specialists = 0;
    dst->path = NULL;
    int rc = syn_config_set_str(&dst->host, src->host, err);
    rc = rc ? rc : syn_config_set_str(&dst->data_dir, src->data_dir, err);
    rc = rc ? rc : syn_config_set_str(&dst->models_dir, src->models_dir, err);
    rc = rc ? rc : syn_config_set_str(&dst->model, src->model, err);
    rc = rc ? rc : syn_config_set_str(&dst->chat_template, src->chat_template, err);
    rc = rc ? rc : syn_config_set_str(&dst->cors, src->cors, err);
    rc = rc ? rc : syn_config_set_str(&dst->router_plugin, src->router_plugin, err);
    rc = rc ? rc : syn_config_set_str(&dst->extractor_plugin, src->extractor_plugin, err);
    rc = rc ? rc : syn_config_set_str(&dst->spawner_plugin, src->spawner_plugin, err);
    rc = rc ? rc : syn_config_set_str(&dst->verifier_plugin, src->verifier_plugin, err);
    rc = rc ? rc : syn_config_set_str(&dst->cloud.api_base, src->cloud.api_base, err);
    rc = rc ? rc : syn_config_set_str(&dst->cloud.api_key, src->cloud.api_key, err);
    rc = rc ? rc : syn_config_set_str(&dst->cloud.model, src->cloud.model, err);
    for (int i = 0; !rc && i < src->n_api_keys; i++) {
        rc = syn_config_set_str(&dst->api_keys[i], src->api_keys[i], err);
        dst->n_api_keys = i + 1;
    }
    return rc;
}

/* Idle connections cost the gate a descriptor each: take as many as the
 * hard limit allows (up to 65536). */
static void raise_fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r))
        return;
    rlim_t want = r.rlim_max == RLIM_INFINITY || r.rlim_max > 65536 ? 65536 : r.rlim_max;
    if (r.rlim_cur < want) {
        r.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &r))
            syn_log(SYN_LOG_WARN, "cannot raise the open-file limit to %llu", (unsigned long long)want);
    }
}

/* Client connections the gate holds at most: the descriptors left after
 * two for each request civetweb may be serving, and some for the model and
 * plugins. */
static int max_connections(void)
{
    struct rlimit r;
    long lim = getrlimit(RLIMIT_NOFILE, &r) || r.rlim_cur == RLIM_INFINITY ? 65536 : (long)r.rlim_cur;
    long n = (lim - 256 - 2 * 256) / 2; /* a relayed request holds a client and a backend socket */
    return n < 16 ? 16 : n > 30000 ? 30000 : (int)n;
}

/* data_dir/synapse.db, data_dir made when missing */
static int open_store(syn_server *s, syn_error *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/synapse.db", s->cfg.data_dir) >= (int)sizeof path)
        return syn_fail(err, SYN_ERR_INVALID, "data_dir is too long");
    int rc = syn_config_make_dirs(s->cfg.data_dir, err);
    return rc ? rc : syn_store_open(path, &s->store, err);
}

int syn_server_start(const syn_config *cfg, const char *model_path, syn_server **out, syn_error *err)
{
    *out = NULL;
    syn_server *s = calloc(1, sizeof *s);
    if (!s)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    syn_metrics_init(&s->metrics);
    pthread_rwlock_init(&s->keys_lock, NULL);
    pthread_mutex_init(&s->bases_mu, NULL);
    pthread_mutex_init(&s->spawn_mu, NULL);
    pthread_mutex_init(&s->accept_mu, NULL);
    s->t_start = now_s();
    int rc = copy_config(&s->cfg, cfg, err);
    if (!rc && !(rc = syn_cloud_global_init(err)))
        s->curl_ready = 1;
    if (!rc)
        rc = open_store(s, err);
    /* the extractor needs no model: facts come from text */
    if (!rc)
        rc = start_extractor(s, err);
    if (!rc && model_path) {
        char real[PATH_MAX];
        if (!realpath(model_path, real) || !(s->main.path = strdup(real)))
            rc = syn_fail(err, SYN_ERR_IO, "%s", strerror(errno ? errno : ENOMEM));
        if (!rc && !(rc = open_base(s, model_path, &s->main, err)))
            s->created = (long)time(NULL);
        if (rc)
            syn_error_prefix(err, model_path);
        else if (!(rc = start_swarm(s, cfg, err)))
            rc = start_router(s, err);
    } else if (!rc && cfg->n_specialists)
        rc = syn_fail(err, SYN_ERR_INVALID,
                      "%d specialist%s configured, but there is no model to serve %s (set 'model:')",
                      cfg->n_specialists, cfg->n_specialists == 1 ? " is" : "s are",
                      cfg->n_specialists == 1 ? "it" : "them");
    if (rc) {
        syn_server_stop(s);
        return rc;
    }
    if ((rc = syn_config_check_host(s->cfg.host, err))) {
        syn_server_stop(s);
        return rc;
    }
    /* civetweb serves on loopback; the gate owns the public socket and hands
     * it only whole requests (see gate.h) */
    char threads[16], timeout[16];
    /* every streaming client holds a thread; leave room for the queue too */
    int n_threads = s->cfg.parallel + s->cfg.max_queue + 8;
    snprintf(threads, sizeof threads, "%d", n_threads > 256 ? 256 : n_threads);
    /* civetweb applies it to each read and write of a connection: an answer
     * the gate cannot pass on (a client that stopped reading) for that long
     * is dropped */
    snprintf(timeout, sizeof timeout, "%d", s->cfg.request_timeout_s * 1000);
    const char *options[] = {"listening_ports", "127.0.0.1:0", "num_threads", threads, "enable_keep_alive", "no",
                             "request_timeout_ms", timeout,
                             /* civetweb answers every preflight with "*" unless told not to:
                              * origins are decided by origin_allowed() */
                             "access_control_allow_origin", "", NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.log_message = log_message;
    mg_init_library(0);
    if (!(s->mg = mg_start(&cb, s, options))) {
        mg_exit_library();
        syn_server_stop(s);
        return syn_fail(err, SYN_ERR_IO, "cannot start the HTTP server on loopback");
    }
    mg_set_request_handler(s->mg, "/", handle, s);
    struct mg_server_port sp[4];
    int np = mg_get_server_ports(s->mg, 4, sp);
    raise_fd_limit();
    syn_gate_params gp = {.host = s->cfg.host, .port = s->cfg.port, .backend_port = np > 0 ? sp[0].port : 0,
                          .max_body = s->cfg.max_body, .request_timeout_s = s->cfg.request_timeout_s,
                          .max_conns = max_connections(), .metrics = &s->metrics};
    if (np < 1 || (rc = syn_gate_start(&gp, &s->gate, err))) {
        if (np < 1)
            rc = syn_fail(err, SYN_ERR_IO, "the HTTP server has no port");
        syn_server_stop(s);
        return rc;
    }
    s->port = syn_gate_port(s->gate);
    *out = s;
    return 0;
}

int syn_server_port(const syn_server *s) { return s->port; }

static int same_str(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

void syn_server_reload(syn_server *s, const syn_config *fresh)
{
    char *keys[SYN_CONFIG_MAX_KEYS] = {0};
    int n = 0;
    for (; n < fresh->n_api_keys; n++)
        if (!(keys[n] = strdup(fresh->api_keys[n]))) {
            for (int i = 0; i < n; i++)
                free(keys[i]);
            syn_log(SYN_LOG_ERROR, "reload: out of memory; the API keys stay as they were");
            return;
        }
    pthread_rwlock_wrlock(&s->keys_lock);
    char *old[SYN_CONFIG_MAX_KEYS];
    int n_old = s->cfg.n_api_keys;
    memcpy(old, s->cfg.api_keys, sizeof old);
    memcpy(s->cfg.api_keys, keys, sizeof keys);
    s->cfg.n_api_keys = n;
    pthread_rwlock_unlock(&s->keys_lock);
    for (int i = 0; i < n_old; i++)
        free(old[i]);
    syn_log(SYN_LOG_WARN, "reload: %d API key%s in effect", n, n == 1 ? "" : "s");
    /* limits read per request change at once */
    if (s->cfg.max_tokens != fresh->max_tokens) {
        __atomic_store_n(&s->cfg.max_tokens, fresh->max_tokens, __ATOMIC_RELAXED);
        syn_log(SYN_LOG_WARN, "reload: limits.max_tokens is %d", fresh->max_tokens);
    }
    if (s->cfg.max_body != fresh->max_body) {
        __atomic_store_n(&s->cfg.max_body, fresh->max_body, __ATOMIC_RELAXED);
        syn_gate_set_max_body(s->gate, fresh->max_body);
        syn_log(SYN_LOG_WARN, "reload: limits.max_body_bytes is %zu", fresh->max_body);
    }

    if (s->cfg.learning != fresh->learning) {
        __atomic_store_n(&s->cfg.learning, fresh->learning, __ATOMIC_RELAXED);
        syn_log(SYN_LOG_WARN, "reload: learning is %s", fresh->learning ? "true" : "false");
    }
    if (s->cfg.knowledge_prompt_tokens != fresh->knowledge_prompt_tokens) {
        __atomic_store_n(&s->cfg.knowledge_prompt_tokens, fresh->knowledge_prompt_tokens, __ATOMIC_RELAXED);
        syn_log(SYN_LOG_WARN, "reload: knowledge.prompt_tokens is %d", fresh->knowledge_prompt_tokens);
    }

    if (s->cfg.adapter_bytes != fresh->adapter_bytes && s->swarm) {
        s->cfg.adapter_bytes = fresh->adapter_bytes;
        syn_swarm_set_adapter_budget(s->swarm, fresh->adapter_bytes);
        syn_log(SYN_LOG_WARN, "reload: limits.adapter_bytes is %zu", fresh->adapter_bytes);
    }

    /* the rest is fixed at start: the listener, the model and its context,
     * the scheduler's slots and buffers */
    const syn_config *c = &s->cfg, *f = fresh;
    struct { const char *name; int changed; } fixed[] = {
        {"host", !same_str(c->host, f->host)},
        {"port", c->port != f->port},
        {"model", !same_str(c->model, f->model)},
        {"models_dir", !same_str(c->models_dir, f->models_dir)},
        {"data_dir", !same_str(c->data_dir, f->data_dir)},
        {"chat_template", !same_str(c->chat_template, f->chat_template)},
        {"cors", !same_str(c->cors, f->cors)},
        {"plugins.router", !same_str(c->router_plugin, f->router_plugin)},
        {"plugins.extractor", !same_str(c->extractor_plugin, f->extractor_plugin)},
        {"plugins.spawner", !same_str(c->spawner_plugin, f->spawner_plugin)},
        {"plugins.verifier", !same_str(c->verifier_plugin, f->verifier_plugin)},
        {"threads", c->threads != f->threads},
        {"context_size", c->ctx_size != f->ctx_size},
        {"parallel", c->parallel != f->parallel},
        {"cloud", c->cloud.mode != f->cloud.mode || !same_str(c->cloud.api_base, f->cloud.api_base) ||
                      !same_str(c->cloud.api_key, f->cloud.api_key) || !same_str(c->cloud.model, f->cloud.model) ||
                      c->cloud.threshold != f->cloud.threshold || c->cloud.timeout_s != f->cloud.timeout_s},
        {"limits.max_queue", c->max_queue != f->max_queue},
        {"limits.batch_rows", c->batch_rows != f->batch_rows},
        {"limits.request_timeout_s", c->request_timeout_s != f->request_timeout_s},
        {"limits.prefix_cache_tokens", c->prefix_cache_tokens != f->prefix_cache_tokens},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (fixed[i].changed)
            syn_log(SYN_LOG_WARN, "reload: '%s' changed; it takes effect at the next restart", fixed[i].name);
    /* specialists change at runtime through /api/specialists, which writes
     * the file; an edit by hand is read at the next start */
    syn_specialist **live = NULL;
    int n_live = 0, same = 1;
    syn_error err = {0};
    if (s->swarm && !syn_swarm_list(s->swarm, &live, &n_live, &err)) {
        same = n_live == f->n_specialists;
        for (int i = 0; same && i < n_live; i++)
            same = syn_specialist_def_equal(&live[i]->def, &f->specialists[i]);
        syn_swarm_list_free(live, n_live);
    }
    if (!same)
        syn_log(SYN_LOG_WARN, "reload: 'specialists' changed; it takes effect at the next restart (POST and DELETE "
                              "/api/specialists change them at once)");
}

void syn_server_stop(syn_server *s)
{
    if (!s)
        return;
    /* no new connections; those in flight are still relayed */
    syn_gate_close_listener(s->gate);
    /* the scheduler first: it fails the running jobs, so handler threads
     * waiting on them return and civetweb can join them */
    syn_sched_stop(s->main.sched);
    for (int i = 0; i < s->n_bases; i++)
        syn_sched_stop(s->bases[i]->sched);
    /* civetweb writes nothing once it is stopping: let the handlers whose
     * jobs just failed send their 503 first (a client too slow to take it
     * gets a few seconds) */
    for (int i = 0; s->mg && i < 300 && __atomic_load_n(&s->in_flight, __ATOMIC_SEQ_CST); i++)
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    if (s->mg) {
        mg_stop(s->mg);
        mg_exit_library();
    }
    syn_gate_stop(s->gate);
    syn_sched_free(s->main.sched);
    for (int i = 0; i < s->n_bases; i++)
        syn_sched_free(s->bases[i]->sched);
    syn_router_close(s->router); /* after civetweb: no handler routes any more */
    syn_capability_close(s->extractor);
    syn_capability_close(s->verifier);
    syn_capability_close(s->spawner);
    syn_swarm_free(s->swarm); /* after the schedulers: their jobs held adapters */
    for (int i = 0; i < s->n_bases; i++) {
        close_base(s->bases[i]); /* after the swarm: its adapters are on these models */
        free(s->bases[i]);
    }
    close_base(&s->main);
    syn_store_close(s->store); /* after civetweb: no handler writes any more */
    if (s->curl_ready)
        syn_cloud_global_cleanup();
    pthread_mutex_destroy(&s->bases_mu);
    pthread_mutex_destroy(&s->spawn_mu);
    pthread_mutex_destroy(&s->accept_mu);
    syn_config_free(&s->cfg);
    syn_metrics_destroy(&s->metrics);
    pthread_rwlock_destroy(&s->keys_lock);
    free(s);
}
