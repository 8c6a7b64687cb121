/* The chat route's answer as a Responses API response (responses.h):
 * output items (reasoning, message, function_call), usage in input and
 * output tokens, status completed or incomplete; streamed, the typed event
 * sequence (response.created, output_item.added, output_text.delta, ...,
 * response.completed), each with its sequence_number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/server/responses.h"

typedef syn_responses_out resp_out;
typedef syn_resp_item_kind item_kind;

static json_object *get(json_object *o, const char *key) { return json_object_object_get(o, key); }

static json_object *str(const char *s) { return json_object_new_string(s ? s : ""); }

/* ---- output items, the same whole or streamed */

static json_object *message_item(const char *id, const char *text, const char *status)
{
    json_object *m = json_object_new_object(), *parts = json_object_new_array(), *part = json_object_new_object();
    json_object_object_add(m, "id", str(id));
    json_object_object_add(m, "type", str("message"));
    json_object_object_add(m, "status", str(status));
    json_object_object_add(m, "role", str("assistant"));
    json_object_object_add(part, "type", str("output_text"));
    json_object_object_add(part, "text", str(text));
    json_object_object_add(part, "annotations", json_object_new_array());
    json_object_object_add(part, "logprobs", json_object_new_array());
    json_object_array_add(parts, part);
    json_object_object_add(m, "content", parts);
    return m;
}

static json_object *reasoning_part(const char *text)
{
    json_object *part = json_object_new_object();
    json_object_object_add(part, "type", str("reasoning_text"));
    json_object_object_add(part, "text", str(text));
    return part;
}

static json_object *reasoning_item(const char *id, const char *text, const char *status)
{
    json_object *r = json_object_new_object(), *parts = json_object_new_array();
    json_object_object_add(r, "id", str(id));
    json_object_object_add(r, "type", str("reasoning"));
    json_object_object_add(r, "status", str(status));
    json_object_object_add(r, "summary", json_object_new_array());
    json_object_array_add(parts, reasoning_part(text));
    json_object_object_add(r, "content", parts);
    return r;
}

static json_object *call_item(const char *id, const char *call_id, const char *name, const char *args,
                              const char *status)
{
    json_object *f = json_object_new_object();
    json_object_object_add(f, "id", str(id));
    json_object_object_add(f, "type", str("function_call"));
    json_object_object_add(f, "status", str(status));
    json_object_object_add(f, "call_id", str(call_id));
    json_object_object_add(f, "name", str(name));
    json_object_object_add(f, "arguments", str(args));
    return f;
}

/* The response's status from the chat's finish_reason: a cut answer is
 * incomplete, and says why. */
static void set_status(resp_out *x, const char *status)
{
    json_object_object_add(x->resp, "status", str(status));
    int cut = !strcmp(status, "completed") && !strcmp(x->finish, "length");
    if (cut) {
        json_object *why = json_object_new_object();
        json_object_object_add(why, "reason", str("max_output_tokens"));
        json_object_object_add(x->resp, "status", str("incomplete"));
        json_object_object_add(x->resp, "incomplete_details", why);
    }
}

/* usage (OpenAI's prompt/completion tokens as input/output) and the route */
static void read_usage(resp_out *x, json_object *o)
{
    json_object *u = get(o, "usage"), *t = get(o, "timings");
    if (json_object_is_type(u, json_type_object)) {
        int64_t in = json_object_get_int64(get(u, "prompt_tokens")), out = json_object_get_int64(get(u, "completion_tokens"));
        json_object *usage = json_object_new_object(), *ind = json_object_new_object(), *outd = json_object_new_object();
        json_object_object_add(ind, "cached_tokens", json_object_new_int64(json_object_get_int64(get(t, "cache_n"))));
        json_object_object_add(outd, "reasoning_tokens", json_object_new_int64(0));
        json_object_object_add(usage, "input_tokens", json_object_new_int64(in));
        json_object_object_add(usage, "input_tokens_details", ind);
        json_object_object_add(usage, "output_tokens", json_object_new_int64(out));
        json_object_object_add(usage, "output_tokens_details", outd);
        json_object_object_add(usage, "total_tokens", json_object_new_int64(in + out));
        json_object_object_add(x->resp, "usage", usage);
    }
    if (get(o, "synapse"))
        json_object_object_add(x->resp, "synapse", json_object_get(get(o, "synapse")));
}

