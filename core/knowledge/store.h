/* The store: SQLite at data_dir/synapse.db, what the server remembers of
 * its answers. Conversations and their messages (each answer with its
 * response id and the specialist that gave it), feedback on answers, and
 * preference pairs (a better answer beside the one given), for the router
 * and the trainer that come later. WAL, foreign keys, a busy timeout, and
 * migrations keyed by PRAGMA user_version, so a file written by this
 * version opens in the next.
 *
 * Threads: one store is shared by every HTTP thread; each call is one
 * transaction, under the store's lock, so concurrent requests never see
 * "database is locked" from each other (and wait up to the busy timeout for
 * another process). A call that returns 0 has committed: with WAL and
 * synchronous=NORMAL the row survives the process being killed (a power
 * loss may take the last commits). */
#ifndef SYN_CORE_KNOWLEDGE_STORE_H
#define SYN_CORE_KNOWLEDGE_STORE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include <synapse/chat.h>
#include <synapse/common.h>
#include <synapse/plugin.h>

#include "core/config/specialist_def.h"

typedef struct syn_store syn_store;

/* The schema version this build writes (PRAGMA user_version). */
#define SYN_STORE_VERSION 4

/* Opens (creating) the database at path and brings its schema up to
 * SYN_STORE_VERSION; a file from a newer version is refused. */
int syn_store_open(const char *path, syn_store **out, syn_error *err);
void syn_store_close(syn_store *st);

/* One answered chat request: its messages, then one answer per choice. */
typedef struct syn_store_exchange {
    const char *response_id;
    const char *model;      /* as the client named it */
    const char *specialist; /* NULL: the base model answered (or the swarm below) */
    const char *const *members; /* a swarm's specialists, n_members of them (specialist NULL) */
    int n_members;
    const syn_chat_msg *msgs;
    size_t n_msgs;
    const char *const *answers; /* n_answers texts, answer_len bytes each */
    const size_t *answer_len;
    int n_answers;
    const char *domain;       /* the route's domain; NULL: "general" */
    const double *confidence; /* n_answers of them; NULL: none */
    const char *route_mode;   /* with route_json: the routes row; NULL: none */
    const char *route_json;
} syn_store_exchange;

int syn_store_record(syn_store *st, const syn_store_exchange *x, syn_error *err);

/* Feedback on choice `choice` of a recorded response: rating 1 or -1, and
 * optionally a better answer, which becomes a preference pair (chosen = the
 * correction, rejected = the answer, prompt = the request's last user
 * message; *pair_id, else 0). SYN_ERR_NOT_FOUND for an unknown response or
 * choice. */
#define SYN_STORE_MAX_MEMBERS 3

typedef struct syn_store_rated {
    char names[SYN_STORE_MAX_MEMBERS][SYN_SPECIALIST_MAX_NAME + 1]; /* who answered */
    int n_names; /* 0: the base model */
    char domain[64];
    char query[1024]; /* the request's last user message, cut at 1023 bytes */
} syn_store_rated;

/* ...and what was rated, for the router's outcome (may be NULL). The
 * specialist's stats for the domain count the rating. */
int syn_store_feedback(syn_store *st, const char *response_id, int choice, int rating, const char *correction,
                       int64_t *feedback_id, int64_t *pair_id, syn_store_rated *rated, syn_error *err);

/* One local answer more for (specialist, domain)'s record, of that
 * confidence, though another was served (the upstream's). */
int syn_store_count_local(syn_store *st, const char *specialist, const char *domain, double confidence,
                          syn_error *err);
/* A pair for recorded response response_id (its prompt the request's last
 * user message): chosen over rejected (NULL: none), for specialist (NULL:
 * none), from source ("cloud"). */
int syn_store_add_pair(syn_store *st, const char *response_id, const char *specialist, const char *chosen,
                       const char *rejected, const char *source, int64_t *pair_id, syn_error *err);

/* The newest `limit` preference pairs, newest first: an array of
 * {"id", "specialist", "prompt", "chosen", "rejected", "source"}. */
int syn_store_preferences(syn_store *st, int limit, json_object **out, syn_error *err);

/* ---- routing (routing.c) */

/* A specialist's record for a domain: the specialist's name, a swarm's
 * names joined by '+', "" for the base model. */
typedef struct syn_store_stats {
    int64_t answers;
    double confidence_sum;
    int64_t rated;
    int64_t rating_sum; /* of +1 and -1 */
    double rated_confidence_sum;
} syn_store_stats;

/* Zeros when there is none yet. */
int syn_store_stats_get(syn_store *st, const char *specialist, const char *domain, syn_store_stats *out,
                        syn_error *err);
/* GET /api/confidence's data: {"specialist", "domain", "answers",
 * "mean_confidence", "rated", "mean_rating"} per specialist and domain. */
