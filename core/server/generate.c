/* POST /v1/chat/completions and /v1/completions: validate, build the prompt,
 * queue a job, then either wait for it and answer once, or stream its text
 * as OpenAI's server-sent events while it is produced. A failed write means
 * the client left: the job is cancelled and the scheduler frees its slot.
 * Runs on civetweb's handler threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "core/server/answer.h"
#include "core/server/dialect.h"
#include "core/server/fallback.h"
#include "core/server/reasoning.h"
#include "core/server/tools.h"

int syn_server_resolve_model(syn_server *s, const char *name, syn_specialist **sp, const syn_base **base,
                             syn_http_error *e)
{
    *sp = NULL;
    *base = &s->main;
    if (!strcmp(name, "synapse") || !strcmp(name, s->main.name))
        return 0;
    if (!strncmp(name, "synapse/", 8) && s->swarm && (*sp = syn_swarm_get(s->swarm, name + 8))) {
        *base = syn_server_base_of(s, *sp);
        return 0;
    }
    if ((*base = syn_server_base_named(s, name)))
        return 0;
    return syn_http_fail(e, 404, "invalid_request_error", "model_not_found", "model",
                         "The model '%s' does not exist; this server has 'synapse' (%s) and its specialists "
                         "'synapse/<name>' (GET /v1/models lists them)",
                         name, s->main.name);
}

int32_t syn_server_token_cap(const syn_server *s, int32_t asked)
{
    int cap = __atomic_load_n(&s->cfg.max_tokens, __ATOMIC_RELAXED);
    return cap > 0 && (asked <= 0 || asked > cap) ? cap : asked;
}

int syn_server_job_adapter(const syn_server *s, syn_job *j, syn_specialist *sp, syn_http_error *e)
{
    syn_error err = {0};
    syn_lora *l = NULL;
    if (!sp || !sp->adapter_path)
        return 0;
    /* the job takes its own reference; the adapter stays loaded while it runs */
    int rc = syn_swarm_adapter(s->swarm, sp, &l, &err) ||
             syn_job_set_adapter(j, l, (float)sp->def.adapter_scale, &err);
    syn_lora_free(l);
    if (rc)
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "%s", err.msg);
    return 0;
}

/* Prompt token ids for the request; the prompt must leave room for one
 * generated token. */
/* Appends template text (its tokens matched as specials) to a render. */
static int append_template_text(char **text, unsigned char **mask, const char *more)
{
    size_t n = strlen(*text), k = strlen(more);
    char *t = realloc(*text, n + k + 1);
    if (!t)
        return -1;
    *text = t;
    memcpy(t + n, more, k + 1);
    unsigned char *m = realloc(*mask, n + k + 1);
    if (!m)
        return -1;
    memset(m + n, 0, k + 1);
    *mask = m;
    return 0;
}

int syn_server_build_prompt(const syn_server *s, const syn_base *b, const syn_gen_request *r, const syn_specialist *sp,
                            int32_t **ids, size_t *n, syn_http_error *e)
{
    syn_error err = {0};
    *ids = NULL;
    if (r->prompt_ids) {
        int32_t nv = syn_tokenizer_n_vocab(b->tok);
        for (size_t i = 0; i < r->n_prompt_ids; i++)
            if (r->prompt_ids[i] >= nv)
                return syn_http_fail(e, 400, "invalid_request_error", NULL, "prompt",
                                     "token id %d is outside the vocabulary (%d)", r->prompt_ids[i], nv);
        if (!(*ids = malloc(r->n_prompt_ids * sizeof **ids)))
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        memcpy(*ids, r->prompt_ids, r->n_prompt_ids * sizeof **ids);
        *n = r->n_prompt_ids;
    } else {
        /* A chat's content is text: control tokens in it stay text, only the
         * template's own markers are tokens. A raw completion prompt is the
         * client's to shape, specials included. */
        char *text = NULL;
        unsigned char *content = NULL;
        if (r->kind == SYN_REQ_CHAT) {
            /* a specialist's system prompt goes first, before the request's
             * own system message if it has one */
            const char *sys = sp && sp->def.system_prompt && *sp->def.system_prompt ? sp->def.system_prompt : NULL;
            /* then the known facts the request's words match */
            size_t extra = (sys != NULL) + (r->known_facts != NULL), k = 0;
            syn_chat_msg *msgs = r->msgs;
            if (extra) {
                if (!(msgs = malloc(sizeof *msgs * (r->n_msgs + extra))))
                    return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
                if (sys)
                    msgs[k++] = (syn_chat_msg){.role = "system", .content = sys};
                if (r->known_facts)
                    msgs[k++] = (syn_chat_msg){.role = "system", .content = r->known_facts};
                memcpy(msgs + k, r->msgs, sizeof *msgs * r->n_msgs);
            }
            /* tools, calls and results in the words of the template's family */
            syn_chat_msg *rendered = msgs;
            size_t n_rendered = r->n_msgs + extra;
            syn_tools_scratch scratch = {0};
            int tooled = syn_gen_request_tooled(r);
            if (tooled && syn_tools_messages(r, b->tmpl.kind, msgs, r->n_msgs + extra, &rendered, &n_rendered,
                                             &scratch, e)) {
                if (extra)
                    free(msgs);
                return -1;
            }
            int rc = syn_chat_render_masked(b->tmpl, rendered, n_rendered, 1, &text, &content, &err);
            if (tooled)
                syn_tools_messages_free(rendered, &scratch);
            if (extra)
                free(msgs);
            if (rc)
                return syn_http_fail(e, 400, "invalid_request_error", NULL, "messages", "%s", err.msg);
            /* thinking off: the turn opens with an empty block, as the
             * model's template writes it; a required call: with the call's tag */
            const char *pre = syn_tools_forced(r) ? syn_tools_prefill(b->tmpl.kind) : "";
            if ((r->no_thinking && b->tmpl.thinks && append_template_text(&text, &content, "<think>\n\n</think>\n\n")) ||
                (*pre && append_template_text(&text, &content, pre))) {
                free(text);
                free(content);
                return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
            }
        } else if (!(text = strdup(r->prompt)))
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        int rc = syn_tokenize_masked(b->tok, text, strlen(text), 1, content, 1, ids, n, &err);
        free(text);
        free(content);
        if (rc)
            return syn_http_fail(e, 400, "invalid_request_error", NULL, NULL, "cannot tokenize the prompt: %s",
                                 err.msg);
        /* a template that writes BOS itself plus the tokenizer's own BOS */
        if (*n >= 2 && (*ids)[0] == (*ids)[1] && (*ids)[0] == syn_tokenizer_bos(b->tok))
            memmove(*ids, *ids + 1, --*n * sizeof **ids);
    }
    int32_t n_ctx = s->cfg.ctx_size;
    if (*n == 0 || (int64_t)*n + 1 > n_ctx) {
        free(*ids);
        *ids = NULL;
        return syn_http_fail(e, 400, "invalid_request_error", "context_length_exceeded",
                             r->kind == SYN_REQ_CHAT ? "messages" : "prompt",
                             *n ? "This model's maximum context length is %d tokens, the prompt has %zu"
                                : "The prompt is empty after tokenization (%d, %zu)",
                             n_ctx, *n);
    }
    return 0;
}

