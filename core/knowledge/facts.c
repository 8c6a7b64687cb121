/* Facts in the store (see store.h): normalised triples, reinforced when
 * seen again, weakened when a source at least as trusted says otherwise,
 * searchable by subject and by full text (FTS5, kept by triggers). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/knowledge/store_internal.h"

#define FACT_MAX 512 /* bytes of a subject, predicate or object */
#define FIRST_CONFIDENCE 0.8
#define REINFORCE 0.2 /* of the way to 1, each time seen again */

static const char *const source_names[] = {"upstream", "import", "user", "api"};

/* Predicates with one value per subject: another object contradicts. */
static int single_valued(const char *p)
{
    static const char *const one[] = {"born in", "released in", "founded in", "located in"};
    for (size_t i = 0; i < sizeof one / sizeof *one; i++)
        if (!strcmp(p, one[i]))
            return 1;
    return 0;
}

void syn_fact_normalise(char *s)
{
    char *w = s;
    int space = 1; /* drops leading space */
    for (const char *r = s; *r; r++) {
        unsigned char c = (unsigned char)*r;
        if (isspace(c)) {
            if (!space)
                *w++ = ' ';
            space = 1;
            continue;
        }
        *w++ = (char)tolower(c);
        space = 0;
    }
    *w = '\0';
    while (w > s && (w[-1] == ' ' || w[-1] == '.' || w[-1] == '!' || w[-1] == '?' || w[-1] == ',' || w[-1] == ';' ||
                     w[-1] == ':'))
        *--w = '\0';
    static const char *const articles[] = {"the ", "an ", "a "};
    for (size_t i = 0; i < sizeof articles / sizeof *articles; i++) {
        size_t n = strlen(articles[i]);
        if (!strncmp(s, articles[i], n) && s[n]) {
            memmove(s, s + n, strlen(s + n) + 1);
            break;
        }
    }
}

static int copy_part(char *dst, const char *src, const char *what, syn_error *err)
{
    if (!src || strlen(src) >= FACT_MAX)
        return syn_fail(err, SYN_ERR_INVALID, "a fact's %s must be 1 to %d bytes", what, FACT_MAX - 1);
    strcpy(dst, src);
    syn_fact_normalise(dst);
    if (!*dst)
        return syn_fail(err, SYN_ERR_INVALID, "a fact's %s is empty", what);
    return 0;
}

static int source_of(const unsigned char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp((const char *)name, source_names[i]))
            return i;
    return 0;
}

/* The opposite claims lose half their confidence, when source is at least
 * as trusted as theirs. */
static int weaken_opposites(syn_store *st, const char *s, const char *p, const char *o, int negated, int source,
                            syn_error *err)
{
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "UPDATE facts SET confidence = confidence * 0.5 WHERE subject = ?1 AND "
                                        "predicate = ?2 AND ((object = ?3 AND negated != ?4) OR (?5 AND object != ?3 "
                                        "AND negated = 0 AND ?4 = 0)) AND (CASE source WHEN 'upstream' THEN 0 WHEN "
                                        "'import' THEN 1 WHEN 'user' THEN 2 ELSE 3 END) <= ?6",
                                        err);
    if (!q)
        return err->code;
    sqlite3_bind_text(q, 1, s, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, p, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, o, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, negated);
    sqlite3_bind_int(q, 5, single_valued(p));
    sqlite3_bind_int(q, 6, source);
    return syn_store_run(st, q, "weakening contradicted facts", err);
}

