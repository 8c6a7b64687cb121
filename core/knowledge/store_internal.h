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

#endif
