/* Tool calling (tools.c): a request's tools and tool messages rendered
 * into plain messages for the model's template family, the schema a
 * required call is decoded under, and the calls read back out of the
 * answer. ChatML models (Qwen2.5, Hermes) call as
 * <tool_call>{"name", "arguments"}</tool_call> and get results in
 * <tool_response>; Llama 3 answers {"name", "parameters"} and gets results
 * in an ipython turn. */
#ifndef SYN_CORE_SERVER_TOOLS_H
#define SYN_CORE_SERVER_TOOLS_H

#include <synapse/chat.h>

#include "core/server/request.h"

/* The messages as the template renders them (*out, of *n; its strings in
 * *scratch, free both with syn_tools_messages_free): tools shown in the
 * system turn (unless tool_choice none), assistant calls and tool results
 * written in the family's own form. */
typedef struct syn_tools_scratch {
    char **s;
    size_t n;
} syn_tools_scratch;
int syn_tools_messages(const syn_gen_request *r, syn_chat_kind kind, const syn_chat_msg *msgs, size_t n_msgs,
                       syn_chat_msg **out, size_t *n, syn_tools_scratch *scratch, syn_http_error *e);
void syn_tools_messages_free(syn_chat_msg *out, syn_tools_scratch *scratch);

/* 1 when r's answer must be a call (required, or a named function). */
int syn_tools_forced(const syn_gen_request *r);
/* What the assistant's turn starts with when forced ("<tool_call>\n" for
 * ChatML; "" else): the model goes on from there. */
const char *syn_tools_prefill(syn_chat_kind kind);
/* The schema a forced call is decoded under: {"name": the function (one of
 * them for required), the arguments by its parameters (any object when
 * required chooses among several)}. */
int syn_tools_schema(const syn_gen_request *r, syn_chat_kind kind, syn_jschema **out, syn_http_error *e);

/* The calls in an answer: [{"id", "type", "function": {"name",
 * "arguments"}}] (NULL: none, the answer is text), and *content the text
 * outside them (malloc'ed; NULL when there is none). forced: the whole
 * answer is one call's JSON. */
json_object *syn_tools_parse(const syn_gen_request *r, syn_chat_kind kind, int forced, const char *text, size_t len,
                             char **content);

#endif
