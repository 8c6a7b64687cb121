/* Ollama's API on the same port (ollama.c: chat, generate, embeddings;
 * ollama_models.c: version, tags, ps, show), and what both files share. */
#ifndef SYN_CORE_SERVER_OLLAMA_H
#define SYN_CORE_SERVER_OLLAMA_H

#include <time.h>

#include "core/server/internal.h"

/* GET /api/version, /api/tags, /api/ps; POST /api/show */
int syn_ollama_models(struct mg_connection *c, syn_server *s, const char *uri, const char *body, size_t len);
/* Ollama's error: {"error": msg}. Returns status. */
int syn_ollama_send_error(struct mg_connection *c, const syn_server *s, int status, const char *msg);
/* A model name without Ollama's ":latest" tag; -1 when too long for out. */
int syn_ollama_model_name(const char *asked, char *out, size_t n);
/* Ollama's timestamps: RFC 3339 in UTC with nanoseconds. */
void syn_ollama_time(time_t t, long nsec, char *out, size_t n);
void syn_ollama_now(char *out, size_t n);

#endif
