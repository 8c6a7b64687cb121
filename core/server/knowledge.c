/* The knowledge routes: GET and POST /api/knowledge/facts, DELETE
 * /api/knowledge/facts/{id}, GET /api/knowledge/stats, POST
 * /api/knowledge/extract (what the extractor finds in a text, stored
 * nowhere) and POST /api/verify (a text's claims labelled by the
 * verifier); and the verification of an answer. */
#include <stdlib.h>
#include <string.h>

#include "core/server/internal.h"

#define FACTS_DEFAULT 50
#define FACTS_MAX 1000
#define TEXT_MAX 65536

/* ?name= as a string into buf (0: absent, 1: there); -1: an error was sent */
static int query_str(struct mg_connection *c, syn_server *s, const char *name, char *buf, size_t n, int *status)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *qs = ri->query_string ? ri->query_string : "";
    int got = mg_get_var(qs, strlen(qs), name, buf, n);
    if (got == -2) {
        *status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "'%s' is longer than %zu bytes", name,
                                     n - 1);
        return -1;
    }
    return got >= 0;
}

static int list_facts(struct mg_connection *c, syn_server *s)
{
    char subject[512], q[512], off[32];
    int status = 0, limit;
    int has_s = query_str(c, s, "subject", subject, sizeof subject, &status);
    int has_q = has_s < 0 ? -1 : query_str(c, s, "q", q, sizeof q, &status);
    int has_o = has_q < 0 ? -1 : query_str(c, s, "offset", off, sizeof off, &status);
    if (has_s < 0 || has_q < 0 || has_o < 0)
        return status;
    if ((status = syn_query_limit(c, s, FACTS_DEFAULT, FACTS_MAX, &limit)))
        return status;
    long offset = 0;
    if (has_o) {
        char *end;
        offset = strtol(off, &end, 10);
        if (!*off || *end || offset < 0 || offset > 1000000000L)
            return syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "'offset' must be a number from 0");
    }
    json_object *data;
    syn_error err = {0};
    if (syn_store_facts(s->store, has_s ? subject : NULL, has_q ? q : NULL, limit, (int)offset, &data, &err))
        return syn_send_error_msg(c, s, err.code == SYN_ERR_INVALID ? 400 : 500,
                                  err.code == SYN_ERR_INVALID ? "invalid_request_error" : "server_error", NULL, "%s",
                                  err.msg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    return syn_send_json_obj(c, s, 200, o);
}

static int add_fact(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    syn_http_error e = {0};
    json_object *root = NULL;
    if (syn_request_parse_json(body, len, &root, &e))
        return syn_send_error(c, s, &e);
    syn_fact f = {.confidence = 0};
    int status = 0;
    json_object_object_foreach(root, key, v)
    {
        const char **field = !strcmp(key, "subject") ? &f.subject : !strcmp(key, "predicate") ? &f.predicate
                           : !strcmp(key, "object")  ? &f.object : NULL;
        if (field) {
            if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
                status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "'%s' must be a non-empty string",
                                            key);
            else
                *field = json_object_get_string(v);
        } else if (!strcmp(key, "negated")) {
            if (!json_object_is_type(v, json_type_boolean))
                status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "'negated' must be true or false");
            else
                f.negated = json_object_get_boolean(v);
        } else
            status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "unknown field '%.64s'", key);
        if (status)
            break;
    }
    if (!status && (!f.subject || !f.predicate || !f.object))
        status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL,
                                    "a fact needs 'subject', 'predicate' and 'object'");
    if (!status) {
        int64_t id;
        int is_new;
        syn_error err = {0};
        json_object *fact = NULL;
        if (syn_store_fact_add(s->store, &f, SYN_SOURCE_API, &id, &is_new, &err) ||
            syn_store_fact_get(s->store, id, &fact, &err))
            status = syn_send_error_msg(c, s, err.code == SYN_ERR_INVALID ? 400 : 500,
                                        err.code == SYN_ERR_INVALID ? "invalid_request_error" : "server_error", NULL,
                                        "%s", err.msg);
        else
            status = syn_send_json_obj(c, s, is_new ? 201 : 200, fact);
    }
    json_object_put(root);
    return status;
}

