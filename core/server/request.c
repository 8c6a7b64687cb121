/* OpenAI request bodies -> syn_gen_request / syn_embed_request. Validation
 * follows OpenAI's documented ranges; JSON null counts as "not given", as it
 * does there. Any HTTP thread. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/request.h"

int syn_http_fail(syn_http_error *e, int status, const char *type, const char *code, const char *param,
                  const char *fmt, ...)
{
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

#define BAD(param, ...) syn_http_fail(e, 400, "invalid_request_error", NULL, param, __VA_ARGS__)

/* Whether valid JSON text holds a \u0000 escape in a string or key. The
 * strings reach C as NUL-terminated, so one would silently cut the text
 * ("synapse\u0000evil" read as "synapse"); such requests are refused. */
static int has_nul_escape(const char *s, size_t n)
{
    int in_string = 0;
    if (memchr(s, 0, n))
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (!in_string) {
            in_string = s[i] == '"';
        } else if (s[i] == '"') {
            in_string = 0;
        } else if (s[i] == '\\' && i + 1 < n) {
            if (s[i + 1] == 'u' && i + 5 < n && !memcmp(s + i + 2, "0000", 4))
                return 1;
            i++; /* the escaped character, which may be a quote */
        }
    }
    return 0;
}

int syn_request_parse_json(const char *body, size_t len, json_object **root, syn_http_error *e)
{
    *root = NULL;
    if (len == 0)
        return BAD(NULL, "the request body is empty; send a JSON object");
    json_tokener *tk = json_tokener_new();
    if (!tk)
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    json_object *o = json_tokener_parse_ex(tk, body, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tk);
    size_t used = json_tokener_get_parse_end(tk);
    json_tokener_free(tk);
    if (!o || jerr != json_tokener_success) {
        json_object_put(o);
        return BAD(NULL, "the request body is not valid JSON: %s",
                   jerr == json_tokener_continue ? "unexpected end of input" : json_tokener_error_desc(jerr));
    }
    while (used < len && strchr(" \t\r\n", body[used]))
        used++;
    if (used < len) {
        json_object_put(o);
        return BAD(NULL, "the request body is not valid JSON: unexpected data after the object");
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return BAD(NULL, "the request body must be a JSON object");
    }
    if (has_nul_escape(body, len)) {
        json_object_put(o);
        return BAD(NULL, "the request body holds a NUL character (\\u0000) in a string; strings must not contain it");
    }
    *root = o;
    return 0;
}

/* The field, or NULL when absent or null. */
static json_object *field(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int get_number(json_object *o, const char *key, double lo, double hi, float *out, syn_http_error *e)
{
    json_object *v = field(o, key);
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return BAD(key, "'%s' must be a number", key);
    double x = json_object_get_double(v);
    if (!(x >= lo && x <= hi))
        return BAD(key, "'%s' must be from %g to %g, got %g", key, lo, hi, x);
    *out = (float)x;
    return 0;
}

static int get_int(json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *out, syn_http_error *e)
{
    json_object *v = field(o, key);
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return BAD(key, "'%s' must be an integer", key);
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi)
        return BAD(key, "'%s' must be from %lld to %lld, got %lld", key, (long long)lo, (long long)hi, (long long)x);
    *out = x;
    return 0;
}

static int get_bool(json_object *o, const char *key, int *out, syn_http_error *e)
{
    json_object *v = field(o, key);
    if (!v)
        return 0;
    if (!json_object_is_type(v, json_type_boolean))
        return BAD(key, "'%s' must be true or false", key);
    *out = json_object_get_boolean(v);
    return 0;
}

/* A request without a model asks for the default, "synapse", as OpenAI
 * clients and llama.cpp's tests assume a local server does. */
static int get_model(json_object *o, char *out, size_t n, syn_http_error *e)
{
    json_object *v = field(o, "model");
    if (!v) {
        snprintf(out, n, "synapse");
        return 0;
    }
    if (!json_object_is_type(v, json_type_string))
        return BAD("model", "'model' must be a string");
    snprintf(out, n, "%s", json_object_get_string(v));
    return 0;
}

