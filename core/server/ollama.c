/* Ollama's POST /api/chat, /api/generate, /api/embed and /api/embeddings:
 * each request is read into the OpenAI request that means the same and run
 * through the OpenAI routes with a dialect (dialect.h) that writes their
 * answers as Ollama does: one JSON object, or NDJSON lines when streamed
 * (Ollama streams unless told not to), the last with "done": true, the
 * counts and the durations in nanoseconds. Fields Ollama has and this
 * server cannot honour are refused by name; load-time options (num_gpu,
 * num_thread, ...) are set when the server starts, not per request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/server/dialect.h"
#include "core/server/ollama.h"

typedef enum { O_CHAT, O_GENERATE, O_EMBED, O_EMBEDDINGS } ollama_kind;

/* An answer on its way out, in Ollama's shape. */
typedef struct ollama_out {
    syn_dialect d;
    ollama_kind kind;
    char model[256]; /* as the client named it */
    double t0;       /* when the request came (monotonic seconds) */
    int failed;      /* a stream's error line went out */
    json_object *calls;    /* a stream's tool calls, gathered whole */
    json_object *synapse;  /* the route and confidence */
    char done_reason[16];
    int64_t prompt_n, eval_n;
    double prompt_ms, eval_ms;
} ollama_out;

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static json_object *get(json_object *o, const char *key) { return json_object_object_get(o, key); }

static json_object *first_choice(json_object *o) { return json_object_array_get_idx(get(o, "choices"), 0); }

/* {"model", "created_at"}: how every answer of Ollama's begins */
static json_object *line_start(const ollama_out *x)
{
    json_object *o = json_object_new_object();
    char now[64];
    syn_ollama_now(now, sizeof now);
    json_object_object_add(o, "model", json_object_new_string(x->model));
    json_object_object_add(o, "created_at", json_object_new_string(now));
    return o;
}

/* What an OpenAI body says of tokens and time. */
static void read_counts(ollama_out *x, json_object *o)
{
    json_object *u = get(o, "usage"), *t = get(o, "timings");
    if (json_object_is_type(u, json_type_object)) {
        x->prompt_n = json_object_get_int64(get(u, "prompt_tokens"));
        x->eval_n = json_object_get_int64(get(u, "completion_tokens"));
    }
    if (json_object_is_type(t, json_type_object)) {
        x->prompt_ms = json_object_get_double(get(t, "prompt_ms"));
        x->eval_ms = json_object_get_double(get(t, "predicted_ms"));
    }
    json_object *sy = get(o, "synapse");
    if (sy) {
        json_object_put(x->synapse);
        x->synapse = json_object_get(sy);
    }
}

static void set_done_reason(ollama_out *x, const char *finish)
{
    if (finish) /* a call is a stop to Ollama */
        snprintf(x->done_reason, sizeof x->done_reason, "%s", !strcmp(finish, "tool_calls") ? "stop" : finish);
}

/* The end of an answer: done, the reason, counts and durations (ns). */
static void add_done(ollama_out *x, json_object *o)
{
    json_object_object_add(o, "done", json_object_new_boolean(1));
    json_object_object_add(o, "done_reason", json_object_new_string(x->done_reason[0] ? x->done_reason : "stop"));
    json_object_object_add(o, "total_duration", json_object_new_int64((int64_t)((mono_s() - x->t0) * 1e9)));
    json_object_object_add(o, "load_duration", json_object_new_int64(0)); /* loaded when the server started */
    json_object_object_add(o, "prompt_eval_count", json_object_new_int64(x->prompt_n));
    json_object_object_add(o, "prompt_eval_duration", json_object_new_int64((int64_t)(x->prompt_ms * 1e6)));
    json_object_object_add(o, "eval_count", json_object_new_int64(x->eval_n));
    json_object_object_add(o, "eval_duration", json_object_new_int64((int64_t)(x->eval_ms * 1e6)));
    if (x->synapse)
        json_object_object_add(o, "synapse", json_object_get(x->synapse));
}

