/* The cloud fallback's decisions and calls (fallback.c), for generate.c. */
#ifndef SYN_CORE_SERVER_FALLBACK_H
#define SYN_CORE_SERVER_FALLBACK_H

#include "core/server/answer.h"

/* 1 when the upstream answers before the local model (why: the reason). */
int syn_fallback_first(const gen_ctx *g, char *why, size_t n);
/* 1 when a finished local answer of that confidence goes upstream. */
int syn_fallback_after(const gen_ctx *g, double confidence, char *why, size_t n);
/* The upstream's whole answer (not streamed). */
int syn_fallback_call(const gen_ctx *g, char **text, size_t *len, syn_error *err);
/* Streams the upstream's answer to the client; *handled 0 when it failed
 * before anything was sent (the reason is in the route; the local model
 * answers). Returns the status. */
int syn_fallback_stream(struct mg_connection *c, gen_ctx *g, int *handled);
/* The upstream's answer as served: recorded, kept as a pair over local
 * (NULL: none; else counted, with local_conf, in who would have answered's
 * record), and a failure of theirs (mode auto). */
void syn_fallback_keep(gen_ctx *g, const char *answer, size_t len, const char *local, double local_conf);

/* Sends the upstream's answer as the response (not streamed) and keeps it. */
int syn_fallback_send(struct mg_connection *c, gen_ctx *g, const char *text, size_t len, const char *local,
                      double local_conf);

#endif