int syn_store_fact_add(syn_store *st, const syn_fact *f, syn_fact_source source, int64_t *id, int *is_new,
                       syn_error *err)
{
    char s[FACT_MAX], p[FACT_MAX], o[FACT_MAX];
    *id = 0;
    *is_new = 0;
    int rc = copy_part(s, f->subject, "subject", err);
    if (!rc)
        rc = copy_part(p, f->predicate, "predicate", err);
    if (!rc)
        rc = copy_part(o, f->object, "object", err);
    if (rc)
        return rc;
    int negated = f->negated != 0;
    double now = syn_store_now(), conf = f->confidence > 0 && f->confidence <= 1 ? f->confidence : FIRST_CONFIDENCE;
    if ((rc = syn_store_begin(st, err)))
        return rc;
    sqlite3_stmt *q = syn_store_prepare(
        st, "SELECT id, confidence, source FROM facts WHERE subject = ? AND predicate = ? AND object = ? AND negated = ?",
        err);
    if (!q)
        return syn_store_end(st, err->code, err);
    sqlite3_bind_text(q, 1, s, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, p, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, o, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 4, negated);
    int step = sqlite3_step(q);
    sqlite3_stmt *w = NULL;
    if (step == SQLITE_ROW) {
        *id = sqlite3_column_int64(q, 0);
        double c = sqlite3_column_double(q, 1);
        int was = source_of(sqlite3_column_text(q, 2));
        w = syn_store_prepare(st,
                              "UPDATE facts SET confidence = ?, source = ?, last_seen = ?, times_seen = times_seen + 1 "
                              "WHERE id = ?",
                              err);
        if (w) {
            sqlite3_bind_double(w, 1, c + (1 - c) * REINFORCE);
            sqlite3_bind_text(w, 2, source_names[(int)source > was ? (int)source : was], -1, SQLITE_STATIC);
            sqlite3_bind_double(w, 3, now);
            sqlite3_bind_int64(w, 4, *id);
        }
    } else if (step == SQLITE_DONE) {
        w = syn_store_prepare(st,
                              "INSERT INTO facts (subject, predicate, object, negated, confidence, source, first_seen, "
                              "last_seen, times_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                              err);
        if (w) {
            sqlite3_bind_text(w, 1, s, -1, SQLITE_STATIC);
            sqlite3_bind_text(w, 2, p, -1, SQLITE_STATIC);
            sqlite3_bind_text(w, 3, o, -1, SQLITE_STATIC);
            sqlite3_bind_int(w, 4, negated);
            sqlite3_bind_double(w, 5, conf);
            sqlite3_bind_text(w, 6, source_names[source], -1, SQLITE_STATIC);
            sqlite3_bind_double(w, 7, now);
            sqlite3_bind_double(w, 8, now);
        }
    } else
        rc = syn_store_fail(st, err, "finding a fact");
    sqlite3_finalize(q);
    if (!rc && !w)
        rc = err->code;
    if (!rc && !(rc = syn_store_run(st, w, "writing a fact", err)) && !*id) {
        *id = sqlite3_last_insert_rowid(st->db);
        *is_new = 1;
    }
    if (!rc)
        rc = weaken_opposites(st, s, p, o, negated, (int)source, err);
    return syn_store_end(st, rc, err);
}

int syn_store_fact_delete(syn_store *st, int64_t id, syn_error *err)
{
    int rc = syn_store_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *q = syn_store_prepare(st, "DELETE FROM facts WHERE id = ?", err);
    if (!q)
        return syn_store_end(st, err->code, err);
    sqlite3_bind_int64(q, 1, id);
    if (!(rc = syn_store_run(st, q, "deleting a fact", err)) && sqlite3_changes(st->db) == 0)
        rc = syn_fail(err, SYN_ERR_NOT_FOUND, "there is no fact %lld", (long long)id);
    return syn_store_end(st, rc, err);
}

static json_object *fact_row(sqlite3_stmt *q)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(sqlite3_column_int64(q, 0)));
    static const char *const text[] = {"subject", "predicate", "object"};
    for (int i = 0; i < 3; i++)
        json_object_object_add(o, text[i], json_object_new_string((const char *)sqlite3_column_text(q, i + 1)));
    json_object_object_add(o, "negated", json_object_new_boolean(sqlite3_column_int(q, 4)));
    char conf[32];
    snprintf(conf, sizeof conf, "%.4f", sqlite3_column_double(q, 5));
    json_object_object_add(o, "confidence", json_object_new_double_s(sqlite3_column_double(q, 5), conf));
    json_object_object_add(o, "source", json_object_new_string((const char *)sqlite3_column_text(q, 6)));
    json_object_object_add(o, "first_seen", json_object_new_int64((int64_t)sqlite3_column_double(q, 7)));
    json_object_object_add(o, "last_seen", json_object_new_int64((int64_t)sqlite3_column_double(q, 8)));
    json_object_object_add(o, "times_seen", json_object_new_int64(sqlite3_column_int64(q, 9)));
    return o;
}