static const char *finish_name(syn_finish f)
{
    return f == SYN_FINISH_LENGTH ? "length" : f == SYN_FINISH_STOP ? "stop" : "error";
}

static json_object *token_json(const syn_tokenizer *tok, int32_t id, float lp, int with_bytes)
{
    size_t len;
    const char *p = syn_tokenizer_piece(tok, id, 0, &len);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "token", syn_json_string_utf8(p ? p : "", p ? len : 0));
    json_object_object_add(o, "logprob", json_object_new_double(lp));
    if (with_bytes) {
        json_object *b = json_object_new_array();
        for (size_t i = 0; i < len; i++)
            json_object_array_add(b, json_object_new_int((unsigned char)p[i]));
        json_object_object_add(o, "bytes", b);
    }
    return o;
}

/* Logprobs of lps[0..n): chat's {"content": [...]} or the legacy
 * completions shape. text_offset counts from base. */
static json_object *logprobs_json(const syn_tokenizer *tok, syn_route_kind kind, const syn_token_lp *lps, size_t n,
                                  size_t *text_offset)
{
    if (kind == SYN_REQ_CHAT) {
        json_object *content = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *t = token_json(tok, lps[i].id, lps[i].logprob, 1), *top = json_object_new_array();
            for (int k = 0; k < lps[i].n_top; k++)
                json_object_array_add(top, token_json(tok, lps[i].top_id[k], lps[i].top_lp[k], 1));
            json_object_object_add(t, "top_logprobs", top);
            json_object_array_add(content, t);
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "content", content);
        json_object_object_add(o, "refusal", NULL);
        return o;
    }
    json_object *tokens = json_object_new_array(), *lp = json_object_new_array(), *top = json_object_new_array(),
                *off = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = syn_tokenizer_piece(tok, lps[i].id, 0, &len);
        json_object_array_add(tokens, syn_json_string_utf8(p ? p : "", p ? len : 0));
        json_object_array_add(lp, json_object_new_double(lps[i].logprob));
        json_object_array_add(off, json_object_new_int64((int64_t)*text_offset));
        *text_offset += len;
        json_object *m = json_object_new_object();
        for (int k = 0; k < lps[i].n_top; k++) {
            size_t l2;
            const char *p2 = syn_tokenizer_piece(tok, lps[i].top_id[k], 0, &l2);
            json_object *key = syn_json_string_utf8(p2 ? p2 : "", p2 ? l2 : 0);
            json_object_object_add(m, json_object_get_string(key), json_object_new_double(lps[i].top_lp[k]));
            json_object_put(key);
        }
        json_object_array_add(top, m);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "tokens", tokens);
    json_object_object_add(o, "token_logprobs", lp);
    json_object_object_add(o, "top_logprobs", top);
    json_object_object_add(o, "text_offset", off);
    return o;
}

json_object *syn_gen_usage(int64_t prompt, int64_t gen)
{
    json_object *u = json_object_new_object();
    json_object_object_add(u, "prompt_tokens", json_object_new_int64(prompt));
    json_object_object_add(u, "completion_tokens", json_object_new_int64(gen));
    json_object_object_add(u, "total_tokens", json_object_new_int64(prompt + gen));
    return u;
}

/* llama.cpp's "timings" of job j: from submission to its first token
 * (queueing and the prompt), then to its end. */
static json_object *timings_json(syn_job *j, int64_t gen)
{
    double first, rest;
    syn_job_timing(j, &first, &rest);
    json_object *t = json_object_new_object();
    int32_t cached = syn_job_n_cached(j);
    json_object_object_add(t, "cache_n", json_object_new_int(cached));
    json_object_object_add(t, "prompt_n", json_object_new_int(syn_job_n_prompt(j) - cached));
    json_object_object_add(t, "prompt_ms", json_object_new_double(first * 1e3));
    json_object_object_add(t, "predicted_n", json_object_new_int64(gen));
    json_object_object_add(t, "predicted_ms", json_object_new_double(rest * 1e3));
    return t;
}

/* Who answered, as the stats key it: a name, a swarm's names joined by
 * sep, NULL for the base model. */
const char *syn_gen_who(const gen_ctx *g, char sep, char *buf, size_t n)
{
    if (g->specialist || !g->route || !g->route->n_members)
        return g->specialist;
    size_t len = 0;
    char between[2] = {sep, '\0'};
    buf[0] = '\0';
    for (int i = 0; i < g->route->n_members && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? between : "", g->route->members[i]->def.name);
    return buf;
}

/* Each choice's confidence, from its stats as read at its end. */
static void confidences(const gen_ctx *g, const syn_gen_stats *stats, int n, double *out)
{
    char key[3 * (SYN_SPECIALIST_MAX_NAME + 1)];
    for (int i = 0; i < n; i++)
        out[i] = syn_server_confidence(g->s, syn_gen_who(g, '+', key, sizeof key), g->route->domain, &stats[i]);
}

