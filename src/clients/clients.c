#define _GNU_SOURCE 1 /* strcasestr */
/* `dsend clients` (see include/dsend/clients.h). */
#include "dsend/clients.h"
#include "util/check.h"
#include "dsend/error.h"
#include "dsend/library.h"
#include "dsend/rtsp.h"
#include "dsend/ts.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SENDERS 64

typedef struct csession {
    dsend_client_stats st;
    int rtsp, rtp, rtcp;
    char host[64];
    int port;
    char session[32];
    char url[600];
    uint16_t seq0;            /* RTP-Info seq at the start offset */
    uint64_t off0;
    int64_t play_sent;
    int64_t first_arrival;
    int have_last;
    uint64_t ext_last;        /* extended sequence of the highest packet */
    uint64_t ext_base;
    int done;
    int paused;
    int64_t pause_sent, resumed;
    uint64_t paused_packets;  /* arriving more than 300 ms into a pause */
    uint64_t last_offset;
    uint64_t pause_offset, resume_offset; /* last before PAUSE, first after PLAY */
    int want_resume_offset;
    uint32_t sender_ip[MAX_SENDERS];
    uint16_t sender_port[MAX_SENDERS];
    uint32_t nsenders;
    double jitter;            /* RFC 3550, in 90 kHz units */
    int64_t prev_arrival;
    uint32_t prev_ts;
    int64_t df_start;
    double vb_min, vb_max;
    uint64_t rx_bytes;
    int cseq;
} csession;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_url(const char *url, char *host, size_t hn, int *port, char *path, size_t pn)
{
    if (strncasecmp(url, "rtsp://", 7) != 0)
        return dsend_seterr(DSEND_EINVAL, "%s: not an rtsp:// URL", url);
    const char *h = url + 7, *slash = strchr(h, '/'), *colon = strchr(h, ':');
    if (!slash || !colon || colon > slash || (size_t)(colon - h) >= hn)
        return dsend_seterr(DSEND_EINVAL, "%s: want rtsp://HOST:PORT/ASSET", url);
    snprintf(host, hn, "%.*s", (int)(colon - h), h);
    *port = atoi(colon + 1);
    snprintf(path, pn, "%s", slash + 1);
    return *port > 0 ? 0 : dsend_seterr(DSEND_EINVAL, "%s: bad port", url);
}

static int tcp_connect(const char *host, int port)
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
        if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            close(fd);
            fd = -1;
        }
    }
    return fd;
}

/* One request, one response (headers kept in resp). Returns the status. */
static int rtsp_call(csession *s, const char *method, const char *url, const char *extra,
                     char *resp, size_t rn)
{
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s RTSP/1.0\r\nCSeq: %d\r\n%s%s%s\r\n", method, url,
                     ++s->cseq, s->session[0] ? "Session: " : "", s->session,
                     s->session[0] ? "\r\n" : "");
    if (extra)
        n = snprintf(req, sizeof req, "%s %s RTSP/1.0\r\nCSeq: %d\r\n%s%s%s%s\r\n", method, url,
                     s->cseq, s->session[0] ? "Session: " : "", s->session,
                     s->session[0] ? "\r\n" : "", extra);
    if (write(s->rtsp, req, (size_t)n) != n)
        return -1;
    size_t got = 0;
    for (;;) {
        ssize_t k = read(s->rtsp, resp + got, rn - 1 - got);
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
    sscanf(resp, "RTSP/1.0 %d", &status);
    return status;
}

static const char *header(const char *resp, const char *name, char *out, size_t n)
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

