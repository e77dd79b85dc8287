/* An independent RTSP/RTP load client for bench/serve.sh (issue #11): its own
 * small code, not dsend's client library, so it measures dsend and a peer
 * server alike.  It opens N sessions over a ramp (DESCRIBE, following a
 * redirect, SETUP with a UDP client_port pair, PLAY), receives their RTP
 * with epoll and recvmmsg (UDP GRO: a burst sent with UDP GSO arrives as one
 * datagram, split here by its segment size), and per session counts:
 *   - loss as RFC 3550 (A.3): expected (extended highest seq - first seq + 1)
 *     minus received;
 *   - reordered: packets arriving with a sequence number below the highest
 *     already seen;
 *   - MDI delay factor (RFC 4445): per second, the span of a virtual buffer
 *     filled by arrivals (kernel receive timestamps) and drained at the
 *     nominal rate, in ms; a session's worst second;
 *   - the payload rate received (all sessions) from 3 s after the ramp on.
 * Prints one line of key=value.  Never a test: bench/serve.sh runs it.
 *
 * Usage: rtsp_load rtsp://HOST:PORT/PATH SESSIONS SECONDS BITRATE [RAMP_S]
 *   SECONDS of measurement after the ramp; BITRATE of the stream in bit/s. */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* URLs and session ids longer than their buffers are cut (and fail at the
 * server): no need for a warning each */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

enum { ST_IDLE, ST_CONNECT, ST_DESCRIBE, ST_SETUP, ST_PLAY, ST_PLAYING, ST_FAILED };
enum { K_TCP = 1, K_RTP = 2, K_RTCP = 3 };

typedef struct sess {
    int state, tcp, rtp, rtcp, cseq, status;
    uint16_t rtp_port;
    char host[64];
    int port;
    char url[512], control[512], sid[128];
    char in[16384];
    size_t nin;
    /* RTP statistics */
    uint64_t received, bytes, reordered;
    int have_seq;
    uint16_t max_seq;
    uint32_t cycles, base_seq;
    int64_t first_ns, last_ns, df_start;
    double vb_min, vb_max, df_max;
    int df_intervals;
} sess;

static sess *S;
static int N, ep;
static double rate_Bpns; /* nominal payload bytes per ns */
static int64_t t_meas;    /* the received rate counts arrivals from then on */
static uint64_t meas_bytes;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int parse_url(const char *url, char *host, size_t hl, int *port, const char **path)
{
    if (strncmp(url, "rtsp://", 7) != 0)
        return -1;
    const char *h = url + 7, *c = strchr(h, ':'), *p = strchr(h, '/');
    if (!p)
        p = h + strlen(h);
    *port = 554;
    const char *he = p;
    if (c && c < p) {
        *port = atoi(c + 1);
        he = c;
    }
    if ((size_t)(he - h) >= hl)
        return -1;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = 0;
    *path = p;
    return 0;
}