/* A chat response's "synapse": the route, the confidence, a swarm's answers. */
json_object *syn_gen_synapse(const gen_ctx *g, double confidence)
{
    json_object *o = syn_chat_route_public(g->route, confidence);
    if (g->swarm)
        json_object_object_add(o, "swarm", json_object_get(g->swarm));
    if (g->verification)
        json_object_object_add(o, "verification", json_object_get(g->verification));
    if (g->knowledge)
        json_object_object_add(o, "knowledge", json_object_get(g->knowledge));
    if (g->learned)
        json_object_object_add(o, "learned", json_object_get(g->learned));
    return o;
}

void syn_gen_learn(gen_ctx *g)
{
    if (g->r->kind == SYN_REQ_CHAT && !g->taught)
        g->learned = syn_server_learn(g->s, syn_gen_request_query(g->r), SYN_SOURCE_USER);
    g->taught = 1;
}

void syn_gen_verify(gen_ctx *g, const char *answer)
{
    int contradicted;
    json_object_put(g->verification);
    g->verification = syn_server_verify(g->s, syn_gen_request_query(g->r), answer, &contradicted);
    if (contradicted) {
        syn_gen_outcome(g, -1.0f, "a contradiction");
        char key[3 * (SYN_SPECIALIST_MAX_NAME + 1)];
        syn_server_unserved(g->s, syn_gen_request_query(g->r), g->route->domain, syn_gen_who(g, '+', key, sizeof key),
                            "contradicted");
    }
}

/* The same for a streamed answer, read back from the job. */
static void verify_job(gen_ctx *g)
{
    syn_choice_cursor cur = {0};
    syn_choice_delta d;
    if (!g->s->verifier || syn_job_read(g->job, 0, &cur, &d))
        return;
    char *text = malloc(d.len + 1);
    if (text) {
        if (d.len)
            memcpy(text, d.text, d.len);
        text[d.len] = '\0';
        syn_gen_verify(g, text);
        free(text);
    }
    syn_choice_delta_free(&d);
}

void syn_gen_record(const gen_ctx *g, const char *const *texts, const size_t *lens, int n, const double *conf)
{
    const char *members[SYN_ROUTE_MAX_CHOSEN];
    for (int i = 0; i < g->route->n_members; i++)
        members[i] = g->route->members[i]->def.name;
    /* an upstream's answer is recorded as no specialist's: rating it
     * teaches neither a pathway nor a record here */
    syn_answer_route ar = {.specialist = g->upstream ? NULL : g->specialist, .members = members,
                           .n_members = g->upstream ? 0 : g->route->n_members, .domain = g->route->domain,
                           .mode = g->route->mode, .full = g->route->full};
    syn_server_record_chat(g->s, g->id, g->r->model, &ar, g->r->msgs, g->r->n_msgs, texts, lens, n, conf);
}

/* An answer this sure of itself counts as a success of who gave it, a
 * quarter of a thumbs-up. (Until the verifier checks answers against the
 * store's facts, "not contradicted" is not known; a rating or a fallback
 * later corrects it.) */
#define CONFIDENT 0.8
#define CONFIDENT_REWARD 0.25f

void syn_gen_outcome(const gen_ctx *g, float reward, const char *what)
{
    if (!g->s->router)
        return;
    const char *names[SYN_ROUTE_MAX_CHOSEN];
    int n = 0;
    if (g->specialist)
        names[n++] = g->specialist;
    for (int i = 0; i < g->route->n_members; i++)
        names[n++] = g->route->members[i]->def.name;
    syn_error err = {0};
    if (n && syn_router_outcome(g->s->router, g->route->domain, names, n, reward, &err))
        syn_log(SYN_LOG_ERROR, "the router did not learn from %s: %s", what, err.msg);
}

/* A confident answer teaches the router; an unsure one of the generalist
 * (the base model, for want of a specialist) is a query the spawner reads. */
static void learn_from_confidence(const gen_ctx *g, double confidence)
{
    if (strcmp(g->r->model, "synapse"))
        return;
    if (confidence >= CONFIDENT)
        syn_gen_outcome(g, CONFIDENT_REWARD, "a confident answer");
    else if (confidence < g->s->cfg.cloud.threshold && !g->specialist && !g->route->n_members)
        syn_server_unserved(g->s, syn_gen_request_query(g->r), g->route->domain, NULL, "low confidence");
}

/* A chat answer goes into the store before its last bytes go out: every
 * choice of the job, whole; a confident one teaches the router. */
static void record(const gen_ctx *g, const double *conf)
{
    if (g->r->kind != SYN_REQ_CHAT)
        return;
    learn_from_confidence(g, conf[0]);
    int n = syn_job_n_choices(g->job), read = 0;
    syn_choice_delta d[SYN_MAX_N];
    const char *texts[SYN_MAX_N];
    size_t lens[SYN_MAX_N];
    for (; read < n; read++) {
        syn_choice_cursor cur = {0}; /* from the start: the whole answer */
        if (syn_job_read(g->job, read, &cur, &d[read]))
            break;
        texts[read] = d[read].text ? d[read].text : "";
        lens[read] = d[read].len;
    }
    if (read == n)
        syn_gen_record(g, texts, lens, n, conf);
    else /* the client still gets its answer; feedback on it will say it is unknown */
        syn_log(SYN_LOG_ERROR, "not recorded: %s: out of memory", g->id);
    for (int i = 0; i < read; i++)
        syn_choice_delta_free(&d[i]);
}

/* The X-Synapse-Specialist header line: who answered. */
void syn_gen_header(const gen_ctx *g, char *buf, size_t n)
{
    char names[3 * (SYN_SPECIALIST_MAX_NAME + 1)];
    const char *w = syn_gen_who(g, ',', names, sizeof names);
    if (g->r->kind == SYN_REQ_CHAT)
        snprintf(buf, n, "X-Synapse-Specialist: %s\r\n", w ? w : "none");
    else
        buf[0] = '\0';
}