#define FACT_COLUMNS \
    "f.id, f.subject, f.predicate, f.object, f.negated, f.confidence, f.source, f.first_seen, f.last_seen, f.times_seen"

/* q's words as an FTS5 query of quoted terms (any syntax in them is text):
 * every word must match. NULL when q has none. */
static char *fts_query(const char *q)
{
    size_t n = strlen(q), len = 0;
    char *out = malloc(n * 3 + 8);
    if (!out)
        return NULL;
    const char *p = q;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p) && (unsigned char)*p < 0x80)
            p++;
        if (!*p)
            break;
        out[len++] = '"';
        while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            out[len++] = *p++;
        out[len++] = '"';
        out[len++] = ' ';
    }
    if (!len) {
        free(out);
        return NULL;
    }
    out[len - 1] = '\0';
    return out;
}

int syn_store_facts(syn_store *st, const char *subject, const char *q, int limit, int offset, json_object **out,
                    syn_error *err)
{
    *out = NULL;
    char s[FACT_MAX];
    if (subject) {
        if (strlen(subject) >= FACT_MAX)
            return syn_fail(err, SYN_ERR_INVALID, "'subject' is longer than %d bytes", FACT_MAX - 1);
        strcpy(s, subject);
        syn_fact_normalise(s);
    }
    char *match = q ? fts_query(q) : NULL;
    if (q && !match) { /* no words: nothing matches */
        *out = json_object_new_array();
        return 0;
    }
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *stmt = syn_store_prepare(
        st,
        match ? "SELECT " FACT_COLUMNS " FROM facts f JOIN facts_fts t ON t.rowid = f.id WHERE facts_fts MATCH ?3 AND "
                "(?4 IS NULL OR f.subject = ?4) ORDER BY f.confidence DESC, f.id LIMIT ?1 OFFSET ?2"
              : "SELECT " FACT_COLUMNS " FROM facts f WHERE (?4 IS NULL OR f.subject = ?4) "
                "ORDER BY f.confidence DESC, f.id LIMIT ?1 OFFSET ?2",
        err);
    if (!stmt) {
        pthread_mutex_unlock(&st->mu);
        free(match);
        return err->code;
    }
    sqlite3_bind_int(stmt, 1, limit);
    sqlite3_bind_int(stmt, 2, offset);
    if (match)
        sqlite3_bind_text(stmt, 3, match, -1, SQLITE_TRANSIENT);
    if (subject)
        sqlite3_bind_text(stmt, 4, s, -1, SQLITE_TRANSIENT);
    free(match);
    return syn_store_list(st, stmt, "listing facts", fact_row, out, err);
}

int syn_store_fact_get(syn_store *st, int64_t id, json_object **out, syn_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st, "SELECT " FACT_COLUMNS " FROM facts f WHERE f.id = ?", err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        return err->code;
    }
    sqlite3_bind_int64(q, 1, id);
    json_object *list = NULL;
    int rc = syn_store_list(st, q, "reading a fact", fact_row, &list, err);
    if (!rc && json_object_array_length(list) == 0)
        rc = syn_fail(err, SYN_ERR_NOT_FOUND, "there is no fact %lld", (long long)id);
    if (!rc)
        *out = json_object_get(json_object_array_get_idx(list, 0));
    json_object_put(list);
    return rc;
}

static int count_by(syn_store *st, const char *sql, json_object *into, syn_error *err)
{
    sqlite3_stmt *q = syn_store_prepare(st, sql, err);
    if (!q)
        return err->code;
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW)
        json_object_object_add(into, (const char *)sqlite3_column_text(q, 0),
                               json_object_new_int64(sqlite3_column_int64(q, 1)));
    sqlite3_finalize(q);
    return step == SQLITE_DONE ? 0 : syn_store_fail(st, err, "counting facts");
}

