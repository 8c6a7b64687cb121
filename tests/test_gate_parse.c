/* The gate's reading of request heads: what it forwards, what it refuses
 * and with which status. */
#include <string.h>

#include "core/server/gate_parse.h"
#include "tests/check.h"

static const struct {
    const char *head;
    int status;          /* 0: forwarded */
    size_t length;       /* Content-Length it found */
    const char *forward; /* the start of the forwarded head */
} cases[] = {
    {"GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, "GET /health HTTP/1.1\r\nHost: x\r\n"},
    {"GET /health HTTP/1.0\n\n", 0, 0, "GET /health HTTP/1.0\r\n"},
    {"POST /v1/completions HTTP/1.1\r\nContent-Length: 12\r\n\r\n", 0, 12, "POST /v1/completions HTTP/1.1\r\n"},
    {"POST /a HTTP/1.1\r\nContent-Length: 3\r\ncontent-length:3\r\n\r\n", 0, 3, "POST /a HTTP/1.1\r\n"},
    {"GET http://example.com:6900/v1/models?x=1 HTTP/1.1\r\n\r\n", 0, 0, "GET /v1/models?x=1 HTTP/1.1\r\n"},
    {"GET https://example.com HTTP/1.1\r\n\r\n", 0, 0, "GET / HTTP/1.1\r\n"},
    {"OPTIONS * HTTP/1.1\r\n\r\n", 0, 0, "OPTIONS * HTTP/1.1\r\n"},
    {"POST /a HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n", 0, 2, "POST /a HTTP/1.1\r\nContent-Length: 2\r\n"},
    {"GET /a HTTP/1.1\r\nX-Synapse-Peer: 6.6.6.6 1\r\n\r\n", 0, 0, "GET /a HTTP/1.1\r\nX-Synapse-Peer: 1.2.3.4 5\r\n"},
    {"POST /a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400, 0, NULL},
    {"POST /a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 0, NULL},
    {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400, 0, NULL},
    {"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 411, 0, NULL},
    {"POST /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, 0, NULL},
    {"POST /a HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400, 0, NULL},
    {"POST /a HTTP/1.1\r\nContent-Length: 99999999999999999\r\n\r\n", 400, 0, NULL},
    {"GET a HTTP/1.1\r\n\r\n", 400, 0, NULL},
    {"GET /a HTTP/2.0\r\n\r\n", 505, 0, NULL},
    {"GET /a\r\n\r\n", 400, 0, NULL},
    {"get /a HTTP/1.1\r\n\r\n", 400, 0, NULL},
    {"GET /a b HTTP/1.1\r\n\r\n", 400, 0, NULL},
    {"GET /a HTTP/1.1\r\n folded: x\r\n\r\n", 400, 0, NULL},
    {"GET /a HTTP/1.1\r\nNoColon\r\n\r\n", 400, 0, NULL},
    {"GET /a HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, 0, NULL},
    {"GET /a HTTP/1.1\r\nExpect: magic\r\n\r\n", 417, 0, NULL},
};

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *h = cases[i].head;
        size_t end = syn_gate_head_end(h, strlen(h));
        CHECK_MSG(end == strlen(h), "case %zu: head end %zu of %zu", i, end, strlen(h));
        syn_gate_head g;
        CHECK(syn_gate_parse_head(h, end, "1.2.3.4 5", &g) == 0);
        CHECK_MSG(g.status == cases[i].status, "case %zu: status %d, wanted %d (%s)", i, g.status, cases[i].status,
                  g.why);
        if (!cases[i].status) {
            CHECK_MSG(g.content_length == cases[i].length, "case %zu: length %zu", i, g.content_length);
            CHECK_MSG(g.forward && !strncmp(g.forward, cases[i].forward, strlen(cases[i].forward)),
                      "case %zu: forwarded '%s'", i, g.forward ? g.forward : "(none)");
            CHECK_MSG(g.forward && strstr(g.forward, "X-Synapse-Peer: 1.2.3.4 5\r\n\r\n"), "case %zu: no peer", i);
            CHECK_MSG(g.forward && !strstr(g.forward, "6.6.6.6") && !strstr(g.forward, "Expect"),
                      "case %zu: kept a header it must drop", i);
        } else {
            CHECK_MSG(g.why[0] && g.error_code, "case %zu: refused without a reason", i);
        }
        syn_gate_head_free(&g);
    }
    /* an unfinished head has no end yet */
    CHECK(syn_gate_head_end("GET / HTTP/1.1\r\nHost: x\r\n", 25) == 0);
    CHECK(syn_gate_head_end("GET / HTTP/1.1\r\n\r\nbody", 22) == 18);
    return CHECK_DONE();
}