static int delete_fact(struct mg_connection *c, syn_server *s, const char *id_text)
{
    char *end;
    long long id = strtoll(id_text, &end, 10);
    if (!*id_text || *end || id <= 0)
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "fact_not_found", "there is no fact '%.32s'",
                                  id_text);
    syn_error err = {0};
    int rc = syn_store_fact_delete(s->store, id, &err);
    if (rc == SYN_ERR_NOT_FOUND)
        return syn_send_error_msg(c, s, 404, "invalid_request_error", "fact_not_found", "%s", err.msg);
    if (rc)
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(id));
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    return syn_send_json_obj(c, s, 200, o);
}

static int stats(struct mg_connection *c, syn_server *s)
{
    json_object *o;
    syn_error err = {0};
    if (syn_store_fact_stats(s->store, &o, &err))
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    return syn_send_json_obj(c, s, 200, o);
}

static int add_extracted(void *user, const syn_fact *f)
{
    json_object *o = json_object_new_object();
    char buf[3][512];
    const char *parts[3] = {f->subject, f->predicate, f->object};
    static const char *const keys[3] = {"subject", "predicate", "object"};
    for (int i = 0; i < 3; i++) {
        snprintf(buf[i], sizeof buf[i], "%s", parts[i] ? parts[i] : "");
        syn_fact_normalise(buf[i]);
        json_object_object_add(o, keys[i], json_object_new_string(buf[i]));
    }
    json_object_object_add(o, "negated", json_object_new_boolean(f->negated));
    json_object_array_add(user, o);
    return 0;
}

/* A body of one field, "text": 0 with *root (to put) and *text, or the
 * status of the error sent. */
static int text_body(struct mg_connection *c, syn_server *s, const char *body, size_t len, json_object **root,
                     const char **text)
{
    syn_http_error e = {0};
    *root = NULL;
    *text = NULL;
    if (syn_request_parse_json(body, len, root, &e))
        return syn_send_error(c, s, &e);
    int status = 0;
    json_object_object_foreach(*root, key, v)
    {
        if (strcmp(key, "text"))
            status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "unknown field '%.64s'", key);
        else if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) > TEXT_MAX)
            status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL,
                                        "'text' must be a string of at most %d bytes", TEXT_MAX);
        else
            *text = json_object_get_string(v);
        if (status)
            break;
    }
    if (!status && !*text)
        status = syn_send_error_msg(c, s, 400, "invalid_request_error", NULL, "'text' is required");
    if (status) {
        json_object_put(*root);
        *root = NULL;
    }
    return status;
}

static int extract(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    if (!s->extractor)
        return syn_send_error_msg(c, s, 503, "server_error", "no_extractor",
                                  "no extractor plugin is loaded (see synapse plugins, config plugins.extractor)");
    const char *text;
    json_object *root;
    int status = text_body(c, s, body, len, &root, &text);
    if (status)
        return status;
    json_object *facts = json_object_new_array();
    syn_error err = {0};
    if (syn_extractor_run(s->extractor, text, add_extracted, facts, &err)) {
        json_object_put(facts);
        status = syn_send_error_msg(c, s, 500, "server_error", NULL, "%s", err.msg);
    } else {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "facts", facts);
        status = syn_send_json_obj(c, s, 200, o);
    }
    json_object_put(root);
    return status;
}

typedef struct claims {
    const char *text;
    json_object *list;
    int contradicted;
} claims;

static int add_claim(void *user, const syn_claim *c)
{
    claims *k = user;
    static const char *const labels[] = {"unknown", "supported", "contradicted"};
    size_t n = strlen(k->text);
    size_t a = c->start < 0 ? 0 : (size_t)c->start > n ? n : (size_t)c->start;
    size_t b = c->end < (int32_t)a ? a : (size_t)c->end > n ? n : (size_t)c->end;
    while (a < b && (k->text[a] == ' ' || k->text[a] == '\n'))
        a++;
    while (b > a && (k->text[b - 1] == ' ' || k->text[b - 1] == '\n'))
        b--;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "claim", syn_json_string_utf8(k->text + a, b - a));
    json_object_object_add(o, "label", json_object_new_string(labels[c->label >= 0 && c->label <= 2 ? c->label : 0]));
    json_object_object_add(o, "fact_id", c->fact_id ? json_object_new_int64(c->fact_id) : NULL);
    json_object_array_add(k->list, o);
    k->contradicted |= c->label == SYN_CLAIM_CONTRADICTED;
    return 0;
}

