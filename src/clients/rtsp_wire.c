#define _GNU_SOURCE 1 /* strcasestr */
/* The wire side of `dsend clients`: URLs, one RTSP request and its answer,
 * and a pair of UDP ports for RTP and RTCP (src/clients/rtsp_wire.h). */
#include "clients/rtsp_wire.h"
#include "dsend/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* rtsp://HOST:PORT/[ASSET] */
int client_parse_url(const char *url, char *host, size_t hn, int *port, char *path, size_t pn)
{
    if (strncasecmp(url, "rtsp://", 7) != 0)
        return dsend_seterr(DSEND_EINVAL, "%s: not an rtsp:// URL", url);
    const char *h = url + 7, *slash = strchr(h, '/'), *colon = strchr(h, ':');
    if (!colon || (slash && colon > slash) || (size_t)(colon - h) >= hn)
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
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {5, 0};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
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

int client_udp_pair(int ctl, int *rtp, int *rtcp, int *port)
{
    /* the address the RTSP connection uses: the one the server streams to
     * (it streams only to the address that asked), on a client host too */
    struct sockaddr_in own;
    socklen_t ol = sizeof own;
    char where[INET_ADDRSTRLEN] = "?";
    if (getsockname(ctl, (struct sockaddr *)&own, &ol) != 0 || own.sin_family != AF_INET)
        return dsend_seterr(DSEND_EIO, "no local address of the RTSP connection: %s",
                            strerror(errno));
    inet_ntop(AF_INET, &own.sin_addr, where, sizeof where);
    for (int tries = 0; tries < 200; tries++) {
        int a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr = own.sin_addr;
        socklen_t sl = sizeof sa;
        if (a < 0 || bind(a, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(a, (struct sockaddr *)&sa, &sl) != 0) {
            if (a >= 0)
                close(a);
            continue;
        }
        int p = ntohs(sa.sin_port);
        if (p % 2 || p >= 65535) {
            close(a);
            continue;
        }
        int b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sa.sin_port = htons((uint16_t)(p + 1));
        if (b < 0 || bind(b, (struct sockaddr *)&sa, sizeof sa) != 0) {
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
    return dsend_seterr(DSEND_EIO, "no free UDP port pair on %s", where);
}

