/* Routing's server side: the base model's embeddings for the router,
 * answers' confidence, and the routes that show what the router did:
 * GET /api/routes (recent decisions, every specialist's scores by signal)
 * and GET /api/confidence (each specialist's record per domain). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/server/internal.h"

#define ROUTES_DEFAULT 20
#define ROUTES_MAX 1000

int32_t syn_server_embed_text(void *server, const char *text, float *out, int32_t cap, syn_error *err)
{
    syn_server *s = server;
    const syn_base *b = &s->main;
    if (!b->model)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "no model is loaded"), 0;
    int32_t *ids = NULL;
    size_t n = 0;
    if (syn_tokenize(b->tok, text, strlen(text), 0, 1, &ids, &n, err))
        return 0;
    if (n == 0) {
        free(ids);
        return syn_fail(err, SYN_ERR_INVALID, "nothing to embed"), 0;
    }
    /* a long text is known by its beginning */
    int32_t len = n > (size_t)s->cfg.ctx_size ? s->cfg.ctx_size : (int32_t)n;
    syn_job *j = NULL;
    int rc = syn_job_embed(ids, &len, 1, &j, err);
    free(ids);
    if (!rc)
        rc = syn_sched_submit(b->sched, j, err);
    int32_t dim = 0;
    if (!rc) {
        uint64_t seen = 0;
        syn_job_state st;
        while ((st = syn_job_wait(j, &seen, -1)) == SYN_JOB_RUNNING)
            ;
        int32_t n_out, n_embd;
        const float *v = st == SYN_JOB_DONE ? syn_job_embeddings(j, &n_out, &n_embd) : NULL;
        if (!v) {
            char msg[256];
            syn_job_status(j, msg, sizeof msg);
            syn_fail(err, SYN_ERR_IO, "embedding failed: %s", msg);
        } else {
            dim = n_embd;
            if (n_embd <= cap)
                memcpy(out, v, sizeof(float) * (size_t)n_embd);
        }
    }
    syn_job_release(j);
    return dim;
}

struct syn_host_generation {
    syn_job *job;
    syn_choice_cursor cur;
    char *pending; /* read from the job, not yet handed out */
    size_t len, off;
    int done;
};

syn_host_generation *syn_server_generate_start(void *server, const char *system, const char *user, int32_t max_tokens,
                                               syn_error *err)
{
    syn_server *s = server;
    if (!s->main.model)
        return syn_fail(err, SYN_ERR_UNSUPPORTED, "no model is loaded"), NULL;
    syn_chat_msg msgs[2];
    size_t n = 0;
    if (system)
        msgs[n++] = (syn_chat_msg){.role = "system", .content = system};
    msgs[n++] = (syn_chat_msg){.role = "user", .content = user};
    syn_gen_request q = {.kind = SYN_REQ_CHAT, .msgs = msgs, .n_msgs = n, .n = 1};
    q.sp = syn_sampler_params_default();
    q.sp.temperature = 0;
    int32_t *ids;
    size_t n_ids;
    syn_http_error e = {0};
    if (syn_server_build_prompt(s, &s->main, &q, NULL, &ids, &n_ids, &e))
        return syn_fail(err, SYN_ERR_INVALID, "%s", e.message), NULL;
    syn_job_request jr = {.prompt = ids, .n_prompt = (int32_t)n_ids, .n_choices = 1,
                          .max_tokens = syn_server_token_cap(s, max_tokens),
                          .gen = {.sp = q.sp}};
    syn_host_generation *g = calloc(1, sizeof *g);
    int rc = g ? syn_job_generate(&jr, &g->job, err) : syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    free(ids);
    if (!rc)
        rc = syn_sched_submit(s->main.sched, g->job, err);
    if (rc) {
        syn_server_generate_free(s, g);
        return NULL;
    }
    return g;
}

