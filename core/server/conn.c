/* Whether the client of a request is still there, while nothing is being
 * written to it (a non-streamed answer being generated). civetweb does not
 * hand out a connection's socket, so it is found once by its addresses: the
 * one socket of this process whose peer is the request's remote address and
 * port and whose local port is the one it came in on. The handler thread
 * holds the connection meanwhile, so the descriptor cannot be reused. */
#include "config.h" /* _GNU_SOURCE, for POLLRDHUP */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/server/internal.h"

static int port_of(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)a)->sin_port);
    if (a->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return -1;
}

static int addr_is(const struct sockaddr_storage *a, const char *text)
{
    char buf[INET6_ADDRSTRLEN];
    const void *p = a->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)a)->sin_addr
                                            : (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr;
    return inet_ntop(a->ss_family, p, buf, sizeof buf) && !strcmp(buf, text);
}

int syn_conn_socket(const struct mg_connection *c)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    /* only the descriptors that are open, not every number up to the limit
     * (which may be a million) */
    DIR *d = ri ? opendir("/proc/self/fd") : NULL;
    int found = -1;
    for (struct dirent *e; d && found < 0 && (e = readdir(d));) {
        int fd = atoi(e->d_name);
        struct sockaddr_storage peer, local;
        socklen_t lp = sizeof peer, ll = sizeof local;
        if (fd < 3 || fd == dirfd(d) || getpeername(fd, (struct sockaddr *)&peer, &lp) ||
            port_of(&peer) != ri->remote_port || getsockname(fd, (struct sockaddr *)&local, &ll) ||
            port_of(&local) != ri->server_port)
            continue;
        if (addr_is(&peer, ri->remote_addr))
            found = fd;
    }
    if (d)
        closedir(d);
    return found;
}

int syn_conn_gone(int fd)
{
    if (fd < 0)
        return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL))
        return 1;
    /* readable: more bytes of a pipelined request, or the end of the stream */
    char b;
    return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}
