/* The gate's reading of a request head: what it refuses, and the head it
 * forwards in its place. No I/O, so it is tested on its own. */
#ifndef SYN_CORE_SERVER_GATE_PARSE_H
#define SYN_CORE_SERVER_GATE_PARSE_H

#include <stddef.h>

/* Request heads larger than this get 431. */
#define SYN_GATE_MAX_HEAD 16384

typedef struct syn_gate_head {
    int status;             /* 0: forward it; else answer with this status */
    const char *error_code; /* with status: OpenAI-style error code */
    char why[160];          /* with status: the message */
    size_t content_length;  /* body bytes that follow the head */
    int expect_continue;    /* the client waits for "100 Continue" */
    char *forward;          /* malloc'ed head to send on, CRLF CRLF ended */
    size_t forward_len;
} syn_gate_head;

/* Where a head ends in buf: the length through its blank line, 0 when it
 * has not ended yet. */
size_t syn_gate_head_end(const char *buf, size_t len);

/* Reads the head buf[0, len) (through its blank line). Refused: anything
 * but "METHOD SP target SP HTTP/1.x", a target neither origin-form nor
 * absolute-form (rewritten to origin-form) nor "*", header lines without a
 * name and colon or folded, Content-Length that is not one number (several
 * that differ included), and any Transfer-Encoding (411: the body must come
 * with a length). The forwarded head drops the client's Expect and peer
 * headers and adds the peer header with `peer`. Returns 0, or -1 when out
 * of memory. */
int syn_gate_parse_head(const char *buf, size_t len, const char *peer, syn_gate_head *out);
void syn_gate_head_free(syn_gate_head *h);

#endif