int32_t syn_server_generate_read(void *server, syn_host_generation *g, char *buf, int32_t cap, syn_error *err)
{
    (void)server;
    uint64_t seen = 0;
    while (g->off == g->len && !g->done) {
        syn_job_state st = syn_job_wait(g->job, &seen, -1);
        syn_choice_delta d;
        if (syn_job_read(g->job, 0, &g->cur, &d))
            return syn_fail(err, SYN_ERR_NOMEM, "out of memory"), -1;
        free(g->pending);
        g->pending = d.text; /* taken */
        g->len = d.len;
        g->off = 0;
        d.text = NULL;
        g->done = d.finish != SYN_FINISH_NONE;
        syn_choice_delta_free(&d);
        if (st == SYN_JOB_FAILED || st == SYN_JOB_STOPPED) {
            char msg[256];
            syn_job_status(g->job, msg, sizeof msg);
            return syn_fail(err, SYN_ERR_IO, "the generation failed: %s", msg), -1;
        }
    }
    size_t n = g->len - g->off < (size_t)cap - 1 ? g->len - g->off : (size_t)cap - 1;
    if (n)
        memcpy(buf, g->pending + g->off, n);
    buf[n] = '\0';
    g->off += n;
    return (int32_t)n;
}

void syn_server_generate_free(void *server, syn_host_generation *g)
{
    (void)server;
    if (!g)
        return;
    if (g->job) {
        syn_job_cancel(g->job);
        syn_job_release(g->job);
    }
    free(g->pending);
    free(g);
}

/* The model's own view: the geometric-mean probability of its tokens, the
 * least likely one, and how spread its distributions were (entropy over
 * its ceiling, log n_vocab). */
static double raw_confidence(const syn_gen_stats *g)
{
    if (g->n <= 0 || g->n_vocab < 2)
        return 0.0;
    double p_mean = exp(g->sum_logprob / g->n), p_min = exp(g->min_logprob);
    double h = g->sum_entropy / g->n / log((double)g->n_vocab);
    double c = 0.5 * p_mean + 0.2 * p_min + 0.3 * (1.0 - (h > 1 ? 1 : h));
    return c < 0 ? 0 : c > 1 ? 1 : c;
}

double syn_server_confidence(syn_server *s, const char *specialist, const char *domain, const syn_gen_stats *g)
{
    double raw = raw_confidence(g);
    syn_store_stats st;
    syn_error err = {0};
    if (syn_store_stats_get(s->store, specialist ? specialist : "", domain, &st, &err)) {
        syn_log(SYN_LOG_WARN, "confidence not calibrated: %s", err.msg);
        return raw;
    }
    /* The log-odds move by those of the Laplace-smoothed rate of
     * thumbs-up for (specialist, domain): no ratings, no move; each
     * thumbs-down lowers it, each thumbs-up raises it, and the smoothing
     * keeps a few ratings from deciding everything. */
    double up = (double)(st.rated + st.rating_sum) / 2.0;
    double rate = (up + 1.0) / ((double)st.rated + 2.0);
    double r = raw < 1e-6 ? 1e-6 : raw > 1 - 1e-6 ? 1 - 1e-6 : raw;
    double z = log(r / (1 - r)) + log(rate / (1 - rate));
    return 1.0 / (1.0 + exp(-z));
}

int syn_query_limit(struct mg_connection *c, syn_server *s, int def, int max, int *out)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *qs = ri->query_string ? ri->query_string : "";
    char buf[32];
    *out = def;
    int n = mg_get_var(qs, strlen(qs), "limit", buf, sizeof buf);
    if (n >= 0 || n == -2) {
        char *end;
        long limit = n >= 0 ? strtol(buf, &end, 10) : 0;
        if (n < 0 || !*buf || *end || limit < 1 || limit > max)
            return syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "'limit' must be from 1 to %d", max);
        *out = (int)limit;
    }
    return 0;
}

int syn_route_routing(struct mg_connection *c, syn_server *s)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    json_object *data = NULL;
    syn_error err = {0};
    int rc;
    if (!strcmp(ri->local_uri, "/api/routes")) {
        int limit, status;
        if ((status = syn_query_limit(c, s, ROUTES_DEFAULT, ROUTES_MAX, &limit)))
            return status;
        rc = syn_store_routes(s->store, limit, &data, &err);
    } else
        rc = syn_store_confidence(s->store, &data, &err);
    if (rc)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    if (!strcmp(ri->local_uri, "/api/routes"))
        json_object_object_add(o, "router", s->router ? json_object_new_string(syn_router_describe(s->router)) : NULL);
    json_object_object_add(o, "data", data);
    return syn_send_json_obj(c, s, 200, o);
}