/* Message content: a string, or an array of {"type":"text","text":...} parts
 * joined together. Returns a malloc'ed string. */
static char *content_text(json_object *c, size_t i, syn_http_error *e)
{
    char param[64];
    snprintf(param, sizeof param, "messages[%zu].content", i);
    if (json_object_is_type(c, json_type_string)) {
        char *s = strdup(json_object_get_string(c));
        if (!s)
            syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        return s;
    }
    if (!json_object_is_type(c, json_type_array)) {
        BAD(param, "'%s' must be a string or an array of text parts", param);
        return NULL;
    }
    size_t total = 1;
    for (size_t k = 0; k < json_object_array_length(c); k++) {
        json_object *part = json_object_array_get_idx(c, k), *type = NULL, *text = NULL;
        if (!json_object_is_type(part, json_type_object) || !(type = field(part, "type")) ||
            !json_object_is_type(type, json_type_string) || strcmp(json_object_get_string(type), "text") ||
            !(text = field(part, "text")) || !json_object_is_type(text, json_type_string)) {
            BAD(param, "'%s' parts must be {\"type\": \"text\", \"text\": STRING} (only text is supported)", param);
            return NULL;
        }
        total += (size_t)json_object_get_string_len(text);
    }
    char *s = malloc(total), *p = s;
    if (!s) {
        syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        return NULL;
    }
    for (size_t k = 0; k < json_object_array_length(c); k++) {
        json_object *text = field(json_object_array_get_idx(c, k), "text");
        size_t l = (size_t)json_object_get_string_len(text);
        memcpy(p, json_object_get_string(text), l);
        p += l;
    }
    *p = 0;
    return s;
}

/* An assistant's tool_calls: [{"id", "type": "function", "function":
 * {"name", "arguments": a JSON text}}] */
static int parse_tool_calls(syn_gen_request *r, size_t i, size_t n, json_object *calls, syn_http_error *e)
{
    char param[64];
    snprintf(param, sizeof param, "messages[%zu].tool_calls", i);
    if (!json_object_is_type(calls, json_type_array) || !json_object_array_length(calls))
        return BAD(param, "'%s' must be a non-empty array", param);
    for (size_t k = 0; k < json_object_array_length(calls); k++) {
        json_object *c = json_object_array_get_idx(calls, k), *f = field(c, "function"), *type = field(c, "type"),
                    *name = field(f, "name"), *args = field(f, "arguments");
        if (!json_object_is_type(c, json_type_object) || !json_object_is_type(field(c, "id"), json_type_string) ||
            (type && strcmp(json_object_get_string(type), "function")) || !json_object_is_type(f, json_type_object) ||
            !json_object_is_type(name, json_type_string) || !json_object_is_type(args, json_type_string))
            return BAD(param, "'%s' entries must be {\"id\", \"type\": \"function\", \"function\": {\"name\", "
                              "\"arguments\": a JSON string}}", param);
    }
    if (!r->msg_calls && !(r->msg_calls = calloc(n, sizeof *r->msg_calls)))
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    r->msg_calls[i] = calls;
    return 0;
}

/* A tool's result needs the tool_call_id it answers (OpenAI's rule; the
 * families' formats do not carry it: results follow their calls in order). */
static int check_tool_result(json_object *msg, size_t i, syn_http_error *e)
{
    char param[64];
    snprintf(param, sizeof param, "messages[%zu].tool_call_id", i);
    if (!json_object_is_type(field(msg, "tool_call_id"), json_type_string))
        return BAD(param, "'%s' is required: the id of the call this answers", param);
    return 0;
}

/* A message's fields: role and content, tool_calls on an assistant's,
 * tool_call_id on a tool's; anything else (name, ...) refused by name. */
