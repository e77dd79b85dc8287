#define _GNU_SOURCE 1 /* strcasestr */
/* `dsend clients` (see include/dsend/clients.h): real RTSP clients playing
 * the workload, metered by the meter the virtual clients use. */
#include "dsend/clients.h"
#include "clients/rtsp_wire.h"
#include "util/check.h"
#include "dsend/core.h"
#include "dsend/error.h"
#include "dsend/library.h"
#include "dsend/meter.h"
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { C_WAITING, C_PLAYING, C_PAUSED, C_ENDING, C_DONE };
/* after a BYE, what other senders still have in flight */
#define BYE_GRACE 500000000
#define MAX_SENDERS 64
#define MAX_PROBE 64 /* device ports asked for a session when the front is gone */

typedef struct csession {
    dsend_client_stats st;
    dsend_client_plan plan;
    dsend_meter meter;
    int state;
    int rtsp, rtp, rtcp;
    char host[64];
    int port;
    char session[32];
    char url[600];
    int cseq;
    uint16_t seq_base;        /* RTP sequence number of the asset's packet 0 */
    int64_t last_k;           /* highest packet index so far (sequence extension) */
    int64_t last_rx;          /* last packet or (re)start, for giving up */
    int bye, gave_up, paused_once, sought;
    int control_lost;      /* its RTSP connection broke (its scheduler's device died) */
    int rehomed;           /* ... and the front sent it to the device holding it now */
    char front[600];       /* the front's URL, to find the session again */
    int64_t bye_at;
    int64_t keepalive;        /* ns between GET_PARAMETERs: half the session's timeout */
    int64_t last_request;
    int64_t pause_sent;
    uint64_t paused_packets;  /* arriving more than 300 ms into a pause */
    uint64_t first_offset, last_offset, pause_offset, resume_offset;
    uint32_t sender_ip[MAX_SENDERS];
    uint16_t sender_port[MAX_SENDERS];
    uint32_t nsenders;
} csession;

static int64_t now_ns(int64_t t0)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - t0;
}

/* One request of the session, one answer. */
static int call(csession *s, const char *method, const char *url, const char *extra, char *resp,
                size_t rn)
{
    return client_rtsp_call(s->rtsp, &s->cseq, s->session, method, url, extra, resp, rn);
}

/* DESCRIBE (following the front's redirect), SETUP. */
static int open_session(const dsend_clients_config *cfg, const dsend_library *lib, csession *s)
{
    char path[512], resp[8192], h[512], extra[512];
    uint32_t id = s->st.client;
    int rc = client_parse_url(cfg->url, s->host, sizeof s->host, &s->port, path, sizeof path);
    if (rc)
        return rc;
    snprintf(s->front, sizeof s->front, "%s", cfg->url);
    const char *name = lib->assets[s->plan.asset].name;
    for (int hop = 0;; hop++) {
        if (hop == 4)
            return dsend_seterr(DSEND_EIO, "session %u: more than 3 redirects", id);
        s->rtsp = client_tcp_connect(s->host, s->port);
        if (s->rtsp < 0)
            return dsend_seterr(DSEND_EIO, "session %u: cannot connect to %s:%d: %s", id, s->host,
                                s->port, strerror(errno));
        snprintf(s->url, sizeof s->url, "rtsp://%s:%d/%s", s->host, s->port, name);
        int st = call(s, "DESCRIBE", s->url, "Accept: application/sdp\r\n", resp, sizeof resp);
        if (st == 302 && client_header(resp, "Location:", h, sizeof h)) {
            close(s->rtsp);
            s->rtsp = -1;
            char p2[512];
            int front = s->port;
            if (client_parse_url(h, s->host, sizeof s->host, &s->port, p2, sizeof p2))
                return dsend_seterr(DSEND_EINVAL, "session %u: bad redirect '%s'", id, h);
            /* the front sends device d's clients to its port + 1 + d */
            if (s->port > front && s->port - front - 1 < 65536)
                s->st.scheduler = (uint32_t)(s->port - front - 1);
            continue;
        }
        if (st != 200)
            return dsend_seterr(DSEND_EIO, "session %u: DESCRIBE %s answered %d", id, s->url, st);
        break;
    }
    int port = 0;
    if ((rc = client_udp_pair(s->rtsp, &s->rtp, &s->rtcp, &port)))
        return rc;
    char track[700];
    snprintf(track, sizeof track, "%s/trackID=0", s->url);
    snprintf(extra, sizeof extra, "Transport: RTP/AVP/UDP;unicast;client_port=%d-%d\r\n", port,
             port + 1);
    int st = call(s, "SETUP", track, extra, resp, sizeof resp);
    if (st != 200 || !client_header(resp, "Session:", h, sizeof h))
        return dsend_seterr(DSEND_EIO, "session %u: SETUP answered %d", id, st);
    snprintf(s->session, sizeof s->session, "%.*s", (int)strcspn(h, ";"), h);
    /* the server ends a session without requests for its timeout (RFC 2326 12.37) */
    const char *to = strstr(h, "timeout=");
    long secs = to ? atol(to + 8) : 60;
    s->keepalive = (secs > 1 ? secs : 60) * 1000000000LL / 2;
    return 0;
}

