/* OpenAI's Responses API, POST /v1/responses: the request (input items,
 * instructions, function tools, text.format, ...) is read into the chat
 * request that means the same and run through the chat route with the
 * dialect of responses_out.c, which writes the answer as a response, whole
 * or as its stream of events. Nothing is stored:
 * every request carries its whole conversation, so previous_response_id,
 * conversation and background are refused by name, as is any field this
 * server cannot honour. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/request.h"
#include "core/server/responses.h"

static json_object *get(json_object *o, const char *key) { return json_object_object_get(o, key); }

static json_object *str(const char *s) { return json_object_new_string(s ? s : ""); }

/* ---- the request */

typedef struct bad_field {
    char param[64];
    char message[320];
} bad_field;

static int refuse(bad_field *b, const char *param, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(bad_field *b, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->message, sizeof b->message, fmt, ap);
    va_end(ap);
    snprintf(b->param, sizeof b->param, "%s", param);
    return -1;
}

static int is(json_object *o, json_type t) { return json_object_is_type(o, t); }

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

static int only_fields(json_object *o, const char *const *fields, const char *where, bad_field *b)
{
    json_object_object_foreach(o, key, v)
    {
        (void)v;
        if (!in_list(key, fields))
            return refuse(b, where, "'%s' has no field '%.64s' this server knows", where, key);
    }
    return 0;
}

/* A content's text: a string, or parts of the types allowed (their
 * "text"; a refusal's "refusal"), joined. NULL with b filled. */
static char *content_text(json_object *content, const char *where, int assistant, bad_field *b)
{
    if (is(content, json_type_string))
        return strdup(json_object_get_string(content));
    if (!is(content, json_type_array)) {
        refuse(b, where, "'%s' must be a string or an array of text parts", where);
        return NULL;
    }
    size_t total = 1, n = json_object_array_length(content);
    for (size_t k = 0; k < n; k++) {
        json_object *part = json_object_array_get_idx(content, k);
        const char *type = json_object_get_string(get(part, "type"));
        const char *key = type && !strcmp(type, "refusal") ? "refusal" : "text";
        int ok = type && (!strcmp(type, assistant ? "output_text" : "input_text") ||
                          (assistant && !strcmp(type, "refusal")));
        if (!is(part, json_type_object) || !ok || !is(get(part, key), json_type_string)) {
            refuse(b, where, "'%s[%zu]' must be {\"type\": \"%s\", \"text\": STRING} (this server's models read text "
                   "only)", where, k, assistant ? "output_text" : "input_text");
            return NULL;
        }
        total += (size_t)json_object_get_string_len(get(part, key));
    }
    char *s = malloc(total), *p = s;
    for (size_t k = 0; s && k < n; k++) {
        json_object *part = json_object_array_get_idx(content, k), *t = get(part, "refusal");
        t = t ? t : get(part, "text");
        memcpy(p, json_object_get_string(t), (size_t)json_object_get_string_len(t));
        p += json_object_get_string_len(t);
    }
    if (s)
        *p = 0;
    return s;
}

static json_object *chat_message(const char *role, char *text)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "role", str(role));
    json_object_object_add(m, "content", str(text));
    free(text);
    return m;
}

/* 1 when an earlier turn of msgs made the call with this id. */
static int call_made(json_object *msgs, const char *id)
{
    for (size_t i = 0; i < json_object_array_length(msgs); i++) {
        json_object *calls = get(json_object_array_get_idx(msgs, i), "tool_calls");
        for (size_t k = 0; calls && k < json_object_array_length(calls); k++)
            if (!strcmp(json_object_get_string(get(json_object_array_get_idx(calls, k), "id")), id))
                return 1;
    }
    return 0;
}

/* One input item into messages: a message, a call the model made (it
 * joins the assistant turn just before it), a call's output, or a past
 * reasoning item (not shown to the model again, as Qwen3's template does). */
