/* The front door (see gate.h). One thread, one epoll set, every socket
 * non-blocking. A connection goes through:
 *   HEAD    reading the request head (deadline: request_timeout_s from accept)
 *   BODY    reading Content-Length bytes (the same deadline)
 *   CONNECT connecting to civetweb on loopback
 *   RELAY   sending the request on, the answer back; a client that hangs up
 *           closes the backend side, which the handler's client watch sees
 * and is freed when both sides are done. While relaying, a client that takes
 * nothing of a pending answer for request_timeout_s is dropped. */
#include "config.h" /* _GNU_SOURCE: accept4, EPOLLRDHUP */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/server/gate.h"
#include "core/server/gate_parse.h"
#include "core/server/metrics.h"

#define OUT_MAX (256 * 1024) /* answer bytes held for a slow client */

enum { G_HEAD, G_BODY, G_CONNECT, G_RELAY, G_DRAIN };

/* After answering a request itself, the gate reads (and drops) what the
 * client still sends, this long and this much at most: closing with unread
 * bytes resets the connection, and the client would lose the answer (a
 * 413 sent while a large body is still on its way). */
#define DRAIN_S 2.0
#define DRAIN_MAX ((size_t)64 << 20)

typedef struct gconn gconn;
typedef struct gend {
    gconn *c;
    int backend;
} gend;

struct gconn {
    int cfd, bfd;
    int state;
    gend ce, be;             /* what epoll hands back for each side */
    char *in;                /* from the client: the head, then the body */
    size_t in_len, in_cap;
    size_t head_len;         /* of in: the client's head */
    syn_gate_head head;      /* parsed; head.forward goes to the backend */
    size_t sent;             /* of head.forward then the body, to the backend;
                              * in DRAIN, the bytes dropped */
    char *out;               /* from the backend, for the client */
    size_t out_len, out_off;
    int backend_eof;
    double deadline;         /* HEAD/BODY: the whole request; RELAY: progress */
    char peer[64];
    int dead;                /* closed; freed once the batch of events is done */
    gconn *prev, *next;
};

struct syn_gate {
    syn_gate_params p;
    int lfd, efd, wake;
    int port;
    pthread_t thread;
    int stop;    /* 1: close the listener, 2: end; set atomically, then `wake` is written */
    int n_conns;
    gconn *conns;
    gconn *dead; /* closed in this batch of events, freed after it */
    struct sockaddr_in backend;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Closes both sides; the memory goes once no event of this batch can
 * still point at it. */
static void conn_free(syn_gate *g, gconn *c)
{
    if (c->dead)
        return;
    if (c->cfd >= 0)
        close(c->cfd); /* closing removes it from the epoll set */
    if (c->bfd >= 0)
        close(c->bfd);
    c->cfd = c->bfd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->dead = 1;
    c->next = g->dead;
    g->dead = c;
    g->n_conns--;
}

static void free_dead(syn_gate *g)
{
    while (g->dead) {
        gconn *c = g->dead;
        g->dead = c->next;
        syn_gate_head_free(&c->head);
        free(c->in);
        free(c->out);
        free(c);
    }
}

static void watch(syn_gate *g, int fd, gend *e, uint32_t events, int add)
{
    struct epoll_event ev = {.events = events, .data.ptr = e};
    epoll_ctl(g->efd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

/* Answers the client itself (best effort: the socket is non-blocking and
 * the answer small) and closes. */
static void answer(syn_gate *g, gconn *c, int status, const char *code, const char *why)
{
    static const struct {
        int status;
        const char *text;
    } reasons[] = {{400, "Bad Request"},     {408, "Request Timeout"},
                   {411, "Length Required"}, {413, "Payload Too Large"},
                   {417, "Expectation Failed"}, {431, "Request Header Fields Too Large"},
                   {503, "Service Unavailable"}, {505, "HTTP Version Not Supported"}};
    const char *reason = "Error";
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (reasons[i].status == status)
            reason = reasons[i].text;
    char body[320], msg[512];
    int bn = snprintf(body, sizeof body,
                      "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\",\"param\":null,"
                      "\"code\":\"%s\"}}",
                      why, code);
    int n = snprintf(msg, sizeof msg,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                     "Connection: close\r\n\r\n%s",
                     status, reason, bn, body);
    if (g->p.metrics)
        syn_metrics_request(g->p.metrics, "(gate)", status);
    if (c->bfd >= 0) {
        close(c->bfd);
        c->bfd = -1;
    }
    if (send(c->cfd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 || shutdown(c->cfd, SHUT_WR)) {
        conn_free(g, c); /* gone already */
        return;
    }
    c->state = G_DRAIN;
    c->sent = 0;
    c->deadline = now_s() + DRAIN_S;
    watch(g, c->cfd, &c->ce, EPOLLIN | EPOLLRDHUP, 0);
}

/* Drops what the client sends after its answer; frees it at its end. */
static void drain(syn_gate *g, gconn *c)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->cfd, buf, sizeof buf, 0);
        if (n > 0 && (c->sent += (size_t)n) < DRAIN_MAX)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_free(g, c); /* the client closed, failed, or sent too much */
        return;
    }
}

static void accept_all(syn_gate *g)
{
    for (;;) {
        struct sockaddr_storage a;
        socklen_t al = sizeof a;
        int fd = accept4(g->lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: the backlog waits */
        gconn *c = g->n_conns < g->p.max_conns ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                       "Connection: close\r\n\r\n";
            if (send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
                /* nothing more to do for it */
            }
            close(fd);
            continue;
        }
        c->cfd = fd;
        c->bfd = -1;
        c->ce = (gend){c, 0};
        c->be = (gend){c, 1};
        c->deadline = now_s() + g->p.request_timeout_s;
        char host[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (a.ss_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in *)&a)->sin_port);
        } else if (a.ss_family == AF_INET6) {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr, host, sizeof host);
            port = ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
        }
        snprintf(c->peer, sizeof c->peer, "%s %d", host, port);
        c->next = g->conns;
        if (g->conns)
            g->conns->prev = c;
        g->conns = c;
        g->n_conns++;
        watch(g, fd, &c->ce, EPOLLIN | EPOLLRDHUP, 1);
    }
}