static void ep_add(int fd, int kind, int i, uint32_t events)
{
    struct epoll_event e = {.events = events, .data.u64 = ((uint64_t)kind << 32) | (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static void fail(sess *s, int status)
{
    s->state = ST_FAILED;
    s->status = status;
    if (s->tcp >= 0)
        close(s->tcp);
    s->tcp = -1;
}

static int tcp_connect(sess *s, int i)
{
    if (s->tcp >= 0)
        close(s->tcp);
    s->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    if (s->tcp < 0 || inet_pton(AF_INET, s->host, &a.sin_addr) != 1)
        return -1;
    if (connect(s->tcp, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        return -1;
    s->nin = 0;
    s->state = ST_CONNECT;
    ep_add(s->tcp, K_TCP, i, EPOLLIN | EPOLLOUT);
    return 0;
}

static void request(sess *s, const char *method, const char *url, const char *extra)
{
    char b[2048], sh[160] = "";
    if (s->sid[0])
        snprintf(sh, sizeof sh, "Session: %s\r\n", s->sid);
    int n = snprintf(b, sizeof b, "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: dsend-bench-load\r\n%s%s\r\n",
                     method, url, ++s->cseq, sh, extra);
    /* a request is small: one write on an idle connection goes whole */
    if (n <= 0 || (size_t)n >= sizeof b || write(s->tcp, b, (size_t)n) != n)
        fail(s, -2);
}

/* value of header `name` in a response head (NUL-terminated), or NULL */
static const char *header(const char *head, const char *name, char *out, size_t ol)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, name, nl) == 0 && l[2 + nl] == ':') {
            const char *v = l + 3 + nl;
            while (*v == ' ')
                v++;
            size_t k = strcspn(v, "\r\n");
            if (k >= ol)
                k = ol - 1;
            memcpy(out, v, k);
            out[k] = 0;
            return out;
        }
    }
    return NULL;
}

static int open_udp_pair(sess *s, int i)
{
    for (int tries = 0; tries < 200; tries++) {
        int a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in x = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t xl = sizeof x;
        if (a < 0 || b < 0 || bind(a, (struct sockaddr *)&x, sizeof x) ||
            getsockname(a, (struct sockaddr *)&x, &xl)) {
            close(a);
            close(b);
            return -1;
        }
        uint16_t p = ntohs(x.sin_port);
        x.sin_port = htons((uint16_t)(p + 1));
        if (p < 65535 && bind(b, (struct sockaddr *)&x, sizeof x) == 0) {
            int one = 1, buf = 1 << 20;
            setsockopt(a, SOL_UDP, UDP_GRO, &one, sizeof one);
            setsockopt(a, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
            setsockopt(a, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
            s->rtp = a;
            s->rtcp = b;
            s->rtp_port = p;
            ep_add(a, K_RTP, i, EPOLLIN);
            ep_add(b, K_RTCP, i, EPOLLIN);
            return 0;
        }
        close(a);
        close(b);
    }
    return -1;
}

/* A complete response is in s->in: act on it. */
static void on_response(sess *s, int i, char *head, const char *body, size_t blen)
{
    int status = 0;
    char v[512];
    sscanf(head, "RTSP/1.0 %d", &status);
    if (s->state == ST_PLAYING)
        return; /* a keepalive's answer */
    if ((status == 301 || status == 302) && s->state == ST_DESCRIBE &&
        header(head, "Location", v, sizeof v)) {
        const char *path;
        snprintf(s->url, sizeof s->url, "%s", v);
        if (parse_url(s->url, s->host, sizeof s->host, &s->port, &path) || tcp_connect(s, i))
            fail(s, -3);
        return;
    }
    if (status != 200) {
        fail(s, status);
        return;
    }
    if (s->state == ST_DESCRIBE) {
        char base[512];
        if (!header(head, "Content-Base", base, sizeof base))
            snprintf(base, sizeof base, "%s/", s->url);
        /* the first media's control attribute */
        char sdp[4096];
        size_t k = blen < sizeof sdp - 1 ? blen : sizeof sdp - 1;
        memcpy(sdp, body, k);
        sdp[k] = 0;
        const char *m = strstr(sdp, "\nm="), *c = m ? strstr(m, "a=control:") : NULL;
        if (!c) {
            snprintf(s->control, sizeof s->control, "%s", s->url);
        } else {
            c += 10;
            size_t cl = strcspn(c, "\r\n");
            if (strncmp(c, "rtsp://", 7) == 0)
                snprintf(s->control, sizeof s->control, "%.*s", (int)cl, c);
            else
                snprintf(s->control, sizeof s->control, "%s%s%.*s", base,
                         base[strlen(base) - 1] == '/' ? "" : "/", (int)cl, c);
        }
        if (open_udp_pair(s, i)) {
            fail(s, -4);
            return;
        }
        char t[128];
        snprintf(t, sizeof t, "Transport: RTP/AVP;unicast;client_port=%u-%u\r\n", s->rtp_port,
                 s->rtp_port + 1);
        s->state = ST_SETUP;
        request(s, "SETUP", s->control, t);
    } else if (s->state == ST_SETUP) {
        if (!header(head, "Session", v, sizeof v)) {
            fail(s, -5);
            return;
        }
        v[strcspn(v, ";")] = 0;
        snprintf(s->sid, sizeof s->sid, "%s", v);
        s->state = ST_PLAY;
        request(s, "PLAY", s->url, "Range: npt=0.000-\r\n");
    } else if (s->state == ST_PLAY) {
        s->state = ST_PLAYING;
    }
}

static void on_tcp(sess *s, int i, uint32_t ev)
{
    if (s->state == ST_CONNECT && (ev & EPOLLOUT)) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(s->tcp, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            fail(s, -1);
            return;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = ((uint64_t)K_TCP << 32) | (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->tcp, &e);
        s->state = ST_DESCRIBE;
        request(s, "DESCRIBE", s->url, "Accept: application/sdp\r\n");
        return;
    }
    if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return;
    ssize_t n = read(s->tcp, s->in + s->nin, sizeof s->in - 1 - s->nin);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        if (s->state == ST_PLAYING) { /* the server closed control; media may go on */
            epoll_ctl(ep, EPOLL_CTL_DEL, s->tcp, NULL);
            close(s->tcp);
            s->tcp = -1;
        } else {
            fail(s, -6);
        }
        return;
    }
    s->nin += (size_t)n;
    s->in[s->nin] = 0;
    for (;;) {
        char *e = strstr(s->in, "\r\n\r\n");
        if (!e)
            break;
        *e = 0;
        char cl[32];
        size_t blen = header(s->in, "Content-Length", cl, sizeof cl) ? (size_t)atol(cl) : 0;
        size_t hlen = (size_t)(e - s->in) + 4;
        if (hlen + blen > s->nin) {
            *e = '\r';
            break;
        }
        int st = s->state, tcp = s->tcp;
        on_response(s, i, s->in, s->in + hlen, blen);
        if (s->tcp != tcp || s->state == ST_FAILED || (st == ST_DESCRIBE && s->state == ST_CONNECT))
            return; /* reconnected or failed: the buffer is gone */
        memmove(s->in, s->in + hlen + blen, s->nin - hlen - blen);
        s->nin -= hlen + blen;
        s->in[s->nin] = 0;
    }
    if (s->nin >= sizeof s->in - 1)
        fail(s, -7);
}

static void packet(sess *s, const unsigned char *p, size_t len, int64_t t)
{
    if (len < 12 || (p[0] >> 6) != 2)
        return;
    uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
    size_t payload = len - 12 - 4u * (p[0] & 15);
    if (!s->have_seq) {
        s->have_seq = 1;
        s->max_seq = seq;
        s->base_seq = seq;
        s->first_ns = s->df_start = t;
        s->vb_min = s->vb_max = 0;
    } else {
        uint16_t d = (uint16_t)(seq - s->max_seq);
        if (d == 0 || d >= 0x8000) {
            s->reordered++; /* at or below the highest seen: late (or duplicate) */
        } else {
            if (seq < s->max_seq)
                s->cycles += 65536;
            s->max_seq = seq;
        }
    }
    s->received++;
    /* RFC 4445: a virtual buffer filled by arrivals, drained at the nominal rate */
    while (t >= s->df_start + 1000000000) {
        double df = (s->vb_max - s->vb_min) / rate_Bpns / 1e6;
        if (df > s->df_max)
            s->df_max = df;
        s->df_intervals++;
        s->df_start += 1000000000;
        double vb = (double)s->bytes - rate_Bpns * (double)(s->df_start - s->first_ns);
        s->vb_min = s->vb_max = vb;
    }
    double vb = (double)s->bytes - rate_Bpns * (double)(t - s->first_ns);
    if (vb < s->vb_min)
        s->vb_min = vb;
    s->bytes += payload;
    if (t >= t_meas)
        meas_bytes += payload;
    vb += (double)payload;
    if (vb > s->vb_max)
        s->vb_max = vb;
    s->last_ns = t;
}

#define VLEN 16
#define RXBUF 65536
static unsigned char rx[VLEN][RXBUF];
static char ctl[VLEN][256];

static void on_rtp(sess *s)
{
    struct mmsghdr m[VLEN];
    struct iovec v[VLEN];
    for (int round = 0; round < 8; round++) {
        for (int k = 0; k < VLEN; k++) {
            v[k] = (struct iovec){rx[k], RXBUF};
            memset(&m[k], 0, sizeof m[k]);
            m[k].msg_hdr.msg_iov = &v[k];
            m[k].msg_hdr.msg_iovlen = 1;
            m[k].msg_hdr.msg_control = ctl[k];
            m[k].msg_hdr.msg_controllen = sizeof ctl[k];
        }
        int n = recvmmsg(s->rtp, m, VLEN, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        int64_t fallback = now_ns();
        for (int k = 0; k < n; k++) {
            size_t len = m[k].msg_len, seg = len;
            int64_t t = fallback;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&m[k].msg_hdr); c;
                 c = CMSG_NXTHDR(&m[k].msg_hdr, c)) {
                if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                    int g;
                    memcpy(&g, CMSG_DATA(c), sizeof g);
                    if (g > 0)
                        seg = (size_t)g;
                } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                    struct timespec ts;
                    memcpy(&ts, CMSG_DATA(c), sizeof ts);
                    t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
                }
            }
            for (size_t o = 0; o < len; o += seg)
                packet(s, rx[k] + o, len - o < seg ? len - o : seg, t);
        }
        if (n < VLEN)
            return;
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: rtsp_load rtsp://HOST:PORT/PATH SESSIONS SECONDS BITRATE [RAMP_S]\n");
        return 2;
    }
    N = atoi(argv[2]);
    double secs = atof(argv[3]), bps = atof(argv[4]), ramp = argc > 5 ? atof(argv[5]) : 2;
    if (N <= 0 || secs <= 0 || bps <= 0)
        return 2;
    rate_Bpns = bps / 8 / 1e9;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(4 * N + 64)) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)(4 * N + 64) ? rl.rlim_max : (rlim_t)(4 * N + 64);
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    S = calloc((size_t)(unsigned)N, sizeof *S);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!S || ep < 0)
        return 1;
    for (int i = 0; i < N; i++) {
        const char *path;
        S[i].tcp = S[i].rtp = S[i].rtcp = -1;
        snprintf(S[i].url, sizeof S[i].url, "%s", argv[1]);
        if (parse_url(argv[1], S[i].host, sizeof S[i].host, &S[i].port, &path)) {
            fprintf(stderr, "rtsp_load: %s: not rtsp://HOST:PORT/PATH\n", argv[1]);
            return 2;
        }
    }
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    int64_t t0 = now_ns(), t_end = t0 + (int64_t)((ramp + secs) * 1e9);
    /* the rate is the steady state's: from 3 s (a server's start-up) after the ramp */
    t_meas = t0 + (int64_t)((ramp + (secs > 6 ? 3 : secs / 2)) * 1e9);
    int started = 0;
    static struct epoll_event evs[512];
    for (;;) {
        int64_t t = now_ns();
        if (t >= t_end)
            break;
        while (started < N && t >= t0 + (int64_t)(ramp * 1e9 * started / N)) {
            if (tcp_connect(&S[started], started))
                fail(&S[started], -1);
            started++;
        }
        int n = epoll_wait(ep, evs, 512, 2);
        for (int k = 0; k < n; k++) {
            int kind = (int)(evs[k].data.u64 >> 32), i = (int)(uint32_t)evs[k].data.u64;
            sess *s = &S[i];
            if (kind == K_TCP && s->tcp >= 0)
                on_tcp(s, i, evs[k].events);
            else if (kind == K_RTP)
                on_rtp(s);
            else if (kind == K_RTCP) {
                char b[2048];
                while (recv(s->rtcp, b, sizeof b, MSG_DONTWAIT) > 0) {
                }
            }
        }
    }
    getrusage(RUSAGE_SELF, &r1);
    int64_t t_stop = now_ns();
    /* tear every session down (answers not awaited) */
    for (int i = 0; i < N; i++)
        if (S[i].state == ST_PLAYING && S[i].tcp >= 0)
            request(&S[i], "TEARDOWN", S[i].url, "");
    int playing = 0, receiving = 0, never = 0, failed = 0, refused = 0, nd = 0;
    uint64_t packets = 0, lost = 0, reordered = 0, bytes = 0;
    double *df = calloc((size_t)(unsigned)N, sizeof *df);
    for (int i = 0; i < N; i++) {
        sess *s = &S[i];
        if (s->state != ST_PLAYING) {
            if (!failed++)
                fprintf(stderr, "rtsp_load: session %d failed in state %d with status %d\n", i,
                        s->state, s->status);
            if (s->status == 453 || s->status == 503)
                refused++;
            continue;
        }
        playing++;
        if (!s->received) {
            never++;
            continue;
        }
        if (s->last_ns >= t_stop - 1000000000)
            receiving++;
        uint64_t expected = (uint64_t)s->cycles + s->max_seq - s->base_seq + 1;
        packets += s->received;
        bytes += s->bytes;
        lost += expected > s->received ? expected - s->received : 0;
        reordered += s->reordered;
        if (s->df_intervals)
            df[nd++] = s->df_max;
    }
    qsort(df, (size_t)nd, sizeof *df, cmp_d);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
                          r0.ru_stime.tv_sec) +
                 (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
                          r0.ru_stime.tv_usec) / 1e6;
    double wall = (double)(t_stop - t0) / 1e9;
    double meas_s = (double)(t_stop - t_meas) / 1e9;
    printf("sessions=%d started=%d receiving=%d never=%d failed=%d refused=%d packets=%llu "
           "lost=%llu reordered=%llu reordered_pct=%.4f df_p50_ms=%.1f df_p99_ms=%.1f "
           "df_max_ms=%.1f rx_gbps=%.3f client_cpu_pct=%.0f\n",
           N, playing, receiving, never, failed, refused, (unsigned long long)packets,
           (unsigned long long)lost, (unsigned long long)reordered,
           packets ? 100.0 * (double)reordered / (double)packets : 0.0,
           nd ? df[nd / 2] : 0.0, nd ? df[(nd * 99) / 100 < nd ? (nd * 99) / 100 : nd - 1] : 0.0,
           nd ? df[nd - 1] : 0.0, (double)meas_bytes * 8 / meas_s / 1e9, 100 * cpu / wall);
    for (int i = 0; i < N; i++) {
        if (S[i].tcp >= 0)
            close(S[i].tcp);
        if (S[i].rtp >= 0)
            close(S[i].rtp);
        if (S[i].rtcp >= 0)
            close(S[i].rtcp);
    }
    free(df);
    free(S);
    return 0;
}