json_object *syn_gen_envelope(const gen_ctx *g, int chunk)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(g->id));
    json_object_object_add(o, "object",
                           json_object_new_string(g->r->kind == SYN_REQ_CHAT
                                                      ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                      : "text_completion"));
    json_object_object_add(o, "created", json_object_new_int64(g->created));
    json_object_object_add(o, "model", json_object_new_string(g->r->model));
    json_object_object_add(o, "system_fingerprint", json_object_new_string("synapse-" PACKAGE_VERSION));
    return o;
}

/* How often a waiting handler looks at its client: well under one step. */
#define SYN_WATCH_MS 20

/* Waits for the job to finish while watching the client: one that leaves
 * cancels the job (its slot is free at the scheduler's next step) and makes
 * this return -1. Otherwise the state the job ended in. */
int syn_wait_watching(struct mg_connection *c, syn_job *j)
{
    int fd = syn_conn_socket(c);
    uint64_t seen = 0;
    syn_job_state st;
    while ((st = syn_job_wait(j, &seen, SYN_WATCH_MS)) == SYN_JOB_RUNNING)
        if (syn_conn_gone(fd)) {
            syn_job_cancel(j);
            return -1;
        }
    return (int)st;
}

int syn_send_job_error(struct mg_connection *c, const syn_server *s, syn_job *j)
{
    char msg[256];
    if (syn_job_status(j, msg, sizeof msg) == SYN_JOB_STOPPED)
        return syn_send_error_msg(c, s, 503, "server_error", "shutting_down", "%s; retry on another server", msg);
    return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", msg);
}

/* A choice's message with the calls read out of its text: content the
 * rest (null when none), tool_calls, finish_reason "tool_calls". */
static void tool_calls_into(const gen_ctx *g, json_object *choice, const char *answer)
{
    char *rest;
    json_object *calls = syn_tools_parse(g->r, g->base->tmpl.kind, syn_tools_forced(g->r), answer ? answer : "",
                                         answer ? strlen(answer) : 0, &rest);
    if (!calls) {
        free(rest);
        return;
    }
    json_object *msg = json_object_object_get(choice, "message");
    json_object_object_add(msg, "content", rest ? syn_json_string_utf8(rest, strlen(rest)) : NULL);
    json_object_object_add(msg, "tool_calls", calls);
    json_object_object_add(choice, "finish_reason", json_object_new_string("tool_calls"));
    free(rest);
}

/* A finished job's choices into the array choices, numbered from first;
 * the tokens generated added to *gen, each choice's stats into stats. -1
 * when out of memory. */
static int job_choices(const gen_ctx *g, syn_job *j, int first, json_object *choices, int64_t *gen,
                       syn_gen_stats *stats)
{
    for (int i = 0; i < syn_job_n_choices(j); i++) {
        syn_choice_cursor cur = {0};
        syn_choice_delta d;
        if (syn_job_read(j, i, &cur, &d))
            return -1;
        const syn_choice_delta *out = &d;
        json_object *ch = json_object_new_object();
        json_object_object_add(ch, "index", json_object_new_int(first + i));
        json_object *text = json_object_new_string_len(out->text ? out->text : "", (int)out->len);
        if (g->r->kind == SYN_REQ_CHAT) {
            json_object *msg = json_object_new_object();
            json_object_object_add(msg, "role", json_object_new_string("assistant"));
            size_t ro, rl, co;
            if (syn_reasoning_split(out->text ? out->text : "", out->len, &ro, &rl, &co)) {
                /* the thinking apart from the answer, under both names clients read */
                json_object_put(text);
                text = syn_json_string_utf8(out->text + co, out->len - co);
                json_object_object_add(msg, "reasoning_content", syn_json_string_utf8(out->text + ro, rl));
                json_object_object_add(msg, "reasoning", syn_json_string_utf8(out->text + ro, rl));
            }
            json_object_object_add(msg, "content", text);
            json_object_object_add(msg, "refusal", NULL);
            json_object_object_add(ch, "message", msg);
        } else
            json_object_object_add(ch, "text", text);
        size_t off = 0;
        json_object_object_add(ch, "logprobs",
                               g->r->logprobs ? logprobs_json(g->base->tok, g->r->kind, out->lps, out->n_lps, &off) : NULL);
        json_object_object_add(ch, "finish_reason", json_object_new_string(finish_name(out->finish)));
        json_object_array_add(choices, ch);
        *gen += out->n_gen;
        if (stats)
            stats[i] = out->stats;
        syn_choice_delta_free(&d);
    }
    return 0;
}

static int answer_once(struct mg_connection *c, gen_ctx *g)
{
    syn_job *j = g->job;
    int w = syn_wait_watching(c, j);
    if (w < 0)
        return 499; /* client closed the request (nginx's convention) */
    if (w != SYN_JOB_DONE)
        return syn_send_job_error(c, g->s, j);
    json_object *o = syn_gen_envelope(g, 0), *choices = json_object_new_array();
    int64_t gen = 0;
    syn_gen_stats stats[SYN_MAX_N];
    if (job_choices(g, j, 0, choices, &gen, stats)) {
        json_object_put(o);
        json_object_put(choices);
        return syn_send_error_msg(c, g->s, 500, "server_error", NULL, "out of memory");
    }
    json_object_object_add(o, "choices", choices);
    json_object_object_add(o, "usage", syn_gen_usage(syn_job_n_prompt(j), gen));
    json_object_object_add(o, "timings", timings_json(j, gen));
    char header[256];
    syn_gen_header(g, header, sizeof header);
    if (g->r->kind == SYN_REQ_CHAT) {
        double conf[SYN_MAX_N];
        confidences(g, stats, syn_job_n_choices(j), conf);
        json_object *first = json_object_array_get_idx(choices, 0);
        if (syn_gen_request_tools_on(g->r)) {
            char *raw = strdup(json_object_get_string(
                json_object_object_get(json_object_object_get(first, "message"), "content")));
            tool_calls_into(g, first, raw);
            free(raw);
        }
        const char *local = json_object_get_string(
            json_object_object_get(json_object_object_get(first, "message"), "content"));
        if (!local)
            local = ""; /* only calls */
        char why[512];
        if (syn_fallback_after(g, conf[0], why, sizeof why)) {
            char *text;
            size_t len;
            syn_error err = {0};
            if (!syn_fallback_call(g, &text, &len, &err)) {
                syn_chat_route_set(g->route, "cloud", why, 1);
                int status = syn_fallback_send(c, g, text, len, local, conf[0]);
                free(text);
                json_object_put(o);
                return status;
            }
            char more[1200];
            snprintf(more, sizeof more, "%s, but %s: the local answer", why, err.msg);
            syn_chat_route_set(g->route, NULL, more, 1);
        }
        syn_gen_verify(g, local);
        json_object_object_add(o, "synapse", syn_gen_synapse(g, conf[0]));
        record(g, conf);
    }
    return syn_send_json_obj_headers(c, g->s, 200, o, header);
}