/* OpenAI's calls ({id, type, function: {name, arguments: "JSON"}}) as
 * Ollama's ({function: {name, arguments: {...}}}). */
static json_object *ollama_calls(json_object *calls)
{
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
        if (!json_object_array_get_idx(calls, i))
            continue; /* a stream's index never named */
        json_object *f = get(json_object_array_get_idx(calls, i), "function"), *call = json_object_new_object(),
                    *fn = json_object_new_object();
        const char *args = json_object_get_string(get(f, "arguments"));
        json_object *parsed = args ? json_tokener_parse(args) : NULL;
        json_object_object_add(fn, "index", json_object_new_int((int)i));
        json_object_object_add(fn, "name", json_object_get(get(f, "name")));
        json_object_object_add(fn, "arguments", parsed ? parsed : json_object_new_object());
        json_object_object_add(call, "function", fn);
        json_object_array_add(out, call);
    }
    return out;
}

/* An answer's text into o: chat's message, generate's response (and thinking). */
static void add_text(const ollama_out *x, json_object *o, const char *content, const char *thinking, json_object *calls)
{
    if (x->kind == O_CHAT) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "role", json_object_new_string("assistant"));
        json_object_object_add(m, "content", json_object_new_string(content ? content : ""));
        if (thinking)
            json_object_object_add(m, "thinking", json_object_new_string(thinking));
        if (calls)
            json_object_object_add(m, "tool_calls", calls);
        json_object_object_add(o, "message", m);
        return;
    }
    json_object_object_add(o, "response", json_object_new_string(content ? content : ""));
    if (thinking)
        json_object_object_add(o, "thinking", json_object_new_string(thinking));
    json_object_put(calls);
}

static int send_line(struct mg_connection *c, json_object *o)
{
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(t);
    char *buf = malloc(n + 1);
    int rc = -1;
    if (buf) {
        memcpy(buf, t, n);
        buf[n] = '\n';
        rc = syn_send_bytes(c, buf, n + 1);
        free(buf);
    }
    json_object_put(o);
    return rc;
}

static int embed_whole(ollama_out *x, struct mg_connection *c, const syn_server *s, json_object *o)
{
    json_object *data = get(o, "data"), *out;
    if (x->kind == O_EMBEDDINGS) {
        out = json_object_new_object();
        json_object_object_add(out, "embedding", json_object_get(get(json_object_array_get_idx(data, 0), "embedding")));
    } else {
        out = json_object_new_object();
        json_object *list = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(data); i++)
            json_object_array_add(list, json_object_get(get(json_object_array_get_idx(data, i), "embedding")));
        json_object_object_add(out, "model", json_object_new_string(x->model));
        json_object_object_add(out, "embeddings", list);
        json_object_object_add(out, "total_duration", json_object_new_int64((int64_t)((mono_s() - x->t0) * 1e9)));
        json_object_object_add(out, "load_duration", json_object_new_int64(0));
        json_object_object_add(out, "prompt_eval_count",
                               json_object_new_int64(json_object_get_int64(get(get(o, "usage"), "prompt_tokens"))));
    }
    json_object_put(o);
    return syn_send_json_obj(c, s, 200, out);
}

static int o_whole(syn_dialect *d, struct mg_connection *c, const syn_server *s, int status, json_object *o,
                   const char *extra)
{
    ollama_out *x = (ollama_out *)d;
    mg_set_user_connection_data(c, NULL); /* what is sent from here is Ollama's already */
    int rc;
    if (status >= 400)
        rc = syn_ollama_send_error(c, s, status, syn_error_message(o));
    else if (x->kind == O_EMBED || x->kind == O_EMBEDDINGS) {
        rc = embed_whole(x, c, s, o);
        o = NULL;
    } else {
        read_counts(x, o);
        json_object *ch = first_choice(o), *msg = get(ch, "message"), *out = line_start(x);
        set_done_reason(x, json_object_get_string(get(ch, "finish_reason")));
        json_object *calls = get(msg, "tool_calls");
        add_text(x, out, msg ? json_object_get_string(get(msg, "content")) : json_object_get_string(get(ch, "text")),
                 json_object_get_string(get(msg, "reasoning_content")), calls ? ollama_calls(calls) : NULL);
        add_done(x, out);
        rc = syn_send_json_obj_headers(c, s, 200, out, extra);
    }
    json_object_put(o);
    mg_set_user_connection_data(c, d);
    return rc;
}