static int read_item(json_object *item, size_t i, json_object *msgs, bad_field *b)
{
    static const char *const message_fields[] = {"type", "role", "content", "id", "status", NULL};
    static const char *const call_fields[] = {"type", "call_id", "name", "arguments", "id", "status", NULL};
    static const char *const output_fields[] = {"type", "call_id", "output", "id", "status", NULL};
    char where[48], at[64];
    snprintf(where, sizeof where, "input[%zu]", i);
    if (!is(item, json_type_object))
        return refuse(b, where, "'%s' must be an object", where);
    const char *type = json_object_get_string(get(item, "type"));
    if (!type || !strcmp(type, "message")) {
        const char *role = json_object_get_string(get(item, "role"));
        if (!role || !in_list(role, (const char *const[]){"user", "assistant", "system", "developer", NULL}))
            return refuse(b, where, "'%s.role' must be user, assistant, system or developer", where);
        if (only_fields(item, message_fields, where, b))
            return -1;
        snprintf(at, sizeof at, "%s.content", where);
        char *text = content_text(get(item, "content"), at, !strcmp(role, "assistant"), b);
        if (!text)
            return b->message[0] ? -1 : refuse(b, where, "out of memory");
        json_object_array_add(msgs, chat_message(role, text));
        return 0;
    }
    if (!strcmp(type, "function_call")) {
        if (only_fields(item, call_fields, where, b))
            return -1;
        json_object *call_id = get(item, "call_id"), *name = get(item, "name"), *args = get(item, "arguments");
        if (!is(call_id, json_type_string) || !is(name, json_type_string) || !is(args, json_type_string))
            return refuse(b, where, "'%s' needs call_id, name and arguments (a JSON string)", where);
        json_object *last = json_object_array_get_idx(msgs, json_object_array_length(msgs) - 1);
        int joins = json_object_array_length(msgs) && !strcmp(json_object_get_string(get(last, "role")), "assistant");
        if (!joins) {
            last = json_object_new_object();
            json_object_object_add(last, "role", str("assistant"));
            json_object_object_add(last, "content", str(""));
            json_object_array_add(msgs, last);
        }
        json_object *calls = get(last, "tool_calls");
        if (!calls) {
            calls = json_object_new_array();
            json_object_object_add(last, "tool_calls", calls);
        }
        json_object *call = json_object_new_object(), *fn = json_object_new_object();
        json_object_object_add(call, "id", json_object_get(call_id));
        json_object_object_add(call, "type", str("function"));
        json_object_object_add(fn, "name", json_object_get(name));
        json_object_object_add(fn, "arguments", json_object_get(args));
        json_object_object_add(call, "function", fn);
        json_object_array_add(calls, call);
        return 0;
    }
    if (!strcmp(type, "function_call_output")) {
        if (only_fields(item, output_fields, where, b))
            return -1;
        json_object *call_id = get(item, "call_id");
        if (!is(call_id, json_type_string))
            return refuse(b, where, "'%s.call_id' must be a string", where);
        if (!call_made(msgs, json_object_get_string(call_id)))
            return refuse(b, where, "'%s': no function_call before it has call_id '%.64s'", where,
                          json_object_get_string(call_id));
        snprintf(at, sizeof at, "%s.output", where);
        char *text = content_text(get(item, "output"), at, 0, b);
        if (!text)
            return b->message[0] ? -1 : refuse(b, where, "out of memory");
        json_object *m = chat_message("tool", text);
        json_object_object_add(m, "tool_call_id", json_object_get(call_id));
        json_object_array_add(msgs, m);
        return 0;
    }
    if (!strcmp(type, "reasoning"))
        return 0;
    if (!strcmp(type, "item_reference"))
        return refuse(b, where, "'%s': responses are not stored here, so items cannot be referenced; send them", where);
    return refuse(b, where, "'%s.type' '%.40s' is not supported (message, function_call, function_call_output, "
                  "reasoning)", where, type);
}

static int read_input(json_object *root, json_object *out, bad_field *b)
{
    json_object *input = get(root, "input"), *instructions = get(root, "instructions"), *msgs = json_object_new_array();
    json_object_object_add(out, "messages", msgs);
    if (instructions && !is(instructions, json_type_string))
        return refuse(b, "instructions", "'instructions' must be a string");
    if (instructions)
        json_object_array_add(msgs, chat_message("system", strdup(json_object_get_string(instructions))));
    if (is(input, json_type_string)) {
        json_object_array_add(msgs, chat_message("user", strdup(json_object_get_string(input))));
        return 0;
    }
    if (!is(input, json_type_array) || !json_object_array_length(input))
        return refuse(b, "input", "'input' must be a string or a non-empty array of items");
    for (size_t i = 0; i < json_object_array_length(input); i++)
        if (read_item(json_object_array_get_idx(input, i), i, msgs, b))
            return -1;
    return 0;
}

/* tools: [{type: "function", name, description, parameters, strict}] as
 * chat's {type, function: {...}}; tool_choice likewise */