json_object *syn_gen_error_event(const char *msg, const char *code)
{
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(e, "type", json_object_new_string("server_error"));
    json_object_object_add(e, "param", NULL);
    json_object_object_add(e, "code", code ? json_object_new_string(code) : NULL);
    json_object_object_add(o, "error", e);
    return o;
}

/* Writes one SSE event; -1 when the client is gone. */
int syn_gen_sse(struct mg_connection *c, json_object *o)
{
    syn_dialect *dl = syn_dialect_of(c);
    if (dl)
        return dl->chunk(dl, c, o);
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(t);
    char *buf = malloc(n + 9);
    int rc = -1;
    if (buf) {
        memcpy(buf, "data: ", 6);
        memcpy(buf + 6, t, n);
        memcpy(buf + 6 + n, "\n\n", 2);
        rc = mg_write(c, buf, n + 8) == (int)(n + 8) ? 0 : -1;
        free(buf);
    }
    json_object_put(o);
    return rc;
}

void syn_gen_stream_head(struct mg_connection *c, const gen_ctx *g)
{
    char header[256];
    syn_gen_header(g, header, sizeof header);
    syn_dialect *d = syn_dialect_of(c);
    if (d)
        d->head(d, c, g->s, header);
    else
        syn_send_stream_head(c, g->s, "text/event-stream", header);
}

int syn_gen_stream_done(struct mg_connection *c)
{
    syn_dialect *d = syn_dialect_of(c);
    return d ? d->end(d, c) : syn_send_bytes(c, "data: [DONE]\n\n", 14);
}

json_object *syn_gen_chunk(const gen_ctx *g, int index, const char *text, size_t len, int role, json_object *lp,
                          const char *finish)
{
    json_object *o = syn_gen_envelope(g, 1), *choices = json_object_new_array(), *ch = json_object_new_object();
    json_object_object_add(ch, "index", json_object_new_int(index));
    if (g->r->kind == SYN_REQ_CHAT) {
        json_object *d = json_object_new_object();
        if (role)
            json_object_object_add(d, "role", json_object_new_string("assistant"));
        if (text) /* a model's pieces are whole characters; a plugin's or an upstream's are made so */
            json_object_object_add(d, "content", syn_json_string_utf8(text, len));
        json_object_object_add(ch, "delta", d);
    } else
        json_object_object_add(ch, "text", syn_json_string_utf8(text ? text : "", len));
    json_object_object_add(ch, "logprobs", lp);
    json_object_object_add(ch, "finish_reason", finish ? json_object_new_string(finish) : NULL);
    json_object_array_add(choices, ch);
    json_object_object_add(o, "choices", choices);
    if (g->r->include_usage)
        json_object_object_add(o, "usage", NULL);
    return o;
}

/* What a stream has read of one choice. */
typedef struct stream_choice {
    syn_choice_cursor cur;
    syn_reasoning_stream rs; /* chat: thinking apart from the answer */
    size_t lp_off; /* text offset of the next logprob (completions' text_offset) */
    int finished;
    int32_t n_gen;
    syn_gen_stats stats;
} stream_choice;

/* Where a stream's pieces of chat text go: thinking as
 * delta.reasoning_content, the answer as delta.content; the piece's
 * logprobs ride with the first chunk. */
typedef struct piece_out {
    struct mg_connection *c;
    gen_ctx *g;
    int index;
    json_object *lp; /* taken by the first chunk */
} piece_out;

static int send_piece(void *user, int reasoning, const char *text, size_t len)
{
    piece_out *p = user;
    json_object *o = syn_gen_chunk(p->g, p->index, reasoning ? NULL : text, len, 0, p->lp, NULL);
    p->lp = NULL;
    if (reasoning)
        json_object_object_add(json_object_object_get(json_object_array_get_idx(json_object_object_get(o, "choices"), 0),
                                                      "delta"),
                               "reasoning_content", syn_json_string_utf8(text, len));
    return syn_gen_sse(p->c, o);
}

/* Sends what choice i has produced since the last call: a chunk of text
 * (with its logprobs), then a finish chunk once it is done; -1 when the
 * client is gone. */
static int stream_choice_send(struct mg_connection *c, gen_ctx *g, syn_job *j, int i, stream_choice *sc, int *n_fin)
{
    syn_choice_delta d;
    if (syn_job_read(j, i, &sc->cur, &d))
        return 0; /* out of memory: the text stays for the next round */
    int gone = 0;
    sc->n_gen = d.n_gen;
    sc->stats = d.stats;
    if (d.len || d.n_lps) {
        json_object *lp = g->r->logprobs && d.n_lps ? logprobs_json(g->base->tok, g->r->kind, d.lps, d.n_lps, &sc->lp_off)
                                                    : NULL;
        if (g->r->kind == SYN_REQ_CHAT) {
            piece_out po = {.c = c, .g = g, .index = i, .lp = lp};
            gone = syn_reasoning_feed(&sc->rs, d.text ? d.text : "", d.len, send_piece, &po) != 0;
            if (d.finish && !gone)
                gone = syn_reasoning_flush(&sc->rs, send_piece, &po) != 0;
            if (!gone && po.lp) /* all of it held: the logprobs go with no text */
                gone = syn_gen_sse(c, syn_gen_chunk(g, i, "", 0, 0, po.lp, NULL)) != 0;
            else if (po.lp)
                json_object_put(po.lp);
        } else
            gone = syn_gen_sse(c, syn_gen_chunk(g, i, d.text ? d.text : "", d.len, 0, lp, NULL)) != 0;
    } else if (d.finish && g->r->kind == SYN_REQ_CHAT) {
        piece_out po = {.c = c, .g = g, .index = i};
        gone = syn_reasoning_flush(&sc->rs, send_piece, &po) != 0;
    }
    if (!gone && d.finish && d.finish != SYN_FINISH_ERROR && !sc->finished) {
        sc->finished = 1;
        (*n_fin)++;
        json_object *o = syn_gen_chunk(g, i, NULL, 0, 0, NULL, finish_name(d.finish));
        if (g->r->kind == SYN_REQ_CHAT)
            json_object_object_add(json_object_array_get_idx(json_object_object_get(o, "choices"), 0), "delta",
                                   json_object_new_object());
        gone = syn_gen_sse(c, o) != 0;
    }
    syn_choice_delta_free(&d);
    return gone ? -1 : 0;
}

