#define _GNU_SOURCE 1 /* accept4 */
/* RTSP connections: accept, read whole requests (bounded), hand each to
 * the front or the device handlers, write replies back. */
#include "config.h"
#include "dsend/error.h"
#include "serve/serve_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int serve_listen(const char *host, int port, int *fd_out)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return dsend_seterr(DSEND_EINVAL, "--rtsp %s: not an IPv4 address", host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return dsend_seterr(DSEND_EIO, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 512) != 0) {
        int e = errno;
        close(fd);
        return dsend_seterr(DSEND_EIO, "cannot listen on %s:%d: %s", host, port, strerror(e));
    }
    *fd_out = fd;
    return 0;
}

void serve_conn_close(serve_world *w, int i)
{
    close(w->conns[i]->fd);
    free(w->conns[i]->out);
    free(w->conns[i]);
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

void serve_conn_read(serve_world *w, int i)
{
    conn *c = w->conns[i];
    ssize_t n = read(c->fd, c->in + c->nin, sizeof c->in - c->nin);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        serve_conn_close(w, i); /* the client left; its sessions end at their timeout */
        return;
    }
    c->nin += (size_t)n;
    for (;;) {
        dsend_rtsp_request r;
        int pr = dsend_rtsp_parse(c->in, c->nin, &r);
        if (pr == 0) {
            if (c->nin == sizeof c->in) {
                serve_reply(c, 431, -1, NULL, NULL);
                c->nin = 0;
                shutdown(c->fd, SHUT_RD);
            }
            return;
        }
        if (pr < 0 || r.cseq < 0) {
            serve_reply(c, pr < 0 ? -pr : 400, r.cseq, NULL, NULL);
            c->nin = 0;
            shutdown(c->fd, SHUT_RD); /* answer, then close: the stream is lost */
            return;
        }
        if (c->front)
            serve_handle_front(w, c, &r);
        else
            serve_handle_device(w, c, &r);
        memmove(c->in, c->in + r.length, c->nin - r.length);
        c->nin -= r.length;
    }
}

void serve_accept(serve_world *w, int lfd, int front)
{
    for (;;) {
        struct sockaddr_in a;
        socklen_t al = sizeof a;
        int fd = accept4(lfd, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (w->nconns == MAX_CONNS) {
            close(fd); /* bounded */
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd;
        c->front = front;
        c->ip = a.sin_addr.s_addr;
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
            serve_conn_close(w, i);
            return;
        }
        memmove(c->out, c->out + n, c->nout - (size_t)n);
        c->nout -= (size_t)n;
    }
}