static int read_tools(json_object *root, json_object *out, bad_field *b)
{
    static const char *const fields[] = {"type", "name", "description", "parameters", "strict", NULL};
    json_object *tools = get(root, "tools"), *choice = get(root, "tool_choice");
    if (tools && !is(tools, json_type_array))
        return refuse(b, "tools", "'tools' must be an array");
    if (tools && json_object_array_length(tools)) {
        json_object *list = json_object_new_array();
        json_object_object_add(out, "tools", list);
        for (size_t i = 0; i < json_object_array_length(tools); i++) {
            json_object *t = json_object_array_get_idx(tools, i), *fn = json_object_new_object(),
                        *tool = json_object_new_object();
            char where[32];
            snprintf(where, sizeof where, "tools[%zu]", i);
            json_object_object_add(tool, "type", str("function"));
            json_object_object_add(tool, "function", fn);
            json_object_array_add(list, tool);
            const char *type = json_object_get_string(get(t, "type"));
            if (!is(t, json_type_object) || !type || strcmp(type, "function"))
                return refuse(b, where, "'%s.type' must be \"function\" (hosted tools are not supported)", where);
            if (only_fields(t, fields, where, b))
                return -1;
            json_object_object_foreach(t, k, v) if (strcmp(k, "type")) json_object_object_add(fn, k, json_object_get(v));
        }
    }
    if (!choice)
        return 0;
    if (is(choice, json_type_string)) {
        json_object_object_add(out, "tool_choice", json_object_get(choice));
        return 0;
    }
    const char *type = json_object_get_string(get(choice, "type"));
    if (!is(choice, json_type_object) || !type || strcmp(type, "function") || !is(get(choice, "name"), json_type_string))
        return refuse(b, "tool_choice", "'tool_choice' must be auto, none, required or {\"type\": \"function\", "
                      "\"name\"}");
    json_object *c = json_object_new_object(), *fn = json_object_new_object();
    json_object_object_add(fn, "name", json_object_get(get(choice, "name")));
    json_object_object_add(c, "type", str("function"));
    json_object_object_add(c, "function", fn);
    json_object_object_add(out, "tool_choice", c);
    return 0;
}

/* text.format as response_format */
static int read_text(json_object *root, json_object *out, bad_field *b)
{
    static const char *const fields[] = {"format", NULL};
    static const char *const schema_fields[] = {"type", "name", "schema", "strict", "description", NULL};
    json_object *text = get(root, "text");
    if (!text)
        return 0;
    if (!is(text, json_type_object))
        return refuse(b, "text", "'text' must be an object");
    if (only_fields(text, fields, "text", b))
        return -1;
    json_object *fmt = get(text, "format");
    const char *type = json_object_get_string(get(fmt, "type"));
    if (!fmt)
        return 0;
    if (!is(fmt, json_type_object) || !type)
        return refuse(b, "text.format", "'text.format' must be {\"type\": \"text\" | \"json_object\" | \"json_schema\"}");
    json_object *rf = json_object_new_object();
    json_object_object_add(out, "response_format", rf);
    if (!strcmp(type, "text") || !strcmp(type, "json_object")) {
        json_object_object_add(rf, "type", str(type));
        return 0;
    }
    if (strcmp(type, "json_schema"))
        return refuse(b, "text.format", "'text.format.type' must be text, json_object or json_schema");
    if (only_fields(fmt, schema_fields, "text.format", b))
        return -1;
    json_object *js = json_object_new_object();
    json_object_object_foreach(fmt, k, v) if (strcmp(k, "type")) json_object_object_add(js, k, json_object_get(v));
    json_object_object_add(rf, "type", str("json_schema"));
    json_object_object_add(rf, "json_schema", js);
    return 0;
}

/* reasoning: effort "none" turns thinking off; a summary cannot be made */
static int read_reasoning(json_object *root, json_object *out, bad_field *b)
{
    static const char *const fields[] = {"effort", "summary", NULL};
    json_object *r = get(root, "reasoning");
    if (!r)
        return 0;
    if (!is(r, json_type_object) || only_fields(r, fields, "reasoning", b))
        return b->message[0] ? -1 : refuse(b, "reasoning", "'reasoning' must be an object");
    if (get(r, "summary"))
        return refuse(b, "reasoning.summary", "'reasoning.summary': this server shows the thinking itself, it "
                      "makes no summaries");
    json_object *effort = get(r, "effort");
    if (effort) {
        if (!is(effort, json_type_string) || strcmp(json_object_get_string(effort), "none"))
            return refuse(b, "reasoning.effort", "'reasoning.effort' can only be \"none\" here (thinking off); a "
                          "thinking model otherwise thinks as it was trained to");
        json_object_object_add(out, "reasoning_effort", str("none"));
    }
    return 0;
}

/* The fields that keep a response or its conversation on the server, or
 * that this server has no use for: refused by name unless they ask for
 * nothing. */