/* A finished answer with tools, as a stream: its text, then each call
 * (index, id, type and name first, then the arguments), then the finish
 * chunk; -1 when the client is gone. */
static int stream_tool_answer(struct mg_connection *c, gen_ctx *g, syn_job *j, stream_choice *sc)
{
    syn_choice_cursor cur = {0};
    syn_choice_delta d;
    if (syn_job_read(j, 0, &cur, &d))
        return syn_gen_sse(c, syn_gen_error_event("out of memory", NULL));
    sc->stats = d.stats;
    sc->n_gen = d.n_gen;
    char *raw = strndup(d.text ? d.text : "", d.len), *rest = NULL;
    const char *finish = finish_name(d.finish);
    int failed = d.finish == SYN_FINISH_ERROR;
    syn_choice_delta_free(&d);
    if (failed) {
        free(raw);
        return syn_gen_sse(c, syn_gen_error_event("the answer failed", NULL));
    }
    if (!raw)
        return syn_gen_sse(c, syn_gen_error_event("out of memory", NULL));
    /* the thinking first, then the answer's text and calls */
    size_t ro, rl, co = 0, n_raw = strlen(raw);
    int gone = 0;
    if (syn_reasoning_split(raw, n_raw, &ro, &rl, &co)) {
        piece_out po = {.c = c, .g = g};
        gone = rl && send_piece(&po, 1, raw + ro, rl);
    } else
        co = 0;
    json_object *calls = syn_tools_parse(g->r, g->base->tmpl.kind, syn_tools_forced(g->r), raw + co, n_raw - co, &rest);
    gone = gone || (rest && syn_gen_sse(c, syn_gen_chunk(g, 0, rest, strlen(rest), 0, NULL, NULL)));
    for (size_t i = 0; !gone && calls && i < json_object_array_length(calls); i++) {
        json_object *call = json_object_array_get_idx(calls, i), *f = json_object_object_get(call, "function");
        for (int part = 0; !gone && part < 2; part++) {
            json_object *o = syn_gen_chunk(g, 0, NULL, 0, 0, NULL, NULL), *tc = json_object_new_object(),
                        *fn = json_object_new_object(), *list = json_object_new_array();
            json_object_object_add(tc, "index", json_object_new_int((int)i));
            if (!part) {
                json_object_object_add(tc, "id", json_object_get(json_object_object_get(call, "id")));
                json_object_object_add(tc, "type", json_object_new_string("function"));
                json_object_object_add(fn, "name", json_object_get(json_object_object_get(f, "name")));
                json_object_object_add(fn, "arguments", json_object_new_string(""));
            } else
                json_object_object_add(fn, "arguments", json_object_get(json_object_object_get(f, "arguments")));
            json_object_object_add(tc, "function", fn);
            json_object_array_add(list, tc);
            json_object *delta = json_object_object_get(json_object_array_get_idx(json_object_object_get(o, "choices"), 0),
                                                        "delta");
            json_object_object_add(delta, "tool_calls", list);
            gone = syn_gen_sse(c, o) != 0;
        }
    }
    if (!gone) {
        json_object *o = syn_gen_chunk(g, 0, NULL, 0, 0, NULL, calls ? "tool_calls" : finish);
        gone = syn_gen_sse(c, o) != 0;
    }
    json_object_put(calls);
    free(rest);
    free(raw);
    return gone ? -1 : 0;
}

static int answer_stream(struct mg_connection *c, gen_ctx *g)
{
    syn_job *j = g->job;
    int n = syn_job_n_choices(j), gone = 0;
    syn_gen_stream_head(c, g);
    stream_choice sc[SYN_MAX_N];
    memset(sc, 0, sizeof sc);
    if (g->r->kind == SYN_REQ_CHAT)
        for (int i = 0; i < n && !gone; i++)
            gone = syn_gen_sse(c, syn_gen_chunk(g, i, "", 0, 1, NULL, NULL)) != 0;
    uint64_t seen = 0;
    syn_job_state st = SYN_JOB_RUNNING;
    int n_fin = 0;
    if (!gone && syn_gen_request_tools_on(g->r)) {
        /* calls are read from the whole answer: it goes out once complete */
        int w = syn_wait_watching(c, j);
        gone = w < 0;
        st = w < 0 ? SYN_JOB_STOPPED : (syn_job_state)w;
        if (!gone && st == SYN_JOB_DONE)
            gone = stream_tool_answer(c, g, j, &sc[0]) != 0;
        n_fin = n;
    }
    while (!gone && n_fin < n && st != SYN_JOB_FAILED && st != SYN_JOB_STOPPED) {
        st = syn_job_wait(j, &seen, -1);
        for (int i = 0; i < n && !gone; i++)
            gone = stream_choice_send(c, g, j, i, &sc[i], &n_fin) != 0;
    }
    if (!gone && (st == SYN_JOB_FAILED || st == SYN_JOB_STOPPED)) {
        char msg[256];
        syn_job_status(j, msg, sizeof msg);
        gone = syn_gen_sse(c, syn_gen_error_event(msg, NULL)) != 0;
    } else if (!gone) {
        /* every choice finished: recorded, then one last chunk with the
         * usage (when asked for) and the route and confidence (chat) */
        double conf[SYN_MAX_N];
        int chat = g->r->kind == SYN_REQ_CHAT;
        if (chat) {
            syn_gen_stats stats[SYN_MAX_N];
            for (int i = 0; i < n; i++)
                stats[i] = sc[i].stats;
            confidences(g, stats, n, conf);
            verify_job(g);
            record(g, conf);
        }
        if (g->r->include_usage || chat) {
            int64_t gen = 0;
            for (int i = 0; i < n; i++)
                gen += sc[i].n_gen;
            json_object *o = syn_gen_envelope(g, 1);
            json_object_object_add(o, "choices", json_object_new_array());
            if (g->r->include_usage)
                json_object_object_add(o, "usage", syn_gen_usage(syn_job_n_prompt(j), gen));
            json_object_object_add(o, "timings", timings_json(j, gen));
            if (chat)
                json_object_object_add(o, "synapse", syn_gen_synapse(g, conf[0]));
            gone = syn_gen_sse(c, o) != 0;
        }
    }
    if (!gone)
        gone = syn_gen_stream_done(c) != 0;
    if (gone)
        syn_job_cancel(j);
    return gone ? 499 : 200; /* 499: client closed the request (nginx's convention) */
}

