/* What the server writes to the store and reads back: an answered chat
 * request as a conversation of messages, feedback on an answer (a
 * correction also as a preference pair), and the list of pairs. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/knowledge/store_internal.h"

double syn_store_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int syn_store_run(syn_store *st, sqlite3_stmt *q, const char *what, syn_error *err)
{
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : syn_store_fail(st, err, what);
    sqlite3_finalize(q);
    return rc;
}

static int add_message(syn_store *st, int64_t conv, int pos, const char *role, const char *text, int len,
                       const syn_store_exchange *x, int choice, syn_error *err)
{
    sqlite3_stmt *q = syn_store_prepare(st,
                                        "INSERT INTO messages (conversation_id, position, role, content, response_id, "
                                        "choice, specialists, domain, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                        err);
    if (!q)
        return err->code;
    sqlite3_bind_int64(q, 1, conv);
    sqlite3_bind_int(q, 2, pos);
    sqlite3_bind_text(q, 3, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, text, len, SQLITE_STATIC);
    if (choice >= 0) {
        json_object *names = json_object_new_array();
        if (x->specialist)
            json_object_array_add(names, json_object_new_string(x->specialist));
        for (int i = 0; i < x->n_members; i++)
            json_object_array_add(names, json_object_new_string(x->members[i]));
        sqlite3_bind_text(q, 5, x->response_id, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 6, choice);
        sqlite3_bind_text(q, 7, json_object_to_json_string_ext(names, JSON_C_TO_STRING_PLAIN), -1, SQLITE_TRANSIENT);
        json_object_put(names);
        sqlite3_bind_text(q, 8, x->domain ? x->domain : "general", -1, SQLITE_STATIC);
        if (x->confidence)
            sqlite3_bind_double(q, 9, x->confidence[choice]);
    }
    return syn_store_run(st, q, "recording a message", err);
}

/* The stats' key of who answered: a name, a swarm's names joined by '+',
 * "" for the base model. */
static void who_key(const char *const *names, int n, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "+" : "", names[i]);
}

int syn_store_record(syn_store *st, const syn_store_exchange *x, syn_error *err)
{
    char who[SYN_STORE_MAX_MEMBERS * (SYN_SPECIALIST_MAX_NAME + 1)];
    if (x->specialist)
        who_key(&x->specialist, 1, who, sizeof who);
    else
        who_key(x->members, x->n_members, who, sizeof who);
    int rc = syn_store_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *q = syn_store_prepare(st, "INSERT INTO conversations (model, created_at) VALUES (?, ?)", err);
    if (!q)
        return syn_store_end(st, err->code, err);
    sqlite3_bind_text(q, 1, x->model, -1, SQLITE_STATIC);
    sqlite3_bind_double(q, 2, syn_store_now());
    rc = syn_store_run(st, q, "recording a conversation", err);
    int64_t conv = sqlite3_last_insert_rowid(st->db);
    int pos = 0;
    for (size_t i = 0; !rc && i < x->n_msgs; i++)
        /* a tool's result is kept as what the model is shown it as: a user turn */
        rc = add_message(st, conv, pos++, strcmp(x->msgs[i].role, "tool") ? x->msgs[i].role : "user",
                         x->msgs[i].content, -1, x, -1, err);
    for (int c = 0; !rc && c < x->n_answers; c++)
        rc = add_message(st, conv, pos++, "assistant", x->answers[c], (int)x->answer_len[c], x, c, err);
    /* an answer without a confidence (the upstream's) is no one's record */
    for (int c = 0; !rc && x->confidence && c < x->n_answers; c++)
        rc = syn_store_count_answer(st, who, x->domain ? x->domain : "general", x->confidence[c], err);
    if (!rc && x->route_json)
        rc = syn_store_add_route(st, x->response_id, x->route_mode, x->domain ? x->domain : "general", x->route_json,
                                 err);
    return syn_store_end(st, rc, err);
}

/* The answer's message, its text, the specialist that gave it and the
 * conversation's last user message before it. */
static const char answer_sql[] =
    "SELECT m.id, m.content, CASE json_array_length(m.specialists) WHEN 1 THEN json_extract(m.specialists, '$[0]') END, "
    "  coalesce(m.domain, 'general'), m.confidence, m.specialists, "
    "  (SELECT u.content FROM messages u WHERE u.conversation_id = m.conversation_id AND u.role = 'user' "
    "   AND u.position < m.position ORDER BY u.position DESC LIMIT 1) "
    "FROM messages m WHERE m.response_id = ? AND m.choice = ?";

/* In a transaction: the answer's row (answer_sql) in *a, or an error
 * (SYN_ERR_NOT_FOUND for an unknown response or choice). */
