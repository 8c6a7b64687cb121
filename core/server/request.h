/* Parsing and validation of OpenAI request bodies (json-c) into what the
 * scheduler needs, with OpenAI-shaped errors. Any HTTP thread; no shared
 * state. */
#ifndef SYN_CORE_SERVER_REQUEST_H
#define SYN_CORE_SERVER_REQUEST_H

#include <json-c/json.h>
#include <stddef.h>

#include <synapse/chat.h>
#include "core/sample/json_schema.h"
#include <synapse/generate.h>
#include <synapse/sampler.h>

#define SYN_MAX_STOPS 16
#define SYN_MAX_N 16

/* An error for the client: HTTP status and OpenAI's error fields. */
typedef struct syn_http_error {
    int status;
    const char *type;  /* invalid_request_error, not_found_error, server_error, ... */
    const char *code;  /* NULL or e.g. "model_not_found" */
    char param[64];    /* "" for none */
    char message[512];
} syn_http_error;

int syn_http_fail(syn_http_error *e, int status, const char *type, const char *code, const char *param,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

typedef enum syn_route_kind { SYN_REQ_CHAT, SYN_REQ_COMPLETION } syn_route_kind;

#define SYN_MAX_PROMPTS 16 /* a completion's prompt list */

/* tool_choice */
typedef enum syn_tool_choice {
    SYN_TOOLS_AUTO = 0, /* the model may call one (the default with tools) */
    SYN_TOOLS_NONE,     /* it answers in text; the tools are not shown to it */
    SYN_TOOLS_REQUIRED, /* it calls one, by constrained decoding */
    SYN_TOOLS_NAMED,    /* it calls tool_name, by constrained decoding */
} syn_tool_choice;

#define SYN_TOOL_NAME_MAX 64

typedef struct syn_gen_request {
    syn_route_kind kind;
    char model[256];
    syn_chat_msg *msgs; /* chat: borrowed from the json tree */
    size_t n_msgs;
    const char *prompt;       /* completion: a text prompt, borrowed (the first, of several) */
    const char *prompts[SYN_MAX_PROMPTS]; /* completion: a prompt list, borrowed */
    int n_prompts;            /* 2 or more: a list, answered a job each */
    const char *known_facts;  /* chat: facts for the prompt, a system message (the server's, not parsed) */
    int32_t *prompt_ids;      /* completion: a prompt given as token ids (malloc'ed) */
    size_t n_prompt_ids;
    int n;
    int32_t max_tokens;       /* 0: up to the context */
    syn_sampler_params sp;
    char *stops[SYN_MAX_STOPS]; /* malloc'ed */
    size_t n_stops;
    int logprobs, top_logprobs;
    int stream, include_usage;
    syn_jschema *schema;      /* owned until handed to a job */
    syn_logit_bias *bias;     /* logit_bias, malloc'ed; token ids checked against the vocabulary later */
    size_t n_bias;
    /* chat: tool calling */
    json_object *tools;       /* [{"type": "function", "function": {...}}], borrowed; NULL: none */
    int tool_choice;          /* syn_tool_choice */
    char tool_name[SYN_TOOL_NAME_MAX + 1];
    int parallel_tool_calls;  /* default 1 */
    int no_thinking;          /* chat_template_kwargs.enable_thinking false, or reasoning_effort none */
    json_object **msg_calls;  /* per message: an assistant's tool_calls (borrowed); NULL when no message has any */
    int tool_results;         /* a message is a tool's result */
} syn_gen_request;

/* Parses the body into a json tree (*root, caller puts it) and fills r.
 * 0, or -1 with e filled (400). */
int syn_request_parse_json(const char *body, size_t len, json_object **root, syn_http_error *e);
int syn_request_parse_gen(json_object *root, syn_route_kind kind, syn_gen_request *r, syn_http_error *e);
void syn_gen_request_free(syn_gen_request *r);
/* A chat request's last user message, "" when it has none: what the
 * router, the knowledge store and a swarm's synthesis read as its query. */
const char *syn_gen_request_query(const syn_gen_request *r);
/* 1 when tools, calls or results are part of the request (its messages
 * are rendered by tools.c, and only one model answers it). */
int syn_gen_request_tooled(const syn_gen_request *r);
/* 1 when the model is shown tools (tools given, tool_choice not none). */
int syn_gen_request_tools_on(const syn_gen_request *r);

typedef struct syn_embed_request {
    char model[256];
    const char **texts;   /* borrowed */
    int32_t **ids;        /* or token-id inputs (malloc'ed) */
    size_t *n_ids;
    size_t n_inputs;
    int base64;
    int32_t dimensions; /* 0: the model's; else truncated to this many and renormalised */
} syn_embed_request;

int syn_request_parse_embed(json_object *root, syn_embed_request *r, syn_http_error *e);
void syn_embed_request_free(syn_embed_request *r);

#endif
