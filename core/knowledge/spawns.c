/* The spawner's side of the store (see store.h): the queries no specialist
 * served well, which the spawner plugin reads, and the specialists it
 * proposes, which a person accepts. */
#include <stdlib.h>
#include <string.h>

#include "core/knowledge/store_internal.h"

int syn_store_unserved_add(syn_store *st, const char *query, const char *domain, const char *specialist,
                           const char *reason, syn_error *err)
{
    int rc = syn_store_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *q = syn_store_prepare(
        st, "INSERT INTO unserved (query, domain, specialist, reason, created_at) VALUES (?, ?, ?, ?, ?)", err);
    if (!q)
        return syn_store_end(st, err->code, err);
    sqlite3_bind_text(q, 1, query, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, domain ? domain : "general", -1, SQLITE_STATIC);
    if (specialist)
        sqlite3_bind_text(q, 3, specialist, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, reason, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 5, syn_store_now());
    rc = syn_store_run(st, q, "recording an unserved query", err);
    /* the spawner reads the newest: older ones go, so the table stays small */
    sqlite3_stmt *trim = rc ? NULL
                            : syn_store_prepare(st, "DELETE FROM unserved WHERE id <= last_insert_rowid() - ?", err);
    if (!rc && !trim)
        rc = err->code;
    if (trim) {
        sqlite3_bind_int(trim, 1, SYN_STORE_UNSERVED_KEPT);
        rc = syn_store_run(st, trim, "trimming unserved queries", err);
    }
    return syn_store_end(st, rc, err);
}

void syn_store_strings_free(char **s, int n)
{
    for (int i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

int syn_store_unserved_recent(syn_store *st, int limit, char ***queries, int *n, syn_error *err)
{
    *queries = NULL;
    *n = 0;
    char **out = calloc(limit > 0 ? (size_t)limit : 1, sizeof *out);
    if (!out)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st, "SELECT query FROM unserved ORDER BY id DESC LIMIT ?", err);
    int rc = q ? 0 : err->code, got = 0, step;
    if (q) {
        sqlite3_bind_int(q, 1, limit);
        while (!rc && got < limit && (step = sqlite3_step(q)) == SQLITE_ROW)
            if (!(out[got++] = strdup((const char *)sqlite3_column_text(q, 0))))
                rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
        if (!rc && got < limit && step != SQLITE_DONE)
            rc = syn_store_fail(st, err, "reading unserved queries");
        sqlite3_finalize(q);
    }
    pthread_mutex_unlock(&st->mu);
    if (rc) {
        syn_store_strings_free(out, got);
        return rc;
    }
    *queries = out;
    *n = got;
    return 0;
}

static char *capabilities_json(const syn_store_proposal *p)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < p->n_capabilities; i++)
        json_object_array_add(a, json_object_new_string(p->capabilities[i]));
    char *s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
    json_object_put(a);
    return s;
}

int syn_store_proposal_put(syn_store *st, const syn_store_proposal *p, int64_t *id, syn_error *err)
{
    *id = 0;
    char *caps = capabilities_json(p);
    if (!caps)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    int rc = syn_store_begin(st, err);
    if (rc) {
        free(caps);
        return rc;
    }
    /* a pending proposal of the name is the same idea seen again: its
     * text follows the newest evidence; an accepted one is history */
    sqlite3_stmt *q = syn_store_prepare(
        st,
        "INSERT INTO proposals (name, description, system_prompt, capabilities, reason, status, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?6) ON CONFLICT (name) DO UPDATE SET "
        "description = ?2, system_prompt = ?3, capabilities = ?4, reason = ?5, updated_at = ?6 "
        "WHERE status = 'pending' RETURNING id",
        err);
    if (!q)
        rc = err->code;
    else {
        sqlite3_bind_text(q, 1, p->name, -1, SQLITE_STATIC);
        if (p->description)
            sqlite3_bind_text(q, 2, p->description, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, p->system_prompt, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, caps, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, p->reason ? p->reason : "", -1, SQLITE_STATIC);
        sqlite3_bind_double(q, 6, syn_store_now());
        int step = sqlite3_step(q);
        if (step == SQLITE_ROW)
            *id = sqlite3_column_int64(q, 0);
        else if (step != SQLITE_DONE)
            rc = syn_store_fail(st, err, "recording a proposal");
        sqlite3_finalize(q);
    }
    free(caps);
    return syn_store_end(st, rc, err);
}

static json_object *proposal_row(sqlite3_stmt *q)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(sqlite3_column_int64(q, 0)));
    static const char *const keys[] = {"name", "description", "system_prompt"};
    for (int k = 0; k < 3; k++) {
        const unsigned char *t = sqlite3_column_text(q, k + 1);
        json_object_object_add(o, keys[k], t ? json_object_new_string((const char *)t) : NULL);
    }
    json_object *caps = json_tokener_parse((const char *)sqlite3_column_text(q, 4));
    json_object_object_add(o, "capabilities", caps ? caps : json_object_new_array());
    json_object_object_add(o, "reason", json_object_new_string((const char *)sqlite3_column_text(q, 5)));
    json_object_object_add(o, "status", json_object_new_string((const char *)sqlite3_column_text(q, 6)));
    json_object_object_add(o, "created_at", json_object_new_int64((int64_t)sqlite3_column_double(q, 7)));
    json_object_object_add(o, "updated_at", json_object_new_int64((int64_t)sqlite3_column_double(q, 8)));
    return o;
}

#define PROPOSAL_COLUMNS "id, name, description, system_prompt, capabilities, reason, status, created_at, updated_at"

int syn_store_proposals(syn_store *st, json_object **out, syn_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st, "SELECT " PROPOSAL_COLUMNS " FROM proposals ORDER BY id DESC", err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        return err->code;
    }
    return syn_store_list(st, q, "listing proposals", proposal_row, out, err);
}

int syn_store_proposal_get(syn_store *st, int64_t id, json_object **out, syn_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(st, "SELECT " PROPOSAL_COLUMNS " FROM proposals WHERE id = ?", err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        return err->code;
    }
    sqlite3_bind_int64(q, 1, id);
    json_object *list;
    int rc = syn_store_list(st, q, "reading a proposal", proposal_row, &list, err);
    if (rc)
        return rc;
    if (!json_object_array_length(list)) {
        json_object_put(list);
        return syn_fail(err, SYN_ERR_NOT_FOUND, "there is no proposal %lld", (long long)id);
    }
    *out = json_object_get(json_object_array_get_idx(list, 0));
    json_object_put(list);
    return 0;
}

int syn_store_proposal_accepted(syn_store *st, int64_t id, syn_error *err)
{
    int rc = syn_store_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *q = syn_store_prepare(st, "UPDATE proposals SET status = 'accepted', updated_at = ? WHERE id = ?", err);
    if (!q)
        return syn_store_end(st, err->code, err);
    sqlite3_bind_double(q, 1, syn_store_now());
    sqlite3_bind_int64(q, 2, id);
    rc = syn_store_run(st, q, "accepting a proposal", err);
    if (!rc && sqlite3_changes(st->db) == 0)
        rc = syn_fail(err, SYN_ERR_NOT_FOUND, "there is no proposal %lld", (long long)id);
    return syn_store_end(st, rc, err);
}