/* PLAY: from `start_ns` to `end_ns` (-1: resume, no Range; end 0: open).
 * The answer's Range says where the plan starts and ends. */
static int play(const dsend_asset *a, csession *s, int64_t start_ns, int64_t end_ns,
                uint64_t *from, uint64_t *to)
{
    char resp[8192], h[512], extra[128] = "";
    /* the end is the time of a byte, rounded down to the ns: 2 ns later is
     * still that byte's, and the server (which truncates npt to the ns) ends
     * after it, not before */
    if (start_ns >= 0 && end_ns > 0)
        snprintf(extra, sizeof extra, "Range: npt=%.9f-%.9f\r\n", (double)start_ns / 1e9,
                 (double)(end_ns + 2) / 1e9);
    else if (start_ns >= 0)
        snprintf(extra, sizeof extra, "Range: npt=%.9f-\r\n", (double)start_ns / 1e9);
    int st = call(s, "PLAY", s->url, extra[0] ? extra : NULL, resp, sizeof resp);
    if (st == 453)
        return dsend_seterr(DSEND_EBUSY, "session %u: PLAY answered 453 Not Enough Bandwidth",
                            s->st.client);
    if (st != 200)
        return dsend_seterr(DSEND_EIO, "session %u: PLAY answered %d", s->st.client, st);
    unsigned seq = 0;
    double lo = 0, hi = 0;
    const char *ri = client_header(resp, "RTP-Info:", h, sizeof h);
    const char *sq = ri ? strstr(ri, "seq=") : NULL;
    if (!sq || sscanf(sq, "seq=%u", &seq) != 1)
        return dsend_seterr(DSEND_EIO, "session %u: PLAY without RTP-Info seq", s->st.client);
    /* npt=START-END, or npt=START- (to the asset's end) */
    int got = client_header(resp, "Range:", h, sizeof h) ? sscanf(h, "npt=%lf-%lf", &lo, &hi) : 0;
    if (got < 1 || !(lo >= 0) || (got == 1 && !strchr(h, '-')))
        return dsend_seterr(DSEND_EIO, "session %u: PLAY without Range npt=START-[END]",
                            s->st.client);
    *from = (uint64_t)llround(lo * (double)a->bitrate_bps / 8.0);
    *to = got == 2 ? (uint64_t)llround(hi * (double)a->bitrate_bps / 8.0) : a->size;
    if (*to > a->size)
        *to = a->size;
    uint64_t k = dsend_packet_index(a, *from);
    s->seq_base = (uint16_t)(seq - (uint32_t)k);
    s->last_k = (int64_t)k - 1;
    return 0;
}

static int64_t media_ns(const dsend_asset *a, uint64_t off)
{
    return dsend_media_time(a, 0, 0, off);
}

/* The plan the client expects is what it asked for, whatever the answer
 * says: the server may start earlier (its sub-block) and end later, never
 * start later nor end earlier.  A missing head or tail is loss. */
static void asked(uint64_t want_from, uint64_t want_to, uint64_t *from, uint64_t *to)
{
    if (want_from < *from)
        *from = want_from;
    if (want_to > *to)
        *to = want_to;
}