static void new_id(const char *prefix, char *out, size_t n) { syn_random_id(prefix, out, n); }

/* The chat's param, as this API names it. */
static void rename_param(json_object *o)
{
    json_object *e = get(o, "error");
    const char *p = json_object_get_string(get(e, "param"));
    const char *to = !p                                      ? NULL
                     : !strcmp(p, "max_tokens")              ? "max_output_tokens"
                     : !strcmp(p, "response_format")         ? "text.format"
                     : !strcmp(p, "reasoning_effort")        ? "reasoning.effort"
                     : !strncmp(p, "messages", 8)            ? "input"
                                                             : NULL;
    if (to)
        json_object_object_add(e, "param", str(to));
}

static int r_whole(syn_dialect *d, struct mg_connection *c, const syn_server *s, int status, json_object *o,
                   const char *extra)
{
    resp_out *x = (resp_out *)d;
    mg_set_user_connection_data(c, NULL); /* what is sent from here is this API's already */
    int rc;
    if (status >= 400) { /* OpenAI's error shape is this API's too */
        rename_param(o);
        rc = syn_send_json_obj_headers(c, s, status, o, extra);
        o = NULL;
    } else {
        json_object *ch = json_object_array_get_idx(get(o, "choices"), 0), *msg = get(ch, "message"),
                    *output = get(x->resp, "output"), *calls = get(msg, "tool_calls");
        snprintf(x->finish, sizeof x->finish, "%s", json_object_get_string(get(ch, "finish_reason")));
        const char *thinking = json_object_get_string(get(msg, "reasoning_content")),
                   *content = json_object_get_string(get(msg, "content"));
        char id[40];
        if (thinking && *thinking) {
            new_id("rs_", id, sizeof id);
            json_object_array_add(output, reasoning_item(id, thinking, "completed"));
        }
        if ((content && *content) || !calls) {
            new_id("msg_", id, sizeof id);
            json_object_array_add(output,
                                  message_item(id, content, !strcmp(x->finish, "length") ? "incomplete" : "completed"));
        }
        for (size_t i = 0; calls && i < json_object_array_length(calls); i++) {
            json_object *call = json_object_array_get_idx(calls, i), *f = get(call, "function");
            new_id("fc_", id, sizeof id);
            json_object_array_add(output, call_item(id, json_object_get_string(get(call, "id")),
                                                    json_object_get_string(get(f, "name")),
                                                    json_object_get_string(get(f, "arguments")), "completed"));
        }
        read_usage(x, o);
        set_status(x, "completed");
        rc = syn_send_json_obj_headers(c, s, 200, json_object_get(x->resp), extra);
    }
    json_object_put(o);
    mg_set_user_connection_data(c, d);
    return rc;
}

/* ---- a stream's events */

/* Sends event {type, sequence_number, ...fields of o}; o is taken. */
static int send_event(resp_out *x, struct mg_connection *c, const char *type, json_object *o)
{
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "type", str(type));
    json_object_object_add(ev, "sequence_number", json_object_new_int64(x->seq++));
    json_object_object_foreach(o, k, v) json_object_object_add(ev, k, json_object_get(v));
    json_object_put(o);
    const char *t = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = strlen(t), head = strlen(type) + 14; /* "event: TYPE\ndata: " */
    char *buf = malloc(head + n + 3);
    int rc = -1;
    if (buf) {
        int w = snprintf(buf, head + 1, "event: %s\ndata: ", type);
        memcpy(buf + w, t, n);
        memcpy(buf + w + n, "\n\n", 2);
        rc = syn_send_bytes(c, buf, (size_t)w + n + 2);
        free(buf);
    }
    json_object_put(ev);
    return rc;
}

