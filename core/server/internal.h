/* State shared by the server's files: the loaded model and its tokenizer,
 * the scheduler, metrics, and the response helpers every route uses.
 * Set up on the main thread before civetweb starts; read-only afterwards
 * (metrics and scheduler lock themselves), so HTTP threads share it freely. */
#ifndef SYN_CORE_SERVER_INTERNAL_H
#define SYN_CORE_SERVER_INTERNAL_H

#include <civetweb.h>
#include <pthread.h>
#include <json-c/json.h>

#include <synapse/sched.h>
#include <synapse/session.h>

#include "core/config/config.h"
#include "core/server/metrics.h"
#include "core/server/request.h"
#include "core/server/server.h"
#include "core/knowledge/extractor.h"
#include "core/knowledge/store.h"
#include "core/swarm/router.h"
#include "core/swarm/swarm.h"

/* A base model with what serves it: its tokenizer, chat template and
 * scheduler. The server's own, and one per distinct file specialists name
 * as base_model (loaded when first named, kept until the server stops). */
typedef struct syn_base {
    char *path; /* the file, resolved (realpath) */
    syn_session sess;
    syn_model *model; /* sess.model; NULL: no model, inference routes answer 503 */
    syn_tokenizer *tok;
    syn_chat_template tmpl; /* the model's, or ChatML when it has none we know */
    char name[256];         /* its id in /v1/models */
    syn_sched *sched;
} syn_base;

#define SYN_SERVER_MAX_BASES 8 /* base models besides the server's own */

struct syn_server {
    syn_config cfg;
    pthread_rwlock_t keys_lock; /* cfg.api_keys, which a reload replaces */
    int in_flight;              /* handlers running (atomic), which a stop lets answer */
    syn_base main;              /* the server's model */
    /* specialists' other base models: appended under bases_mu, never
     * removed while serving, so a pointer taken stays valid */
    pthread_mutex_t bases_mu;
    syn_base *bases[SYN_SERVER_MAX_BASES];
    int n_bases;
    syn_swarm *swarm; /* the specialists; NULL without a model */
    syn_store *store; /* data_dir/synapse.db */
    syn_router *router; /* NULL: none found; "synapse" is then the base model */
    int curl_ready;     /* libcurl's global init done: stop owes a cleanup */
    syn_capability *extractor; /* NULL: none found */
    syn_capability *verifier;  /* NULL: none found; answers carry no verification */
    syn_capability *spawner;   /* NULL: none found; nothing is proposed */
    pthread_mutex_t spawn_mu;  /* one proposal run at a time */
    pthread_mutex_t accept_mu; /* one accepted proposal at a time */
    syn_metrics metrics;
    struct mg_context *mg;
    struct syn_gate *gate; /* the public socket, in front of civetweb */
    int port;
    double t_start;
    long created; /* unix time the model was loaded, for /v1/models */
};

/* ---- the client's connection (server_conn.c) */
/* The socket of c, -1 if it cannot be found (then the client is assumed to
 * stay). */
int syn_conn_socket(const struct mg_connection *c);
/* 1 when the peer of socket fd has closed or reset it; never blocks. */
int syn_conn_gone(int fd);

/* Waits for job j while watching c's client (server_generate.c): -1 when
 * the client left (the job is then cancelled), else the state it ended in. */
int syn_wait_watching(struct mg_connection *c, syn_job *j);
/* The error of failed job j: 503 when the server stopped it, else 500. */
int syn_send_job_error(struct mg_connection *c, const syn_server *s, syn_job *j);

/* ---- responses (server_response.c) */
/* Sends a complete response; body is JSON text. Returns status. */
int syn_send_json(struct mg_connection *c, const syn_server *s, int status, const char *body);
int syn_send_json_obj(struct mg_connection *c, const syn_server *s, int status, json_object *o);
/* The same with more header lines (each ending in \r\n). */
int syn_send_json_obj_headers(struct mg_connection *c, const syn_server *s, int status, json_object *o,
                              const char *extra);
int syn_send_text(struct mg_connection *c, const syn_server *s, int status, const char *ctype, const char *body,
                  size_t len);