static int message_fields(json_object *msg, size_t i, syn_http_error *e)
{
    json_object *role = field(msg, "role");
    const char *rs = json_object_is_type(role, json_type_string) ? json_object_get_string(role) : "";
    json_object_object_foreach(msg, key, v)
    {
        if (!v || !strcmp(key, "role") || !strcmp(key, "content") ||
            (!strcmp(key, "tool_calls") && !strcmp(rs, "assistant")) || (!strcmp(key, "tool_call_id") && !strcmp(rs, "tool")))
            continue;
        char param[96];
        snprintf(param, sizeof param, "messages[%zu].%.40s", i, key);
        if (!strcmp(key, "tool_calls") || !strcmp(key, "tool_call_id"))
            return BAD(param, "'%s' belongs to an %s message", param, key[5] == 'c' ? "assistant" : "tool");
        return BAD(param, "'%s' is not supported by this server", param);
    }
    return 0;
}

static int parse_messages(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    json_object *m = field(root, "messages");
    if (!m)
        return BAD("messages", "'messages' is required");
    if (!json_object_is_type(m, json_type_array) || json_object_array_length(m) == 0)
        return BAD("messages", "'messages' must be a non-empty array");
    size_t n = json_object_array_length(m);
    if (!(r->msgs = calloc(n, sizeof *r->msgs)))
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *msg = json_object_array_get_idx(m, i), *role, *content;
        char param[64];
        snprintf(param, sizeof param, "messages[%zu]", i);
        if (!json_object_is_type(msg, json_type_object))
            return BAD(param, "'%s' must be an object with 'role' and 'content'", param);
        if (message_fields(msg, i, e))
            return -1;
        if (!(role = field(msg, "role")) || !json_object_is_type(role, json_type_string))
            return BAD(param, "'%s.role' must be a string", param);
        const char *rs = json_object_get_string(role);
        if (!strcmp(rs, "developer"))
            rs = "system"; /* OpenAI's newer name for system messages */
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant") && strcmp(rs, "tool"))
            return BAD(param, "'%s.role' must be system, developer, user, assistant or tool, got '%s'", param, rs);
        r->msgs[i].role = rs;
        json_object *calls = !strcmp(rs, "assistant") ? field(msg, "tool_calls") : NULL;
        if (calls && parse_tool_calls(r, i, n, calls, e))
            return -1;
        if (!strcmp(rs, "tool")) {
            if (check_tool_result(msg, i, e))
                return -1;
            r->tool_results = 1;
        }
        content = field(msg, "content");
        if (!content && !calls) {
            snprintf(param, sizeof param, "messages[%zu].content", i);
            return BAD(param, "'%s' is required", param);
        }
        r->msgs[i].content = content ? content_text(content, i, e) : strdup("");
        if (!r->msgs[i].content)
            return content ? -1 : syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        r->n_msgs = i + 1;
    }
    return 0;
}

enum { TOKEN_IDS_BAD = -1, TOKEN_IDS_NOMEM = -2 };

/* A JSON array of token ids (integers 0..INT32_MAX) into a new array in
 * *ids (the caller frees it, also on failure) and its length in *n. */
static int read_token_ids(json_object *a, int32_t **ids, size_t *n)
{
    size_t len = json_object_array_length(a);
    if (!(*ids = malloc(len * sizeof **ids)))
        return TOKEN_IDS_NOMEM;
    for (size_t i = 0; i < len; i++) {
        json_object *t = json_object_array_get_idx(a, i);
        if (!json_object_is_type(t, json_type_int) || json_object_get_int64(t) < 0 ||
            json_object_get_int64(t) > INT32_MAX)
            return TOKEN_IDS_BAD;
        (*ids)[i] = (int32_t)json_object_get_int64(t);
    }
    *n = len;
    return 0;
}