/* {"response": the response as it stands} */
static json_object *with_response(resp_out *x)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "response", json_object_get(x->resp));
    return o;
}

/* {item_id, output_index[, content_index]}: where an event's piece goes */
static json_object *at_item(resp_out *x, int content)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "item_id", str(x->item_id));
    json_object_object_add(o, "output_index", json_object_new_int((int)json_object_array_length(get(x->resp, "output"))));
    if (content)
        json_object_object_add(o, "content_index", json_object_new_int(0));
    return o;
}

static json_object *with_item(resp_out *x, json_object *item)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "output_index", json_object_new_int((int)json_object_array_length(get(x->resp, "output"))));
    json_object_object_add(o, "item", item);
    return o;
}

static json_object *with_part(json_object *o, json_object *part)
{
    json_object_object_add(o, "part", part);
    return o;
}

static json_object *with(json_object *o, const char *key, const char *value)
{
    json_object_object_add(o, key, str(value));
    return o;
}

static int append(resp_out *x, const char *s)
{
    size_t n = strlen(s);
    if (x->len + n + 1 > x->cap) {
        size_t cap = (x->len + n + 1) * 2;
        char *t = realloc(x->text, cap);
        if (!t)
            return -1;
        x->text = t;
        x->cap = cap;
    }
    memcpy(x->text + x->len, s, n + 1);
    x->len += n;
    return 0;
}

/* The open item as it stands, with status. */
static json_object *open_item(resp_out *x, const char *status)
{
    const char *text = x->text ? x->text : "";
    switch (x->open) {
    case ITEM_REASONING: return reasoning_item(x->item_id, text, status);
    case ITEM_MESSAGE: return message_item(x->item_id, text, status);
    default: return call_item(x->item_id, x->call_id, x->name, text, status);
    }
}

/* Ends the open item: its text's done events, then output_item.done, and
 * it joins the response's output. */
static int close_item(resp_out *x, struct mg_connection *c)
{
    if (x->open == ITEM_NONE)
        return 0;
    const char *text = x->text ? x->text : "";
    int cut = x->open == ITEM_MESSAGE && !strcmp(x->finish, "length");
    json_object *item = open_item(x, cut ? "incomplete" : "completed");
    int rc = 0;
    if (x->open == ITEM_MESSAGE) {
        json_object *done = with(at_item(x, 1), "text", text);
        json_object_object_add(done, "logprobs", json_object_new_array());
        rc = send_event(x, c, "response.output_text.done", done) ||
             send_event(x, c, "response.content_part.done",
                        with_part(at_item(x, 1), json_object_get(json_object_array_get_idx(get(item, "content"), 0))));
    } else if (x->open == ITEM_REASONING)
        rc = send_event(x, c, "response.reasoning_text.done", with(at_item(x, 1), "text", text)) ||
             send_event(x, c, "response.content_part.done", with_part(at_item(x, 1), reasoning_part(text)));
    else
        rc = send_event(x, c, "response.function_call_arguments.done",
                        with(with(at_item(x, 0), "name", x->name), "arguments", text));
    rc = rc || send_event(x, c, "response.output_item.done", with_item(x, json_object_get(item)));
    json_object_array_add(get(x->resp, "output"), item);
    x->open = ITEM_NONE;
    x->len = 0;
    if (x->text)
        x->text[0] = 0;
    return rc;
}

/* Opens an item of kind (closing the one open): output_item.added, and
 * for text its part's content_part.added. */
static int open_kind(resp_out *x, struct mg_connection *c, item_kind kind)
{
    if (close_item(x, c))
        return -1;
    x->open = kind;
    new_id(kind == ITEM_MESSAGE ? "msg_" : kind == ITEM_REASONING ? "rs_" : "fc_", x->item_id, sizeof x->item_id);
    json_object *item = open_item(x, "in_progress");
    json_object *part = NULL;
    if (kind != ITEM_CALL) { /* the part is announced apart from its item */
        part = json_object_get(json_object_array_get_idx(get(item, "content"), 0));
        json_object_object_add(item, "content", json_object_new_array());
    }
    if (send_event(x, c, "response.output_item.added", with_item(x, item))) {
        json_object_put(part);
        return -1;
    }
    return part ? send_event(x, c, "response.content_part.added", with_part(at_item(x, 1), part)) : 0;
}