static int read_rest(json_object *root, json_object *out, int *stream, bad_field *b)
{
    json_object *v;
    if ((v = get(root, "stream")) && !is(v, json_type_boolean))
        return refuse(b, "stream", "'stream' must be true or false");
    *stream = v && json_object_get_boolean(v);
    json_object_object_add(out, "stream", json_object_new_boolean(*stream));
    if (*stream) {
        json_object *so = json_object_new_object();
        json_object_object_add(so, "include_usage", json_object_new_boolean(1));
        json_object_object_add(out, "stream_options", so);
    }
    if ((v = get(root, "stream_options"))) {
        json_object *ob = get(v, "include_obfuscation");
        if (!is(v, json_type_object) || json_object_object_length(v) > (ob ? 1 : 0) || (ob && json_object_get_boolean(ob)))
            return refuse(b, "stream_options", "'stream_options' can only hold include_obfuscation: false (a local "
                          "server's events are not padded)");
    }
    if ((v = get(root, "store")) && (!is(v, json_type_boolean) || json_object_get_boolean(v)))
        return refuse(b, "store", "'store': this server keeps no responses; send store: false and the whole "
                      "conversation as input");
    if (get(root, "previous_response_id") || get(root, "conversation"))
        return refuse(b, get(root, "conversation") ? "conversation" : "previous_response_id",
                      "'%s': this server keeps no responses or conversations; send the whole conversation as input",
                      get(root, "conversation") ? "conversation" : "previous_response_id");
    if ((v = get(root, "background")) && (!is(v, json_type_boolean) || json_object_get_boolean(v)))
        return refuse(b, "background", "'background' responses are not supported: stream instead");
    if ((v = get(root, "truncation")) && (!is(v, json_type_string) || strcmp(json_object_get_string(v), "disabled")))
        return refuse(b, "truncation", "'truncation' can only be \"disabled\": an input longer than the context is "
                      "refused, never cut");
    if ((v = get(root, "include")) && (!is(v, json_type_array) || json_object_array_length(v)))
        return refuse(b, "include", "'include': nothing more can be included by this server (logprobs: use "
                      "/v1/chat/completions)");
    if ((v = get(root, "service_tier")) &&
        !in_list(json_object_get_string(v), (const char *const[]){"auto", "default", NULL}))
        return refuse(b, "service_tier", "'service_tier' can only be auto or default here");
    if ((v = get(root, "metadata")) && !is(v, json_type_object))
        return refuse(b, "metadata", "'metadata' must be an object");
    if ((v = get(root, "user")))
        json_object_object_add(out, "user", json_object_get(v));
    static const char *const same[] = {"model", "temperature", "top_p", "parallel_tool_calls", NULL};
    for (const char *const *k = same; *k; k++)
        if ((v = get(root, *k)))
            json_object_object_add(out, *k, json_object_get(v));
    if ((v = get(root, "max_output_tokens")))
        json_object_object_add(out, "max_tokens", json_object_get(v));
    return 0;
}

static int read_request(json_object *root, json_object *out, int *stream, bad_field *b)
{
    static const char *const fields[] = {
        "model",  "input",      "instructions",   "tools",    "tool_choice",          "parallel_tool_calls",
        "text",   "reasoning",  "max_output_tokens", "temperature", "top_p",          "stream",
        "stream_options", "store", "previous_response_id", "conversation", "background", "truncation",
        "include", "service_tier", "metadata", "user", "safety_identifier", "prompt_cache_key", NULL};
    json_object_object_foreach(root, key, v)
    {
        (void)v;
        if (in_list(key, (const char *const[]){"top_logprobs", "max_tool_calls", "prompt", NULL}))
            return refuse(b, key, "'%s' is not supported on /v1/responses by this server", key);
        if (!in_list(key, fields))
            return refuse(b, key, "unknown field '%.64s'", key);
    }
    if (!is(get(root, "model"), json_type_string))
        return refuse(b, "model", "'model' is required (a model's name, as /v1/models lists them)");
    return read_input(root, out, b) || read_tools(root, out, b) || read_text(root, out, b) ||
           read_reasoning(root, out, b) || read_rest(root, out, stream, b);
}

/* The response as it starts: its id and the request's settings, echoed. */
int syn_route_responses(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    syn_http_error e = {0};
    json_object *root = NULL;
    if (syn_request_parse_json(body, len, &root, &e))
        return syn_send_error(c, s, &e);
    if (!is(root, json_type_object)) {
        json_object_put(root);
        return syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "the body must be a JSON object");
    }
    json_object *out = json_object_new_object();
    bad_field b = {0};
    int stream = 0, status;
    if (read_request(root, out, &stream, &b)) {
        syn_http_fail(&e, 400, "invalid_request_error", NULL, b.param, "%s", b.message);
        status = syn_send_error(c, s, &e);
    } else {
        syn_responses_out x;
        syn_responses_out_init(&x, root);
        status = syn_dialect_run(&x.d, c, s, SYN_DIALECT_CHAT, out);
        syn_responses_out_free(&x);
    }
    json_object_put(out);
    json_object_put(root);
    return status;
}
