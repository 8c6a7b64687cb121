/* Writing HTTP responses: JSON bodies with CORS headers, OpenAI's error
 * shape, and small encoders (UTF-8 repair, base64, ids). Any HTTP thread. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/server/dialect.h"
#include "core/server/internal.h"

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

const char *syn_cors_headers(const syn_server *s, char *buf, size_t n)
{
    if (!s->cfg.cors)
        return "";
    snprintf(buf, n,
             "Access-Control-Allow-Origin: %s\r\nAccess-Control-Allow-Headers: Authorization, Content-Type\r\n"
             "Access-Control-Allow-Methods: GET, POST, OPTIONS\r\n",
             s->cfg.cors);
    return buf;
}

int syn_send_raw(struct mg_connection *c, const syn_server *s, int status, const char *ctype, const char *body,
                 size_t len, const char *extra)
{
    char cors[512];
    mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%sConnection: close\r\n\r\n", status,
              reason(status), ctype, len, syn_cors_headers(s, cors, sizeof cors), extra);
    const char *method = mg_get_request_info(c)->request_method;
    if (len && !(method && !strcmp(method, "HEAD"))) /* HEAD: GET's head, no body */
        mg_write(c, body, len);
    return status;
}

int syn_send_text(struct mg_connection *c, const syn_server *s, int status, const char *ctype, const char *body,
                  size_t len)
{
    return syn_send_raw(c, s, status, ctype, body, len, "");
}

void syn_send_stream_head(struct mg_connection *c, const syn_server *s, const char *ctype, const char *extra)
{
    char cors[512];
    mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-cache\r\n%s%sConnection: close\r\n\r\n",
              ctype, syn_cors_headers(s, cors, sizeof cors), extra);
}

int syn_send_bytes(struct mg_connection *c, const char *bytes, size_t n)
{
    return mg_write(c, bytes, n) == (int)n ? 0 : -1;
}

const char *syn_error_message(json_object *o)
{
    const char *m = json_object_get_string(json_object_object_get(json_object_object_get(o, "error"), "message"));
    return m ? m : "";
}

int syn_send_json_obj_headers(struct mg_connection *c, const syn_server *s, int status, json_object *o,
                              const char *extra)
{
    syn_dialect *d = syn_dialect_of(c);
    if (d)
        return d->whole(d, c, s, status, o, extra);
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = syn_send_raw(c, s, status, "application/json", t ? t : "{}", t ? strlen(t) : 2, extra);
    json_object_put(o);
    return rc;
}

int syn_send_json(struct mg_connection *c, const syn_server *s, int status, const char *body)
{
    return syn_send_text(c, s, status, "application/json", body, strlen(body));
}

int syn_send_json_obj(struct mg_connection *c, const syn_server *s, int status, json_object *o)
{
    return syn_send_json_obj_headers(c, s, status, o, "");
}

int syn_send_error(struct mg_connection *c, const syn_server *s, const syn_http_error *e)
{
    json_object *err = json_object_new_object(), *o = json_object_new_object();
    json_object_object_add(err, "message", json_object_new_string(e->message));
    json_object_object_add(err, "type", json_object_new_string(e->type ? e->type : "invalid_request_error"));
    json_object_object_add(err, "param", e->param[0] ? json_object_new_string(e->param) : NULL);
    json_object_object_add(err, "code", e->code ? json_object_new_string(e->code) : NULL);
    json_object_object_add(o, "error", err);
    return syn_send_json_obj(c, s, e->status, o);
}

int syn_send_error_msg(struct mg_connection *c, const syn_server *s, int status, const char *type, const char *code,
                       const char *fmt, ...)
{
    syn_http_error e = {.status = status, .type = type, .code = code};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    return syn_send_error(c, s, &e);
}

json_object *syn_json_string_utf8(const char *b, size_t n)
{
    char *out = malloc(n * 3 + 1);
    if (!out)
        return json_object_new_string("");
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)b[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        int ok = len && i + len <= n && !(len == 1 && c == 0);
        for (size_t j = 1; ok && j < len; j++)
            ok = ((unsigned char)b[i + j] >> 6) == 2;
        if (ok) {
            memcpy(out + k, b + i, len);
            k += len;
            i += len;
        } else {
            memcpy(out + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i++;
        }
    }
    json_object *o = json_object_new_string_len(out, (int)k);
    free(out);
    return o;
}

char *syn_base64(const void *data, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = tbl[v >> 18 & 63];
        *o++ = tbl[v >> 12 & 63];
        *o++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *o = 0;
    return out;
}

void syn_random_id(const char *prefix, char *out, size_t n)
{
    unsigned char r[12] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        memset(r, 0x5a, sizeof r);
    int k = snprintf(out, n, "%s", prefix);
    for (size_t i = 0; i < sizeof r && k + 2 < (int)n; i++)
        k += snprintf(out + k, n - (size_t)k, "%02x", r[i]);
}
