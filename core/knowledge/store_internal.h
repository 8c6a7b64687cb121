/* Inside the store: its connection and lock, shared by store.c (opening,
 * the schema, transactions) and records.c (what the server writes and
 * reads). */
#ifndef SYN_CORE_KNOWLEDGE_INTERNAL_H
#define SYN_CORE_KNOWLEDGE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "core/knowledge/store.h"

struct syn_store {
    sqlite3 *db;
    pthread_mutex_t mu; /* one transaction at a time on the connection */
    char path[4096];
};

/* Takes the lock and opens a write transaction (BEGIN IMMEDIATE). */
int syn_store_begin(syn_store *st, syn_error *err);
/* Commits (ok) or rolls back, and lets the lock go; returns rc, or the
 * commit's failure. */
int syn_store_end(syn_store *st, int rc, syn_error *err);
/* err from the connection's last error, with what was being done. */
int syn_store_fail(syn_store *st, syn_error *err, const char *what);
/* A statement prepared on the connection, or NULL with err set. */
sqlite3_stmt *syn_store_prepare(syn_store *st, const char *sql, syn_error *err);

/* With the lock held: each row of q (bound already) made an object by row
 * (NULL: skipped) into the array *out; finalizes q and lets the lock go. */
int syn_store_list(syn_store *st, sqlite3_stmt *q, const char *what, json_object *(*row)(sqlite3_stmt *),
                   json_object **out, syn_error *err);
/* Steps a statement that returns no row, then finalizes it. */
int syn_store_run(syn_store *st, sqlite3_stmt *q, const char *what, syn_error *err);
double syn_store_now(void); /* Unix seconds */

/* Inside a transaction (routing.c): one answer more for (specialist,
 * domain), one rating more, and a route's row. */
int syn_store_count_answer(syn_store *st, const char *specialist, const char *domain, double confidence,
                           syn_error *err);
int syn_store_count_rating(syn_store *st, const char *specialist, const char *domain, int rating, double confidence,
                           syn_error *err);
int syn_store_add_route(syn_store *st, const char *response_id, const char *mode, const char *domain,
                        const char *decision_json, syn_error *err);

#endif