/* Starts the loopback connection to civetweb. */
static void connect_backend(syn_gate *g, gconn *c)
{
    c->bfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->bfd < 0 ||
        (connect(c->bfd, (struct sockaddr *)&g->backend, sizeof g->backend) && errno != EINPROGRESS)) {
        answer(g, c, 503, "server_busy", "the server cannot take this request now; retry shortly");
        return;
    }
    c->state = G_CONNECT;
    c->sent = 0;
    c->deadline = now_s() + g->p.request_timeout_s;
    watch(g, c->bfd, &c->be, EPOLLOUT, 1);
    /* the client side now only tells us it has gone */
    watch(g, c->cfd, &c->ce, EPOLLRDHUP, 0);
}

/* The head is in: check it and decide what comes next. */
static void head_done(syn_gate *g, gconn *c)
{
    if (syn_gate_parse_head(c->in, c->head_len, c->peer, &c->head)) {
        answer(g, c, 503, "server_busy", "out of memory");
        return;
    }
    if (c->head.status) {
        answer(g, c, c->head.status, c->head.error_code, c->head.why);
        return;
    }
    size_t max_body = __atomic_load_n(&g->p.max_body, __ATOMIC_RELAXED);
    if (c->head.content_length > max_body) {
        char why[128];
        snprintf(why, sizeof why, "The request body is larger than %zu bytes (limits.max_body_bytes)", max_body);
        answer(g, c, 413, "request_too_large", why);
        return;
    }
    if (c->head.expect_continue && c->in_len - c->head_len < c->head.content_length) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (send(c->cfd, cont, sizeof cont - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            /* the body may come anyway */
        }
    }
    c->state = G_BODY;
}

