/* The store's side of routing: the router's pathways, each route decided,
 * and every specialist's record per domain (answers, confidence, ratings),
 * from which answers' confidence is calibrated and GET /api/confidence
 * reads. */
#include <stdio.h>
#include <string.h>

#include "core/knowledge/store_internal.h"

int syn_store_count_answer(syn_store *st, const char *specialist, const char *domain, double confidence,
                           syn_error *err)
{
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "INSERT INTO specialist_stats (specialist, domain, answers, confidence_sum) "
                                        "VALUES (?1, ?2, 1, ?3) ON CONFLICT (specialist, domain) DO UPDATE SET "
                                        "answers = answers + 1, confidence_sum = confidence_sum + ?3",
                                        err);
    if (!q)
        return err->code;
    sqlite3_bind_text(q, 1, specialist, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, domain, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 3, confidence);
    return syn_store_run(st, q, "counting an answer", err);
}

int syn_store_count_local(syn_store *st, const char *specialist, const char *domain, double confidence,
                          syn_error *err)
{
    int rc = syn_store_begin(st, err);
    return rc ? rc : syn_store_end(st, syn_store_count_answer(st, specialist, domain, confidence, err), err);
}

int syn_store_count_rating(syn_store *st, const char *specialist, const char *domain, int rating, double confidence,
                           syn_error *err)
{
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "INSERT INTO specialist_stats (specialist, domain, rated, rating_sum, "
                                        "rated_confidence_sum) VALUES (?1, ?2, 1, ?3, ?4) "
                                        "ON CONFLICT (specialist, domain) DO UPDATE SET rated = rated + 1, "
                                        "rating_sum = rating_sum + ?3, rated_confidence_sum = rated_confidence_sum + ?4",
                                        err);
    if (!q)
        return err->code;
    sqlite3_bind_text(q, 1, specialist, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, rating);
    sqlite3_bind_double(q, 4, confidence);
    return syn_store_run(st, q, "counting a rating", err);
}

int syn_store_add_route(syn_store *st, const char *response_id, const char *mode, const char *domain,
                        const char *decision_json, syn_error *err)
{
    sqlite3_stmt *q = syn_store_prepare(
        st, "INSERT INTO routes (response_id, mode, domain, decision, created_at) VALUES (?, ?, ?, ?, ?)", err);
    if (!q)
        return err->code;
    sqlite3_bind_text(q, 1, response_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, mode, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, decision_json, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 5, syn_store_now());
    return syn_store_run(st, q, "recording a route", err);
}

int syn_store_stats_get(syn_store *st, const char *specialist, const char *domain, syn_store_stats *out,
                        syn_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "SELECT answers, confidence_sum, rated, rating_sum, rated_confidence_sum "
                                        "FROM specialist_stats WHERE specialist = ? AND domain = ?",
                                        err);
    int rc = q ? 0 : err->code;
    if (q) {
        sqlite3_bind_text(q, 1, specialist, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, domain, -1, SQLITE_STATIC);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW) {
            out->answers = sqlite3_column_int64(q, 0);
            out->confidence_sum = sqlite3_column_double(q, 1);
            out->rated = sqlite3_column_int64(q, 2);
            out->rating_sum = sqlite3_column_int64(q, 3);
            out->rated_confidence_sum = sqlite3_column_double(q, 4);
        } else if (step != SQLITE_DONE)
            rc = syn_store_fail(st, err, "reading a specialist's record");
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int syn_store_list(syn_store *st, sqlite3_stmt *q, const char *what, json_object *(*row)(sqlite3_stmt *),
                   json_object **out, syn_error *err)
{
    json_object *data = json_object_new_array();
    int step, rc = 0;
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        json_object *o = row(q);
        if (o)
            json_object_array_add(data, o);
    }
    if (step != SQLITE_DONE)
        rc = syn_store_fail(st, err, what);
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->mu);
    if (rc)
        json_object_put(data);
    else
        *out = data;
    return rc;
}

static json_object *confidence_row(sqlite3_stmt *q)
{
    json_object *o = json_object_new_object();
    const char *who = (const char *)sqlite3_column_text(q, 0);
    int64_t answers = sqlite3_column_int64(q, 2), rated = sqlite3_column_int64(q, 4);
    json_object_object_add(o, "specialist", who && *who ? json_object_new_string(who) : NULL);
    json_object_object_add(o, "domain", json_object_new_string((const char *)sqlite3_column_text(q, 1)));
    json_object_object_add(o, "answers", json_object_new_int64(answers));
    json_object_object_add(o, "mean_confidence",
                           answers ? json_object_new_double(sqlite3_column_double(q, 3) / (double)answers) : NULL);
    json_object_object_add(o, "rated", json_object_new_int64(rated));
    json_object_object_add(o, "mean_rating",
                           rated ? json_object_new_double((double)sqlite3_column_int64(q, 5) / (double)rated) : NULL);
    return o;
}

int syn_store_confidence(syn_store *st, json_object **out, syn_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "SELECT specialist, domain, answers, confidence_sum, rated, rating_sum "
                                        "FROM specialist_stats ORDER BY specialist, domain",
                                        err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        return err->code;
    }
    return syn_store_list(st, q, "listing specialists' records", confidence_row, out, err);
}

static json_object *route_row(sqlite3_stmt *q)
{
    json_object *o = json_tokener_parse((const char *)sqlite3_column_text(q, 1));
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL; /* not ours: skipped */
    }
    json_object_object_add(o, "response_id", json_object_new_string((const char *)sqlite3_column_text(q, 0)));
    json_object_object_add(o, "created", json_object_new_int64((int64_t)sqlite3_column_double(q, 2)));
    return o;
}

int syn_store_routes(syn_store *st, int limit, json_object **out, syn_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(
        st, "SELECT response_id, decision, created_at FROM routes ORDER BY rowid DESC LIMIT ?", err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        return err->code;
    }
    sqlite3_bind_int(q, 1, limit);
    return syn_store_list(st, q, "listing routes", route_row, out, err);
}

int syn_store_pathway_get(syn_store *st, const char *domain, const char *key, syn_pathway *out, syn_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(
        st, "SELECT strength, successes, failures, updated_at FROM pathways WHERE domain = ? AND specialists = ?", err);
    int rc = q ? 0 : -1;
    if (q) {
        sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW) {
            out->strength = sqlite3_column_double(q, 0);
            out->successes = sqlite3_column_int64(q, 1);
            out->failures = sqlite3_column_int64(q, 2);
            out->updated_at = sqlite3_column_double(q, 3);
            rc = 1;
        } else if (step != SQLITE_DONE) {
            syn_store_fail(st, err, "reading a pathway");
            rc = -1;
        }
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int syn_store_pathway_put(syn_store *st, const char *domain, const char *key, const syn_pathway *p, syn_error *err)
{
    int rc = syn_store_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "INSERT OR REPLACE INTO pathways (domain, specialists, strength, successes, "
                                        "failures, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                                        err);
    if (!q)
        return syn_store_end(st, err->code, err);
    sqlite3_bind_text(q, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 3, p->strength);
    sqlite3_bind_int64(q, 4, p->successes);
    sqlite3_bind_int64(q, 5, p->failures);
    sqlite3_bind_double(q, 6, p->updated_at);
    rc = syn_store_run(st, q, "writing a pathway", err);
    return syn_store_end(st, rc, err);
}