static int o_head(syn_dialect *d, struct mg_connection *c, const syn_server *s, const char *extra)
{
    (void)d;
    syn_send_stream_head(c, s, "application/x-ndjson", extra);
    return 0;
}

/* A streamed call's pieces, gathered: the first names it, the rest carry
 * its arguments. */
static void gather_calls(ollama_out *x, json_object *parts)
{
    if (!x->calls)
        x->calls = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(parts); i++) {
        json_object *p = json_object_array_get_idx(parts, i), *f = get(p, "function");
        size_t at = (size_t)json_object_get_int(get(p, "index"));
        if (get(p, "id")) {
            json_object *call = json_object_new_object(), *fn = json_object_new_object();
            json_object_object_add(fn, "name", json_object_get(get(f, "name")));
            json_object_object_add(fn, "arguments", json_object_new_string(""));
            json_object_object_add(call, "function", fn);
            json_object_array_put_idx(x->calls, at, call);
        } else if (at < json_object_array_length(x->calls)) {
            json_object *fn = get(json_object_array_get_idx(x->calls, at), "function");
            const char *had = json_object_get_string(get(fn, "arguments")), *more = json_object_get_string(get(f, "arguments"));
            size_t a = strlen(had ? had : ""), b = strlen(more ? more : "");
            char *joined = malloc(a + b + 1);
            if (joined) {
                memcpy(joined, had ? had : "", a);
                memcpy(joined + a, more ? more : "", b + 1);
                json_object_object_add(fn, "arguments", json_object_new_string(joined));
                free(joined);
            }
        }
    }
}

static int o_chunk(syn_dialect *d, struct mg_connection *c, json_object *o)
{
    ollama_out *x = (ollama_out *)d;
    int rc = 0;
    if (get(o, "error")) {
        json_object *line = json_object_new_object();
        json_object_object_add(line, "error", json_object_new_string(syn_error_message(o)));
        x->failed = 1;
        json_object_put(o);
        return send_line(c, line);
    }
    read_counts(x, o);
    json_object *ch = first_choice(o), *delta = get(ch, "delta");
    set_done_reason(x, json_object_get_string(get(ch, "finish_reason")));
    if (get(delta, "tool_calls"))
        gather_calls(x, get(delta, "tool_calls"));
    const char *content = delta ? json_object_get_string(get(delta, "content")) : json_object_get_string(get(ch, "text"));
    const char *thinking = json_object_get_string(get(delta, "reasoning_content"));
    if ((content && *content) || (thinking && *thinking)) {
        json_object *line = line_start(x);
        add_text(x, line, content, thinking, NULL);
        json_object_object_add(line, "done", json_object_new_boolean(0));
        rc = send_line(c, line);
    }
    json_object_put(o);
    return rc;
}

static int o_end(syn_dialect *d, struct mg_connection *c)
{
    ollama_out *x = (ollama_out *)d;
    if (x->failed)
        return 0; /* the error line ended it */
    if (x->calls && x->kind == O_CHAT) { /* the calls whole, as Ollama sends them */
        json_object *line = line_start(x);
        add_text(x, line, "", NULL, ollama_calls(x->calls));
        json_object_object_add(line, "done", json_object_new_boolean(0));
        if (send_line(c, line))
            return -1;
    }
    json_object *last = line_start(x);
    add_text(x, last, "", NULL, NULL);
    add_done(x, last);
    return send_line(c, last);
}

/* ---- requests */

typedef struct bad_field {
    int status;
    char message[300];
} bad_field;