/* Reads what the client sent, in HEAD or BODY. */
static void client_read(syn_gate *g, gconn *c)
{
    for (;;) {
        size_t want = c->state == G_HEAD ? SYN_GATE_MAX_HEAD + 1 : c->head_len + c->head.content_length;
        if (c->in_len >= want)
            break;
        if (c->in_cap < want) {
            size_t cap = c->in_cap ? c->in_cap : 2048;
            while (cap < want && cap < c->in_len + 65536)
                cap *= 2;
            if (cap > want)
                cap = want;
            char *t = realloc(c->in, cap);
            if (!t) {
                answer(g, c, 503, "server_busy", "out of memory");
                return;
            }
            c->in = t;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->cfd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_free(g, c); /* left before its request was in */
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        c->in_len += (size_t)n;
        if (c->state == G_HEAD) {
            size_t end = syn_gate_head_end(c->in, c->in_len);
            if (!end && c->in_len > SYN_GATE_MAX_HEAD) {
                answer(g, c, 431, "headers_too_large", "the request head is larger than 16 KiB");
                return;
            }
            if (!end)
                continue;
            c->head_len = end;
            head_done(g, c);
            if (c->state != G_BODY)
                return; /* answered */
        }
    }
    if (c->state == G_BODY && c->in_len >= c->head_len + c->head.content_length)
        connect_backend(g, c);
}

static void update_backend_events(syn_gate *g, gconn *c)
{
    size_t total = c->head.forward_len + c->head.content_length;
    uint32_t ev = 0;
    if (c->sent < total)
        ev |= EPOLLOUT;
    if (c->out_len - c->out_off < OUT_MAX)
        ev |= EPOLLIN | EPOLLRDHUP;
    if (c->bfd >= 0)
        watch(g, c->bfd, &c->be, ev, 0);
    watch(g, c->cfd, &c->ce, EPOLLRDHUP | (c->out_len > c->out_off ? EPOLLOUT : 0), 0);
}

/* Sends the request on to civetweb. */
static int backend_write(gconn *c)
{
    size_t fl = c->head.forward_len, total = fl + c->head.content_length;
    while (c->sent < total) {
        const char *p = c->sent < fl ? c->head.forward + c->sent : c->in + c->head_len + (c->sent - fl);
        size_t n = c->sent < fl ? fl - c->sent : total - c->sent;
        ssize_t w = send(c->bfd, p, n, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->sent += (size_t)w;
    }
    return 0;
}

/* Takes the answer from civetweb. */
static int backend_read(gconn *c)
{
    for (;;) {
        if (!c->out) {
            if (!(c->out = malloc(OUT_MAX)))
                return -1;
        }
        if (c->out_off == c->out_len)
            c->out_off = c->out_len = 0;
        else if (c->out_off && c->out_len == OUT_MAX) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_len == OUT_MAX)
            return 0;
        ssize_t n = recv(c->bfd, c->out + c->out_len, OUT_MAX - c->out_len, 0);
        if (n == 0) {
            /* the answer is complete: only the client side is left */
            c->backend_eof = 1;
            close(c->bfd);
            c->bfd = -1;
            return 0;
        }
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->out_len += (size_t)n;
    }
}

/* Gives the client what the backend sent; -1 when the client is gone. */
static int client_write(syn_gate *g, gconn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->cfd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->out_off += (size_t)w;
        c->deadline = now_s() + g->p.request_timeout_s;
    }
    return 0;
}

static void on_event(syn_gate *g, gend *e, uint32_t ev)
{
    gconn *c = e->c;
    if (c->dead || (e->backend && c->bfd < 0))
        return;
    if (!e->backend) {
        if (c->state == G_HEAD || c->state == G_BODY) {
            client_read(g, c);
            return;
        }
        if (c->state == G_DRAIN) {
            drain(g, c);
            return;
        }
        /* after its request, a client only ever hangs up or takes the answer */
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
            conn_free(g, c);
            return;
        }
        if ((ev & EPOLLOUT) && client_write(g, c)) {
            conn_free(g, c);
            return;
        }
    } else if (c->state == G_CONNECT) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
            answer(g, c, 503, "server_busy", "the server cannot take this request now; retry shortly");
            return;
        }
        c->state = G_RELAY;
        if (backend_write(c)) {
            conn_free(g, c);
            return;
        }
    } else {
        if (c->bfd >= 0 && (ev & EPOLLOUT) && backend_write(c)) {
            conn_free(g, c);
            return;
        }
        if (c->bfd >= 0 && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && backend_read(c)) {
            conn_free(g, c);
            return;
        }
        if (client_write(g, c)) {
            conn_free(g, c);
            return;
        }
    }
    if (c->state == G_RELAY && c->backend_eof && c->out_off == c->out_len) {
        conn_free(g, c); /* the whole answer is out */
        return;
    }
    if (c->state == G_RELAY)
        update_backend_events(g, c);
}

/* Requests not in by their deadline, and answers a client stopped taking. */
static void expire(syn_gate *g, double now)
{
    for (gconn *c = g->conns, *next; c; c = next) {
        next = c->next;
        if (now < c->deadline)
            continue;
        if (c->state == G_HEAD || c->state == G_BODY)
            answer(g, c, 408, "request_timeout", "the request did not arrive in time (limits.request_timeout_s)");
        else if (c->state == G_DRAIN || c->state == G_CONNECT || c->out_len > c->out_off)
            conn_free(g, c);
        else
            c->deadline = now + g->p.request_timeout_s; /* waiting on the model is fine */
    }
}

