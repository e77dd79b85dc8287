#define _GNU_SOURCE 1 /* accept4 */
/* RTSP connections: accept (within the limits), read whole requests
 * (bounded in size and in time), hand each to the front or the device
 * handlers, write replies back.  No client can lock others out: a
 * connection that holds no session gives way to a new one when the device
 * or its address has too many, and is closed when idle; a request must be
 * whole in --request-timeout (doc/serving.md#connections). */
#include "config.h"
#include "dsend/error.h"
#include "serve/serve_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* a closing connection waits this long for the peer to take its answer
 * and close (closing at once, with its bytes unread, would reset it) */
#define LINGER_NS (2 * INT64_C(1000000000))
/* descriptors besides connections: listeners, UDP, MPI, HDF5, stdio */
#define FD_RESERVE 64

/* A descriptor kept for accepting and closing at once when the process
 * has none left, so the listen queue drains instead of spinning the loop. */
static int spare_fd = -1;

int serve_conns_init(serve_world *w)
{
    w->max_conns = w->cfg->max_conns < MAX_CONNS ? w->cfg->max_conns : MAX_CONNS;
    struct rlimit rl;
    rlim_t need = (rlim_t)w->max_conns + FD_RESERVE;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < need) {
            int was = w->max_conns;
            w->max_conns = rl.rlim_cur > 2 * FD_RESERVE ? (int)(rl.rlim_cur - FD_RESERVE) : 16;
            if (w->rank == 0) /* said once: the ranks of a host share their limits */
                fprintf(stderr,
                        "dsend serve: --max-conns %d lowered to %d by the open-file limit "
                        "(ulimit -n %llu)\n",
                        was, w->max_conns, (unsigned long long)rl.rlim_cur);
        }
    }
    if (spare_fd < 0)
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    return 0;
}

int serve_listen(const dsend_netaddr *host, int port, const char *what, int *fd_out)
{
    dsend_netaddr at = *host;
    at.port = (uint16_t)port;
    struct sockaddr_storage a;
    socklen_t al = dsend_netaddr_to_sockaddr(&at, 0, &a);
    char name[DSEND_NETADDR_STRLEN];
    dsend_netaddr_format(&at, name, sizeof name);
    if (!al)
        return dsend_seterr(DSEND_EINVAL, "--%s %s: not an IP address", what, name);
    int fd = socket(at.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, zero = 0;
    if (fd < 0)
        return dsend_seterr(DSEND_EIO, "--%s %s: socket: %s", what, name, strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (at.family == AF_INET6 && dsend_netaddr_is_any(&at)) /* [::]: IPv4 clients too */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&a, al) != 0 || listen(fd, 512) != 0) {
        int e = errno;
        close(fd);
        return dsend_seterr(DSEND_EIO, "cannot listen on %s: %s", name, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

const char *serve_url_host(const serve_world *w, const conn *c, char *buf, size_t n)
{
    if (w->cfg->advertise)
        return w->cfg->advertise;
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    dsend_netaddr reached;
    if (getsockname(c->fd, (struct sockaddr *)&a, &al) != 0 ||
        dsend_netaddr_from_sockaddr((struct sockaddr *)&a, al, &reached) != 0)
        reached = w->host;
    return dsend_netaddr_url_host(&reached, buf, n);
}

void serve_conn_close(serve_world *w, int i, const char *why)
{
    conn *c = w->conns[i];
    /* its sessions live on (to their timeout), and obey their owner's
     * address with their id, on a connection of its own (doc/serving.md);
     * the log says which side closed (a server that drops its clients'
     * control shows here) */
    for (int k = 0; c->nsessions && k < w->cfg->max_sessions; k++)
        if (w->sessions[k].used && w->sessions[k].owner == c) {
            if (w->sessions[k].state != S_READY) /* one that never played logs nothing */
                serve_session_log(w, &w->sessions[k], "detach", why);
            w->sessions[k].owner = NULL;
            c->nsessions--;
        }
    close(c->fd);
    free(c->out);
    free(c);
    w->conns[i] = w->conns[--w->nconns];
}

static void conn_write(conn *c, const char *s, size_t n)
{
    if (c->nout + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->nout + n)
            cap *= 2;
        if (cap > 1 << 20)
            return; /* a peer that does not read: bounded, it will be closed */
        char *p = realloc(c->out, cap);
        if (!p)
            return;
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->nout, s, n);
    c->nout += n;
}

void serve_reply(conn *c, int status, int cseq, const char *headers, const char *body)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "RTSP/1.0 %d %s\r\nCSeq: %d\r\nServer: %s\r\n%s", status,
                     dsend_rtsp_reason(status), cseq, PACKAGE_STRING, headers ? headers : "");
    if (body)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "Content-Length: %zu\r\n\r\n%s",
                      strlen(body), body);
    else
        n += snprintf(buf + n, sizeof buf - (size_t)n, "\r\n");
    if (n > 0)
        conn_write(c, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Answer with an error and parse nothing more from this connection: the
 * request stream is lost (bytes already queued are read and dropped). */
static void conn_fail(serve_world *w, conn *c, int status, int cseq)
{
    serve_reply(c, status, cseq, "Connection: close\r\n", NULL);
    c->nin = 0;
    c->closing = 1;
    c->closing_at = serve_now(w);
}

void serve_conn_read(serve_world *w, int i)
{
    conn *c = w->conns[i];
    if (c->closing) {
        char sink[4096];
        ssize_t n = read(c->fd, sink, sizeof sink);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            serve_conn_close(w, i, "client-closed"); /* the peer has its answer and closed */
        return;
    }
    ssize_t n = read(c->fd, c->in + c->nin, sizeof c->in - c->nin);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        serve_conn_close(w, i, "client-closed"); /* the client left; its sessions end at their timeout */
        return;
    }
    int64_t now = serve_now(w);
    if (c->nin == 0)
        c->partial_at = now; /* a request begins: --request-timeout from here */
    c->nin += (size_t)n;
    for (;;) {
        dsend_rtsp_request r;
        int pr = dsend_rtsp_parse(c->in, c->nin, &r);
        if (pr == 0) {
            if (c->nin == sizeof c->in)
                conn_fail(w, c, 431, -1);
            return;
        }
        if (pr < 0 || r.cseq < 0) {
            conn_fail(w, c, pr < 0 ? -pr : 400, r.cseq);
            return;
        }
        if (c->front)
            serve_handle_front(w, c, &r);
        else
            serve_handle_device(w, c, &r);
        memmove(c->in, c->in + r.length, c->nin - r.length);
        c->nin -= r.length;
        c->active_at = c->partial_at = now;
    }
}