static int refuse(bad_field *b, const char *fmt, const char *name)
{
    b->status = 400;
    snprintf(b->message, sizeof b->message, fmt, name);
    return -1;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

/* options: the sampling ones as OpenAI's fields of out; the rest refused */
static int read_options(json_object *opts, json_object *out, const syn_server *s, bad_field *b)
{
    static const char *const same[] = {"temperature", "top_p", "top_k", "min_p", "seed", "repeat_penalty",
                                       "repeat_last_n", "presence_penalty", "frequency_penalty", "stop", NULL};
    static const char *const load_time[] = {"num_batch", "num_gpu", "main_gpu", "low_vram", "f16_kv", "vocab_only",
                                            "use_mmap", "use_mlock", "numa", "num_thread", "num_keep",
                                            "embedding_only", "logits_all", NULL};
    static const char *const unsupported[] = {"tfs_z", "typical_p", "mirostat", "mirostat_tau", "mirostat_eta",
                                              "penalize_newline", NULL};
    if (!opts)
        return 0;
    if (!json_object_is_type(opts, json_type_object))
        return refuse(b, "'%s' must be an object", "options");
    json_object_object_foreach(opts, key, v)
    {
        if (!v)
            continue;
        if (in_list(key, same))
            json_object_object_add(out, key, json_object_get(v));
        else if (!strcmp(key, "num_predict")) {
            if (!json_object_is_type(v, json_type_int))
                return refuse(b, "'options.%s' must be an integer", key);
            int64_t n = json_object_get_int64(v);
            if (n == 0 || n < -2)
                return refuse(b, "'options.%s' must be 1 or more (-1 or -2: up to the context)", key);
            if (n > 0)
                json_object_object_add(out, "max_tokens", json_object_new_int64(n));
        } else if (!strcmp(key, "num_ctx")) {
            if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1)
                return refuse(b, "'options.%s' must be a positive integer", key);
            if (json_object_get_int64(v) > s->cfg.ctx_size) {
                b->status = 400;
                snprintf(b->message, sizeof b->message,
                         "'options.num_ctx' is %lld, but this server's context is %d tokens a sequence (set "
                         "ctx_size when it starts)",
                         (long long)json_object_get_int64(v), s->cfg.ctx_size);
                return -1;
            }
            /* within the server's context: every request already has that much */
        } else if (in_list(key, load_time))
            return refuse(b, "'options.%s' is set when the server starts, not per request (see synapse serve --help)",
                          key);
        else if (in_list(key, unsupported))
            return refuse(b, "'options.%s' is not supported by this server", key);
        else
            return refuse(b, "unknown option 'options.%.64s'", key);
    }
    return 0;
}

/* format: "json" or a JSON Schema, as response_format */
static int read_format(json_object *fmt, json_object *out, bad_field *b)
{
    if (!fmt || (json_object_is_type(fmt, json_type_string) && !*json_object_get_string(fmt)))
        return 0;
    json_object *rf = json_object_new_object();
    if (json_object_is_type(fmt, json_type_string) && !strcmp(json_object_get_string(fmt), "json"))
        json_object_object_add(rf, "type", json_object_new_string("json_object"));
    else if (json_object_is_type(fmt, json_type_object)) {
        json_object *js = json_object_new_object();
        json_object_object_add(js, "name", json_object_new_string("format"));
        json_object_object_add(js, "schema", json_object_get(fmt));
        json_object_object_add(rf, "type", json_object_new_string("json_schema"));
        json_object_object_add(rf, "json_schema", js);
    } else {
        json_object_put(rf);
        return refuse(b, "'%s' must be \"json\" or a JSON Schema", "format");
    }
    json_object_object_add(out, "response_format", rf);
    return 0;
}

/* think: false turns a model's thinking off */
static int read_think(json_object *think, json_object *out, bad_field *b)
{
    if (!think)
        return 0;
    if (!json_object_is_type(think, json_type_boolean))
        return refuse(b, "'%s' must be true or false (a model's thinking has no levels here)", "think");
    json_object *kw = json_object_new_object();
    json_object_object_add(kw, "enable_thinking", json_object_new_boolean(json_object_get_boolean(think)));
    json_object_object_add(out, "chat_template_kwargs", kw);
    return 0;
}