int syn_store_confidence(syn_store *st, json_object **out, syn_error *err);
/* The newest `limit` routes, newest first: each decision as recorded, with
 * its response id and time. */
int syn_store_routes(syn_store *st, int limit, json_object **out, syn_error *err);
/* 1 and *out when (domain, key) has a pathway, 0 when not, < 0 on error. */
int syn_store_pathway_get(syn_store *st, const char *domain, const char *key, syn_pathway *out, syn_error *err);
int syn_store_pathway_put(syn_store *st, const char *domain, const char *key, const syn_pathway *p, syn_error *err);

/* ---- facts (facts.c) */

typedef enum syn_fact_source {
    SYN_SOURCE_UPSTREAM = 0, /* a trusted upstream's answer: the least trusted */
    SYN_SOURCE_IMPORT,
    SYN_SOURCE_USER,         /* a user's own statement */
    SYN_SOURCE_API,          /* POST /api/knowledge/facts: the most trusted */
} syn_fact_source;

/* Normalises an entity in place: lowercase (ASCII), leading articles
 * (a, an, the) gone, runs of whitespace one space, no leading or trailing
 * space or final punctuation. */
void syn_fact_normalise(char *s);

/* Adds a fact (normalised here), or reinforces the same one seen before
 * (times_seen, last_seen, confidence up, the more trusted source kept).
 * The opposite claim (the same triple negated the other way; for a
 * predicate of one value, such as "born in", another object), when this
 * source is at least as trusted, loses half its confidence. *id: the
 * fact's; *is_new whether it was added. SYN_ERR_INVALID for an empty
 * part. */
int syn_store_fact_add(syn_store *st, const syn_fact *f, syn_fact_source source, int64_t *id, int *is_new,
                       syn_error *err);
/* SYN_ERR_NOT_FOUND when there is no such fact. */
int syn_store_fact_delete(syn_store *st, int64_t id, syn_error *err);
/* Facts, most confident first: of subject (normalised; NULL: any), matching
 * the words of q (full text; NULL: any), limit from offset. An array of
 * {"id", "subject", "predicate", "object", "negated", "confidence",
 * "source", "first_seen", "last_seen", "times_seen"}. */
int syn_store_facts(syn_store *st, const char *subject, const char *q, int limit, int offset, json_object **out,
                    syn_error *err);
/* The facts of subject and predicate (both normalised here), each with its
 * id through emit, most confident first. */
int syn_store_fact_lookup(syn_store *st, const char *subject, const char *predicate, syn_known_fact_fn emit,
                          void *user, syn_error *err);
/* The facts any word of text (of 3 letters or more) matches, best match
 * first, at most limit: as syn_store_facts. */
int syn_store_facts_related(syn_store *st, const char *text, int limit, json_object **out, syn_error *err);
/* {"facts", "subjects", "by_source": {...}, "by_predicate": {...}} */
int syn_store_fact_stats(syn_store *st, json_object **out, syn_error *err);
/* One fact by id as above; SYN_ERR_NOT_FOUND when none. */
int syn_store_fact_get(syn_store *st, int64_t id, json_object **out, syn_error *err);

/* ---- the spawner's input and proposals (spawns.c) */

/* A query no specialist served well: answered by specialist (NULL: the
 * base model) in domain, and why ("low confidence", "contradicted",
 * "rated down", "fallback"). The newest SYN_STORE_UNSERVED_KEPT are kept. */
#define SYN_STORE_UNSERVED_KEPT 10000
int syn_store_unserved_add(syn_store *st, const char *query, const char *domain, const char *specialist,
                           const char *reason, syn_error *err);
/* The newest limit of them, newest first: *queries malloc'ed strings
 * (free with syn_store_strings_free). */
int syn_store_unserved_recent(syn_store *st, int limit, char ***queries, int *n, syn_error *err);
void syn_store_strings_free(char **s, int n);

/* A proposal as stored. */
typedef struct syn_store_proposal {
    const char *name, *description, *system_prompt, *reason;
    const char *const *capabilities;
    int n_capabilities;
} syn_store_proposal;

/* A proposal added, or the pending one of its name brought up to date;
 * one of an accepted name is left as it is (*id 0). */
int syn_store_proposal_put(syn_store *st, const syn_store_proposal *p, int64_t *id, syn_error *err);
/* [{"id", "name", "description", "system_prompt", "capabilities",
 *   "reason", "status", "created_at", "updated_at"}], newest first. */
int syn_store_proposals(syn_store *st, json_object **out, syn_error *err);
/* One, as above; SYN_ERR_NOT_FOUND when there is none. */
int syn_store_proposal_get(syn_store *st, int64_t id, json_object **out, syn_error *err);
/* Marks it accepted; SYN_ERR_NOT_FOUND when there is none. */
int syn_store_proposal_accepted(syn_store *st, int64_t id, syn_error *err);

#endif