/* The route JSON for an answer the router did not pick: the base model or
 * a specialist the request named. */
static json_object *fixed_route(const char *domain, const char *name, const char *reason, json_object *scores)
{
    json_object *o = json_object_new_object(), *chosen = json_object_new_array();
    if (name) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "name", json_object_new_string(name));
        json_object_object_add(c, "score", NULL);
        json_object_array_add(chosen, c);
    }
    json_object_object_add(o, "mode", json_object_new_string("single"));
    json_object_object_add(o, "domain", json_object_new_string(domain));
    json_object_object_add(o, "specialists", chosen);
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "scores", scores ? json_object_get(scores) : json_object_new_array());
    return o;
}

/* The decision's "specialists" cut to those that answer (a swarm's
 * members, else one), when fewer answer than the router chose. */
static void keep_served(json_object *full, syn_specialist *const *members, int n, const syn_specialist *one)
{
    json_object *chosen = json_object_object_get(full, "specialists"), *kept = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(chosen); i++) {
        json_object *c = json_object_array_get_idx(chosen, i);
        const char *name = json_object_get_string(json_object_object_get(c, "name"));
        int served = one && !strcmp(one->def.name, name);
        for (int k = 0; !served && k < n; k++)
            served = !strcmp(members[k]->def.name, name);
        if (served)
            json_object_array_add(kept, json_object_get(c));
    }
    json_object_object_add(full, "specialists", kept);
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static json_object *ms_json(double ms)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%.3f", ms);
    return json_object_new_double_s(ms, buf);
}