static int no_images(json_object *images, const char *where, bad_field *b)
{
    if (images && (!json_object_is_type(images, json_type_array) || json_object_array_length(images)))
        return refuse(b, "'%s': this server's models read text only", where);
    return 0;
}

/* The fields every generating request shares. */
static int read_common(json_object *root, json_object *out, const syn_server *s, ollama_out *x, bad_field *b)
{
    json_object *model = get(root, "model"), *stream = get(root, "stream");
    if (!json_object_is_type(model, json_type_string) ||
        syn_ollama_model_name(json_object_get_string(model), x->model, sizeof x->model))
        return refuse(b, "'%s' must be a model's name", "model");
    json_object_object_add(out, "model", json_object_new_string(x->model));
    if (stream && !json_object_is_type(stream, json_type_boolean))
        return refuse(b, "'%s' must be true or false", "stream");
    int streamed = !stream || json_object_get_boolean(stream); /* Ollama streams by default */
    json_object_object_add(out, "stream", json_object_new_boolean(streamed));
    if (streamed) {
        json_object *so = json_object_new_object();
        json_object_object_add(so, "include_usage", json_object_new_boolean(1));
        json_object_object_add(out, "stream_options", so);
    }
    return read_options(get(root, "options"), out, s, b) || read_format(get(root, "format"), out, b) ||
           read_think(get(root, "think"), out, b);
}

static int known(json_object *root, const char *const *fields, bad_field *b)
{
    json_object_object_foreach(root, key, v)
    {
        if (v && !in_list(key, fields))
            return refuse(b, "unknown field '%.64s'", key);
    }
    return 0;
}

/* Ollama's calls in a message ({function: {name, arguments: {...}}}) as
 * OpenAI's, each with an id the tool's result will answer. */
static int read_calls(json_object *calls, json_object *out_msg, int *n_ids, bad_field *b)
{
    if (!json_object_is_type(calls, json_type_array))
        return refuse(b, "'%s' must be an array", "tool_calls");
    json_object *list = json_object_new_array();
    json_object_object_add(out_msg, "tool_calls", list);
    for (size_t i = 0; i < json_object_array_length(calls); i++) {
        json_object *f = get(json_object_array_get_idx(calls, i), "function"), *args = get(f, "arguments");
        if (!json_object_is_type(get(f, "name"), json_type_string))
            return refuse(b, "'%s' needs function.name", "tool_calls");
        json_object *call = json_object_new_object(), *fn = json_object_new_object();
        char id[32];
        snprintf(id, sizeof id, "call_%d", (*n_ids)++);
        json_object_object_add(call, "id", json_object_new_string(id));
        json_object_object_add(call, "type", json_object_new_string("function"));
        json_object_object_add(fn, "name", json_object_get(get(f, "name")));
        json_object_object_add(fn, "arguments",
                               json_object_new_string(args ? json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN)
                                                           : "{}"));
        json_object_object_add(call, "function", fn);
        json_object_array_add(list, call);
    }
    return 0;
}

static int read_messages(json_object *msgs, json_object *out, bad_field *b)
{
    static const char *const fields[] = {"role", "content", "images", "tool_calls", "thinking", "tool_name", NULL};
    if (!json_object_is_type(msgs, json_type_array))
        return refuse(b, "'%s' must be an array", "messages");
    json_object *list = json_object_new_array();
    json_object_object_add(out, "messages", list);
    int n_ids = 0, answered = 0; /* calls made so far, and results given */
    for (size_t i = 0; i < json_object_array_length(msgs); i++) {
        json_object *m = json_object_array_get_idx(msgs, i), *role = get(m, "role");
        if (!json_object_is_type(m, json_type_object) || !json_object_is_type(role, json_type_string))
            return refuse(b, "'%s' must be objects with a role", "messages");
        if (known(m, fields, b) || no_images(get(m, "images"), "images", b))
            return -1;
        json_object *one = json_object_new_object();
        json_object_array_add(list, one);
        json_object_object_add(one, "role", json_object_get(role));
        json_object *content = get(m, "content");
        json_object_object_add(one, "content", content ? json_object_get(content) : json_object_new_string(""));
        /* a past answer's thinking is not shown to the model again (as Qwen3's template does) */
        if (get(m, "tool_calls") && read_calls(get(m, "tool_calls"), one, &n_ids, b))
            return -1;
        if (!strcmp(json_object_get_string(role), "tool")) {
            /* the result of the oldest call not yet answered */
            char id[32];
            snprintf(id, sizeof id, "call_%d", answered < n_ids ? answered++ : n_ids);
            json_object_object_add(one, "tool_call_id", json_object_new_string(id));
        } else if (get(m, "tool_name"))
            return refuse(b, "'%s' belongs on a tool's message", "tool_name");
    }
    return 0;
}