static int start(const dsend_clients_config *cfg, const dsend_library *lib, csession *s,
                 int64_t t)
{
    const dsend_asset *a = &lib->assets[s->plan.asset];
    int rc = open_session(cfg, lib, s);
    if (rc)
        return rc;
    uint64_t from, to;
    int64_t begin = cfg->start_at > 0 ? cfg->start_at : media_ns(a, s->plan.from);
    int64_t end = s->plan.to < a->size ? media_ns(a, s->plan.to) : 0;
    if (end && end <= begin)
        end = 0;
    s->st.request_at = t;
    s->last_request = t;
    if ((rc = play(a, s, begin, end, &from, &to)) == DSEND_EBUSY) {
        dsend_meter_refused(&s->meter); /* admission: a refusal is a result, not an error */
        s->state = C_DONE;
        return 0;
    }
    if (rc)
        return rc;
    s->first_offset = from;
    asked(dsend_media_bytes(a, begin), end ? s->plan.to : a->size, &from, &to);
    s->plan.from = from;
    s->plan.to = to;
    s->state = C_PLAYING;
    s->last_rx = t;
    return dsend_meter_plan_begin(&s->meter, from, to, 1);
}

static void on_rtp(csession *s, const dsend_library *lib, uint8_t *const *stored,
                   const uint8_t *p, size_t n, const struct sockaddr_in *src, int64_t t)
{
    const dsend_asset *a = &lib->assets[s->plan.asset];
    if (n < 12 || (p[0] >> 6) != 2 || (p[1] & 0x7f) != 33)
        return;
    s->last_rx = t;
    if (s->state == C_PAUSED && t > s->pause_sent + 300000000)
        s->paused_packets++;
    uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
    /* extended packet index: the nearest to the last one with these low bits */
    uint16_t k16 = (uint16_t)(seq - s->seq_base);
    int64_t k = s->last_k + (int16_t)(uint16_t)(k16 - (uint16_t)s->last_k);
    if (k < 0) {
        s->st.unexpected++;
        return;
    }
    if (k > s->last_k)
        s->last_k = k;
    uint64_t offset = dsend_packet_offset(a, (uint64_t)k);
    if ((p[1] & 0x80) && offset >= a->size)
        return; /* the end-of-stream marker carries no media */
    size_t len = n - 12;
    uint8_t buf[DSEND_PKT_PAYLOAD];
    const uint8_t *want = NULL;
    if (offset < a->size && len == dsend_packet_len(a, offset)) {
        if (stored[s->plan.asset])
            want = stored[s->plan.asset] + offset;
        else {
            dsend_synthetic_fill(a, offset, buf, len);
            want = buf;
        }
    }
    if (!want || memcmp(want, p + 12, len) != 0)
        s->st.crc_errors++;
    uint32_t i;
    for (i = 0; i < s->nsenders; i++)
        if (s->sender_ip[i] == src->sin_addr.s_addr && s->sender_port[i] == src->sin_port)
            break;
    if (i == s->nsenders && i < MAX_SENDERS) {
        s->sender_ip[i] = src->sin_addr.s_addr;
        s->sender_port[i] = src->sin_port;
        s->nsenders++;
    }
    dsend_meter_packet(&s->meter, offset, (uint32_t)len, t, i);
    s->last_offset = offset;
    if (s->resume_offset == UINT64_MAX)
        s->resume_offset = offset;
}

/* The session's device died and another holds it now: the front says
 * which (a redirect for the session), and the control goes on there.
 * 0 when it answers again. */
/* GET_PARAMETER for the session at host:port; 0 (connected) if it answers 200. */
static int try_device(csession *s, const dsend_library *lib, const char *host, int port)
{
    char resp[4096];
    if ((s->rtsp = client_tcp_connect(host, port)) < 0)
        return -1;
    snprintf(s->host, sizeof s->host, "%s", host);
    s->port = port;
    snprintf(s->url, sizeof s->url, "rtsp://%s:%d/%s", s->host, s->port,
             lib->assets[s->plan.asset].name);
    if (call(s, "GET_PARAMETER", s->url, NULL, resp, sizeof resp) == 200)
        return 0;
    close(s->rtsp);
    s->rtsp = -1;
    return -1;
}