int syn_store_fact_stats(syn_store *st, json_object **out, syn_error *err)
{
    *out = NULL;
    json_object *o = json_object_new_object(), *by_source = json_object_new_object(),
                *by_predicate = json_object_new_object(), *totals = json_object_new_object();
    pthread_mutex_lock(&st->mu);
    int rc = count_by(st, "SELECT 'facts', count(*) FROM facts UNION ALL SELECT 'subjects', count(DISTINCT subject) "
                          "FROM facts", totals, err);
    if (!rc)
        rc = count_by(st, "SELECT source, count(*) FROM facts GROUP BY source ORDER BY source", by_source, err);
    if (!rc)
        rc = count_by(st, "SELECT predicate, count(*) FROM facts GROUP BY predicate ORDER BY predicate", by_predicate,
                      err);
    pthread_mutex_unlock(&st->mu);
    json_object_object_add(o, "facts", json_object_get(json_object_object_get(totals, "facts")));
    json_object_object_add(o, "subjects", json_object_get(json_object_object_get(totals, "subjects")));
    json_object_object_add(o, "by_source", by_source);
    json_object_object_add(o, "by_predicate", by_predicate);
    json_object_put(totals);
    if (rc)
        json_object_put(o);
    else
        *out = o;
    return rc;
}

int syn_store_fact_lookup(syn_store *st, const char *subject, const char *predicate, syn_known_fact_fn emit,
                          void *user, syn_error *err)
{
    char s[FACT_MAX], p[FACT_MAX];
    int rc = copy_part(s, subject, "subject", err);
    if (!rc)
        rc = copy_part(p, predicate, "predicate", err);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "SELECT id, object, negated, confidence FROM facts WHERE subject = ? AND "
                                        "predicate = ? ORDER BY confidence DESC, id",
                                        err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        return err->code;
    }
    sqlite3_bind_text(q, 1, s, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, p, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        syn_fact f = {.subject = s, .predicate = p, .object = (const char *)sqlite3_column_text(q, 1),
                      .negated = sqlite3_column_int(q, 2), .confidence = (float)sqlite3_column_double(q, 3)};
        if (emit(user, sqlite3_column_int64(q, 0), &f))
            break;
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        rc = syn_store_fail(st, err, "looking facts up");
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

/* Words a question is made of that say nothing of its topic. */
static int stopword(const char *w, size_t n)
{
    static const char *const stop[] = {"the", "and", "for", "are", "was", "were", "who", "what", "when", "where",
                                       "why", "how", "which", "does", "did", "has", "have", "had", "with", "that",
                                       "this", "from", "into", "about", "you", "your", "can", "could", "would",
                                       "tell", "please", "there", "their", "its", "not", "any", NULL};
    for (const char *const *s = stop; *s; s++)
        if (strlen(*s) == n && !strncasecmp(*s, w, n))
            return 1;
    return 0;
}

int syn_store_facts_related(syn_store *st, const char *text, int limit, json_object **out, syn_error *err)
{
    *out = NULL;
    size_t cap = strlen(text) * 2 + 16, len = 0;
    char *match = malloc(cap);
    if (!match)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    /* "w1" OR "w2" ...: any word, quoted so no FTS syntax gets through */
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p) && (unsigned char)*p < 0x80)
            p++;
        const char *w = p;
        while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        size_t n = (size_t)(p - w);
        if (n < 3 || stopword(w, n) || len + n + 8 > cap)
            continue;
        len += (size_t)snprintf(match + len, cap - len, "%s\"%.*s\"", len ? " OR " : "", (int)n, w);
    }
    if (!len) {
        free(match);
        *out = json_object_new_array();
        return 0;
    }
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "SELECT " FACT_COLUMNS " FROM facts f JOIN facts_fts t ON t.rowid = f.id "
                                        "WHERE facts_fts MATCH ?1 ORDER BY bm25(facts_fts), f.confidence DESC LIMIT ?2",
                                        err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        free(match);
        return err->code;
    }
    sqlite3_bind_text(q, 1, match, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(q, 2, limit);
    free(match);
    return syn_store_list(st, q, "finding related facts", fact_row, out, err);
}