static int read_chat(json_object *root, json_object *out, const syn_server *s, ollama_out *x, bad_field *b)
{
    static const char *const fields[] = {"model", "messages", "tools", "format", "options", "stream", "keep_alive",
                                         "think", NULL};
    if (known(root, fields, b) || read_common(root, out, s, x, b) || read_messages(get(root, "messages"), out, b))
        return -1;
    if (get(root, "tools"))
        json_object_object_add(out, "tools", json_object_get(get(root, "tools")));
    return 0;
}

/* generate: the prompt as the user's turn of the chat template, or as it
 * is (raw); *load when there is no prompt (Ollama's "load the model") */
static int read_generate(json_object *root, json_object *out, const syn_server *s, ollama_out *x, int *raw,
                         int *load, bad_field *b)
{
    static const char *const fields[] = {"model", "prompt", "suffix", "system", "template", "context", "stream",
                                         "raw", "format", "images", "keep_alive", "options", "think", NULL};
    if (known(root, fields, b) || read_common(root, out, s, x, b) || no_images(get(root, "images"), "images", b))
        return -1;
    json_object *prompt = get(root, "prompt"), *system = get(root, "system"), *suffix = get(root, "suffix"),
                *r = get(root, "raw");
    if (suffix && (!json_object_is_type(suffix, json_type_string) || *json_object_get_string(suffix)))
        return refuse(b, "'%s' (fill in the middle) is not supported by this server yet", "suffix");
    if (get(root, "template"))
        return refuse(b, "'%s': the model's own chat template is used (this server takes no Go templates)", "template");
    if (get(root, "context"))
        return refuse(b, "'%s' (the old token memory) is not supported: send the conversation to /api/chat", "context");
    if (r && !json_object_is_type(r, json_type_boolean))
        return refuse(b, "'%s' must be true or false", "raw");
    if (prompt && !json_object_is_type(prompt, json_type_string))
        return refuse(b, "'%s' must be a string", "prompt");
    if (system && !json_object_is_type(system, json_type_string))
        return refuse(b, "'%s' must be a string", "system");
    *raw = r && json_object_get_boolean(r);
    *load = !prompt || !*json_object_get_string(prompt);
    if (*raw) {
        if (system)
            return refuse(b, "'%s' has no place in a raw prompt", "system");
        if (get(out, "chat_template_kwargs"))
            return refuse(b, "'%s' has no place in a raw prompt", "think");
        json_object_object_add(out, "prompt", json_object_get(prompt));
        return 0;
    }
    json_object *msgs = json_object_new_array(), *user = json_object_new_object();
    if (system) {
        json_object *sys = json_object_new_object();
        json_object_object_add(sys, "role", json_object_new_string("system"));
        json_object_object_add(sys, "content", json_object_get(system));
        json_object_array_add(msgs, sys);
    }
    json_object_object_add(user, "role", json_object_new_string("user"));
    json_object_object_add(user, "content", prompt ? json_object_get(prompt) : json_object_new_string(""));
    json_object_array_add(msgs, user);
    json_object_object_add(out, "messages", msgs);
    return 0;
}

