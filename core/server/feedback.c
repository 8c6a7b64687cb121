/* The store's routes: POST /api/feedback (a rating of an answer, and
 * perhaps a better one, which becomes a preference pair) and GET
 * /api/preferences (the pairs, newest first). And the server's side of
 * recording each answered chat request. */
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"

#define PREFERENCES_DEFAULT 100
#define PREFERENCES_MAX 1000

/* body: {"response_id": "...", "rating": 1 | -1, "correction": "...", "choice": N}; every other field refused */
static int parse_feedback(json_object *root, const char **id, int *rating, const char **correction, int *choice,
                          syn_http_error *e)
{
    *id = *correction = NULL;
    *rating = 0;
    *choice = 0;
    int have_rating = 0;
    json_object_object_foreach(root, key, v)
    {
        if (!strcmp(key, "response_id")) {
            if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
                return syn_http_fail(e, 400, "invalid_request_error", NULL, key, "'response_id' must be a non-empty string");
            *id = json_object_get_string(v);
        } else if (!strcmp(key, "rating")) {
            int64_t r = json_object_get_int64(v);
            if (!json_object_is_type(v, json_type_int) || (r != 1 && r != -1))
                return syn_http_fail(e, 400, "invalid_request_error", NULL, key, "'rating' must be 1 or -1");
            *rating = (int)r;
            have_rating = 1;
        } else if (!strcmp(key, "correction")) {
            if (json_object_is_type(v, json_type_null))
                continue;
            if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
                return syn_http_fail(e, 400, "invalid_request_error", NULL, key,
                                     "'correction' must be a non-empty string (the better answer)");
            *correction = json_object_get_string(v);
        } else if (!strcmp(key, "choice")) {
            int64_t c = json_object_get_int64(v);
            if (!json_object_is_type(v, json_type_int) || c < 0 || c >= SYN_MAX_N)
                return syn_http_fail(e, 400, "invalid_request_error", NULL, key, "'choice' must be from 0 to %d",
                                     SYN_MAX_N - 1);
            *choice = (int)c;
        } else
            return syn_http_fail(e, 400, "invalid_request_error", NULL, key, "unknown field '%.64s'", key);
    }
    if (!*id)
        return syn_http_fail(e, 400, "invalid_request_error", NULL, "response_id", "'response_id' is required");
    if (!have_rating)
        return syn_http_fail(e, 400, "invalid_request_error", NULL, "rating", "'rating' (1 or -1) is required");
    return 0;
}

static int feedback(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    syn_http_error e = {0};
    json_object *root = NULL;
    const char *id, *correction;
    int rating, choice;
    if (syn_request_parse_json(body, len, &root, &e) || parse_feedback(root, &id, &rating, &correction, &choice, &e)) {
        json_object_put(root);
        return syn_send_error(c, s, &e);
    }
    syn_error err = {0};
    int64_t fid, pid;
    syn_store_rated rated = {0};
    int rc = syn_store_feedback(s->store, id, choice, rating, correction, &fid, &pid, &rated, &err);
    json_object_put(root);
    /* the outcome moves the pathway of what answered; the base model has none */
    const char *names[SYN_STORE_MAX_MEMBERS];
    for (int i = 0; i < rated.n_names; i++)
        names[i] = rated.names[i];
    if (!rc && s->router && rated.n_names &&
        syn_router_outcome(s->router, rated.domain, names, rated.n_names, (float)rating, &err))
        syn_log(SYN_LOG_ERROR, "feedback on %s: the router did not learn from it: %s", id, err.msg);
    if (!rc && rating < 0) /* a thumbs-down: a query not served well */
        syn_server_unserved(s, rated.query, rated.domain, rated.n_names ? rated.names[0] : NULL, "rated down");
    if (rc == SYN_ERR_NOT_FOUND)
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "response_not_found", "%s", err.msg);
    if (rc)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(fid));
    json_object_object_add(o, "preference_id", pid ? json_object_new_int64(pid) : NULL);
    return syn_send_json_obj(c, s, 201, o);
}

static int preferences(struct mg_connection *c, syn_server *s)
{
    int limit, status;
    if ((status = syn_query_limit(c, s, PREFERENCES_DEFAULT, PREFERENCES_MAX, &limit)))
        return status;
    json_object *data;
    syn_error err = {0};
    if (syn_store_preferences(s->store, limit, &data, &err))
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    return syn_send_json_obj(c, s, 200, o);
}

int syn_route_store(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    return !strcmp(ri->local_uri, "/api/feedback") ? feedback(c, s, body, len) : preferences(c, s);
}

void syn_server_record_chat(syn_server *s, const char *response_id, const char *model, const syn_answer_route *route,
                            const syn_chat_msg *msgs, size_t n_msgs, const char *const *texts, const size_t *lens,
                            int n, const double *confidence)
{
    syn_error err = {0};
    syn_store_exchange x = {.response_id = response_id, .model = model, .specialist = route->specialist,
                            .members = route->members, .n_members = route->n_members,
                            .msgs = msgs, .n_msgs = n_msgs, .answers = texts, .answer_len = lens, .n_answers = n,
                            .domain = route->domain, .confidence = confidence, .route_mode = route->mode,
                            .route_json = route->full ? json_object_to_json_string_ext(route->full,
                                                                                       JSON_C_TO_STRING_PLAIN)
                                                      : NULL};
    /* the client still gets its answer; feedback on it will say it is unknown */
    if (syn_store_record(s->store, &x, &err))
        syn_log(SYN_LOG_ERROR, "not recorded: %s: %s", response_id, err.msg);
}
