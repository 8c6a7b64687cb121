/* Another API in front of the OpenAI path: Ollama's, OpenAI's Responses.
 * Its route reads its own request, writes the OpenAI request that means
 * the same, and runs it through the chat or embedding route with a dialect
 * attached to the connection. Everything that route sends (a whole body,
 * an error, a stream's head, chunks and end) goes through the dialect,
 * which translates it into its own shape. So routing, specialists, tools,
 * knowledge, confidence and fallback serve every API from one place. */
#ifndef SYN_CORE_SERVER_DIALECT_H
#define SYN_CORE_SERVER_DIALECT_H

#include "core/server/internal.h"

typedef struct syn_dialect syn_dialect;
struct syn_dialect {
    /* A whole response (o: an OpenAI body or error, taken); returns status. */
    int (*whole)(syn_dialect *d, struct mg_connection *c, const syn_server *s, int status, json_object *o,
                 const char *extra_headers);
    /* A stream: its head, each chunk (taken), its end; -1 when the client
     * is gone. */
    int (*head)(syn_dialect *d, struct mg_connection *c, const syn_server *s, const char *extra_headers);
    int (*chunk)(syn_dialect *d, struct mg_connection *c, json_object *o);
    int (*end)(syn_dialect *d, struct mg_connection *c);
};

typedef enum syn_dialect_route { SYN_DIALECT_CHAT, SYN_DIALECT_COMPLETION, SYN_DIALECT_EMBED } syn_dialect_route;
/* Runs the OpenAI request (its body as a tree, borrowed) on route with d
 * translating what is sent; returns the status sent. */
int syn_dialect_run(syn_dialect *d, struct mg_connection *c, syn_server *s, syn_dialect_route route,
                    json_object *request);
/* The dialect the connection's request speaks; NULL: OpenAI's. */
syn_dialect *syn_dialect_of(const struct mg_connection *c);

/* ---- what a dialect sends with */
/* A body as it is, with Content-Length. */
int syn_send_raw(struct mg_connection *c, const syn_server *s, int status, const char *ctype, const char *body,
                 size_t len, const char *extra_headers);
/* A streamed head of content type ctype (no length: the body ends at close). */
void syn_send_stream_head(struct mg_connection *c, const syn_server *s, const char *ctype, const char *extra_headers);
/* Bytes of a stream; -1 when the client is gone. */
int syn_send_bytes(struct mg_connection *c, const char *bytes, size_t n);
/* OpenAI's error body's message, "" when o is not one. */
const char *syn_error_message(json_object *o);

/* ---- the dialects' routes */
/* Ollama's /api/... (ollama.c) */
int syn_route_ollama(struct mg_connection *c, syn_server *s, const char *body, size_t len);
/* POST /v1/responses (responses.c) */
int syn_route_responses(struct mg_connection *c, syn_server *s, const char *body, size_t len);

#endif