int syn_server_route_chat(syn_server *s, const syn_gen_request *r, syn_specialist **sp, const syn_base **base,
                          syn_chat_route *out, syn_http_error *e)
{
    memset(out, 0, sizeof *out);
    snprintf(out->domain, sizeof out->domain, "general");
    out->mode = "single";
    int rc = syn_server_resolve_model(s, r->model, sp, base, e);
    if (rc)
        return rc;
    const char *query = syn_gen_request_query(r);
    /* a specialist in code that claims the query surely takes it: the
     * router is not asked (an exact answer needs no weighing) */
    float claim = 0;
    syn_specialist *claimed = !*sp && !strcmp(r->model, "synapse") && s->swarm && query
                                  ? syn_swarm_claim(s->swarm, query, &claim)
                                  : NULL;
    if (claimed) {
        *sp = claimed;
        *base = syn_server_base_of(s, claimed);
        snprintf(out->domain, sizeof out->domain, "%s", claimed->def.name);
        char why[160];
        snprintf(why, sizeof why, "specialist in code '%s' claims the query (%.2f)", claimed->def.name, claim);
        out->full = fixed_route(out->domain, claimed->def.name, why, NULL);
        return 0;
    }
    syn_specialist **all = NULL;
    int n = 0;
    syn_error err = {0};
    if (s->router && s->swarm && syn_swarm_list(s->swarm, &all, &n, &err) == 0)
        syn_swarm_list_free(all, n);
    syn_route_result res = {0};
    int routed = 0;
    if (s->router && n > 0) {
        /* the router's own signal needs the query's embedding, but only
         * where there is a choice to make and only when asked to choose */
        int choose = !*sp && !strcmp(r->model, "synapse");
        float *emb = NULL;
        int32_t dim = 0;
        double t0 = mono_ms();
        if (choose && n > 1) {
            int32_t cap = syn_model_get_config(s->main.model)->n_embd;
            if ((emb = malloc(sizeof(float) * (size_t)cap)) &&
                ((dim = syn_server_embed_text(s, query, emb, cap, &err)) <= 0 || dim > cap)) {
                syn_log(SYN_LOG_WARN, "routing without the query's embedding: %s", err.msg);
                dim = 0;
            }
        }
        double t1 = mono_ms();
        rc = syn_router_route(s->router, s->swarm, query, dim ? emb : NULL, dim, &res, &err);
        double t2 = mono_ms();
        free(emb);
        if (rc) {
            syn_specialist_release(*sp);
            *sp = NULL;
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "the router failed: %s", err.msg);
        }
        routed = 1;
        snprintf(out->domain, sizeof out->domain, "%s", res.domain);
        const char *code_left = NULL; /* a specialist in code the router put in a swarm */
        int tooled = syn_gen_request_tooled(r); /* one answers: the calls are its own */
        if (choose && res.mode == SYN_ROUTE_SWARM && res.n_chosen > 1 && !tooled) {
            for (int i = 0; i < res.n_chosen; i++)
                out->members[out->n_members++] = syn_swarm_get(s->swarm, res.chosen[i]->def.name);
            int k = 0; /* any removed meanwhile is gone from the swarm; one in code
                        * answers alone, not as a part to merge */
            for (int i = 0; i < out->n_members; i++) {
                syn_specialist *m = out->members[i];
                if (m && m->code) {
                    code_left = code_left ? code_left : res.chosen[i]->def.name;
                    syn_specialist_release(m);
                } else if (m)
                    out->members[k++] = m;
            }
            out->n_members = k;
        }
        if (choose) {
            /* one answers: what is left of a swarm, else the router's first */
            if (out->n_members == 1) {
                *sp = out->members[0]; /* its reference */
                out->n_members = 0;
            } else if (out->n_members == 0 && res.n_chosen > 0)
                *sp = syn_swarm_get(s->swarm, res.chosen[0]->def.name);
            if (*sp)
                *base = syn_server_base_of(s, *sp);
            out->full = json_object_get(res.json);
            /* what routing cost this request, for GET /api/routes and bench/route.sh */
            json_object_object_add(out->full, "embedding_ms", ms_json(t1 - t0));
            json_object_object_add(out->full, "decision_ms", ms_json(t2 - t1));
            out->mode = res.mode == SYN_ROUTE_SWARM ? "swarm" : res.mode == SYN_ROUTE_CLOUD ? "cloud" : "single";
            if (res.mode == SYN_ROUTE_SWARM && (out->n_members < 2 || code_left)) {
                keep_served(out->full, out->members, out->n_members, *sp);
                char why[160];
                if (code_left)
                    snprintf(why, sizeof why, "specialist in code '%s' answers alone, not as a part of a swarm",
                             code_left);
                else if (tooled)
                    snprintf(why, sizeof why, "a request with tools is answered by one specialist, not a swarm");
                else
                    snprintf(why, sizeof why, "a swarm's member was removed meanwhile");
                syn_chat_route_set(out, out->n_members < 2 ? "single" : NULL, why, 1);
            }
        }
    }
    if (!out->full) {
        json_object *scores = routed ? json_object_object_get(res.json, "scores") : NULL;
        char why[160];
        if (*sp)
            snprintf(why, sizeof why, "named by the request ('%.80s')", r->model);
        else if (strcmp(r->model, "synapse"))
            snprintf(why, sizeof why, "the base model, named by the request ('%.80s')", r->model);
        else
            snprintf(why, sizeof why, "%s: the base model answers",
                     !s->router ? "no router plugin is loaded" : "there are no specialists");
        out->full = fixed_route(out->domain, *sp ? (*sp)->def.name : NULL, why, scores);
    }
    syn_route_result_free(&res);
    return 0;
}

void syn_chat_route_free(syn_chat_route *r)
{
    for (int i = 0; i < r->n_members; i++)
        syn_specialist_release(r->members[i]);
    json_object_put(r->full);
    memset(r, 0, sizeof *r);
}

json_object *syn_chat_route_public(const syn_chat_route *r, double confidence)
{
    json_object *route = NULL, *o = json_object_new_object();
    json_object_deep_copy(r->full, &route, NULL);
    json_object_object_del(route, "scores"); /* GET /api/routes has them, and the timings */
    json_object_object_del(route, "embedding_ms");
    json_object_object_del(route, "decision_ms");
    json_object_object_add(o, "route", route);
    char buf[32];
    snprintf(buf, sizeof buf, "%.4f", confidence);
    json_object_object_add(o, "confidence", confidence < 0 ? NULL : json_object_new_double_s(confidence, buf));
    return o;
}

void syn_chat_route_set(syn_chat_route *r, const char *mode, const char *reason, int append)
{
    if (mode) {
        r->mode = mode;
        json_object_object_add(r->full, "mode", json_object_new_string(mode));
    }
    const char *old = json_object_get_string(json_object_object_get(r->full, "reason"));
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s%s", append && old ? old : "", append && old ? "; " : "", reason);
    json_object_object_add(r->full, "reason", json_object_new_string(buf));
}