/* A piece of text for an item of kind: opens it when another is open. */
static int text_piece(resp_out *x, struct mg_connection *c, item_kind kind, const char *piece)
{
    if (!piece || !*piece)
        return 0;
    if (x->open != kind && open_kind(x, c, kind))
        return -1;
    if (append(x, piece))
        return -1;
    const char *type = kind == ITEM_MESSAGE     ? "response.output_text.delta"
                       : kind == ITEM_REASONING ? "response.reasoning_text.delta"
                                                : "response.function_call_arguments.delta";
    json_object *o = with(at_item(x, kind != ITEM_CALL), "delta", piece);
    if (kind == ITEM_MESSAGE)
        json_object_object_add(o, "logprobs", json_object_new_array());
    return send_event(x, c, type, o);
}

/* A streamed call's pieces: the first (with its id) names it and opens
 * its item, the rest carry its arguments. */
static int call_pieces(resp_out *x, struct mg_connection *c, json_object *parts)
{
    for (size_t i = 0; parts && i < json_object_array_length(parts); i++) {
        json_object *p = json_object_array_get_idx(parts, i), *f = get(p, "function");
        int index = json_object_get_int(get(p, "index"));
        if (get(p, "id")) {
            if (close_item(x, c))
                return -1;
            snprintf(x->call_id, sizeof x->call_id, "%s", json_object_get_string(get(p, "id")));
            snprintf(x->name, sizeof x->name, "%s", json_object_get_string(get(f, "name")));
            x->call_index = index;
            if (open_kind(x, c, ITEM_CALL))
                return -1;
        }
        if (x->open == ITEM_CALL && index == x->call_index &&
            text_piece(x, c, ITEM_CALL, json_object_get_string(get(f, "arguments"))))
            return -1;
    }
    return 0;
}

static int r_head(syn_dialect *d, struct mg_connection *c, const syn_server *s, const char *extra)
{
    resp_out *x = (resp_out *)d;
    syn_send_stream_head(c, s, "text/event-stream", extra);
    return send_event(x, c, "response.created", with_response(x)) ||
           send_event(x, c, "response.in_progress", with_response(x));
}

static int r_chunk(syn_dialect *d, struct mg_connection *c, json_object *o)
{
    resp_out *x = (resp_out *)d;
    int rc = 0;
    json_object *err = get(o, "error");
    if (err) { /* the error event, then the response failed */
        json_object *ev = json_object_new_object(), *e = json_object_new_object();
        const char *code = json_object_get_string(get(err, "code"));
        json_object_object_add(ev, "code", str(code ? code : "server_error"));
        json_object_object_add(ev, "message", str(syn_error_message(o)));
        json_object_object_add(ev, "param", NULL);
        json_object_object_add(e, "code", str(code ? code : "server_error"));
        json_object_object_add(e, "message", str(syn_error_message(o)));
        json_object_object_add(x->resp, "error", e);
        json_object_object_add(x->resp, "status", str("failed"));
        x->failed = 1;
        rc = send_event(x, c, "error", ev) || send_event(x, c, "response.failed", with_response(x));
        json_object_put(o);
        return rc;
    }
    read_usage(x, o);
    json_object *ch = json_object_array_get_idx(get(o, "choices"), 0), *delta = get(ch, "delta");
    if (get(ch, "finish_reason"))
        snprintf(x->finish, sizeof x->finish, "%s", json_object_get_string(get(ch, "finish_reason")));
    rc = text_piece(x, c, ITEM_REASONING, json_object_get_string(get(delta, "reasoning_content"))) ||
         text_piece(x, c, ITEM_MESSAGE, json_object_get_string(get(delta, "content"))) ||
         call_pieces(x, c, get(delta, "tool_calls"));
    json_object_put(o);
    return rc ? -1 : 0;
}

