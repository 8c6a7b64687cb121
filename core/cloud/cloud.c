/* The upstream client (see cloud.h). A non-streamed answer is read whole
 * and parsed; a streamed one is read as server-sent events, each "data:"
 * line's choices[0].delta.content handed on as it arrives. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cloud/cloud.h"

#define MAX_ANSWER (16u << 20) /* bytes of an upstream response we take */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > MAX_ANSWER)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

typedef struct call {
    const syn_cloud_request *q;
    buf body;   /* non-streamed: the whole body; streamed: the line being read */
    buf answer; /* streamed: the text so far */
    int stopped; /* the piece callback said stop */
    int done;    /* streamed: "data: [DONE]" came */
    int bad;     /* out of memory or too long */
    long status;
} call;

/* One SSE line of a streamed answer. */
static void stream_line(call *k, const char *line)
{
    if (strncmp(line, "data:", 5))
        return;
    line += 5;
    while (*line == ' ')
        line++;
    if (!strcmp(line, "[DONE]")) {
        k->done = 1;
        return;
    }
    json_object *o = json_tokener_parse(line);
    json_object *ch = json_object_array_get_idx(json_object_object_get(o, "choices"), 0);
    json_object *content = json_object_object_get(json_object_object_get(ch, "delta"), "content");
    if (json_object_is_type(content, json_type_string)) {
        const char *t = json_object_get_string(content);
        size_t n = (size_t)json_object_get_string_len(content);
        if (buf_add(&k->answer, t, n))
            k->bad = 1;
        else if (n && k->q->on_piece(k->q->user, t, n))
            k->stopped = 1;
    }
    json_object_put(o);
}

static size_t on_data(char *data, size_t size, size_t n, void *user)
{
    call *k = user;
    size_t bytes = size * n;
    if (!k->q->on_piece || k->status != 200) {
        if (buf_add(&k->body, data, bytes))
            k->bad = 1;
        return k->bad ? 0 : bytes;
    }
    for (size_t i = 0; i < bytes && !k->bad && !k->stopped; i++) {
        if (data[i] == '\n') {
            if (k->body.len && k->body.p[k->body.len - 1] == '\r')
                k->body.p[--k->body.len] = '\0';
            stream_line(k, k->body.p ? k->body.p : "");
            k->body.len = 0;
            if (k->body.p)
                k->body.p[0] = '\0';
        } else if (buf_add(&k->body, data + i, 1))
            k->bad = 1;
    }
    return k->bad || k->stopped ? 0 : bytes;
}

/* The status is known before the body: a streamed error is read whole. */
static size_t on_header(char *data, size_t size, size_t n, void *user)
{
    call *k = user;
    int st;
    if (size * n > 9 && !strncmp(data, "HTTP/", 5) && sscanf(data, "HTTP/%*s %d", &st) == 1)
        k->status = st;
    return size * n;
}

