/* A specialist in code (a specialist plugin, config `plugin:`) answers a
 * chat request: its text streams like a model's, is verified and recorded
 * like one, and carries the same "synapse" object. It is not a model:
 * what only a model can do (several choices, logprobs, a schema, stop
 * strings) is refused by name when the request names it, and passed on to
 * the base model when "synapse" chose it. max_tokens holds as it does for
 * a model: the answer is cut after that many tokens of the base model's
 * tokenizer, finish_reason "length". When the plugin cannot
 * answer (no arithmetic in the question, say) before it sent anything,
 * the base model answers, with the plugin's reason in the route. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/answer.h"

static int refuses(const syn_gen_request *r, const syn_specialist *sp, syn_http_error *e)
{
    const char *field = r->kind != SYN_REQ_CHAT ? "prompt"
                        : r->n > 1              ? "n"
                        : r->logprobs           ? "logprobs"
                        : r->schema             ? "response_format"
                        : r->n_stops            ? "stop"
                        : r->n_bias             ? "logit_bias"
                        : r->tools              ? "tools"
                        : syn_gen_request_tooled(r) ? "messages"
                                                : NULL;
    if (!field)
        return 0;
    if (r->kind != SYN_REQ_CHAT)
        return syn_http_fail(e, 400, "invalid_request_error", NULL, "model",
                             "'synapse/%s' is a specialist in code: it answers chat requests only", sp->def.name);
    return syn_http_fail(e, 400, "invalid_request_error", NULL, field,
                         "'%s' is not supported by 'synapse/%s', a specialist in code (it is not a model)", field,
                         sp->def.name);
}

/* The plugin does not answer: the base model does, and the route says why. */
static void pass(gen_ctx *g, const char *why)
{
    char buf[640];
    snprintf(buf, sizeof buf, "%s: the base model answers", why);
    syn_chat_route_set(g->route, NULL, buf, 1);
    json_object_object_add(g->route->full, "specialists", json_object_new_array());
    json_object_object_add(g->route->full, "domain", json_object_new_string("general"));
    snprintf(g->route->domain, sizeof g->route->domain, "general");
}

/* The answer as it comes: kept whole, and streamed when asked. */
typedef struct code_run {
    syn_text_stream x;
    int stream, oom, cut;
    const syn_tokenizer *tok;
    int32_t max_tokens;
    char *text;
    size_t len, cap;
} code_run;

/* Bytes of text[0, len) within max tokens; len when it is within them. */
static size_t within_tokens(const code_run *k)
{
    if (k->max_tokens <= 0 || k->len <= (size_t)k->max_tokens) /* no cap; a token is at least a byte */
        return k->len;
    int32_t *ids;
    size_t n;
    syn_error err = {0};
    if (syn_tokenize(k->tok, k->text, k->len, 0, 0, &ids, &n, &err))
        return k->len; /* cannot count: the whole answer */
    size_t bytes = 0;
    for (size_t i = 0; n > (size_t)k->max_tokens && i < (size_t)k->max_tokens; i++) {
        size_t piece;
        syn_tokenizer_piece(k->tok, ids[i], 0, &piece);
        bytes += piece;
    }
    free(ids);
    return n > (size_t)k->max_tokens && bytes < k->len ? bytes : k->len;
}

static int on_text(void *user, const char *text, size_t len)
{
    code_run *k = user;
    if (k->cut)
        return 1;
    if (k->len + len + 1 > k->cap) {
        size_t cap = (k->len + len + 1) * 2;
        char *t = realloc(k->text, cap);
        if (!t)
            return k->oom = 1;
        k->text = t;
        k->cap = cap;
    }
    size_t before = k->len;
    memcpy(k->text + k->len, text, len);
    k->len += len;
    size_t keep = within_tokens(k);
    if (keep < k->len) { /* max_tokens reached: the rest is not asked for */
        k->len = keep > before ? keep : before;
        k->cut = 1;
    }
    k->text[k->len] = '\0';
    if (k->stream && k->len > before && syn_text_stream_piece(&k->x, k->text + before, k->len - before))
        return 1;
    return k->cut;
}

int syn_code_answer(struct mg_connection *c, gen_ctx *g, const syn_specialist *sp, int *handled)
{
    syn_http_error e = {0};
    if (refuses(g->r, sp, &e)) {
        /* named by the request: refused; chosen for "synapse": passed on */
        *handled = strcmp(g->r->model, "synapse") != 0;
        if (*handled)
            return syn_send_error(c, g->s, &e);
        pass(g, e.message);
        return 0;
    }
    syn_gen_learn(g);
    code_run k = {.x = {.c = c, .g = g}, .stream = g->r->stream, .tok = g->base->tok,
                  .max_tokens = syn_server_token_cap(g->s, g->r->max_tokens)};
    syn_error err = {0};
    int rc = syn_specialist_code_answer(sp, syn_gen_request_query(g->r), on_text, &k, &err);
    if (k.cut) /* it stopped because we asked it to */
        rc = 0;
    *handled = 1;
    int status;
    if (k.x.gone)
        status = 499;
    else if ((rc || k.oom) && k.x.started) /* half an answer is all there is */
        status = syn_text_stream_end(&k.x, NULL, rc ? err.msg : "out of memory", "specialist_failed");
    else if (rc || k.oom) {
        pass(g, k.oom ? "out of memory" : err.msg);
        *handled = 0;
        status = 0;
    } else {
        const char *text = k.text ? k.text : "";
        syn_gen_verify(g, text);
        syn_gen_record(g, &text, &k.len, 1, NULL); /* in the store before the client has all of it */
        const char *finish = k.cut ? "length" : "stop";
        status = k.stream ? syn_text_stream_end(&k.x, finish, NULL, NULL)
                          : syn_text_answer_send(c, g, text, k.len, finish);
    }
    free(k.text);
    return status;
}
