/* One answer being served (a generation request's state once its job is
 * queued) and the pieces of its response that generate.c and cloud.c
 * share: the envelope, SSE chunks, the "synapse" object, the header, the
 * record in the store. */
#ifndef SYN_CORE_SERVER_ANSWER_H
#define SYN_CORE_SERVER_ANSWER_H

#include "core/server/internal.h"

typedef struct gen_ctx {
    syn_server *s;
    const syn_base *base; /* the model the request runs on */
    const syn_gen_request *r;
    syn_job *job;                /* NULL while the upstream answers */
    const char *specialist;      /* the one answering, NULL: the base model */
    syn_chat_route *route;       /* chat only */
    json_object *swarm;          /* a swarm's answers, [{"name", "content"}], else NULL */
    int constrained;             /* response_format: the answer follows a schema */
    int upstream;                /* the answer served is the upstream's: no one's here */
    json_object *verification;   /* choice 0's claims, labelled; NULL: not verified */
    json_object *knowledge;      /* the ids of the facts in the prompt; NULL: none */
    char id[48];
    long created;
} gen_ctx;

json_object *syn_gen_envelope(const gen_ctx *g, int chunk);
/* A stream's error event: {"error": {message, type server_error, param
 * null, code}} (code NULL: null). */
json_object *syn_gen_error_event(const char *msg, const char *code);
/* One SSE event of o (taken); -1 when the client is gone. */
int syn_gen_sse(struct mg_connection *c, json_object *o);
json_object *syn_gen_chunk(const gen_ctx *g, int index, const char *text, size_t len, int role, json_object *lp,
                           const char *finish);
json_object *syn_gen_usage(int64_t prompt, int64_t gen);
/* "synapse": the route, the confidence (< 0: null), a swarm's answers. */
json_object *syn_gen_synapse(const gen_ctx *g, double confidence);
/* The X-Synapse-Specialist header line. */
void syn_gen_header(const gen_ctx *g, char *buf, size_t n);
/* Who answered: a name, a swarm's names joined by sep, NULL: the base. */
const char *syn_gen_who(const gen_ctx *g, char sep, char *buf, size_t n);
/* An outcome for the router: of who answered (nothing for the base
 * model); what names it in a log line if the router fails. */
void syn_gen_outcome(const gen_ctx *g, float reward, const char *what);
/* The answers as served, into the store. */
void syn_gen_record(const gen_ctx *g, const char *const *texts, const size_t *lens, int n, const double *conf);

#endif
