/* The front door: one thread with epoll that owns the public socket. It
 * holds every connection until its whole request (head and body) is in,
 * within a deadline, refuses what is malformed or ambiguous (conflicting
 * Content-Length, Transfer-Encoding, absolute-form targets are rewritten),
 * and only then hands the request to civetweb on a loopback port and relays
 * the answer back. Idle and slow clients thus cost a few hundred bytes each,
 * not one of civetweb's threads. */
#ifndef SYN_CORE_SERVER_GATE_H
#define SYN_CORE_SERVER_GATE_H

#include <stddef.h>
#include <synapse/common.h>

struct syn_metrics;

typedef struct syn_gate_params {
    const char *host; /* IPv4 or IPv6 address to listen on */
    int port;         /* 0: any free port */
    int backend_port; /* civetweb, on 127.0.0.1 */
    size_t max_body;  /* larger bodies get 413 before they are read */
    int request_timeout_s; /* for the whole request; then for each stall of a response */
    int max_conns;    /* open client connections at most */
    struct syn_metrics *metrics; /* requests the gate answers itself; may be NULL */
} syn_gate_params;

typedef struct syn_gate syn_gate;

int syn_gate_start(const syn_gate_params *p, syn_gate **out, syn_error *err);
int syn_gate_port(const syn_gate *g);
/* A new limits.max_body_bytes for requests from now on (any thread). */
void syn_gate_set_max_body(syn_gate *g, size_t max_body);
/* Stops accepting; what is in flight goes on being relayed. */
void syn_gate_close_listener(syn_gate *g);
/* Closes every connection and joins the thread. */
void syn_gate_stop(syn_gate *g);

/* The header the gate adds to each request: the client's address and port
 * (any such header from the client is dropped). */
#define SYN_GATE_PEER_HEADER "X-Synapse-Peer"

#endif