int syn_send_error(struct mg_connection *c, const syn_server *s, const syn_http_error *e);
int syn_send_error_msg(struct mg_connection *c, const syn_server *s, int status, const char *type, const char *code,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* The CORS header lines (empty when CORS is off). */
const char *syn_cors_headers(const syn_server *s, char *buf, size_t n);
/* A JSON string of possibly invalid UTF-8 bytes (bad sequences become U+FFFD). */
json_object *syn_json_string_utf8(const char *bytes, size_t n);
/* Base64 of n bytes into a malloc'ed NUL-terminated string. */
char *syn_base64(const void *data, size_t n);
void syn_random_id(const char *prefix, char *out, size_t n);

/* ---- inference routes (server_generate.c, server_embed.c) */
int syn_route_generate(struct mg_connection *c, syn_server *s, syn_route_kind kind, const char *body, size_t len);
int syn_route_embeddings(struct mg_connection *c, syn_server *s, const char *body, size_t len);
/* What a request's "model" names: 0 with *sp NULL for the base model
 * ("synapse" or its own name), 0 with *sp a specialist (a reference, for
 * the request's whole life) for "synapse/<name>", else e filled (404). */
int syn_server_resolve_model(syn_server *s, const char *name, syn_specialist **sp, const syn_base **base,
                             syn_http_error *e);
/* The base a request runs on: sp's base model, or the server's (sp NULL). */
const syn_base *syn_server_base_of(syn_server *s, const syn_specialist *sp);
/* The other base model of that /v1/models name, or NULL. */
const syn_base *syn_server_base_named(syn_server *s, const char *name);
/* The prompt's token ids for request r on base b, with sp's system prompt
 * first (sp NULL: none); it must leave room for one generated token. */
int syn_server_build_prompt(const syn_server *s, const syn_base *b, const syn_gen_request *r, const syn_specialist *sp,
                            int32_t **ids, size_t *n, syn_http_error *e);
/* The tokens a choice may generate: asked (<= 0: up to the context), within
 * limits.max_tokens, which SIGHUP may change. */
int32_t syn_server_token_cap(const syn_server *s, int32_t asked);
/* Runs job j under sp's adapter (none: the base model); 0, or e filled. */
int syn_server_job_adapter(const syn_server *s, syn_job *j, syn_specialist *sp, syn_http_error *e);

/* ---- /api/specialists (server_specialists.c) */
int syn_route_specialists(struct mg_connection *c, syn_server *s, const char *body, size_t len);
/* The router sees the swarm as it is now (a failure is logged: the
 * change itself stands). */
void syn_server_tell_router(syn_server *s);

/* ---- the store's routes and the record of answers (feedback.c) */
/* POST /api/feedback, GET /api/preferences */
int syn_route_store(struct mg_connection *c, syn_server *s, const char *body, size_t len);
/* Records a chat request that job j answered (every choice, whole), before
 * the client has all of the answer: a response id the client sees can be
 * rated. A failure is logged; the answer still goes out. */
typedef struct syn_answer_route {
    const char *specialist; /* NULL: the base model, or the swarm's synthesis */
    const char *const *members; /* a swarm's names */
    int n_members;
    const char *domain;
    const char *mode;       /* "single", ... */
    json_object *full;      /* the decision with every specialist's scores; NULL: none to record */
} syn_answer_route;
void syn_server_record_chat(syn_server *s, const char *response_id, const char *model, const syn_answer_route *route,
                            const syn_chat_msg *msgs, size_t n_msgs, const char *const *texts, const size_t *lens,
                            int n, const double *confidence);

/* ---- routing and confidence (route.c) */
/* The base model's pooled unit embedding of text (its first context_size
 * tokens), blocking: the dimension, or 0 with err set. */
int32_t syn_server_embed_text(void *server, const char *text, float *out, int32_t cap, syn_error *err);
/* A generation for a plugin (the host API's generate, generation_read,
 * generation_free): greedy, by the base model, queued like a request. */
syn_host_generation *syn_server_generate_start(void *server, const char *system, const char *user, int32_t max_tokens,
                                               syn_error *err);
int32_t syn_server_generate_read(void *server, syn_host_generation *g, char *buf, int32_t cap, syn_error *err);
void syn_server_generate_free(void *server, syn_host_generation *g);
/* An answer's confidence in [0, 1]: the model's own view of its tokens
 * (syn_gen_stats), calibrated by (specialist, domain)'s ratings so far. */
double syn_server_confidence(syn_server *s, const char *specialist, const char *domain, const syn_gen_stats *st);
/* Who answers a chat request: for "synapse" the router's choice (or the
 * base model), else the specialist or base the request names. *sp gets a
 * reference (NULL: the base); out the route as recorded and shown. */
typedef struct syn_chat_route {
    json_object *full; /* {"mode", "domain", "specialists", "reason", "scores"} */
    char domain[64];
    const char *mode;
    /* mode swarm: the specialists that answer in parallel (references);
     * the base model merges their answers */
    syn_specialist *members[SYN_ROUTE_MAX_CHOSEN];
    int n_members;
} syn_chat_route;
int syn_server_route_chat(syn_server *s, const syn_gen_request *r, syn_specialist **sp, const syn_base **base,
                          syn_chat_route *out, syn_http_error *e);
void syn_chat_route_free(syn_chat_route *r);
/* A response's "synapse" object: {"route": (without the scores), "confidence"
 * (null when < 0: an upstream's answer)}. */
json_object *syn_chat_route_public(const syn_chat_route *r, double confidence);
/* Sets the route's mode (unless NULL) and its reason, or adds to it. */
void syn_chat_route_set(syn_chat_route *r, const char *mode, const char *reason, int append);
/* ---- swarm answers (swarm.c) */
/* A swarm's parts and what merges them: each member answers r alone (all
 * queued at once, so they share the scheduler's steps), then the synthesis
 * request (*synth, whose messages live in *scratch) asks the base model to
 * merge their answers. 0, or the status of the error already sent (499:
 * the client left). answers gets each member's {"name", "content"}. */
typedef struct syn_swarm_scratch {
    syn_chat_msg msgs[2];
    char *user;
} syn_swarm_scratch;
int syn_server_swarm(struct mg_connection *c, syn_server *s, const syn_gen_request *r, const syn_chat_route *route,
                     int32_t max_tokens, syn_gen_request *synth, syn_swarm_scratch *scratch, json_object **answers);
void syn_swarm_scratch_free(syn_swarm_scratch *x);

/* ---- /api/knowledge/... (knowledge.c) */
int syn_route_knowledge(struct mg_connection *c, syn_server *s, const char *body, size_t len);
/* The known facts related to query, as a system message within
 * knowledge.prompt_tokens tokens of b's tokenizer ("Facts known to be
 * true:" then "- subject predicate object" lines, "- not: ..." for a
 * negated one), malloc'ed, and the ids of those in it (*ids); NULL: none. */
char *syn_server_known_facts(syn_server *s, const syn_base *b, const char *query, json_object **ids);
/* An answer's claims, labelled by the verifier: [{"claim", "label",
 * "fact_id"}], NULL without a verifier (or when it failed, logged);
 * *contradicted when one is. */
json_object *syn_server_verify(syn_server *s, const char *question, const char *answer, int *contradicted);

/* ---- learning from conversation (teach.c) */
/* With learning on and an extractor loaded: the facts in text stored as
 * source's; the ids of those stored (new or reinforced), NULL: none. */
json_object *syn_server_learn(syn_server *s, const char *text, syn_fact_source source);

/* ---- llama.cpp's native routes (native.c): /tokenize, /detokenize, /props */
int syn_route_native(struct mg_connection *c, syn_server *s, const char *body, size_t len);

/* ---- the spawner (spawner.c) */
/* A query no specialist served well (who: the answerer, NULL the base
 * model; why: "low confidence", ...): kept for the spawner, which then
 * reads the recent ones. */
void syn_server_unserved(syn_server *s, const char *query, const char *domain, const char *who, const char *why);
/* GET /api/spawner/proposals, POST /api/spawner/proposals/{id}/accept */
int syn_route_spawner(struct mg_connection *c, syn_server *s);

/* GET /api/routes, GET /api/confidence */
int syn_route_routing(struct mg_connection *c, syn_server *s);
/* Parses ?limit=N (1..max, default def) into *out; 0, or an error sent (its status). */
int syn_query_limit(struct mg_connection *c, syn_server *s, int def, int max, int *out);

#endif