static void *gate_main(void *arg)
{
    syn_gate *g = arg;
    struct epoll_event evs[64];
    double next_expiry = now_s() + 0.25;
    for (;;) {
        int n = epoll_wait(g->efd, evs, 64, 250);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == &g->lfd) {
                accept_all(g);
            } else if (evs[i].data.ptr == &g->wake) {
                uint64_t v;
                if (read(g->wake, &v, sizeof v) < 0) {
                    /* counted already */
                }
                if (__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE) == 2)
                    goto out;
                if (g->lfd >= 0) {
                    close(g->lfd);
                    g->lfd = -1;
                }
            } else {
                on_event(g, evs[i].data.ptr, evs[i].events);
            }
        }
        double now = now_s();
        if (now >= next_expiry) {
            expire(g, now);
            next_expiry = now + 0.25;
        }
        free_dead(g);
    }
out:
    while (g->conns)
        conn_free(g, g->conns);
    free_dead(g);
    return NULL;
}

static int listen_on(const char *host, int port, syn_error *err)
{
    struct sockaddr_storage a;
    socklen_t al;
    memset(&a, 0, sizeof a);
    int family = strchr(host, ':') ? AF_INET6 : AF_INET;
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return syn_fail(err, SYN_ERR_INVALID, "host '%s' is not an IP address", host);
        al = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return syn_fail(err, SYN_ERR_INVALID, "host '%s' is not an IP address", host);
        al = sizeof *s4;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return syn_fail(err, SYN_ERR_IO, "cannot open a socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, al) || listen(fd, 1024)) {
        int e = errno;
        close(fd);
        return syn_fail(err, SYN_ERR_IO, "cannot listen on %s%s%s:%d: %s", family == AF_INET6 ? "[" : "", host,
                        family == AF_INET6 ? "]" : "", port, strerror(e));
    }
    return fd;
}

int syn_gate_start(const syn_gate_params *p, syn_gate **out, syn_error *err)
{
    *out = NULL;
    syn_gate *g = calloc(1, sizeof *g);
    if (!g)
        return syn_fail(err, SYN_ERR_NOMEM, "out of memory");
    g->p = *p;
    g->efd = g->wake = -1;
    g->backend.sin_family = AF_INET;
    g->backend.sin_port = htons((uint16_t)p->backend_port);
    g->backend.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = g->lfd = listen_on(p->host, p->port, err);
    if (rc < 0) {
        free(g);
        return rc;
    }
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    getsockname(g->lfd, (struct sockaddr *)&a, &al);
    g->port = ntohs(a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                            : ((struct sockaddr_in *)&a)->sin_port);
    if ((g->efd = epoll_create1(EPOLL_CLOEXEC)) < 0 || (g->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        rc = syn_fail(err, SYN_ERR_IO, "cannot set up the listener: %s", strerror(errno));
        goto fail;
    }
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &g->lfd}, we = {.events = EPOLLIN, .data.ptr = &g->wake};
    epoll_ctl(g->efd, EPOLL_CTL_ADD, g->lfd, &le);
    epoll_ctl(g->efd, EPOLL_CTL_ADD, g->wake, &we);
    if (pthread_create(&g->thread, NULL, gate_main, g)) {
        rc = syn_fail(err, SYN_ERR_NOMEM, "cannot start the listener thread");
        goto fail;
    }
    *out = g;
    return 0;
fail:
    if (g->efd >= 0)
        close(g->efd);
    if (g->wake >= 0)
        close(g->wake);
    close(g->lfd);
    free(g);
    return rc;
}

int syn_gate_port(const syn_gate *g) { return g->port; }

void syn_gate_set_max_body(syn_gate *g, size_t max_body)
{
    if (g)
        __atomic_store_n(&g->p.max_body, max_body, __ATOMIC_RELAXED);
}

static void poke(syn_gate *g, int level)
{
    __atomic_store_n(&g->stop, level, __ATOMIC_RELEASE);
    uint64_t one = 1;
    if (write(g->wake, &one, sizeof one) < 0) {
        /* the counter is full: the thread wakes anyway */
    }
}

void syn_gate_close_listener(syn_gate *g)
{
    if (g)
        poke(g, 1);
}

void syn_gate_stop(syn_gate *g)
{
    if (!g)
        return;
    poke(g, 2);
    pthread_join(g->thread, NULL);
    if (g->lfd >= 0)
        close(g->lfd);
    close(g->efd);
    close(g->wake);
    free(g);
}