static int read_embed(json_object *root, json_object *out, ollama_out *x, bad_field *b)
{
    static const char *const embed[] = {"model", "input", "truncate", "dimensions", "keep_alive", "options", NULL};
    static const char *const legacy[] = {"model", "prompt", "keep_alive", "options", NULL};
    int old = x->kind == O_EMBEDDINGS;
    if (known(root, old ? legacy : embed, b))
        return -1;
    json_object *model = get(root, "model"), *opts = get(root, "options"), *tr = get(root, "truncate");
    if (!json_object_is_type(model, json_type_string) ||
        syn_ollama_model_name(json_object_get_string(model), x->model, sizeof x->model))
        return refuse(b, "'%s' must be a model's name", "model");
    if (opts && (!json_object_is_type(opts, json_type_object) || json_object_object_length(opts)))
        return refuse(b, "'%s' do nothing for embeddings", "options");
    if (tr && !json_object_is_type(tr, json_type_boolean))
        return refuse(b, "'%s' must be true or false", "truncate");
    /* truncate or not, an input longer than the context is refused (400), never cut silently */
    json_object_object_add(out, "model", json_object_new_string(x->model));
    json_object *in = get(root, old ? "prompt" : "input");
    json_object_object_add(out, "input", in ? json_object_get(in) : NULL);
    if (get(root, "dimensions"))
        json_object_object_add(out, "dimensions", json_object_get(get(root, "dimensions")));
    return 0;
}

static int load_reply(struct mg_connection *c, syn_server *s, ollama_out *x)
{
    syn_specialist *sp;
    const syn_base *base;
    syn_http_error e = {0};
    if (syn_server_resolve_model(s, x->model, &sp, &base, &e))
        return syn_ollama_send_error(c, s, e.status, e.message);
    syn_specialist_release(sp);
    json_object *o = line_start(x);
    json_object_object_add(o, "response", json_object_new_string(""));
    json_object_object_add(o, "done", json_object_new_boolean(1));
    json_object_object_add(o, "done_reason", json_object_new_string("load"));
    return syn_send_json_obj(c, s, 200, o);
}

int syn_route_ollama(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    const char *uri = mg_get_request_info(c)->local_uri;
    if (!strcmp(uri, "/api/version") || !strcmp(uri, "/api/tags") || !strcmp(uri, "/api/ps") ||
        !strcmp(uri, "/api/show"))
        return syn_ollama_models(c, s, uri, body, len);
    ollama_out x = {.d = {o_whole, o_head, o_chunk, o_end}, .t0 = mono_s()};
    x.kind = !strcmp(uri, "/api/chat")       ? O_CHAT
             : !strcmp(uri, "/api/generate") ? O_GENERATE
             : !strcmp(uri, "/api/embed")    ? O_EMBED
                                             : O_EMBEDDINGS;
    syn_http_error e = {0};
    json_object *root = NULL;
    if (syn_request_parse_json(body, len, &root, &e))
        return syn_ollama_send_error(c, s, 400, e.message);
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return syn_ollama_send_error(c, s, 400, "the body must be a JSON object");
    }
    json_object *out = json_object_new_object();
    bad_field b = {0};
    int raw = 0, load = 0, rc;
    syn_dialect_route route = SYN_DIALECT_CHAT;
    if (x.kind == O_CHAT)
        rc = read_chat(root, out, s, &x, &b);
    else if (x.kind == O_GENERATE) {
        rc = read_generate(root, out, s, &x, &raw, &load, &b);
        route = raw ? SYN_DIALECT_COMPLETION : SYN_DIALECT_CHAT;
    } else {
        rc = read_embed(root, out, &x, &b);
        route = SYN_DIALECT_EMBED;
    }
    int status;
    if (rc)
        status = syn_ollama_send_error(c, s, b.status, b.message);
    else if (load) /* nothing to generate: the model is loaded (it always is) */
        status = load_reply(c, s, &x);
    else
        status = syn_dialect_run(&x.d, c, s, route, out);
    json_object_put(x.calls);
    json_object_put(x.synapse);
    json_object_put(out);
    json_object_put(root);
    return status;
}
