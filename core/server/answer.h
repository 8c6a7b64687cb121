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
    json_object *learned;        /* the ids of the facts this exchange taught (learning: true); NULL: none */
    int taught;                  /* the user's message was read for facts (once) */
    char id[48];
    long created;
} gen_ctx;

json_object *syn_gen_envelope(const gen_ctx *g, int chunk);
/* A stream's error event: {"error": {message, type server_error, param
 * null, code}} (code NULL: null). */
json_object *syn_gen_error_event(const char *msg, const char *code);
/* A stream's head (200, with the X-Synapse-Specialist header), and its
 * end (OpenAI's [DONE]); -1 when the client is gone. */
void syn_gen_stream_head(struct mg_connection *c, const gen_ctx *g);
int syn_gen_stream_done(struct mg_connection *c);
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

/* The facts the user's message states, stored (learning: true) once the
 * request is taken: before its prompt is built, so the prompt has them. */
void syn_gen_learn(gen_ctx *g);
/* Choice 0's claims against the known facts, into g->verification; a
 * contradiction is a failure of who answered. */
void syn_gen_verify(gen_ctx *g, const char *answer);

/* ---- a specialist in code's answer (code_answer.c) */
/* Serves sp's answer to g's request; *handled 0 when nothing was sent and
 * the base model answers instead (the reason is in the route): the plugin
 * could not answer, or "synapse" chose it for a request that asks what
 * only a model does (n > 1, logprobs, a schema, stop strings; a request
 * that names it so is refused, 400 naming the field). Returns the status. */
int syn_code_answer(struct mg_connection *c, gen_ctx *g, const syn_specialist *sp, int *handled);

/* ---- answers made as text, outside the scheduler (text_answer.c) */
/* A stream of one: pieces go out as chunks, the head with the first. */
typedef struct syn_text_stream {
    struct mg_connection *c;
    const gen_ctx *g;
    int started, gone;
    char held[4]; /* the start of a character a piece cut, sent with the next */
    size_t n_held;
} syn_text_stream;
/* One piece (a syn_text_fn); nonzero when the client is gone. */
int syn_text_stream_piece(void *user, const char *text, size_t len);
/* The end: the finish chunk (finish: "stop", "length"), the "synapse"
 * chunk and [DONE], or, with error, its event (code: the error's code)
 * instead. 200, or 499 when the client left. Starts the stream if no piece
 * did (an empty answer). */
int syn_text_stream_end(syn_text_stream *x, const char *finish, const char *error, const char *code);
/* The whole answer as a response (not streamed). */
int syn_text_answer_send(struct mg_connection *c, const gen_ctx *g, const char *text, size_t len,
                         const char *finish);

#endif
