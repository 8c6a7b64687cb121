/* Opening the store: the connection's settings, the schema and its
 * migrations, and the transaction helpers records.c uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/knowledge/store_internal.h"

/* Migration i takes the schema from version i to i + 1. Append only: a
 * released migration never changes. */
static const char *const migrations[SYN_STORE_VERSION] = {
    /* 1: conversations, messages, feedback, preference pairs */
    "CREATE TABLE conversations ("
    "  id INTEGER PRIMARY KEY,"
    "  model TEXT NOT NULL,"
    "  created_at REAL NOT NULL);"
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY,"
    "  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),"
    "  content TEXT NOT NULL,"
    "  response_id TEXT,"  /* answers only */
    "  choice INTEGER,"
    "  specialists TEXT,"  /* answers only: a JSON array of names, [] for the base model */
    "  UNIQUE (conversation_id, position));"
    "CREATE UNIQUE INDEX messages_response ON messages(response_id, choice);"
    "CREATE TABLE feedback ("
    "  id INTEGER PRIMARY KEY,"
    "  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
    "  rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),"
    "  correction TEXT,"
    "  created_at REAL NOT NULL);"
    "CREATE TABLE preferences ("
    "  id INTEGER PRIMARY KEY,"
    "  specialist TEXT,"
    "  prompt TEXT NOT NULL,"
    "  chosen TEXT NOT NULL,"
    "  rejected TEXT,"
    "  source TEXT NOT NULL CHECK (source IN ('feedback', 'cloud')),"
    "  message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,"
    "  created_at REAL NOT NULL);",
    /* 2: routing: each answer's domain and confidence, the router's
     * decisions, its pathways, and per-specialist per-domain stats */
    "ALTER TABLE messages ADD COLUMN domain TEXT;"
    "ALTER TABLE messages ADD COLUMN confidence REAL;"
    "CREATE TABLE routes ("
    "  response_id TEXT PRIMARY KEY,"
    "  mode TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  decision TEXT NOT NULL," /* JSON: the route as the API shows it, every specialist's scores */
    "  created_at REAL NOT NULL);"
    "CREATE TABLE pathways ("
    "  domain TEXT NOT NULL,"
    "  specialists TEXT NOT NULL," /* the router's key for the set */
    "  strength REAL NOT NULL,"
    "  successes INTEGER NOT NULL,"
    "  failures INTEGER NOT NULL,"
    "  updated_at REAL NOT NULL,"
    "  PRIMARY KEY (domain, specialists));"
    "CREATE TABLE specialist_stats ("
    "  specialist TEXT NOT NULL," /* '' for the base model */
    "  domain TEXT NOT NULL,"
    "  answers INTEGER NOT NULL DEFAULT 0,"
    "  confidence_sum REAL NOT NULL DEFAULT 0,"
    "  rated INTEGER NOT NULL DEFAULT 0,"
    "  rating_sum INTEGER NOT NULL DEFAULT 0,"
    "  rated_confidence_sum REAL NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (specialist, domain));",
    /* 3: facts, normalised, with their full-text index kept by triggers */
    "CREATE TABLE facts ("
    "  id INTEGER PRIMARY KEY,"
    "  subject TEXT NOT NULL,"
    "  predicate TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  negated INTEGER NOT NULL CHECK (negated IN (0, 1)),"
    "  confidence REAL NOT NULL,"
    "  source TEXT NOT NULL CHECK (source IN ('user', 'upstream', 'api', 'import')),"
    "  first_seen REAL NOT NULL,"
    "  last_seen REAL NOT NULL,"
    "  times_seen INTEGER NOT NULL,"
    "  UNIQUE (subject, predicate, object, negated));"
    "CREATE INDEX facts_subject ON facts(subject, predicate);"
    "CREATE VIRTUAL TABLE facts_fts USING fts5(subject, predicate, object, content='facts', content_rowid='id');"
    "CREATE TRIGGER facts_ai AFTER INSERT ON facts BEGIN"
    "  INSERT INTO facts_fts(rowid, subject, predicate, object) VALUES (new.id, new.subject, new.predicate, new.object);"
    "END;"
    "CREATE TRIGGER facts_ad AFTER DELETE ON facts BEGIN"
    "  INSERT INTO facts_fts(facts_fts, rowid, subject, predicate, object)"
    "  VALUES ('delete', old.id, old.subject, old.predicate, old.object);"
    "END;",
    /* 4: the spawner's input (queries no specialist served well) and its
     * proposals */
    "CREATE TABLE unserved ("
    "  id INTEGER PRIMARY KEY,"
    "  query TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  specialist TEXT," /* who answered; NULL: the base model */
    "  reason TEXT NOT NULL,"
    "  created_at REAL NOT NULL);"
    "CREATE TABLE proposals ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  description TEXT,"
    "  system_prompt TEXT NOT NULL,"
    "  capabilities TEXT NOT NULL," /* a JSON array of strings */
    "  reason TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending', 'accepted')),"
    "  created_at REAL NOT NULL,"
    "  updated_at REAL NOT NULL);",
};