static int parse_prompt(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    json_object *p = field(root, "prompt");
    if (!p)
        return BAD("prompt", "'prompt' is required");
    if (json_object_is_type(p, json_type_array) && json_object_array_length(p) > 1 &&
        json_object_is_type(json_object_array_get_idx(p, 0), json_type_string)) {
        /* a list of prompts, answered together */
        size_t n = json_object_array_length(p);
        if (n > SYN_MAX_PROMPTS)
            return BAD("prompt", "'prompt' holds at most %d prompts", SYN_MAX_PROMPTS);
        for (size_t i = 0; i < n; i++) {
            json_object *one = json_object_array_get_idx(p, i);
            if (!json_object_is_type(one, json_type_string) || !json_object_get_string_len(one))
                return BAD("prompt", "'prompt' as a list must hold non-empty strings");
            r->prompts[i] = json_object_get_string(one);
        }
        r->n_prompts = (int)n;
        r->prompt = r->prompts[0];
        return 0;
    }
    if (json_object_is_type(p, json_type_array) && json_object_array_length(p) == 1 &&
        json_object_is_type(json_object_array_get_idx(p, 0), json_type_string))
        p = json_object_array_get_idx(p, 0);
    if (json_object_is_type(p, json_type_string)) {
        r->prompt = json_object_get_string(p);
        if (!*r->prompt)
            return BAD("prompt", "'prompt' must not be empty");
        return 0;
    }
    if (json_object_is_type(p, json_type_array) && json_object_array_length(p) > 0) {
        int rc = read_token_ids(p, &r->prompt_ids, &r->n_prompt_ids);
        if (rc == TOKEN_IDS_NOMEM)
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        if (rc)
            return BAD("prompt", "'prompt' must be a string, or an array of token ids (one prompt per request)");
        return 0;
    }
    return BAD("prompt", "'prompt' must be a non-empty string or an array of token ids");
}

static int parse_stop(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    json_object *s = field(root, "stop");
    if (!s)
        return 0;
    if (json_object_is_type(s, json_type_string)) {
        if (!json_object_get_string_len(s))
            return BAD("stop", "'stop' strings must not be empty");
        if (!(r->stops[0] = strdup(json_object_get_string(s))))
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        r->n_stops = 1;
        return 0;
    }
    if (!json_object_is_type(s, json_type_array))
        return BAD("stop", "'stop' must be a string or an array of strings");
    if (json_object_array_length(s) > SYN_MAX_STOPS)
        return BAD("stop", "'stop' holds at most %d strings", SYN_MAX_STOPS);
    for (size_t i = 0; i < json_object_array_length(s); i++) {
        json_object *v = json_object_array_get_idx(s, i);
        if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
            return BAD("stop", "'stop' must hold non-empty strings");
        if (!(r->stops[r->n_stops] = strdup(json_object_get_string(v))))
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        r->n_stops++;
    }
    return 0;
}

static int parse_response_format(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    json_object *rf = field(root, "response_format"), *type, *js, *schema;
    if (!rf)
        return 0;
    if (!json_object_is_type(rf, json_type_object) || !(type = field(rf, "type")) ||
        !json_object_is_type(type, json_type_string))
        return BAD("response_format", "'response_format' must be an object with a string 'type'");
    const char *t = json_object_get_string(type);
    syn_error err = {0};
    if (!strcmp(t, "text"))
        return 0;
    if (!strcmp(t, "json_object")) {
        if (syn_jschema_compile(NULL, &r->schema, &err))
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "%s", err.msg);
        return 0;
    }
    if (strcmp(t, "json_schema"))
        return BAD("response_format.type", "'response_format.type' must be text, json_object or json_schema");
    if (!(js = field(rf, "json_schema")) || !json_object_is_type(js, json_type_object))
        return BAD("response_format.json_schema", "'response_format.json_schema' must be an object");
    if (!(schema = field(js, "schema")))
        return BAD("response_format.json_schema.schema", "'response_format.json_schema.schema' is required");
    if (syn_jschema_compile(schema, &r->schema, &err))
        return BAD("response_format.json_schema.schema", "%s", err.msg);
    return 0;
}

/* What each route reads. Every other field is refused by name: one this
 * server does not do yet, or one it does not know; nothing is silently
 * ignored. "user" (the end user's id, for the caller's own records) is
 * read and asks for nothing. */
static const char *const chat_fields[] = {"model", "messages", "temperature", "top_p", "presence_penalty",
                                          "frequency_penalty", "max_tokens", "max_completion_tokens", "n", "seed",
                                          "stop", "stream", "stream_options", "logprobs", "top_logprobs",
                                          "response_format", "logit_bias", "user", "top_k", "min_p",
                                          "repeat_penalty", "repeat_last_n", "tools", "tool_choice",
                                          "parallel_tool_calls", "reasoning_effort", "chat_template_kwargs", NULL};