static int rehome(csession *s, const dsend_library *lib)
{
    char host[64], dhost[64], path[512], resp[4096], h[600];
    int port, front;
    if (client_parse_url(s->front, host, sizeof host, &front, path, sizeof path))
        return -1;
    if ((s->rtsp = client_tcp_connect(host, front)) >= 0) {
        int st = call(s, "GET_PARAMETER", s->url, NULL, resp, sizeof resp);
        close(s->rtsp);
        s->rtsp = -1;
        if (st != 302 || !client_header(resp, "Location:", h, sizeof h) ||
            client_parse_url(h, dhost, sizeof dhost, &port, path, sizeof path) ||
            try_device(s, lib, dhost, port) != 0)
            return -1;
    } else {
        /* the front itself is gone (it was a device too): ask the devices'
         * own ports (PORT+1+d) which one holds the session now */
        for (port = front + 1; port <= front + MAX_PROBE; port++)
            if (try_device(s, lib, host, port) == 0)
                break;
        if (port > front + MAX_PROBE)
            return -1;
    }
    if (port > front)
        s->st.scheduler = (uint32_t)(port - front - 1);
    return 0;
}

/* The workload's pause, resume and seek, when their time comes. */
static int control(const dsend_library *lib, csession *s, int64_t t)
{
    const dsend_asset *a = &lib->assets[s->plan.asset];
    char resp[4096];
    uint64_t from, to;
    int rc = 0;
    if (s->rtsp < 0) {
        /* control lost: the media may go on (a deputy took the session
         * over); each keepalive period, ask the front where it is now */
        if (!s->control_lost || t - s->last_request < s->keepalive)
            return 0;
        s->last_request = t;
        if (rehome(s, lib) != 0)
            return 0;
        s->rehomed = 1;
    }
    if (s->state == C_PLAYING && !s->paused_once && s->plan.pause_at >= 0 &&
        t >= s->plan.pause_at) {
        s->paused_once = 1;
        dsend_meter_pause(&s->meter, t);
        s->pause_sent = t;
        int st = call(s, "PAUSE", s->url, NULL, resp, sizeof resp);
        if (st != 200)
            return dsend_seterr(DSEND_EIO, "session %u: PAUSE answered %d", s->st.client, st);
        s->state = C_PAUSED;
        s->pause_offset = s->last_offset;
    }
    if (s->state == C_PAUSED && t >= s->plan.pause_at + s->plan.pause_len) {
        dsend_meter_resume(&s->meter, t);
        if ((rc = play(a, s, -1, 0, &from, &to)))
            return rc;
        s->state = C_PLAYING;
        s->last_rx = t;
        s->resume_offset = UINT64_MAX;
        if ((rc = dsend_meter_plan_begin(&s->meter, from, s->plan.to, 0)))
            return rc;
    }
    if ((s->state == C_PLAYING || s->state == C_PAUSED) && t - s->last_request >= s->keepalive) {
        s->last_request = t;
        int st = call(s, "GET_PARAMETER", s->url, NULL, resp, sizeof resp);
        if (st < 0) {
            /* the connection broke: its device died; keep receiving */
            close(s->rtsp);
            s->rtsp = -1;
            s->control_lost = 1;
            return 0;
        }
        if (st != 200)
            return dsend_seterr(DSEND_EIO, "session %u: the server dropped the session (keepalive "
                                           "refused)", s->st.client);
    }
    if (s->state == C_PLAYING && !s->sought && s->plan.seek_at >= 0 && t >= s->plan.seek_at) {
        s->sought = 1;
        dsend_meter_seek(&s->meter, t);
        uint64_t target = s->plan.seek_to;
        int64_t end = target < s->plan.to && s->plan.to < a->size ? media_ns(a, s->plan.to) : 0;
        if ((rc = play(a, s, media_ns(a, target), end, &from, &to)))
            return rc;
        asked(target, end ? s->plan.to : a->size, &from, &to);
        s->plan.to = to; /* a seek past the session's end plays on */
        s->last_rx = t;
        if ((rc = dsend_meter_plan_begin(&s->meter, from, to, 1)))
            return rc;
    }
    return 0;
}

static void close_session(csession *s)
{
    if (s->rtsp >= 0) {
        char resp[1024];
        call(s, "TEARDOWN", s->url, NULL, resp, sizeof resp);
        close(s->rtsp);
    }
    if (s->rtp >= 0)
        close(s->rtp);
    if (s->rtcp >= 0)
        close(s->rtcp);
    s->rtsp = s->rtp = s->rtcp = -1;
}