static char *request_json(const syn_cloud_config *c, const syn_cloud_request *q)
{
    json_object *o = json_object_new_object(), *msgs = json_object_new_array();
    json_object_object_add(o, "model", json_object_new_string(c->model));
    for (size_t i = 0; i < q->n_msgs; i++) {
        json_object *m = json_object_new_object();
        json_object_object_add(m, "role", json_object_new_string(q->msgs[i].role));
        json_object_object_add(m, "content", json_object_new_string(q->msgs[i].content ? q->msgs[i].content : ""));
        json_object_array_add(msgs, m);
    }
    json_object_object_add(o, "messages", msgs);
    if (q->max_tokens > 0)
        json_object_object_add(o, "max_tokens", json_object_new_int(q->max_tokens));
    if (q->temperature >= 0)
        json_object_object_add(o, "temperature", json_object_new_double(q->temperature));
    if (q->n_stops) {
        json_object *stop = json_object_new_array();
        for (size_t i = 0; i < q->n_stops; i++)
            json_object_array_add(stop, json_object_new_string(q->stops[i]));
        json_object_object_add(o, "stop", stop);
    }
    if (q->on_piece)
        json_object_object_add(o, "stream", json_object_new_boolean(1));
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

/* The upstream's own error message, when its body has one. */
static void upstream_error(const call *k, syn_error *err)
{
    json_object *o = k->body.p ? json_tokener_parse(k->body.p) : NULL;
    json_object *m = json_object_object_get(json_object_object_get(o, "error"), "message");
    syn_fail(err, SYN_ERR_IO, "the upstream answered %ld: %.200s", k->status,
             json_object_is_type(m, json_type_string) ? json_object_get_string(m) : "(no error message)");
    json_object_put(o);
}

static int take_answer(call *k, char **text, size_t *len, syn_error *err)
{
    if (k->q->on_piece && k->body.len) /* a last line without its newline */
        stream_line(k, k->body.p);
    if (k->q->on_piece && !k->done && !k->answer.len)
        return syn_fail(err, SYN_ERR_FORMAT, "the upstream's stream held no answer (no content and no [DONE])");
    if (k->q->on_piece) {
        *text = k->answer.p ? k->answer.p : strdup("");
        *len = k->answer.len;
        k->answer.p = NULL;
        return *text ? 0 : syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    json_object *o = k->body.p ? json_tokener_parse(k->body.p) : NULL;
    json_object *ch = json_object_array_get_idx(json_object_object_get(o, "choices"), 0);
    json_object *content = json_object_object_get(json_object_object_get(ch, "message"), "content");
    int rc = 0;
    if (!json_object_is_type(content, json_type_string))
        rc = syn_fail(err, SYN_ERR_FORMAT, "the upstream's answer has no choices[0].message.content");
    else if (!(*text = strdup(json_object_get_string(content))))
        rc = syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    else
        *len = strlen(*text);
    json_object_put(o);
    return rc;
}

int syn_cloud_chat(const syn_cloud_config *c, const syn_cloud_request *q, char **text, size_t *len, syn_error *err)
{
    *text = NULL;
    *len = 0;
    char url[2048];
    size_t base = strlen(c->api_base);
    while (base && c->api_base[base - 1] == '/')
        base--;
    if (snprintf(url, sizeof url, "%.*s/chat/completions", (int)base, c->api_base) >= (int)sizeof url)
        return syn_fail(err, SYN_ERR_INVALID, "cloud.api_base is too long");
    const char *key = c->api_key ? c->api_key : getenv("SYNAPSE_CLOUD_KEY");
    char *body = request_json(c, q);
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    char auth[1024];
    if (key && *key && snprintf(auth, sizeof auth, "Authorization: Bearer %s", key) < (int)sizeof auth)
        hdr = curl_slist_append(hdr, auth);
    if (!body || !h || !hdr) {
        free(body);
        curl_easy_cleanup(h);
        curl_slist_free_all(hdr);
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    }
    call k = {.q = q};
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)c->timeout_s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)(c->timeout_s < 10 ? c->timeout_s : 10));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for timeouts */
    curl_easy_setopt(h, CURLOPT_USERAGENT, "synapse");
    CURLcode cc = curl_easy_perform(h);
    int rc = 0;
    if (k.stopped)
        rc = syn_fail(err, SYN_ERR_IO, "the client left");
    else if (k.bad)
        rc = syn_fail(err, SYN_ERR_NOMEM, "the upstream's answer is too long (over %u bytes) or memory ran out",
                      MAX_ANSWER);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = syn_fail(err, SYN_ERR_IO, "the upstream timed out after %d s", c->timeout_s);
    else if (cc != CURLE_OK)
        rc = syn_fail(err, SYN_ERR_IO, "the upstream is unreachable: %.200s", curl_err[0] ? curl_err : curl_easy_strerror(cc));
    else if (k.status != 200)
        upstream_error(&k, err), rc = SYN_ERR_IO;
    else
        rc = take_answer(&k, text, len, err);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    free(body);
    free(k.body.p);
    free(k.answer.p);
    return rc;
}

int syn_cloud_global_init(syn_error *err)
{
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    return cc == CURLE_OK ? 0 : syn_fail(err, SYN_ERR_IO, "cannot start libcurl: %s", curl_easy_strerror(cc));
}

void syn_cloud_global_cleanup(void) { curl_global_cleanup(); }