int syn_store_fail(syn_store *st, syn_error *err, const char *what)
{
    int code = sqlite3_errcode(st->db);
    return syn_fail(err, code == SQLITE_NOMEM ? SYN_ERR_NOMEM : SYN_ERR_IO, "%s: %s: %s", st->path, what,
                    sqlite3_errmsg(st->db));
}

sqlite3_stmt *syn_store_prepare(syn_store *st, const char *sql, syn_error *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        syn_store_fail(st, err, "preparing a statement");
        return NULL;
    }
    return q;
}

int syn_store_begin(syn_store *st, syn_error *err)
{
    pthread_mutex_lock(&st->mu);
    if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    int rc = syn_store_fail(st, err, "starting a transaction");
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int syn_store_end(syn_store *st, int rc, syn_error *err)
{
    if (!rc && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = syn_store_fail(st, err, "committing");
    if (rc)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

static int user_version(syn_store *st, int *v, syn_error *err)
{
    sqlite3_stmt *q = syn_store_prepare(st, "PRAGMA user_version", err);
    if (!q)
        return err->code;
    int rc = sqlite3_step(q) == SQLITE_ROW ? (*v = sqlite3_column_int(q, 0), 0)
                                           : syn_store_fail(st, err, "reading the schema version");
    sqlite3_finalize(q);
    return rc;
}

/* Each missing migration in a transaction of its own, with its version. */
static int migrate(syn_store *st, syn_error *err)
{
    for (;;) {
        int rc = syn_store_begin(st, err), v = 0;
        if (rc)
            return rc;
        rc = user_version(st, &v, err);
        if (!rc && v > SYN_STORE_VERSION)
            rc = syn_fail(err, SYN_ERR_UNSUPPORTED, "%s: schema version %d is newer than this synapse's (%d)", st->path,
                          v, SYN_STORE_VERSION);
        if (rc || v == SYN_STORE_VERSION)
            return syn_store_end(st, rc, err);
        char set[64];
        snprintf(set, sizeof set, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(st->db, set, NULL, NULL, NULL) != SQLITE_OK)
            rc = syn_store_fail(st, err, "migrating the schema");
        if ((rc = syn_store_end(st, rc, err)))
            return rc;
    }
}

int syn_store_open(const char *path, syn_store **out, syn_error *err)
{
    *out = NULL;
    syn_store *st = calloc(1, sizeof *st);
    if (!st)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    snprintf(st->path, sizeof st->path, "%s", path);
    pthread_mutex_init(&st->mu, NULL);
    int rc = 0;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        rc = st->db ? syn_store_fail(st, err, "opening") : syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        syn_store_close(st);
        return rc;
    }
    /* WAL: readers never block the writer; NORMAL: a commit is in the log
     * (the OS has it) before it returns, so a killed process loses nothing
     * acknowledged */
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_stmt *q = syn_store_prepare(st, "PRAGMA journal_mode = WAL", err);
    if (!q)
        rc = err->code;
    else if (sqlite3_step(q) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(q, 0), "wal"))
        rc = syn_fail(err, SYN_ERR_IO, "%s: cannot use write-ahead logging (a file system without shared memory?)",
                      path);
    sqlite3_finalize(q);
    if (!rc && (sqlite3_exec(st->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK ||
                sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK))
        rc = syn_store_fail(st, err, "setting up the connection");
    if (!rc)
        rc = migrate(st, err);
    if (rc) {
        syn_store_close(st);
        return rc;
    }
    *out = st;
    return 0;
}

void syn_store_close(syn_store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->mu);
    free(st);
}