static const char *const completion_fields[] = {"model", "prompt", "temperature", "top_p", "presence_penalty",
                                                "frequency_penalty", "max_tokens", "n", "seed", "stop", "stream",
                                                "stream_options", "logprobs", "response_format", "logit_bias",
                                                "user", "top_k", "min_p", "repeat_penalty", "repeat_last_n", NULL};
static const char *const embed_fields[] = {"model", "input", "encoding_format", "dimensions", "user", NULL};
/* OpenAI's fields this server does not do (yet): refused with that reason */
static const char *const not_yet[] = {"functions", "function_call",
                                      "echo", "suffix", "best_of", "prediction", "audio", "modalities",
                                      "web_search_options", "store",
                                      "metadata", "service_tier", NULL};

static int in(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

static int known_fields(json_object *root, const char *const *fields, syn_http_error *e)
{
    json_object_object_foreach(root, key, v)
    {
        if (!v || in(key, fields)) /* null is "not given" */
            continue;
        if (in(key, not_yet))
            return BAD(key, "'%s' is not supported by this server yet", key);
        return BAD(key, "unknown field '%.64s'", key);
    }
    return 0;
}

/* logit_bias: {"TOKEN_ID": -100..100, ...} */
#define MAX_BIAS 1024
static int parse_logit_bias(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    json_object *b = field(root, "logit_bias");
    if (!b)
        return 0;
    if (!json_object_is_type(b, json_type_object))
        return BAD("logit_bias", "'logit_bias' must be an object of token ids to biases");
    size_t n = (size_t)json_object_object_length(b);
    if (n > MAX_BIAS)
        return BAD("logit_bias", "'logit_bias' holds at most %d tokens", MAX_BIAS);
    if (n && !(r->bias = calloc(n, sizeof *r->bias)))
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    json_object_object_foreach(b, key, v)
    {
        char *end;
        long id = strtol(key, &end, 10);
        if (*key < '0' || *key > '9' || *end || id < 0 || id > INT32_MAX)
            return BAD("logit_bias", "'logit_bias' keys must be token ids, got '%.32s'", key);
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
            return BAD("logit_bias", "'logit_bias' values must be numbers");
        double x = json_object_get_double(v);
        if (!(x >= -100 && x <= 100))
            return BAD("logit_bias", "'logit_bias' values must be from -100 to 100, got %g", x);
        r->bias[r->n_bias++] = (syn_logit_bias){.token = (int32_t)id, .bias = (float)x};
    }
    return 0;
}

/* tools: [{"type": "function", "function": {"name", "description",
 * "parameters": a JSON schema this server can enforce}}] */
static int parse_tools(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    json_object *t = field(root, "tools"), *choice = field(root, "tool_choice");
    r->parallel_tool_calls = 1;
    if (get_bool(root, "parallel_tool_calls", &r->parallel_tool_calls, e))
        return -1;
    if (t) {
        if (!json_object_is_type(t, json_type_array) || !json_object_array_length(t) || json_object_array_length(t) > 128)
            return BAD("tools", "'tools' must be an array of 1 to 128 functions");
        for (size_t i = 0; i < json_object_array_length(t); i++) {
            json_object *tool = json_object_array_get_idx(t, i), *f = field(tool, "function"), *name = field(f, "name"),
                        *params = field(f, "parameters"), *type = field(tool, "type");
            char param[48];
            snprintf(param, sizeof param, "tools[%zu]", i);
            if (!json_object_is_type(tool, json_type_object) || !type || strcmp(json_object_get_string(type), "function") ||
                !json_object_is_type(f, json_type_object))
                return BAD(param, "'%s' must be {\"type\": \"function\", \"function\": {\"name\", ...}}", param);
            const char *nm = json_object_is_type(name, json_type_string) ? json_object_get_string(name) : "";
            size_t len = strlen(nm), ok = len >= 1 && len <= SYN_TOOL_NAME_MAX;
            for (size_t k = 0; ok && k < len; k++)
                ok = (nm[k] >= 'a' && nm[k] <= 'z') || (nm[k] >= 'A' && nm[k] <= 'Z') || (nm[k] >= '0' && nm[k] <= '9') ||
                     nm[k] == '_' || nm[k] == '-';
            if (!ok)
                return BAD(param, "'%s.function.name' must be 1 to %d of a-z, A-Z, 0-9, '_' and '-'", param,
                           SYN_TOOL_NAME_MAX);
            for (size_t k = 0; k < i; k++)
                if (!strcmp(nm, json_object_get_string(field(field(json_object_array_get_idx(t, k), "function"), "name"))))
                    return BAD(param, "'%s': two tools are called '%s'", param, nm);
            /* a JSON schema; compiled only for a call it is decoded under */
            if (params && !json_object_is_type(params, json_type_object))
                return BAD(param, "'%s.function.parameters' must be a JSON schema object", param);
        }
        r->tools = t;
    }
    if (!choice)
        return 0;
    const char *c = json_object_is_type(choice, json_type_string) ? json_object_get_string(choice) : NULL;
    json_object *fn = json_object_is_type(choice, json_type_object) ? field(field(choice, "function"), "name") : NULL;
    if (c && !strcmp(c, "auto"))
        r->tool_choice = SYN_TOOLS_AUTO;
    else if (c && !strcmp(c, "none"))
        r->tool_choice = SYN_TOOLS_NONE;
    else if (c && !strcmp(c, "required"))
        r->tool_choice = SYN_TOOLS_REQUIRED;
    else if (json_object_is_type(fn, json_type_string)) {
        r->tool_choice = SYN_TOOLS_NAMED;
        if (strlen(json_object_get_string(fn)) > SYN_TOOL_NAME_MAX)
            return BAD("tool_choice", "'tool_choice' names a function longer than any tool's (%d)", SYN_TOOL_NAME_MAX);
        snprintf(r->tool_name, sizeof r->tool_name, "%s", json_object_get_string(fn));
        int found = 0;
        for (size_t i = 0; t && !found && i < json_object_array_length(t); i++)
            found = !strcmp(r->tool_name,
                            json_object_get_string(field(field(json_object_array_get_idx(t, i), "function"), "name")));
        if (!found)
            return BAD("tool_choice", "'tool_choice' names '%s', which is not one of 'tools'", r->tool_name);
    } else
        return BAD("tool_choice", "'tool_choice' must be auto, none, required or {\"type\": \"function\", "
                                  "\"function\": {\"name\"}}");
    if (!t && r->tool_choice != SYN_TOOLS_NONE && r->tool_choice != SYN_TOOLS_AUTO)
        return BAD("tool_choice", "'tool_choice' asks for a call, but there are no 'tools'");
    return 0;
}

/* Thinking off: reasoning_effort "none" or chat_template_kwargs
 * {"enable_thinking": false}. A thinking model's effort is not a dial
 * here, so the other efforts are refused. */
static int parse_thinking(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    json_object *effort = field(root, "reasoning_effort"), *kw = field(root, "chat_template_kwargs");
    if (effort) {
        if (!json_object_is_type(effort, json_type_string) || strcmp(json_object_get_string(effort), "none"))
            return BAD("reasoning_effort", "'reasoning_effort' can only be \"none\" here (thinking off); a "
                                           "model's thinking has no effort levels");
        r->no_thinking = 1;
    }
    if (kw) {
        if (!json_object_is_type(kw, json_type_object))
            return BAD("chat_template_kwargs", "'chat_template_kwargs' must be an object");
        json_object_object_foreach(kw, key, v)
        {
            if (strcmp(key, "enable_thinking"))
                return BAD("chat_template_kwargs", "'chat_template_kwargs.%.64s' is not known (only enable_thinking)",
                           key);
            if (!json_object_is_type(v, json_type_boolean))
                return BAD("chat_template_kwargs", "'chat_template_kwargs.enable_thinking' must be true or false");
            if (!json_object_get_boolean(v))
                r->no_thinking = 1;
        }
    }
    return 0;
}

int syn_gen_request_tooled(const syn_gen_request *r)
{
    return r->tools || r->msg_calls || r->tool_results;
}

int syn_gen_request_tools_on(const syn_gen_request *r)
{
    return r->tools && r->tool_choice != SYN_TOOLS_NONE;
}

/* llama.cpp's sampling extensions, which the sampler has anyway */
static int parse_sampling_extras(json_object *root, syn_gen_request *r, syn_http_error *e)
{
    int64_t x = -2;
    if (get_int(root, "top_k", 0, 1 << 20, &x, e))
        return -1;
    if (x != -2)
        r->sp.top_k = (int32_t)x;
    x = -2;
    if (get_int(root, "repeat_last_n", -1, 1 << 20, &x, e))
        return -1;
    if (x != -2)
        r->sp.repeat_last_n = (int32_t)x;
    return get_number(root, "min_p", 0, 1, &r->sp.min_p, e) ||
           get_number(root, "repeat_penalty", 0.01, 10, &r->sp.repeat_penalty, e);
}

int syn_request_parse_gen(json_object *root, syn_route_kind kind, syn_gen_request *r, syn_http_error *e)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->n = 1;
    /* OpenAI's defaults: temperature 1, top_p 1, nothing else filtering */
    r->sp = syn_sampler_params_default();
    r->sp.temperature = 1.0f;
    r->sp.top_k = 0;
    r->sp.top_p = 1.0f;
    r->sp.min_p = 0.0f;
    r->sp.repeat_penalty = 1.0f;
    r->sp.seed = SYN_SAMPLER_SEED_RANDOM;
    int64_t x;
    if (known_fields(root, kind == SYN_REQ_CHAT ? chat_fields : completion_fields, e) ||
        get_model(root, r->model, sizeof r->model, e))
        return -1;
    if (kind == SYN_REQ_CHAT ? parse_messages(root, r, e) : parse_prompt(root, r, e))
        return -1;
    if (parse_logit_bias(root, r, e) || parse_sampling_extras(root, r, e) ||
        (kind == SYN_REQ_CHAT && (parse_tools(root, r, e) || parse_thinking(root, r, e))))
        return -1;
    if (get_number(root, "temperature", 0, 2, &r->sp.temperature, e) || get_number(root, "top_p", 0, 1, &r->sp.top_p, e) ||
        get_number(root, "presence_penalty", -2, 2, &r->sp.presence_penalty, e) ||
        get_number(root, "frequency_penalty", -2, 2, &r->sp.frequency_penalty, e))
        return -1;
    x = 0;
    if (get_int(root, "max_tokens", 1, 1 << 24, &x, e))
        return -1;
    r->max_tokens = (int32_t)x;
    x = 0;
    if (get_int(root, "max_completion_tokens", 1, 1 << 24, &x, e))
        return -1;
    if (x)
        r->max_tokens = (int32_t)x;
    x = 1;
    if (get_int(root, "n", 1, SYN_MAX_N, &x, e))
        return -1;
    r->n = (int)x;
    json_object *seed = field(root, "seed");
    if (seed) {
        if (!json_object_is_type(seed, json_type_int))
            return BAD("seed", "'seed' must be an integer");
        r->sp.seed = (uint64_t)json_object_get_int64(seed);
        if (r->sp.seed == SYN_SAMPLER_SEED_RANDOM)
            r->sp.seed--;
    }
    if (parse_stop(root, r, e) || get_bool(root, "stream", &r->stream, e))
        return -1;
    json_object *so = field(root, "stream_options");
    if (so) {
        if (!json_object_is_type(so, json_type_object))
            return BAD("stream_options", "'stream_options' must be an object");
        if (get_bool(so, "include_usage", &r->include_usage, e))
            return -1;
    }
    if (kind == SYN_REQ_CHAT) {
        if (get_bool(root, "logprobs", &r->logprobs, e))
            return -1;
        x = 0;
        if (get_int(root, "top_logprobs", 0, 20, &x, e))
            return -1;
        r->top_logprobs = (int)x;
        if (r->top_logprobs && !r->logprobs)
            return BAD("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    } else {
        /* the legacy completions API: logprobs is the number of top entries */
        x = -1;
        if (get_int(root, "logprobs", 0, 5, &x, e))
            return -1;
        r->logprobs = x >= 0;
        r->top_logprobs = x > 0 ? (int)x : 0;
    }
    /* a schema constrains a completion's text as it does a chat answer's */
    if (parse_response_format(root, r, e))
        return -1;
    if (r->n_prompts > 1 && r->stream)
        return BAD("stream", "several prompts are answered whole: 'stream' must be false with a prompt list");
    if (r->n_prompts > 1 && r->schema)
        return BAD("response_format", "'response_format' takes one prompt, not a list");
    return 0;
}

void syn_gen_request_free(syn_gen_request *r)
{
    for (size_t i = 0; i < r->n_msgs; i++)
        free((char *)r->msgs[i].content);
    free(r->msgs);
    free(r->prompt_ids);
    free(r->bias);
    free(r->msg_calls);
    for (size_t i = 0; i < r->n_stops; i++)
        free(r->stops[i]);
    syn_jschema_free(r->schema);
    memset(r, 0, sizeof *r);
}

int syn_request_parse_embed(json_object *root, syn_embed_request *r, syn_http_error *e)
{
    memset(r, 0, sizeof *r);
    if (known_fields(root, embed_fields, e) || get_model(root, r->model, sizeof r->model, e))
        return -1;
    int64_t dims = 0;
    if (get_int(root, "dimensions", 1, 1 << 20, &dims, e))
        return -1;
    r->dimensions = (int32_t)dims;
    json_object *in = field(root, "input"), *fmt = field(root, "encoding_format");
    if (fmt) {
        const char *f = json_object_is_type(fmt, json_type_string) ? json_object_get_string(fmt) : "";
        if (strcmp(f, "float") && strcmp(f, "base64"))
            return BAD("encoding_format", "'encoding_format' must be float or base64");
        r->base64 = !strcmp(f, "base64");
    }
    if (!in)
        return BAD("input", "'input' is required");
    /* one input (a string or an array of ids) or an array of them */
    int single = json_object_is_type(in, json_type_string) ||
                 (json_object_is_type(in, json_type_array) && json_object_array_length(in) > 0 &&
                  json_object_is_type(json_object_array_get_idx(in, 0), json_type_int));
    size_t n = single ? 1 : json_object_is_type(in, json_type_array) ? json_object_array_length(in) : 0;
    if (!n || n > 2048)
        return BAD("input", "'input' must be a string, an array of strings or token-id arrays (1 to 2048 of them)");
    r->texts = calloc(n, sizeof *r->texts);
    r->ids = calloc(n, sizeof *r->ids);
    r->n_ids = calloc(n, sizeof *r->n_ids);
    if (!r->texts || !r->ids || !r->n_ids)
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    r->n_inputs = n;
    for (size_t i = 0; i < n; i++) {
        json_object *v = single ? in : json_object_array_get_idx(in, i);
        if (json_object_is_type(v, json_type_string)) {
            if (!json_object_get_string_len(v))
                return BAD("input", "'input' strings must not be empty");
            r->texts[i] = json_object_get_string(v);
            continue;
        }
        if (!json_object_is_type(v, json_type_array) || !json_object_array_length(v))
            return BAD("input", "'input' entries must be non-empty strings or token-id arrays");
        int rc = read_token_ids(v, &r->ids[i], &r->n_ids[i]);
        if (rc == TOKEN_IDS_NOMEM)
            return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        if (rc)
            return BAD("input", "'input' token ids must be non-negative integers");
    }
    return 0;
}

void syn_embed_request_free(syn_embed_request *r)
{
    for (size_t i = 0; r->ids && i < r->n_inputs; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r->n_ids);
    free(r->texts);
    memset(r, 0, sizeof *r);
}

const char *syn_gen_request_query(const syn_gen_request *r)
{
    for (size_t i = r->n_msgs; i-- > 0;)
        if (!strcmp(r->msgs[i].role, "user") && r->msgs[i].content)
            return r->msgs[i].content;
    return "";
}