static void log_session(FILE *log, const csession *s)
{
    const dsend_client_stats *st = &s->st;
    fprintf(log, "session %u: %llu packets from %u senders:", st->client,
            (unsigned long long)st->received, s->nsenders);
    for (uint32_t k = 0; k < s->nsenders; k++) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &s->sender_ip[k], ip, sizeof ip);
        fprintf(log, " %s:%u", ip, ntohs(s->sender_port[k]));
    }
    fprintf(log, "; %llu lost, %llu out of order, %llu payload mismatches, first offset %llu, "
                 "last %llu%s\n",
            (unsigned long long)st->lost, (unsigned long long)st->out_of_order,
            (unsigned long long)st->crc_errors, (unsigned long long)s->first_offset,
            (unsigned long long)s->last_offset,
            s->bye ? ", BYE" : s->gave_up ? ", no BYE: gave up after silence" : ", cut short");
    if (st->refused)
        fprintf(log, "session %u: refused: 453 Not Enough Bandwidth\n", st->client);
    else if (s->rehomed)
        fprintf(log, "session %u: control lost (its RTSP connection broke), then found again at "
                     "device %u; the media went on\n",
                st->client, st->scheduler);
    else if (s->control_lost)
        fprintf(log, "session %u: control lost (its RTSP connection broke); the media went on\n",
                st->client);
    if (st->max_gap_us >= 100000)
        fprintf(log, "session %u: longest gap %.1f ms\n", st->client, st->max_gap_us / 1e3);
    if (st->pauses)
        fprintf(log, "session %u: paused after offset %llu, %llu packets during the pause, "
                     "resumed at offset %llu\n",
                st->client, (unsigned long long)s->pause_offset,
                (unsigned long long)s->paused_packets, (unsigned long long)s->resume_offset);
}

static int load_stored(const dsend_library *lib, uint8_t **stored)
{
    int rc = 0;
    for (uint32_t i = 0; i < lib->nassets; i++) {
        const dsend_asset *a = &lib->assets[i];
        if (a->kind != DSEND_ASSET_MPEGTS)
            continue;
        char dp[DSEND_NAME_MAX + 32];
        snprintf(dp, sizeof dp, "assets/%s/data", a->name);
        hid_t d = -1;
        if (!(stored[i] = malloc(a->size)))
            return dsend_seterr(DSEND_ENOMEM, "out of memory for asset '%s'", a->name);
        H5_CHECK(d = H5Dopen2(lib->file, dp, H5P_DEFAULT));
        herr_t e = H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, stored[i]);
        H5Dclose(d);
        H5_CHECK(e);
    }
err:
    return rc;
}