static int find_answer(syn_store *st, const char *response_id, int choice, sqlite3_stmt **a, syn_error *err)
{
    if (!(*a = syn_store_prepare(st, answer_sql, err)))
        return err->code;
    sqlite3_bind_text(*a, 1, response_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(*a, 2, choice);
    int step = sqlite3_step(*a);
    if (step == SQLITE_ROW)
        return 0;
    int rc = step == SQLITE_DONE ? syn_fail(err, SYN_ERR_NOT_FOUND, "no answer has response id '%s'%s", response_id,
                                            choice ? " and that choice" : "")
                                 : syn_store_fail(st, err, "finding the answer");
    sqlite3_finalize(*a);
    *a = NULL;
    return rc;
}

int syn_store_feedback(syn_store *st, const char *response_id, int choice, int rating, const char *correction,
                       int64_t *feedback_id, int64_t *pair_id, syn_store_rated *rated, syn_error *err)
{
    *feedback_id = *pair_id = 0;
    int rc = syn_store_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *a;
    if ((rc = find_answer(st, response_id, choice, &a, err)))
        return syn_store_end(st, rc, err);
    int64_t msg = sqlite3_column_int64(a, 0);
    const char *domain = (const char *)sqlite3_column_text(a, 3);
    syn_store_rated by = {0};
    snprintf(by.domain, sizeof by.domain, "%s", domain);
    const unsigned char *asked = sqlite3_column_text(a, 6);
    snprintf(by.query, sizeof by.query, "%s", asked ? (const char *)asked : "");
    json_object *names = json_tokener_parse((const char *)sqlite3_column_text(a, 5));
    const char *list[SYN_STORE_MAX_MEMBERS];
    for (size_t i = 0; json_object_is_type(names, json_type_array) && i < json_object_array_length(names) &&
                       by.n_names < SYN_STORE_MAX_MEMBERS;
         i++) {
        const char *nm = json_object_get_string(json_object_array_get_idx(names, i));
        snprintf(by.names[by.n_names], sizeof by.names[0], "%s", nm ? nm : "");
        list[by.n_names] = by.names[by.n_names];
        by.n_names++;
    }
    json_object_put(names);
    char who[sizeof by.names];
    who_key(list, by.n_names, who, sizeof who);
    if (rated)
        *rated = by;
    /* an answer without a confidence (the upstream's) is no one's record */
    if (sqlite3_column_type(a, 4) != SQLITE_NULL)
        rc = syn_store_count_rating(st, who, domain, rating, sqlite3_column_double(a, 4), err);
    sqlite3_stmt *f = syn_store_prepare(
        st, "INSERT INTO feedback (message_id, rating, correction, created_at) VALUES (?, ?, ?, ?)", err);
    if (!f)
        rc = err->code;
    else if (rc)
        sqlite3_finalize(f);
    else {
        sqlite3_bind_int64(f, 1, msg);
        sqlite3_bind_int(f, 2, rating);
        if (correction)
            sqlite3_bind_text(f, 3, correction, -1, SQLITE_STATIC);
        sqlite3_bind_double(f, 4, syn_store_now());
        if (!(rc = syn_store_run(st, f, "recording feedback", err)))
            *feedback_id = sqlite3_last_insert_rowid(st->db);
    }
    if (!rc && correction) {
        sqlite3_stmt *p = syn_store_prepare(st,
                                            "INSERT INTO preferences (specialist, prompt, chosen, rejected, source, "
                                            "message_id, created_at) VALUES (?, ?, ?, ?, 'feedback', ?, ?)",
                                            err);
        if (!p)
            rc = err->code;
        else {
            sqlite3_bind_value(p, 1, sqlite3_column_value(a, 2));
            const unsigned char *prompt = sqlite3_column_text(a, 6);
            sqlite3_bind_text(p, 2, prompt ? (const char *)prompt : "", -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(p, 3, correction, -1, SQLITE_STATIC);
            sqlite3_bind_value(p, 4, sqlite3_column_value(a, 1));
            sqlite3_bind_int64(p, 5, msg);
            sqlite3_bind_double(p, 6, syn_store_now());
            if (!(rc = syn_store_run(st, p, "recording a preference pair", err)))
                *pair_id = sqlite3_last_insert_rowid(st->db);
        }
    }
    sqlite3_finalize(a);
    return syn_store_end(st, rc, err);
}

static json_object *column_json(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? json_object_new_string((const char *)t) : NULL;
}

int syn_store_add_pair(syn_store *st, const char *response_id, const char *specialist, const char *chosen,
                       const char *rejected, const char *source, int64_t *pair_id, syn_error *err)
{
    *pair_id = 0;
    int rc = syn_store_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *a;
    if ((rc = find_answer(st, response_id, 0, &a, err)))
        return syn_store_end(st, rc, err);
    sqlite3_stmt *p = rc ? NULL
                         : syn_store_prepare(st,
                                             "INSERT INTO preferences (specialist, prompt, chosen, rejected, source, "
                                             "message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                             err);
    if (!rc && !p)
        rc = err->code;
    if (p) {
        const unsigned char *prompt = sqlite3_column_text(a, 6);
        if (specialist)
            sqlite3_bind_text(p, 1, specialist, -1, SQLITE_STATIC);
        sqlite3_bind_text(p, 2, prompt ? (const char *)prompt : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(p, 3, chosen, -1, SQLITE_STATIC);
        if (rejected)
            sqlite3_bind_text(p, 4, rejected, -1, SQLITE_STATIC);
        sqlite3_bind_text(p, 5, source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(p, 6, sqlite3_column_int64(a, 0));
        sqlite3_bind_double(p, 7, syn_store_now());
        if (!(rc = syn_store_run(st, p, "recording a preference pair", err)))
            *pair_id = sqlite3_last_insert_rowid(st->db);
    }
    sqlite3_finalize(a);
    return syn_store_end(st, rc, err);
}

static json_object *pair_row(sqlite3_stmt *q)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(sqlite3_column_int64(q, 0)));
    static const char *const keys[] = {"specialist", "prompt", "chosen", "rejected", "source"};
    for (int k = 0; k < 5; k++)
        json_object_object_add(o, keys[k], column_json(q, k + 1));
    return o;
}

int syn_store_preferences(syn_store *st, int limit, json_object **out, syn_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *q = syn_store_prepare(
        st, "SELECT id, specialist, prompt, chosen, rejected, source FROM preferences ORDER BY id DESC LIMIT ?", err);
    if (!q) {
        pthread_mutex_unlock(&st->mu);
        return err->code;
    }
    sqlite3_bind_int(q, 1, limit);
    return syn_store_list(st, q, "listing preference pairs", pair_row, out, err);
}