/* One job for request r (its prompt built on g's base, under sp's adapter),
 * queued; *schema (NULL: none), the request's, is the job's now, and so is
 * *call (NULL: none), the schema a tool call the model starts is held to.
 * 0, or the status of the error sent. */
static int queue_job(struct mg_connection *c, const gen_ctx *g, const syn_gen_request *r, syn_jschema **schema,
                     syn_jschema **call, syn_specialist *sp, int32_t max_tokens, syn_job **out)
{
    syn_server *s = g->s;
    syn_http_error e = {0};
    int32_t *ids;
    size_t n_ids;
    *out = NULL;
    if (syn_server_build_prompt(s, g->base, r, sp, &ids, &n_ids, &e))
        return syn_send_error(c, s, &e);
    syn_job_request jr = {.prompt = ids, .n_prompt = (int32_t)n_ids, .n_choices = r->n, .max_tokens = max_tokens};
    jr.gen = (syn_gen_params){.sp = r->sp, .stops = (const char *const *)r->stops, .n_stops = r->n_stops,
                              .logprobs = r->logprobs, .top_logprobs = r->top_logprobs,
                              .confidence = r->kind == SYN_REQ_CHAT, .bias = r->bias, .n_bias = r->n_bias};
    if (schema && *schema) {
        syn_jschema_constraint(*schema, "response_format", &jr.constraint);
        *schema = NULL; /* the job owns it now */
    } else if (call && *call) {
        int bad = syn_jschema_lazy_constraint(syn_tools_prefill(g->base->tmpl.kind), *call, "tools", &jr.constraint);
        *call = NULL;
        if (bad) {
            free(ids);
            return syn_send_error_msg(c, s, 500, "server_error", NULL, "out of memory");
        }
    }
    syn_job *j;
    syn_error err = {0};
    int rc = syn_job_generate(&jr, &j, &err);
    free(ids);
    if (rc)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    if (syn_server_job_adapter(s, j, sp, &e)) {
        syn_job_release(j);
        return syn_send_error(c, s, &e);
    }
    if ((rc = syn_sched_submit(g->base->sched, j, &err))) {
        syn_job_release(j);
        return rc == SYN_ERR_RANGE ? syn_send_error_msg(c, s, 429, "rate_limit_error", "queue_full", "%s", err.msg)
                                   : syn_send_error_msg(c, s, 503, "server_error", NULL, "%s", err.msg);
    }
    *out = j;
    return 0;
}

/* A completion of several prompts (OpenAI's prompt list): a job each, all
 * queued at once so they share the scheduler's steps; choice p * n + k is
 * prompt p's k-th. Whole answers only (a stream of several is refused at
 * parse time). */
static int complete_many(struct mg_connection *c, gen_ctx *g, syn_specialist *sp, int32_t max_tokens)
{
    const syn_gen_request *r = g->r;
    syn_job *jobs[SYN_MAX_PROMPTS] = {0};
    int status = 0, queued = 0;
    for (int p = 0; !status && p < r->n_prompts; p++) {
        syn_gen_request one = *r;
        one.prompt = r->prompts[p];
        if (!(status = queue_job(c, g, &one, NULL, NULL, sp, max_tokens, &jobs[p])))
            queued++;
    }
    json_object *o = NULL, *choices = NULL;
    int64_t gen = 0, prompt = 0;
    for (int p = 0; !status && p < queued; p++) {
        int w = syn_wait_watching(c, jobs[p]);
        if (w < 0)
            status = 499;
        else if (w != SYN_JOB_DONE)
            status = syn_send_job_error(c, g->s, jobs[p]);
    }
    if (!status) {
        o = syn_gen_envelope(g, 0);
        choices = json_object_new_array();
        for (int p = 0; !status && p < queued; p++) {
            prompt += syn_job_n_prompt(jobs[p]);
            if (job_choices(g, jobs[p], p * r->n, choices, &gen, NULL))
                status = -1;
        }
        if (status) {
            json_object_put(o);
            json_object_put(choices);
            status = syn_send_error_msg(c, g->s, 500, "server_error", NULL, "out of memory");
        } else {
            json_object_object_add(o, "choices", choices);
            json_object_object_add(o, "usage", syn_gen_usage(prompt, gen));
            status = syn_send_json_obj(c, g->s, 200, o);
        }
    }
    for (int p = 0; p < queued; p++) {
        if (status != 200)
            syn_job_cancel(jobs[p]);
        syn_job_release(jobs[p]);
    }
    return status;
}