int dsend_clients_run(const dsend_clients_config *cfg, dsend_sim_result *r, FILE *log)
{
    int rc = 0;
    dsend_library lib = {.file = -1};
    dsend_workload wl = {0};
    csession *ss = NULL;
    uint8_t **stored = NULL;
    struct pollfd *pfd = NULL;
    int *owner = NULL;
    memset(r, 0, sizeof *r);
    char host[64], path[512];
    int port;
    TRY(client_parse_url(cfg->url, host, sizeof host, &port, path, sizeof path));
    TRY(dsend_library_open(cfg->library, MPI_COMM_NULL, &lib));
    dsend_workload_config wc = cfg->wl;
    if (path[0] && !wc.asset)
        wc.asset = path; /* the URL names the asset every client plays */
    TRY(dsend_workload_init(&wl, &wc, &lib));
    uint32_t C = (uint32_t)wc.clients;
    /* two UDP sockets and one TCP connection a session */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    ss = calloc(C, sizeof *ss);
    stored = calloc(lib.nassets, sizeof *stored);
    pfd = calloc(2 * (size_t)C, sizeof *pfd);
    owner = calloc(2 * (size_t)C, sizeof *owner);
    if (!ss || !stored || !pfd || !owner) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %u clients", C);
        goto err;
    }
    TRY(load_stored(&lib, stored));
    for (uint32_t i = 0; i < C; i++) {
        csession *s = &ss[i];
        s->rtsp = s->rtp = s->rtcp = -1;
        dsend_workload_client(&wl, i, &s->plan);
        s->st.client = i;
        s->st.asset = s->plan.asset;
        s->st.scheduler = UINT32_MAX; /* the front decides */
        s->st.request_at = s->plan.request_at;
        dsend_meter_init(&s->meter, &lib.assets[s->plan.asset], cfg->prebuffer, &s->st);
    }
    int64_t t0 = now_ns(0);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall); /* the same instant, for lining up with serve --out */
    uint32_t started = 0, left = C;
    while (left > 0) {
        int64_t t = now_ns(t0);
        if (cfg->duration > 0 && t >= cfg->duration)
            break;
        /* sessions whose time has come: in arrival order, as sim deals them */
        while (started < C && ss[started].plan.request_at <= t) {
            if ((rc = start(cfg, &lib, &ss[started], now_ns(t0))))
                goto err;
            if (ss[started].state == C_DONE)
                left--; /* refused */
            started++;
        }
        int n = 0;
        int64_t next = started < C ? ss[started].plan.request_at : t + 20000000;
        for (uint32_t i = 0; i < started; i++) {
            csession *s = &ss[i];
            if (s->state == C_DONE)
                continue;
            if (s->state == C_ENDING && t - s->bye_at > BYE_GRACE) {
                s->state = C_DONE;
                left--;
                continue;
            }
            if ((rc = control(&lib, s, t)))
                goto err;
            if (s->state != C_PAUSED && s->state != C_ENDING && t - s->last_rx > cfg->give_up) {
                s->gave_up = 1; /* the server stopped sending: say so, never hang */
                s->state = C_DONE;
                left--;
                continue;
            }
            pfd[n] = (struct pollfd){.fd = s->rtp, .events = POLLIN};
            owner[n++] = (int)i;
            pfd[n] = (struct pollfd){.fd = s->rtcp, .events = POLLIN};
            owner[n++] = (int)i;
        }
        int64_t wait = next - t;
        if (wait > 20000000)
            wait = 20000000;
        poll(pfd, (nfds_t)n, wait > 0 ? (int)((wait + 999999) / 1000000) : 0);
        for (int k = 0; k < n; k++) {
            if (!(pfd[k].revents & POLLIN))
                continue;
            csession *s = &ss[owner[k]];
            uint8_t buf[2048];
            struct sockaddr_in from;
            socklen_t fl = sizeof from;
            ssize_t got;
            if (pfd[k].fd == s->rtp) {
                while ((got = recvfrom(s->rtp, buf, sizeof buf, 0, (struct sockaddr *)&from,
                                       &fl)) > 0) {
                    on_rtp(s, &lib, stored, buf, (size_t)got, &from, now_ns(t0));
                    fl = sizeof from;
                }
                continue;
            }
            while ((got = recv(s->rtcp, buf, sizeof buf, 0)) > 0)
                for (ssize_t q = 0; q + 4 <= got; q += 4 * (1 + (buf[q + 2] << 8 | buf[q + 3])))
                    if (buf[q + 1] == 203 && s->state == C_PLAYING) { /* BYE */
                        s->bye = 1;
                        s->bye_at = now_ns(t0);
                        s->state = C_ENDING;
                    }
        }
    }
    r->kind = "clients";
    r->t0_unix_ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec;
    r->nclients = C;
    r->clients = calloc(C, sizeof *r->clients);
    r->devs = calloc(1, sizeof *r->devs);
    r->series_bytes = calloc(1, sizeof *r->series_bytes);
    r->series_queue = calloc(1, sizeof *r->series_queue);
    r->late_mean_ns = calloc(1, sizeof *r->late_mean_ns);
    r->late_count = calloc(1, sizeof *r->late_count);
    r->wall_seconds = (double)now_ns(t0) / 1e9;
    r->sim_end = now_ns(t0);
    if (!r->clients || !r->devs || !r->series_bytes || !r->series_queue || !r->late_mean_ns ||
        !r->late_count) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    for (uint32_t i = 0; i < C; i++)
        if (ss[i].st.scheduler == UINT32_MAX)
            r->not_measured = "scheduler"; /* no redirect named its device */
    for (uint32_t i = 0; i < C; i++) {
        csession *s = &ss[i];
        dsend_meter_final(&s->meter);
        r->clients[i] = s->st;
        if (log && i < started)
            log_session(log, s);
    }
err:
    if (ss)
        for (uint32_t i = 0; i < (uint32_t)wl.cfg.clients; i++) {
            close_session(&ss[i]);
            dsend_meter_free(&ss[i].meter);
        }
    if (rc)
        dsend_sim_result_free(r);
    free(ss);
    free(pfd);
    free(owner);
    if (stored)
        for (uint32_t i = 0; i < lib.nassets; i++)
            free(stored[i]);
    free(stored);
    dsend_workload_free(&wl);
    if (lib.file >= 0 || lib.assets)
        dsend_library_close(&lib);
    return rc;
}