/* Room for a connection from `peer`: its address may hold --max-peer-conns
 * without a session, the device --max-conns in all.  Where one is over,
 * the connection without a session idle longest gives way (its address's
 * own first); connections that hold sessions never do.  0, or -1 if none
 * can. */
static int make_room(serve_world *w, const dsend_netaddr *peer)
{
    for (int pass = 0; pass < 2; pass++) {
        int mine = 0, victim = -1;
        for (int k = 0; k < w->nconns; k++) {
            const conn *c = w->conns[k];
            if (c->nsessions || (pass == 0 && !dsend_netaddr_same_host(&c->peer, peer)))
                continue;
            mine++;
            /* closing ones first, then the idlest */
            if (victim < 0 || c->closing > w->conns[victim]->closing ||
                (c->closing == w->conns[victim]->closing &&
                 c->active_at < w->conns[victim]->active_at))
                victim = k;
        }
        int over = pass == 0 ? mine >= w->cfg->max_peer_conns : w->nconns >= w->max_conns;
        if (!over)
            continue;
        if (victim < 0)
            return -1;
        serve_conn_close(w, victim, "room"); /* never one with a session */
    }
    return 0;
}

void serve_accept(serve_world *w, int lfd, int front)
{
    for (;;) {
        struct sockaddr_storage a;
        socklen_t al = sizeof a;
        int fd = accept4(lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
                /* out of descriptors: take the connection and close it */
                close(spare_fd);
                fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd >= 0)
                    close(fd);
                spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            }
            return;
        }
        dsend_netaddr peer;
        if (dsend_netaddr_from_sockaddr((struct sockaddr *)&a, al, &peer) != 0) {
            close(fd); /* neither IPv4 nor IPv6: not ours to serve */
            continue;
        }
        conn *c = make_room(w, &peer) == 0 ? calloc(1, sizeof *c) : NULL;
        if (!c) {
            close(fd); /* every connection holds a session: bounded */
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->front = front;
        c->peer = peer;
        c->active_at = serve_now(w);
        w->conns[w->nconns++] = c;
    }
}

void serve_conn_flush(serve_world *w, int i)
{
    conn *c = w->conns[i];
    while (c->nout) {
        ssize_t n = write(c->fd, c->out, c->nout);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            serve_conn_close(w, i, "write-failed"); /* the peer reset it */
            return;
        }
        memmove(c->out, c->out + n, c->nout - (size_t)n);
        c->nout -= (size_t)n;
    }
    if (c->closing)
        shutdown(c->fd, SHUT_WR); /* the answer is out: then the peer closes */
}

void serve_conns_housekeeping(serve_world *w, int64_t now)
{
    if (now < w->next_conn_check)
        return;
    w->next_conn_check = now + 100000000; /* every 100 ms */
    const dsend_serve_config *cfg = w->cfg;
    for (int i = w->nconns - 1; i >= 0; i--) {
        conn *c = w->conns[i];
        if (c->closing) {
            if (now - c->closing_at > LINGER_NS)
                serve_conn_close(w, i, "bad-request"); /* answered with an error, then closed */
        } else if (c->nin && now - c->partial_at > cfg->request_timeout) {
            conn_fail(w, c, 408, -1); /* a slow client (slow-loris) */
        } else if (!c->nsessions && !c->nin && !c->nout &&
                   now - c->active_at > cfg->conn_timeout) {
            serve_conn_close(w, i, "idle"); /* idle, and nothing of it lives here */
        }
    }
}