static int udp_pair(int *rtp, int *rtcp, int *port)
{
    for (int tries = 0; tries < 200; tries++) {
        int a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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
    return dsend_seterr(DSEND_EIO, "no free UDP port pair on 127.0.0.1");
}

static int open_session(const dsend_clients_config *cfg, const dsend_library *lib, uint32_t id,
                        csession *s)
{
    char path[512], resp[8192], h[512], extra[512];
    memset(s, 0, sizeof *s);
    s->rtsp = s->rtp = s->rtcp = -1;
    s->st.client = id;
    s->first_arrival = -1;
    s->st.startup_ns = -1;
    int rc = parse_url(cfg->url, s->host, sizeof s->host, &s->port, path, sizeof path);
    if (rc)
        return rc;
    int64_t asset = dsend_library_find(lib, path);
    if (asset < 0)
        return dsend_seterr(DSEND_ENOENT, "%s: asset '%s' is not in %s", cfg->url, path,
                            cfg->library);
    s->st.asset = (uint32_t)asset;
    for (int hop = 0; hop < 4; hop++) {
        s->rtsp = tcp_connect(s->host, s->port);
        if (s->rtsp < 0)
            return dsend_seterr(DSEND_EIO, "session %u: cannot connect to %s:%d: %s", id, s->host,
                                s->port, strerror(errno));
        snprintf(s->url, sizeof s->url, "rtsp://%s:%d/%s", s->host, s->port, path);
        int st = rtsp_call(s, "DESCRIBE", s->url, "Accept: application/sdp\r\n", resp, sizeof resp);
        if (st == 302 && header(resp, "Location:", h, sizeof h)) {
            close(s->rtsp);
            char p2[512];
            if (parse_url(h, s->host, sizeof s->host, &s->port, p2, sizeof p2))
                return dsend_seterr(DSEND_EINVAL, "session %u: bad redirect '%s'", id, h);
            continue;
        }
        if (st != 200)
            return dsend_seterr(DSEND_EIO, "session %u: DESCRIBE %s answered %d", id, s->url, st);
        break;
    }
    int port = 0;
    if ((rc = udp_pair(&s->rtp, &s->rtcp, &port)))
        return rc;
    char track[700];
    snprintf(track, sizeof track, "%s/trackID=0", s->url);
    snprintf(extra, sizeof extra, "Transport: RTP/AVP/UDP;unicast;client_port=%d-%d\r\n", port,
             port + 1);
    int st = rtsp_call(s, "SETUP", track, extra, resp, sizeof resp);
    if (st != 200 || !header(resp, "Session:", h, sizeof h))
        return dsend_seterr(DSEND_EIO, "session %u: SETUP answered %d", id, st);
    snprintf(s->session, sizeof s->session, "%.*s", (int)strcspn(h, ";"), h);
    return 0;
}

static int play(const dsend_clients_config *cfg, const dsend_asset *a, csession *s, int64_t from_ns,
                int resume)
{
    char resp[8192], h[512], extra[128] = "";
    if (!resume)
        snprintf(extra, sizeof extra, "Range: npt=%.3f-\r\n", (double)from_ns / 1e9);
    (void)cfg;
    int64_t t = now_ns();
    int st = rtsp_call(s, "PLAY", s->url, extra[0] ? extra : NULL, resp, sizeof resp);
    if (st != 200)
        return dsend_seterr(DSEND_EIO, "session %u: PLAY answered %d", s->st.client, st);
    if (!resume)
        s->play_sent = t;
    /* RTP-Info: the sequence number of the first packet, at the offset asked */
    unsigned seq = 0;
    const char *ri = header(resp, "RTP-Info:", h, sizeof h);
    const char *sq = ri ? strstr(ri, "seq=") : NULL;
    if (!sq || sscanf(sq, "seq=%u", &seq) != 1)
        return dsend_seterr(DSEND_EIO, "session %u: PLAY without RTP-Info seq", s->st.client);
    char range[128];
    double npt = 0;
    if (header(resp, "Range:", range, sizeof range))
        sscanf(range, "npt=%lf", &npt);
    s->seq0 = (uint16_t)seq;
    s->off0 = (uint64_t)llround(npt * (double)a->bitrate_bps / 8.0);
    s->off0 -= s->off0 % DSEND_TS_RTP_PAYLOAD;
    s->have_last = 0;
    return 0;
}

static void on_rtp(csession *s, const dsend_library *lib, const uint8_t *stored,
                   const uint8_t *p, size_t n, const struct sockaddr_in *from, int64_t t)
{
    const dsend_asset *a = &lib->assets[s->st.asset];
    if (n < 12 || (p[0] >> 6) != 2 || (p[1] & 0x7f) != 33)
        return;
    if (s->paused && t > s->pause_sent + 300000000)
        s->paused_packets++;
    uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
    uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    /* extended sequence number relative to the PLAY's first packet */
    uint64_t rel = (uint16_t)(seq - s->seq0);
    if (s->have_last) {
        uint64_t cand = (s->ext_last & ~0xffffull) | rel;
        if (cand + 32768 < s->ext_last)
            cand += 65536;
        else if (cand > s->ext_last + 32768 && cand >= 65536)
            cand -= 65536;
        rel = cand;
    }
    uint64_t offset = s->off0 + rel * DSEND_TS_RTP_PAYLOAD;
    size_t len = n - 12;
    int marker = (p[1] & 0x80) && offset >= a->size; /* end-of-stream marker */
    if (!marker) {
        uint8_t buf[DSEND_TS_RTP_PAYLOAD];
        const uint8_t *want = NULL;
        if (offset + len <= a->size) {
            if (stored)
                want = stored + offset;
            else {
                dsend_synthetic_fill(a, offset, buf, len);
                want = buf;
            }
        }
        if (!want || memcmp(want, p + 12, len) != 0)
            s->st.crc_errors++;
    }
    /* senders */
    uint32_t i;
    for (i = 0; i < s->nsenders; i++)
        if (s->sender_ip[i] == from->sin_addr.s_addr && s->sender_port[i] == from->sin_port)
            break;
    if (i == s->nsenders && i < MAX_SENDERS) {
        s->sender_ip[i] = from->sin_addr.s_addr;
        s->sender_port[i] = from->sin_port;
        s->nsenders++;
    }
    if (marker)
        return;
    if (!s->have_last) {
        s->have_last = 1;
        s->ext_last = rel;
    } else if (rel == s->ext_last + 1) {
        s->ext_last = rel;
    } else if (rel > s->ext_last) {
        s->st.lost += rel - s->ext_last - 1; /* may be filled in later: out of order */
        s->ext_last = rel;
    } else {
        if (s->st.lost) {
            s->st.lost--;
            s->st.out_of_order++;
        } else {
            s->st.duplicate++;
        }
    }
    s->st.received++;
    s->st.bytes += len;
    s->last_offset = offset;
    if (s->want_resume_offset) {
        s->resume_offset = offset;
        s->want_resume_offset = 0;
    }
    if (s->first_arrival < 0) {
        s->first_arrival = t;
        s->st.startup_ns = t - s->play_sent;
        s->df_start = t;
        s->vb_min = s->vb_max = 0;
    }
    /* RFC 3550 jitter in 90 kHz units */
    if (s->prev_arrival) {
        double d = (double)(t - s->prev_arrival) * 9e-5 - (double)(int32_t)(ts - s->prev_ts);
        s->jitter += (fabs(d) - s->jitter) / 16.0;
    }
    s->prev_arrival = t;
    s->prev_ts = ts;
    /* RFC 4445 delay factor */
    double rate = (double)a->bitrate_bps / 8e9;
    while (t >= s->df_start + 1000000000) {
        double df = (s->vb_max - s->vb_min) / rate / 1e6;
        if (df > s->st.df_ms)
            s->st.df_ms = df;
        s->df_start += 1000000000;
        double vb = (double)s->rx_bytes - rate * (double)(s->df_start - s->first_arrival);
        s->vb_min = s->vb_max = vb;
    }
    double vb = (double)s->rx_bytes - rate * (double)(t - s->first_arrival);
    if (vb < s->vb_min)
        s->vb_min = vb;
    vb += (double)len;
    if (vb > s->vb_max)
        s->vb_max = vb;
    s->rx_bytes += len;
}

int dsend_clients_run(const dsend_clients_config *cfg, dsend_sim_result *r, FILE *log)
{
    int rc = 0;
    dsend_library lib = {.file = -1};
    csession *ss = NULL;
    uint8_t *stored = NULL;
    memset(r, 0, sizeof *r);
    TRY(dsend_library_open(cfg->library, MPI_COMM_NULL, &lib));
    if (cfg->sessions < 1 || !(ss = calloc((size_t)cfg->sessions, sizeof *ss))) {
        rc = dsend_seterr(DSEND_EINVAL, "--sessions %d: need at least one", cfg->sessions);
        goto err;
    }
    for (int i = 0; i < cfg->sessions; i++)
        ss[i].rtsp = ss[i].rtp = ss[i].rtcp = -1;
    int64_t t0 = now_ns();
    for (int i = 0; i < cfg->sessions; i++)
        TRY(open_session(cfg, &lib, (uint32_t)i, &ss[i]));
    const dsend_asset *a = &lib.assets[ss[0].st.asset];
    if (a->kind == DSEND_ASSET_MPEGTS) { /* the bytes to compare with */
        char dp[DSEND_NAME_MAX + 32];
        snprintf(dp, sizeof dp, "assets/%s/data", a->name);
        hid_t d = -1;
        if (!(stored = malloc(a->size))) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
        H5_CHECK(d = H5Dopen2(lib.file, dp, H5P_DEFAULT));
        herr_t e = H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, stored);
        H5Dclose(d);
        H5_CHECK(e);
    }
    for (int i = 0; i < cfg->sessions; i++)
        TRY(play(cfg, a, &ss[i], cfg->seek, 0));
    int64_t end = cfg->duration > 0 ? t0 + cfg->duration : INT64_MAX;
    struct pollfd *pfd = malloc(2 * (size_t)cfg->sessions * sizeof *pfd);
    if (!pfd) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    int left = cfg->sessions;
    while (left > 0 && now_ns() < end) {
        for (int i = 0; i < cfg->sessions; i++) {
            pfd[2 * i] = (struct pollfd){.fd = ss[i].rtp, .events = POLLIN};
            pfd[2 * i + 1] = (struct pollfd){.fd = ss[i].rtcp, .events = POLLIN};
        }
        poll(pfd, 2 * (nfds_t)cfg->sessions, 20);
        int64_t t = now_ns();
        for (int i = 0; i < cfg->sessions; i++) {
            csession *s = &ss[i];
            uint8_t buf[2048];
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t n;
            if (!(pfd[2 * i].revents & POLLIN) && !(pfd[2 * i + 1].revents & POLLIN) &&
                !(cfg->pause_at > 0 && s->first_arrival >= 0))
                continue; /* nothing arrived: no system call */
            while ((n = recvfrom(s->rtp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl)) > 0) {
                on_rtp(s, &lib, stored, buf, (size_t)n, &from, now_ns());
                fl = sizeof from;
            }
            while ((n = recv(s->rtcp, buf, sizeof buf, 0)) > 0)
                for (ssize_t k = 0; k + 4 <= n; k += 4 * (1 + (buf[k + 2] << 8 | buf[k + 3])))
                    if (buf[k + 1] == 203 && !s->done) { /* BYE */
                        s->done = 1;
                        left--;
                    }
            if (cfg->pause_at > 0 && s->first_arrival >= 0 && !s->paused && !s->resumed &&
                t - s->first_arrival >= cfg->pause_at) {
                char resp[4096];
                s->pause_sent = t;
                if (rtsp_call(s, "PAUSE", s->url, NULL, resp, sizeof resp) == 200) {
                    s->paused = 1;
                    s->pause_offset = s->last_offset;
                    s->st.pauses++;
                }
            }
            if (s->paused && t - s->pause_sent >= cfg->pause_for) {
                s->paused = 0;
                s->resumed = t;
                s->want_resume_offset = 1;
                if ((rc = play(cfg, a, s, 0, 1)))
                    goto err_pfd;
            }
        }
    }
err_pfd:
    free(pfd);
    if (rc)
        goto err;
    r->kind = "clients";
    r->nclients = (uint32_t)cfg->sessions;
    r->clients = calloc((size_t)cfg->sessions, sizeof *r->clients);
    r->devs = calloc(1, sizeof *r->devs);
    r->series_bytes = calloc(1, sizeof *r->series_bytes);
    r->series_queue = calloc(1, sizeof *r->series_queue);
    r->late_mean_ns = calloc(1, sizeof *r->late_mean_ns);
    r->late_count = calloc(1, sizeof *r->late_count);
    r->wall_seconds = (double)(now_ns() - t0) / 1e9;
    for (int i = 0; i < cfg->sessions && r->clients; i++) {
        csession *s = &ss[i];
        if (s->first_arrival >= 0) {
            double rate = (double)a->bitrate_bps / 8e9;
            double df = (s->vb_max - s->vb_min) / rate / 1e6;
            if (df > s->st.df_ms)
                s->st.df_ms = df;
        }
        s->st.jitter_ms = s->jitter / 90.0;
        s->st.senders = s->nsenders;
        s->st.expected = s->st.received + s->st.lost;
        double secs = (double)s->st.bytes * 8 / (double)a->bitrate_bps;
        s->st.mlr = secs > 0 ? (double)s->st.lost * DSEND_TS_PER_RTP / secs : 0;
        r->clients[i] = s->st;
        if (log) {
            fprintf(log, "session %d: %llu packets from %u senders:", i,
                    (unsigned long long)s->st.received, s->nsenders);
            for (uint32_t k = 0; k < s->nsenders; k++) {
                char ip[INET_ADDRSTRLEN];
                inet_ntop(AF_INET, &s->sender_ip[k], ip, sizeof ip);
                fprintf(log, " %s:%u", ip, ntohs(s->sender_port[k]));
            }
            fprintf(log, "; %llu lost, %llu out of order, %llu payload mismatches, first offset "
                         "%llu, last %llu%s\n",
                    (unsigned long long)s->st.lost, (unsigned long long)s->st.out_of_order,
                    (unsigned long long)s->st.crc_errors, (unsigned long long)s->off0,
                    (unsigned long long)s->last_offset, s->done ? ", BYE" : "");
            if (s->st.pauses)
                fprintf(log, "session %d: paused after offset %llu, %llu packets during the pause, "
                             "resumed at offset %llu\n",
                        i, (unsigned long long)s->pause_offset,
                        (unsigned long long)s->paused_packets,
                        (unsigned long long)s->resume_offset);
        }
    }
err:
    if (ss)
        for (int i = 0; i < cfg->sessions; i++) {
            if (ss[i].rtsp >= 0) {
                char resp[1024];
                rtsp_call(&ss[i], "TEARDOWN", ss[i].url, NULL, resp, sizeof resp);
                close(ss[i].rtsp);
            }
            if (ss[i].rtp >= 0)
                close(ss[i].rtp);
            if (ss[i].rtcp >= 0)
                close(ss[i].rtcp);
        }
    free(ss);
    free(stored);
    if (lib.file >= 0 || lib.assets)
        dsend_library_close(&lib);
    return rc;
}
