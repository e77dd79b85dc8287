#define _GNU_SOURCE 1 /* strcasestr */
/* The wire side of `dsend clients`: URLs, one RTSP request and its answer,
 * and a pair of UDP ports for RTP and RTCP (src/clients/rtsp_wire.h). */
#include "clients/rtsp_wire.h"
#include "dsend/error.h"
#include "util/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* rtsp://HOST:PORT/[ASSET], HOST an IPv6 address in brackets or not */
int client_parse_url(const char *url, char *host, size_t hn, int *port, char *path, size_t pn)
{
    if (strncasecmp(url, "rtsp://", 7) != 0)
        return dsend_seterr(DSEND_EINVAL, "%s: not an rtsp:// URL", url);
    const char *h = url + 7, *slash = strchr(h, '/');
    const char *rb = h[0] == '[' ? strchr(h, ']') : NULL;
    const char *colon = strchr(rb ? rb : h, ':');
    if (!colon || (slash && colon > slash) || (size_t)(colon - h) >= hn ||
        (h[0] == '[' && (!rb || colon != rb + 1)))
        return dsend_seterr(DSEND_EINVAL, "%s: want rtsp://HOST:PORT/[ASSET]", url);
    snprintf(host, hn, "%.*s", (int)(colon - h), h);
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || (*end && *end != '/') || p < 1 || p > 65535)
        return dsend_seterr(DSEND_EINVAL, "%s: bad port", url);
    *port = (int)p;
    snprintf(path, pn, "%s", slash ? slash + 1 : "");
    return 0;
}

int client_tcp_connect(const char *host, int port)
{
    dsend_netaddr at;
    struct sockaddr_storage a;
    socklen_t al;
    if (dsend_netaddr_parse(host, &at) != 0 || at.port) {
        errno = EINVAL;
        return -1;
    }
    at.port = (uint16_t)port;
    al = dsend_netaddr_to_sockaddr(&at, 0, &a);
    int fd = socket(at.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {5, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&a, al) != 0) {
            close(fd);
            fd = -1;
        }
    }
    return fd;
}

int client_rtsp_call(int fd, int *cseq, const char *session, const char *method,
                     const char *url, const char *extra, char *resp, size_t rn)
{
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s RTSP/1.0\r\nCSeq: %d\r\n%s%s%s%s\r\n", method, url,
                     ++*cseq, session[0] ? "Session: " : "", session,
                     session[0] ? "\r\n" : "", extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof req || write(fd, req, (size_t)n) != n)
        return -1;
    size_t got = 0;
    for (;;) {
        ssize_t k = read(fd, resp + got, rn - 1 - got);
        if (k <= 0)
            return -1;
        got += (size_t)k;
        resp[got] = '\0';
        char *end = strstr(resp, "\r\n\r\n");
        if (end) {
            char *cl = strcasestr(resp, "Content-Length:");
            size_t body = cl && cl < end ? (size_t)atol(cl + 15) : 0;
            if (got >= (size_t)(end - resp) + 4 + body)
                break;
        }
        if (got >= rn - 1)
            return -1;
    }
    int status = 0;
    if (sscanf(resp, "RTSP/1.0 %d", &status) != 1)
        return -1;
    return status;
}

const char *client_header(const char *resp, const char *name, char *out, size_t n)
{
    const char *p = strcasestr(resp, name);
    if (!p)
        return NULL;
    p += strlen(name);
    while (*p == ' ')
        p++;
    size_t len = strcspn(p, "\r\n");
    snprintf(out, n, "%.*s", (int)len, p);
    return out;
}

int client_udp_pair(int rtsp, int *rtp, int *rtcp, int *port)
{
    /* the RTSP connection's own address: the server sends media to it */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    dsend_netaddr local;
    char name[DSEND_NETADDR_STRLEN];
    if (getsockname(rtsp, (struct sockaddr *)&ss, &sl) != 0 ||
        dsend_netaddr_from_sockaddr((struct sockaddr *)&ss, sl, &local) != 0)
        return dsend_seterr(DSEND_EIO, "the RTSP connection's own address: %s", strerror(errno));
    dsend_netaddr_host(&local, name, sizeof name);
    for (int tries = 0; tries < 200; tries++) {
        local.port = 0;
        sl = dsend_netaddr_to_sockaddr(&local, 0, &ss);
        int a = socket(local.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        dsend_netaddr got;
        socklen_t gl = sizeof ss;
        if (a < 0 || bind(a, (struct sockaddr *)&ss, sl) != 0 ||
            getsockname(a, (struct sockaddr *)&ss, &gl) != 0 ||
            dsend_netaddr_from_sockaddr((struct sockaddr *)&ss, gl, &got) != 0) {
            if (a >= 0)
                close(a);
            continue;
        }
        int p = got.port;
        if (p % 2 || p >= 65535) {
            close(a);
            continue;
        }
        int b = socket(local.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        local.port = (uint16_t)(p + 1);
        sl = dsend_netaddr_to_sockaddr(&local, 0, &ss);
        if (b < 0 || bind(b, (struct sockaddr *)&ss, sl) != 0) {
            close(a);
            if (b >= 0)
                close(b);
            continue;
        }
        int rcv = 4 << 20;
        setsockopt(a, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        *rtp = a;
        *rtcp = b;
        *port = p;
        return 0;
    }
    return dsend_seterr(DSEND_EIO, "no free UDP port pair on %s", name);
}