int syn_route_generate(struct mg_connection *c, syn_server *s, syn_route_kind kind, const char *body, size_t len)
{
    syn_http_error e = {0};
    json_object *root = NULL;
    syn_gen_request r;
    memset(&r, 0, sizeof r);
    int status;
    syn_specialist *sp = NULL;
    const syn_base *base = &s->main;
    syn_chat_route route = {0};
    syn_gen_request synth;
    syn_swarm_scratch scratch = {0};
    json_object *swarm_answers = NULL;
    gen_ctx g = {.s = s, .r = &r, .route = &route};
    char *known_facts = NULL;
    syn_jschema *call = NULL; /* auto tools: what a call the model starts follows */
    if (syn_request_parse_json(body, len, &root, &e) || syn_request_parse_gen(root, kind, &r, &e) ||
        (kind == SYN_REQ_CHAT ? syn_server_route_chat(s, &r, &sp, &base, &route, &e)
                              : syn_server_resolve_model(s, r.model, &sp, &base, &e))) {
        status = syn_send_error(c, s, &e);
        goto done;
    }
    for (size_t i = 0; i < r.n_bias; i++)
        if (r.bias[i].token >= syn_tokenizer_n_vocab(base->tok)) {
            syn_http_fail(&e, 400, "invalid_request_error", NULL, "logit_bias",
                          "'logit_bias': token %d is not in the vocabulary (0 to %d)", (int)r.bias[i].token,
                          (int)syn_tokenizer_n_vocab(base->tok) - 1);
            status = syn_send_error(c, s, &e);
            goto done;
        }
    if (r.tools && r.stream && r.logprobs) { /* a tools stream goes out whole, its logprobs not read */
        syn_http_fail(&e, 400, "invalid_request_error", NULL, "logprobs", "'logprobs' with 'tools' needs 'stream': false");
        status = syn_send_error(c, s, &e);
        goto done;
    }
    if (r.tools && r.n > 1) {
        syn_http_fail(&e, 400, "invalid_request_error", NULL, "n", "'n' must be 1 with 'tools'");
        status = syn_send_error(c, s, &e);
        goto done;
    }
    if (r.n > s->cfg.parallel) {
        syn_http_fail(&e, 400, "invalid_request_error", NULL, "n", "'n' can be at most %d on this server (parallel)",
                      s->cfg.parallel);
        status = syn_send_error(c, s, &e);
        goto done;
    }
    int32_t max_tokens = syn_server_token_cap(s, r.max_tokens);
    g.base = base;
    g.specialist = sp ? sp->def.name : NULL;
    g.created = (long)time(NULL);
    syn_random_id(kind == SYN_REQ_CHAT ? "chatcmpl-" : "cmpl-", g.id, sizeof g.id);
    if (sp && sp->code) { /* a specialist in code answers, or the base model does */
        int handled;
        status = syn_code_answer(c, &g, sp, &handled);
        if (handled)
            goto done;
        syn_specialist_release(sp);
        sp = NULL;
        g.specialist = NULL;
        g.base = base = &s->main;
    }
    if (syn_tools_forced(&r)) { /* a required call is decoded under the function's schema */
        if (r.schema) {
            syn_http_fail(&e, 400, "invalid_request_error", NULL, "response_format",
                          "'response_format' and a required tool call cannot both shape the answer");
            status = syn_send_error(c, s, &e);
            goto done;
        }
        if (syn_tools_schema(&r, base->tmpl.kind, &r.schema, &e)) {
            status = syn_send_error(c, s, &e);
            goto done;
        }
    }
    /* auto, for a family that opens its calls with a tag: a call the model
     * starts is held to the calls' schema from the tag on (parameters our
     * schema engine cannot hold leave the call to be read as written) */
    syn_http_error unheld = {0};
    if (syn_gen_request_tools_on(&r) && !syn_tools_forced(&r) && !r.schema && *syn_tools_prefill(base->tmpl.kind) &&
        syn_tools_schema(&r, base->tmpl.kind, &call, &unheld))
        call = NULL;
    syn_gen_learn(&g);
    if (kind == SYN_REQ_CHAT)
        r.known_facts = known_facts = syn_server_known_facts(s, base, syn_gen_request_query(&r), &g.knowledge);
    /* the upstream may answer before anything runs here */
    char why[512];
    if (kind == SYN_REQ_CHAT && syn_fallback_first(&g, why, sizeof why)) {
        syn_chat_route_set(&route, "cloud", why, 1);
        if (r.stream) {
            int handled;
            status = syn_fallback_stream(c, &g, &handled);
            if (handled)
                goto done;
        } else {
            char *text;
            size_t text_len;
            syn_error err = {0};
            if (!syn_fallback_call(&g, &text, &text_len, &err)) {
                status = syn_fallback_send(c, &g, text, text_len, NULL, 0);
                free(text);
                goto done;
            }
            char more[640];
            snprintf(more, sizeof more, "%s: the local model answers", err.msg);
            syn_chat_route_set(&route, route.n_members > 1 ? "swarm" : "single", more, 1);
        }
    }
    /* a swarm: the members answer first; what is served is their merge */
    const syn_gen_request *pr = &r;
    if (route.n_members > 1) {
        if ((status = syn_server_swarm(c, s, &r, &route, max_tokens, &synth, &scratch, &swarm_answers)))
            goto done;
        pr = &synth;
    }
    if (r.n_prompts > 1) { /* several prompts: a job each, answered together */
        status = complete_many(c, &g, sp, max_tokens);
        goto done;
    }
    g.constrained = r.schema != NULL;
    syn_job *j;
    if ((status = queue_job(c, &g, pr, &r.schema, &call, sp, max_tokens, &j)))
        goto done;
    g.job = j;
    g.swarm = swarm_answers;
    status = r.stream ? answer_stream(c, &g) : answer_once(c, &g);
    if (sp)
        syn_metrics_specialist(&s->metrics, sp->def.name, (uint64_t)syn_job_n_prompt(j),
                               (uint64_t)syn_job_n_cached(j));
    syn_job_release(j);
done:
    syn_jschema_free(call);
    free(known_facts);
    json_object_put(g.knowledge);
    json_object_put(g.learned);
    json_object_put(g.verification);
    json_object_put(swarm_answers);
    syn_swarm_scratch_free(&scratch);
    syn_chat_route_free(&route);
    syn_specialist_release(sp);
    syn_gen_request_free(&r);
    json_object_put(root);
    return status;
}
