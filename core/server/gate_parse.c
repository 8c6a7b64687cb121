/* Request heads as the gate reads them (see gate_parse.h). Strict where
 * two readers could disagree about where a request ends (the smuggling
 * cases: duplicate lengths, a length with chunking), lenient where there is
 * one obvious meaning (absolute-form targets). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/server/gate.h"
#include "core/server/gate_parse.h"

size_t syn_gate_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

static int refuse(syn_gate_head *h, int status, const char *code, const char *why)
{
    h->status = status;
    h->error_code = code;
    snprintf(h->why, sizeof h->why, "%s", why);
    return 0;
}

/* Appends n bytes to the forwarded head. */
static int put(syn_gate_head *h, size_t *cap, const char *s, size_t n)
{
    if (h->forward_len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 512;
        while (c < h->forward_len + n + 1)
            c *= 2;
        char *t = realloc(h->forward, c);
        if (!t)
            return -1;
        h->forward = t;
        *cap = c;
    }
    memcpy(h->forward + h->forward_len, s, n);
    h->forward_len += n;
    h->forward[h->forward_len] = 0;
    return 0;
}

static int name_is(const char *line, size_t name_len, const char *name)
{
    return name_len == strlen(name) && !strncasecmp(line, name, name_len);
}

/* Trims spaces and tabs around [*s, *s + *n). */
static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* The request line; the target rewritten to origin-form. */
static int request_line(syn_gate_head *h, size_t *cap, const char *s, size_t n)
{
    const char *sp1 = memchr(s, ' ', n);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(s + n - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == s || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(s + n - sp2 - 1)))
        return refuse(h, 400, "bad_request", "malformed request line");
    for (const char *p = s; p < sp1; p++)
        if (*p < 'A' || *p > 'Z')
            return refuse(h, 400, "bad_request", "malformed request method");
    size_t vlen = (size_t)(s + n - sp2 - 1);
    if (vlen != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) || (sp2[8] != '0' && sp2[8] != '1'))
        return refuse(h, 505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
    const char *t = sp1 + 1;
    size_t tlen = (size_t)(sp2 - t);
    for (size_t i = 0; i < tlen; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] == 0x7f)
            return refuse(h, 400, "bad_request", "control characters in the request target");
    if (tlen > 7 && (!strncasecmp(t, "http://", 7) || (tlen > 8 && !strncasecmp(t, "https://", 8)))) {
        /* absolute-form, as sent to a proxy: the path is what matters */
        const char *auth = memchr(t, '/', tlen) + 2;
        const char *path = memchr(auth, '/', (size_t)(t + tlen - auth));
        if (path) {
            tlen = (size_t)(t + tlen - path);
            t = path;
        } else {
            t = "/";
            tlen = 1;
        }
    } else if (t[0] != '/' && !(tlen == 1 && t[0] == '*')) {
        return refuse(h, 400, "bad_request", "the request target must be a path");
    }
    if (put(h, cap, s, (size_t)(sp1 - s) + 1) || put(h, cap, t, tlen) || put(h, cap, sp2, vlen + 1) ||
        put(h, cap, "\r\n", 2))
        return -1;
    return 0;
}

int syn_gate_parse_head(const char *buf, size_t len, const char *peer, syn_gate_head *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int have_length = 0, have_te = 0;
    const char *p = buf, *end = buf + len;
    for (int first = 1; p < end; first = 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        const char *next = nl ? nl + 1 : end;
        if (n && p[n - 1] == '\r')
            n--;
        if (!n) /* the blank line */
            break;
        if (memchr(p, '\0', n))
            return refuse(out, 400, "bad_request", "NUL in the request head");
        if (first) {
            if (request_line(out, &cap, p, n) || out->status)
                return out->status ? 0 : -1;
            p = next;
            continue;
        }
        if (*p == ' ' || *p == '\t')
            return refuse(out, 400, "bad_request", "folded header lines are not accepted");
        const char *colon = memchr(p, ':', n);
        size_t name_len = colon ? (size_t)(colon - p) : 0;
        if (!colon || !name_len || memchr(p, ' ', name_len) || memchr(p, '\t', name_len))
            return refuse(out, 400, "bad_request", "malformed header line");
        const char *v = colon + 1;
        size_t vn = n - name_len - 1;
        trim(&v, &vn);
        if (name_is(p, name_len, "Content-Length")) {
            size_t x = 0;
            if (!vn || vn > 15)
                return refuse(out, 400, "bad_request", "Content-Length is not a number");
            for (size_t i = 0; i < vn; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return refuse(out, 400, "bad_request", "Content-Length is not a number");
                x = x * 10 + (size_t)(v[i] - '0');
            }
            if (have_length && x != out->content_length)
                return refuse(out, 400, "bad_request", "two Content-Length headers that differ");
            out->content_length = x;
            have_length = 1;
        } else if (name_is(p, name_len, "Transfer-Encoding")) {
            have_te = 1;
        } else if (name_is(p, name_len, "Expect")) {
            if (vn != 12 || strncasecmp(v, "100-continue", 12))
                return refuse(out, 417, "expectation_failed", "only 'Expect: 100-continue' is understood");
            out->expect_continue = 1;
            p = next;
            continue; /* the gate answers it; civetweb must not */
        } else if (name_is(p, name_len, SYN_GATE_PEER_HEADER)) {
            p = next;
            continue;
        }
        if (put(out, &cap, p, n) || put(out, &cap, "\r\n", 2))
            return -1;
        p = next;
    }
    if (!out->forward_len)
        return refuse(out, 400, "bad_request", "empty request");
    /* two ways to find the end of the body: which one a reader takes is
     * how requests are smuggled past it */
    if (have_te && have_length)
        return refuse(out, 400, "bad_request", "both Content-Length and Transfer-Encoding");
    if (have_te)
        return refuse(out, 411, "length_required",
                      "request bodies must come with Content-Length (Transfer-Encoding is not accepted)");
    char line[128];
    int k = snprintf(line, sizeof line, "%s: %s\r\n\r\n", SYN_GATE_PEER_HEADER, peer);
    return put(out, &cap, line, (size_t)k);
}

void syn_gate_head_free(syn_gate_head *h)
{
    free(h->forward);
    memset(h, 0, sizeof *h);
}