static int r_end(syn_dialect *d, struct mg_connection *c)
{
    resp_out *x = (resp_out *)d;
    if (x->failed)
        return 0; /* response.failed ended it */
    if (close_item(x, c))
        return -1;
    if (!json_object_array_length(get(x->resp, "output")) && (open_kind(x, c, ITEM_MESSAGE) || close_item(x, c)))
        return -1; /* nothing said: still a message, empty */
    set_status(x, "completed");
    const char *status = json_object_get_string(get(x->resp, "status"));
    return send_event(x, c, !strcmp(status, "completed") ? "response.completed" : "response.incomplete",
                      with_response(x));
}


/* The response as it starts: its id and the request's settings, echoed. */
static json_object *response_start(json_object *root)
{
    json_object *r = json_object_new_object(), *v;
    char id[48];
    new_id("resp_", id, sizeof id);
    json_object_object_add(r, "id", str(id));
    json_object_object_add(r, "object", str("response"));
    json_object_object_add(r, "created_at", json_object_new_int64((int64_t)time(NULL)));
    json_object_object_add(r, "status", str("in_progress"));
    json_object_object_add(r, "background", json_object_new_boolean(0));
    json_object_object_add(r, "error", NULL);
    json_object_object_add(r, "incomplete_details", NULL);
    json_object_object_add(r, "instructions", json_object_get(get(root, "instructions")));
    json_object_object_add(r, "max_output_tokens", json_object_get(get(root, "max_output_tokens")));
    json_object_object_add(r, "model", json_object_get(get(root, "model")));
    json_object_object_add(r, "output", json_object_new_array());
    v = get(root, "parallel_tool_calls");
    json_object_object_add(r, "parallel_tool_calls", v ? json_object_get(v) : json_object_new_boolean(1));
    json_object_object_add(r, "previous_response_id", NULL);
    json_object *reasoning = json_object_new_object();
    json_object_object_add(reasoning, "effort", json_object_get(get(get(root, "reasoning"), "effort")));
    json_object_object_add(reasoning, "summary", NULL);
    json_object_object_add(r, "reasoning", reasoning);
    json_object_object_add(r, "service_tier", str("default"));
    json_object_object_add(r, "store", json_object_new_boolean(0));
    v = get(root, "temperature");
    json_object_object_add(r, "temperature", v ? json_object_get(v) : json_object_new_double(1.0));
    v = get(root, "text");
    if (!get(v, "format")) {
        json_object *fmt = json_object_new_object();
        v = json_object_new_object();
        json_object_object_add(fmt, "type", str("text"));
        json_object_object_add(v, "format", fmt);
    } else
        json_object_get(v);
    json_object_object_add(r, "text", v);
    v = get(root, "tool_choice");
    json_object_object_add(r, "tool_choice", v ? json_object_get(v) : str("auto"));
    v = get(root, "tools");
    json_object_object_add(r, "tools", v ? json_object_get(v) : json_object_new_array());
    v = get(root, "top_p");
    json_object_object_add(r, "top_p", v ? json_object_get(v) : json_object_new_double(1.0));
    json_object_object_add(r, "truncation", str("disabled"));
    json_object_object_add(r, "usage", NULL);
    json_object_object_add(r, "user", json_object_get(get(root, "user")));
    v = get(root, "metadata");
    json_object_object_add(r, "metadata", v ? json_object_get(v) : json_object_new_object());
    return r;
}

void syn_responses_out_init(syn_responses_out *x, json_object *request)
{
    *x = (syn_responses_out){.d = {r_whole, r_head, r_chunk, r_end}, .resp = response_start(request)};
}

void syn_responses_out_free(syn_responses_out *x)
{
    json_object_put(x->resp);
    free(x->text);
}