json_object *syn_server_verify(syn_server *s, const char *question, const char *answer, int *contradicted)
{
    *contradicted = 0;
    if (!s->verifier)
        return NULL;
    claims k = {.text = answer, .list = json_object_new_array()};
    syn_error err = {0};
    if (syn_verifier_run(s->verifier, question, answer, add_claim, &k, &err)) {
        syn_log(SYN_LOG_ERROR, "the answer is not verified: %s", err.msg);
        json_object_put(k.list);
        return NULL;
    }
    *contradicted = k.contradicted;
    return k.list;
}

/* POST /api/verify {"text"}: any text's claims, labelled. */
static int verify(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    if (!s->verifier)
        return syn_send_error_msg(c, s, 503, "server_error", "no_verifier",
                                  "no verifier plugin is loaded (see synapse plugins, config plugins.verifier)");
    const char *text;
    json_object *root;
    int status = text_body(c, s, body, len, &root, &text);
    if (status)
        return status;
    int contradicted;
    json_object *list = syn_server_verify(s, NULL, text, &contradicted), *o = json_object_new_object();
    json_object_put(root);
    if (!list) {
        json_object_put(o);
        return syn_send_error_msg(c, s, 500, "server_error", NULL, "the verifier failed (see the log)");
    }
    json_object_object_add(o, "claims", list);
    return syn_send_json_obj(c, s, 200, o);
}

#define KNOWN_HEADER "Facts known to be true:\n"
#define RELATED_MAX 32

char *syn_server_known_facts(syn_server *s, const syn_base *b, const char *query, json_object **ids)
{
    *ids = NULL;
    int budget = __atomic_load_n(&s->cfg.knowledge_prompt_tokens, __ATOMIC_RELAXED); /* SIGHUP may change it */
    json_object *related = NULL;
    syn_error err = {0};
    if (budget <= 0 || !query || !b->tok)
        return NULL;
    if (syn_store_facts_related(s->store, query, RELATED_MAX, &related, &err)) {
        syn_log(SYN_LOG_ERROR, "no facts for the prompt: %s", err.msg);
        return NULL;
    }
    size_t n = json_object_array_length(related), cap = strlen(KNOWN_HEADER) + 1, len = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *f = json_object_array_get_idx(related, i);
        cap += 16 + strlen(json_object_get_string(json_object_object_get(f, "subject"))) +
               strlen(json_object_get_string(json_object_object_get(f, "predicate"))) +
               strlen(json_object_get_string(json_object_object_get(f, "object")));
    }
    char *block = n ? malloc(cap) : NULL;
    if (!block) {
        json_object_put(related);
        return NULL;
    }
    len = (size_t)snprintf(block, cap, KNOWN_HEADER);
    json_object *used = json_object_new_array();
    /* each fact a line, as many as the budget holds */
    for (size_t i = 0; i < n; i++) {
        json_object *f = json_object_array_get_idx(related, i);
        size_t before = len;
        len += (size_t)snprintf(block + len, cap - len, "- %s%s %s %s\n",
                                json_object_get_boolean(json_object_object_get(f, "negated")) ? "not: " : "",
                                json_object_get_string(json_object_object_get(f, "subject")),
                                json_object_get_string(json_object_object_get(f, "predicate")),
                                json_object_get_string(json_object_object_get(f, "object")));
        int32_t *tokens = NULL;
        size_t n_tokens = 0;
        if (syn_tokenize(b->tok, block, len, 0, 0, &tokens, &n_tokens, &err) || n_tokens > (size_t)budget) {
            free(tokens);
            len = before;
            block[len] = '\0';
            break;
        }
        free(tokens);
        json_object_array_add(used, json_object_get(json_object_object_get(f, "id")));
    }
    json_object_put(related);
    if (len && block[len - 1] == '\n')
        block[--len] = '\0'; /* lines between, not after */
    if (!json_object_array_length(used)) {
        json_object_put(used);
        free(block);
        return NULL;
    }
    *ids = used;
    return block;
}

int syn_route_knowledge(struct mg_connection *c, syn_server *s, const char *body, size_t len)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    const char *uri = ri->local_uri;
    if (!strcmp(uri, "/api/knowledge/stats"))
        return stats(c, s);
    if (!strcmp(uri, "/api/knowledge/extract"))
        return extract(c, s, body, len);
    if (!strcmp(uri, "/api/verify"))
        return verify(c, s, body, len);
    if (!strncmp(uri, "/api/knowledge/facts/", 21))
        return delete_fact(c, s, uri + 21);
    return !strcmp(ri->request_method, "POST") ? add_fact(c, s, body, len) : list_facts(c, s);
}
