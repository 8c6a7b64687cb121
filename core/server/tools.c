/* Tool calling's text (see tools.h). The wording that shows the tools is
 * ours; the tags and JSON shapes are what each model family was trained
 * on, so its calls come back in a form we can read. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"
#include "core/server/tools.h"

static json_object *fn_of(json_object *tool) { return json_object_object_get(tool, "function"); }

static const char *name_of(json_object *tool)
{
    return json_object_get_string(json_object_object_get(fn_of(tool), "name"));
}

/* A growing string; failed once any append fails. */
typedef struct strb {
    char *s;
    size_t len, cap;
    int failed;
} strb;

static void add(strb *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *p = realloc(t->s, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void adds(strb *t, const char *s) { add(t, s, strlen(s)); }

static const char *json_text(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The tools as the system turn shows them. */
static void tools_block(strb *t, const syn_gen_request *r, syn_chat_kind kind)
{
    if (kind == SYN_CHAT_CHATML) {
        adds(t, "# Tools\n\nYou may call functions to help with the request. Their signatures are inside "
                "<tools></tools>:\n<tools>");
        for (size_t i = 0; i < json_object_array_length(r->tools); i++) {
            adds(t, "\n");
            adds(t, json_text(json_object_array_get_idx(r->tools, i)));
        }
        adds(t, "\n</tools>\n\nTo call one, answer with a JSON object of its name and arguments inside "
                "<tool_call></tool_call> tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
                "<args-json-object>}\n</tool_call>");
    } else {
        adds(t, "You may call functions to help with the request. To call one, answer with only a JSON object "
                "{\"name\": function name, \"parameters\": its arguments as an object}. The functions:");
        for (size_t i = 0; i < json_object_array_length(r->tools); i++) {
            adds(t, "\n\n");
            adds(t, json_text(fn_of(json_object_array_get_idx(r->tools, i))));
        }
    }
}

/* One call as the family writes it; arguments is the client's JSON text. */
static void call_text(strb *t, json_object *call, syn_chat_kind kind)
{
    json_object *f = json_object_object_get(call, "function");
    const char *args = json_object_get_string(json_object_object_get(f, "arguments"));
    json_object *parsed = json_tokener_parse(args ? args : "");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_get(json_object_object_get(f, "name")));
    /* arguments that are not JSON stay the string they are */
    json_object_object_add(o, kind == SYN_CHAT_CHATML ? "arguments" : "parameters",
                           parsed ? parsed : json_object_new_string(args ? args : ""));
    if (kind == SYN_CHAT_CHATML)
        adds(t, "<tool_call>\n");
    adds(t, json_text(o));
    if (kind == SYN_CHAT_CHATML)
        adds(t, "\n</tool_call>");
    json_object_put(o);
}

static int keep(syn_tools_scratch *x, strb *t)
{
    char **s = t->failed ? NULL : realloc(x->s, sizeof *s * (x->n + 1));
    if (!s) {
        free(t->s);
        return -1;
    }
    x->s = s;
    x->s[x->n++] = t->s ? t->s : strdup("");
    return x->s[x->n - 1] ? 0 : -1;
}

int syn_tools_messages(const syn_gen_request *r, syn_chat_kind kind, const syn_chat_msg *msgs, size_t n_msgs,
                       syn_chat_msg **out, size_t *n, syn_tools_scratch *scratch, syn_http_error *e)
{
    *out = NULL;
    *n = 0;
    memset(scratch, 0, sizeof *scratch);
    syn_chat_msg *m = calloc(n_msgs + 1, sizeof *m);
    if (!m)
        return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    size_t k = 0;
    /* the request's messages begin after those the server put first (a
     * specialist's prompt, the known facts): r's own index is i - offset */
    size_t offset = n_msgs - r->n_msgs;
    int shown = !syn_gen_request_tools_on(r);
    for (size_t i = 0; i < n_msgs; i++) {
        size_t own = i >= offset ? i - offset : (size_t)-1;
        json_object *calls = own != (size_t)-1 && r->msg_calls ? r->msg_calls[own] : NULL;
        int tool = !strcmp(msgs[i].role, "tool");
        if (!shown && strcmp(msgs[i].role, "system")) { /* the tools go in a system turn of their own, first */
            strb t = {0};
            tools_block(&t, r, kind);
            if (keep(scratch, &t))
                goto nomem;
            m[k++] = (syn_chat_msg){.role = "system", .content = scratch->s[scratch->n - 1]};
            shown = 1;
        }
        if (!shown && !strcmp(msgs[i].role, "system") && (i + 1 == n_msgs || strcmp(msgs[i + 1].role, "system"))) {
            /* the last of the leading system turns carries them */
            strb t = {0};
            adds(&t, msgs[i].content);
            adds(&t, "\n\n");
            tools_block(&t, r, kind);
            if (keep(scratch, &t))
                goto nomem;
            m[k++] = (syn_chat_msg){.role = "system", .content = scratch->s[scratch->n - 1]};
            shown = 1;
            continue;
        }
        if (calls) {
            strb t = {0};
            adds(&t, msgs[i].content);
            for (size_t c = 0; c < json_object_array_length(calls); c++) {
                if (t.len)
                    adds(&t, "\n");
                call_text(&t, json_object_array_get_idx(calls, c), kind);
            }
            if (keep(scratch, &t))
                goto nomem;
            m[k++] = (syn_chat_msg){.role = "assistant", .content = scratch->s[scratch->n - 1]};
        } else if (tool && kind == SYN_CHAT_CHATML) {
            /* results in a user turn, each in <tool_response>; a run of them in one */
            strb t = {0};
            if (k > 0 && !strcmp(m[k - 1].role, "user") && i > 0 && !strcmp(msgs[i - 1].role, "tool")) {
                adds(&t, m[k - 1].content);
                adds(&t, "\n");
                k--;
            }
            adds(&t, "<tool_response>\n");
            adds(&t, msgs[i].content);
            adds(&t, "\n</tool_response>");
            if (keep(scratch, &t))
                goto nomem;
            m[k++] = (syn_chat_msg){.role = "user", .content = scratch->s[scratch->n - 1]};
        } else if (tool)
            m[k++] = (syn_chat_msg){.role = "ipython", .content = msgs[i].content};
        else
            m[k++] = msgs[i];
    }
    if (!shown) { /* only system turns: the tools after them */
        strb t = {0};
        tools_block(&t, r, kind);
        if (keep(scratch, &t))
            goto nomem;
        m[k++] = (syn_chat_msg){.role = "system", .content = scratch->s[scratch->n - 1]};
    }
    *out = m;
    *n = k;
    return 0;
nomem:
    syn_tools_messages_free(m, scratch);
    return syn_http_fail(e, 500, "server_error", NULL, NULL, "out of memory");
}

void syn_tools_messages_free(syn_chat_msg *out, syn_tools_scratch *scratch)
{
    for (size_t i = 0; i < scratch->n; i++)
        free(scratch->s[i]);
    free(scratch->s);
    memset(scratch, 0, sizeof *scratch);
    free(out);
}

int syn_tools_forced(const syn_gen_request *r)
{
    return r->tools && (r->tool_choice == SYN_TOOLS_REQUIRED || r->tool_choice == SYN_TOOLS_NAMED);
}

const char *syn_tools_prefill(syn_chat_kind kind) { return kind == SYN_CHAT_CHATML ? "<tool_call>\n" : ""; }

int syn_tools_schema(const syn_gen_request *r, syn_chat_kind kind, syn_jschema **out, syn_http_error *e)
{
    json_object *names = json_object_new_array(), *args = NULL;
    size_t n = json_object_array_length(r->tools);
    for (size_t i = 0; i < n; i++) {
        json_object *tool = json_object_array_get_idx(r->tools, i);
        if (r->tool_choice == SYN_TOOLS_NAMED && strcmp(name_of(tool), r->tool_name))
            continue;
        json_object_array_add(names, json_object_new_string(name_of(tool)));
        if (!args || json_object_array_length(names) == 1) {
            json_object *p = json_object_object_get(fn_of(tool), "parameters");
            json_object_put(args);
            args = p ? json_object_get(p) : NULL;
        }
    }
    if (json_object_array_length(names) != 1 || !args) { /* a choice among several: any object */
        json_object_put(args);
        args = json_object_new_object();
        json_object_object_add(args, "type", json_object_new_string("object"));
    }
    json_object *schema = json_object_new_object(), *props = json_object_new_object(), *name = json_object_new_object(),
                *req = json_object_new_array();
    json_object_object_add(name, "enum", names);
    json_object_object_add(props, "name", name);
    const char *args_key = kind == SYN_CHAT_CHATML ? "arguments" : "parameters";
    json_object_object_add(props, args_key, args);
    json_object_object_add(schema, "type", json_object_new_string("object"));
    json_object_object_add(schema, "properties", props);
    json_object_array_add(req, json_object_new_string("name"));
    json_object_array_add(req, json_object_new_string(args_key));
    json_object_object_add(schema, "required", req);
    syn_error err = {0};
    int rc = syn_jschema_compile(schema, out, &err);
    json_object_put(schema);
    return rc ? syn_http_fail(e, 400, "invalid_request_error", NULL, "tools",
                              "a required call is decoded under its function's parameters, and those cannot be: %s",
                              err.msg)
              : 0;
}

/* A call read from JSON text, if it names one of r's tools. */
static json_object *read_call(const syn_gen_request *r, const char *s, size_t n)
{
    json_tokener *tk = json_tokener_new();
    json_object *o = tk ? json_tokener_parse_ex(tk, s, (int)n) : NULL;
    if (tk)
        json_tokener_free(tk);
    json_object *name = json_object_object_get(o, "name"), *args = json_object_object_get(o, "arguments");
    if (!args)
        args = json_object_object_get(o, "parameters");
    int known = 0;
    for (size_t i = 0; json_object_is_type(name, json_type_string) && !known && i < json_object_array_length(r->tools);
         i++)
        known = !strcmp(json_object_get_string(name), name_of(json_object_array_get_idx(r->tools, i)));
    if (!known || (args && !json_object_is_type(args, json_type_object))) {
        json_object_put(o);
        return NULL;
    }
    json_object *call = json_object_new_object(), *f = json_object_new_object();
    char id[40];
    syn_random_id("call_", id, sizeof id);
    json_object_object_add(call, "id", json_object_new_string(id));
    json_object_object_add(call, "type", json_object_new_string("function"));
    json_object_object_add(f, "name", json_object_get(name));
    json_object_object_add(f, "arguments", json_object_new_string(args ? json_text(args) : "{}"));
    json_object_object_add(call, "function", f);
    json_object_put(o);
    return call;
}

static char *trimmed(const char *s, size_t n)
{
    while (n && strchr(" \t\r\n", *s)) {
        s++;
        n--;
    }
    while (n && strchr(" \t\r\n", s[n - 1]))
        n--;
    char *c = n ? strndup(s, n) : NULL;
    return c;
}

json_object *syn_tools_parse(const syn_gen_request *r, syn_chat_kind kind, int forced, const char *text, size_t len,
                             char **content)
{
    *content = NULL;
    json_object *calls = json_object_new_array(), *one;
    if (forced || kind != SYN_CHAT_CHATML) {
        /* the whole answer is a call (Llama 3 calls in bare JSON) */
        if ((one = read_call(r, text, len)))
            json_object_array_add(calls, one);
        else
            *content = trimmed(text, len);
    } else {
        strb rest = {0};
        const char *p = text, *end = text + len;
        while (p < end) {
            const char *open = memmem(p, (size_t)(end - p), "<tool_call>", 11);
            const char *close = open ? memmem(open, (size_t)(end - open), "</tool_call>", 12) : NULL;
            if (!open || !close) {
                add(&rest, p, (size_t)(end - p));
                break;
            }
            add(&rest, p, (size_t)(open - p));
            const char *body = open + strlen("<tool_call>");
            if ((one = read_call(r, body, (size_t)(close - body))) &&
                (r->parallel_tool_calls || !json_object_array_length(calls)))
                json_object_array_add(calls, one);
            else {
                json_object_put(one);
                add(&rest, open, (size_t)(close + strlen("</tool_call>") - open)); /* not a call: text */
            }
            p = close + strlen("</tool_call>");
        }
        *content = rest.s ? trimmed(rest.s, rest.len) : NULL;
        free(rest.s);
    }
    if (!json_object_array_length(calls)) {
        json_object_put(calls);
        if (!*content && len)
            *content = strndup(text, len);
        return NULL;
    }
    return calls;
}
