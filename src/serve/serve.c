#define _GNU_SOURCE 1 /* sendmmsg, accept4 */
/* `dsend serve`: the production runtime.  One loop per rank: RTSP
 * connections, the scheduler's planning rounds, MPI messages (send
 * requests, session announcements), the sender, and paced RTP out of this
 * device's UDP socket.  Scheduler and sender are the same code as in `sim`;
 * only the clock (wall), control channel (MPI) and emit backend (UDP)
 * differ. */
#include "config.h"
#include "util/check.h"
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/rtsp.h"
#include "dsend/ts.h"
#include "dsend/units.h"
#include "util/heap.h"
#include "serve/serve_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { TAG_REQUESTS = 11, TAG_PEER = 12, TAG_STOP = 13 };
enum { S_READY = 1, S_PLAYING, S_PAUSED };

#define CONN_BUF DSEND_RTSP_MAX_REQUEST
#define MAX_CONNS 4096

typedef struct conn {
    int fd;
    int front;             /* accepted on the front port */
    uint32_t ip;           /* peer, network order */
    char in[CONN_BUF];
    size_t nin;
    char *out;
    size_t nout, outcap;
} conn;

typedef struct session {
    int used;
    char id[20];
    int state;
    uint32_t asset;
    uint32_t ip;
    int64_t last_seen;
    int64_t end_at;        /* when the plan's last byte plays; BYE after it */
    int bye_sent;
    serve_peer peer;
} session;

typedef struct outbuf {
    dsend_send_request *v;
    size_t n, cap;
} outbuf;

typedef struct pending_send {
    MPI_Request req;
    void *buf;
} pending_send;

struct serve_world {
    MPI_Comm comm;
    int rank, size;
    const dsend_serve_config *cfg;
    int64_t t0_ns;
    dsend_library lib;
    dsend_layout layout;
    dsend_store store;
    dsend_core_params params;
    dsend_scheduler sched;
    dsend_sender sender;
    int front_fd, rtsp_fd, udp_fd;
    conn *conns[MAX_CONNS];
    int nconns;
    session *sessions;
    serve_peer *peers;     /* open addressing by client id */
    uint32_t npeers_cap;
    serve_pkt *pkts;       /* pacing min-heap */
    size_t npkts, cappkts;
    outbuf *out;           /* per destination device */
    outbuf local;          /* requests for this device's own sender */
    pending_send *pend;
    size_t npend, cappend;
    uint32_t next_device;  /* front: round-robin */
    uint64_t sent_packets, sent_bytes, dropped_packets, sessions_total;
    int stops_seen;        /* devices that said they stop */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

int64_t serve_now(const serve_world *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - w->t0_ns;
}

/* ------------------------------------------------------------ peers */

static serve_peer *peer_slot(serve_world *w, uint32_t client, int create)
{
    uint32_t cap = w->npeers_cap, i = (uint32_t)dsend_mix64(client) & (cap - 1);
    for (uint32_t k = 0; k < cap; k++, i = (i + 1) & (cap - 1)) {
        serve_peer *p = &w->peers[i];
        if (p->open && p->client == client)
            return p;
        if (!p->open)
            return create ? p : NULL;
    }
    return NULL;
}

static void peer_update(serve_world *w, const serve_peer *p)
{
    serve_peer *s = peer_slot(w, p->client, p->open);
    if (!s)
        return;
    if (p->open) {
        *s = *p;
        return;
    }
    /* closing: remove and re-insert the rest of the probe run */
    s->open = 0;
    uint32_t cap = w->npeers_cap, i = (uint32_t)(s - w->peers);
    for (i = (i + 1) & (cap - 1); w->peers[i].open; i = (i + 1) & (cap - 1)) {
        serve_peer moved = w->peers[i];
        w->peers[i].open = 0;
        *peer_slot(w, moved.client, 1) = moved;
    }
}

/* ------------------------------------------------------------ MPI */

static int mpi_isend(serve_world *w, const void *data, size_t len, int dest, int tag)
{
    int rc = 0;
    if (w->npend == w->cappend) {
        size_t cap = w->cappend ? 2 * w->cappend : 64;
        void *p = realloc(w->pend, cap * sizeof *w->pend);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        w->pend = p;
        w->cappend = cap;
    }
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    memcpy(copy, data, len);
    pending_send *ps = &w->pend[w->npend];
    MPI_CHECK(MPI_Isend(copy, (int)len, MPI_BYTE, dest, tag, w->comm, &ps->req));
    ps->buf = copy;
    w->npend++;
    return 0;
err:
    free(copy);
    return rc;
}

static void reap_sends(serve_world *w)
{
    for (size_t i = 0; i < w->npend;) {
        int done = 0;
        MPI_Test(&w->pend[i].req, &done, MPI_STATUS_IGNORE);
        if (done) {
            free(w->pend[i].buf);
            w->pend[i] = w->pend[--w->npend];
        } else {
            i++;
        }
    }
}

static int announce(serve_world *w, const serve_peer *p)
{
    peer_update(w, p);
    for (int r = 0; r < w->size; r++)
        if (r != w->rank) {
            int rc = mpi_isend(w, p, sizeof *p, r, TAG_PEER);
            if (rc)
                return rc;
        }
    return 0;
}

int serve_queue_request(serve_world *w, int device, const dsend_send_request *rq)
{
    outbuf *b = device == w->rank ? &w->local : &w->out[device];
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        void *p = realloc(b->v, cap * sizeof *b->v);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        b->v = p;
        b->cap = cap;
    }
    b->v[b->n++] = *rq;
    return 0;
}

/* one message per destination device per loop turn */
static int flush_requests(serve_world *w)
{
    int rc = 0;
    for (int r = 0; r < w->size && rc == 0; r++)
        if (w->out[r].n) {
            rc = mpi_isend(w, w->out[r].v, w->out[r].n * sizeof *w->out[r].v, r, TAG_REQUESTS);
            w->out[r].n = 0;
        }
    for (size_t i = 0; i < w->local.n && rc == 0; i++)
        rc = dsend_sender_submit(&w->sender, &w->local.v[i]);
    w->local.n = 0;
    return rc;
}

static int receive_mpi(serve_world *w)
{
    int rc = 0;
    for (int k = 0; k < 256; k++) {
        int flag = 0;
        MPI_Status st;
        MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, w->comm, &flag, &st));
        if (!flag)
            break;
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        char *buf = malloc(n ? (size_t)n : 1);
        if (!buf)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        rc = MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, w->comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            free(buf);
            return dsend_mpi_fail(__FILE__, __LINE__, "MPI_Recv", rc);
        }
        rc = 0;
        if (st.MPI_TAG == TAG_STOP) {
            w->stops_seen++;
            if (!stop_signal)
                stop_signal = SIGTERM; /* another device stopped: so do we */
        } else if (st.MPI_TAG == TAG_PEER && (size_t)n == sizeof(serve_peer)) {
            peer_update(w, (serve_peer *)buf);
        } else if (st.MPI_TAG == TAG_REQUESTS && n % (int)sizeof(dsend_send_request) == 0) {
            const dsend_send_request *rq = (const dsend_send_request *)buf;
            for (int i = 0; i < n / (int)sizeof *rq && rc == 0; i++)
                rc = dsend_sender_submit(&w->sender, &rq[i]);
        }
        free(buf);
        if (rc)
            return rc;
    }
    return 0;
err:
    return rc;
}

/* ------------------------------------------------------------ pacing */

static int pkt_before(const serve_pkt *a, const serve_pkt *b)
{
    if (a->release != b->release)
        return a->release < b->release;
    if (a->client != b->client)
        return a->client < b->client;
    return a->offset < b->offset;
}

static int pkt_push(serve_world *w, const serve_pkt *p)
{
    if (w->npkts == w->cappkts) {
        size_t cap = w->cappkts ? 2 * w->cappkts : 4096;
        void *q = realloc(w->pkts, cap * sizeof *w->pkts);
        if (!q)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for paced packets");
        w->pkts = q;
        w->cappkts = cap;
    }
    w->pkts[w->npkts++] = *p;
    DSEND_HEAP_UP(serve_pkt, w->pkts, w->npkts, pkt_before);
    return 0;
}

static void pkt_pop(serve_world *w, serve_pkt *out)
{
    DSEND_HEAP_POP(serve_pkt, w->pkts, w->npkts, out, pkt_before);
}

/* RFC 2250 over RFC 3550: 7 TS packets per RTP packet, released at the
 * packet's playout time minus --pace-lead, so the stream is smooth. */
int serve_emit(serve_world *w, const dsend_sub_block *sb)
{
    const serve_peer *p = peer_slot(w, sb->client, 0);
    if (!p || p->epoch != sb->epoch) {
        w->dropped_packets++;
        return 0; /* the session ended, or paused or sought since */
    }
    const dsend_asset *a = &w->lib.assets[sb->asset];
    for (uint32_t o = 0; o < sb->len; o += DSEND_TS_RTP_PAYLOAD) {
        uint32_t len = sb->len - o < DSEND_TS_RTP_PAYLOAD ? sb->len - o : DSEND_TS_RTP_PAYLOAD;
        serve_pkt k = {
            .release = dsend_media_time(a, sb->offset, sb->deadline, sb->offset + o) -
                       w->cfg->pace_lead,
            .client = sb->client,
            .epoch = sb->epoch,
            .asset = sb->asset,
            .len = len,
            .offset = sb->offset + o,
        };
        int rc = pkt_push(w, &k);
        if (rc)
            return rc;
    }
    if (sb->offset + sb->len == a->size && a->npes) {
        /* players emit a PES when the next one starts, so the last frame of
         * an RTP/MP2T stream would be held back forever: close every PES
         * with a padding-stream PES start (doc/serving.md) */
        uint64_t next = (a->size + DSEND_TS_RTP_PAYLOAD - 1) / DSEND_TS_RTP_PAYLOAD *
                        DSEND_TS_RTP_PAYLOAD;
        serve_pkt k = {.release = dsend_media_time(a, sb->offset, sb->deadline, a->size) -
                                  w->cfg->pace_lead,
                       .client = sb->client, .epoch = sb->epoch, .asset = sb->asset,
                       .len = (a->npes < DSEND_TS_PER_RTP ? a->npes : DSEND_TS_PER_RTP) *
                              DSEND_TS_PACKET,
                       .offset = next, .end_marker = 1};
        return pkt_push(w, &k);
    }
    return 0;
}

/* One TS packet per PES PID: unit start, the PID's next continuity counter,
 * adaptation-field stuffing, and an empty padding-stream PES header. */
static void end_marker(const dsend_asset *a, unsigned char *out, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *t = out + (size_t)i * DSEND_TS_PACKET;
        uint32_t pid = a->pes[i] & 0x1fff, cc = (a->pes[i] >> 16) & 15;
        memset(t, 0xff, DSEND_TS_PACKET);
        t[0] = DSEND_TS_SYNC;
        t[1] = (unsigned char)(0x40 | (pid >> 8));
        t[2] = (unsigned char)pid;
        t[3] = (unsigned char)(0x30 | cc);
        t[4] = 188 - 5 - 6; /* adaptation field fills all but the PES header */
        t[5] = 0x00;
        unsigned char *pes = t + DSEND_TS_PACKET - 6;
        pes[0] = 0; pes[1] = 0; pes[2] = 1; pes[3] = 0xbe; pes[4] = 0; pes[5] = 0;
    }
}

#define BATCH 64

static void send_due(serve_world *w, int64_t now)
{
    static unsigned char bufs[BATCH][12 + DSEND_TS_RTP_PAYLOAD];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in to[BATCH];
    while (w->npkts && w->pkts[0].release <= now) {
        int n = 0;
        while (n < BATCH && w->npkts && w->pkts[0].release <= now) {
            serve_pkt k;
            pkt_pop(w, &k);
            const serve_peer *p = peer_slot(w, k.client, 0);
            if (!p || p->epoch != k.epoch) {
                w->dropped_packets++;
                continue;
            }
            const dsend_asset *a = &w->lib.assets[k.asset];
            unsigned char *h = bufs[n];
            uint32_t seq = p->seq_base + (uint32_t)(k.offset / DSEND_TS_RTP_PAYLOAD);
            uint32_t ts = p->ts_base + (uint32_t)((unsigned __int128)k.offset * 8u * 90000u /
                                                  a->bitrate_bps);
            h[0] = 0x80;     /* V=2 */
            h[1] = 33;       /* MP2T */
            h[2] = (unsigned char)(seq >> 8);
            h[3] = (unsigned char)seq;
            for (int i = 0; i < 4; i++) {
                h[4 + i] = (unsigned char)(ts >> (24 - 8 * i));
                h[8 + i] = (unsigned char)(p->ssrc >> (24 - 8 * i));
            }
            uint64_t b = k.offset / a->block_size;
            if (k.end_marker) {
                end_marker(a, h + 12, k.len / DSEND_TS_PACKET);
                h[1] |= 0x80; /* RTP marker bit: the end */
            } else if (a->kind == DSEND_ASSET_MPEGTS) {
                const dsend_block *blk = dsend_store_find(&w->store, k.asset, b);
                if (!blk) {
                    w->dropped_packets++;
                    continue;
                }
                memcpy(h + 12, blk->data + (k.offset - b * a->block_size), k.len);
            } else {
                dsend_synthetic_fill(a, k.offset, h + 12, k.len);
            }
            memset(&to[n], 0, sizeof to[n]);
            to[n].sin_family = AF_INET;
            to[n].sin_addr.s_addr = p->ip;
            to[n].sin_port = p->rtp_port;
            iov[n].iov_base = h;
            iov[n].iov_len = 12 + k.len;
            memset(&msgs[n], 0, sizeof msgs[n]);
            msgs[n].msg_hdr.msg_name = &to[n];
            msgs[n].msg_hdr.msg_namelen = sizeof to[n];
            msgs[n].msg_hdr.msg_iov = &iov[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
            n++;
        }
        int done = 0;
        while (done < n) {
            int k = sendmmsg(w->udp_fd, msgs + done, (unsigned)(n - done), 0);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                w->dropped_packets += (uint64_t)(n - done); /* e.g. ENOBUFS: counted */
                break;
            }
            for (int i = done; i < done + k; i++)
                w->sent_bytes += iov[i].iov_len;
            w->sent_packets += (uint64_t)k;
            done += k;
        }
    }
}

/* ------------------------------------------------------------ RTSP */

static int listen_on(const char *host, int port, int *fd_out)
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

static void conn_close(serve_world *w, int i)
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

static void reply(conn *c, int status, int cseq, const char *headers, const char *body)
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

static session *find_session(serve_world *w, const char *id)
{
    if (!id[0])
        return NULL;
    for (int i = 0; i < w->cfg->max_sessions; i++)
        if (w->sessions[i].used && strcmp(w->sessions[i].id, id) == 0)
            return &w->sessions[i];
    return NULL;
}

static void end_session(serve_world *w, session *s)
{
    dsend_scheduler_stop(&w->sched, s->peer.client);
    serve_peer closed = s->peer;
    closed.open = 0;
    announce(w, &closed);
    s->used = 0;
}

static void rtp_info(serve_world *w, session *s, const char *url, uint64_t offset, char *h,
                     size_t n)
{
    const dsend_asset *a = &w->lib.assets[s->asset];
    uint32_t seq = (s->peer.seq_base + (uint32_t)(offset / DSEND_TS_RTP_PAYLOAD)) & 0xffff;
    uint32_t ts = s->peer.ts_base +
                  (uint32_t)((unsigned __int128)offset * 8u * 90000u / a->bitrate_bps);
    snprintf(h, n, "Session: %s;timeout=%lld\r\nRange: npt=%.9f-%.3f\r\nRTP-Info: url=%s;seq=%u;rtptime=%u\r\n",
             s->id, (long long)(w->cfg->session_timeout / 1000000000), (double)offset * 8 / (double)a->bitrate_bps,
             (double)a->duration_ns / 1e9, url, seq, ts);
}

/* The stream plays from `offset`: a new plan; its end is when BYE goes. */
static void plan_end(serve_world *w, session *s, uint64_t from)
{
    const dsend_asset *a = &w->lib.assets[s->asset];
    s->end_at = serve_now(w) + w->cfg->startup +
                dsend_media_time(a, from, 0, a->size);
    s->bye_sent = 0;
}

static void handle_device(serve_world *w, conn *c, const dsend_rtsp_request *r)
{
    const dsend_serve_config *cfg = w->cfg;
    char h[1024], name[DSEND_NAME_MAX + 2];
    int cseq = r->cseq;
    session *s = find_session(w, r->session);
    if (strcmp(r->method, "OPTIONS") == 0) {
        reply(c, 200, cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n",
              NULL);
        return;
    }
    if (strcmp(r->method, "DESCRIBE") == 0 || strcmp(r->method, "SETUP") == 0) {
        int64_t id = dsend_rtsp_url_asset(r->url, name, sizeof name) == 0
                         ? dsend_library_find(&w->lib, name)
                         : -1;
        if (id < 0) {
            reply(c, 404, cseq, NULL, NULL);
            return;
        }
        const dsend_asset *a = &w->lib.assets[id];
        if (r->method[0] == 'D') {
            char sdp[1024];
            snprintf(sdp, sizeof sdp,
                     "v=0\r\no=- %u 1 IN IP4 %s\r\ns=%s\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
                     "a=control:*\r\na=range:npt=0-%.3f\r\nm=video 0 RTP/AVP 33\r\n"
                     "a=rtpmap:33 MP2T/90000\r\na=control:trackID=0\r\n",
                     (unsigned)id, cfg->host, a->name, (double)a->duration_ns / 1e9);
            snprintf(h, sizeof h,
                     "Content-Type: application/sdp\r\nContent-Base: rtsp://%s:%d/%s/\r\n",
                     cfg->host, cfg->port + 1 + w->rank, a->name);
            reply(c, 200, cseq, h, sdp);
            return;
        }
        if (s) {
            reply(c, 459, cseq, NULL, NULL); /* one track per session */
            return;
        }
        if (r->session[0]) {
            reply(c, 454, cseq, NULL, NULL);
            return;
        }
        dsend_rtsp_transport t;
        if (dsend_rtsp_parse_transport(r->transport, &t) != 0 || t.tcp || !t.udp_unicast ||
            t.client_port[0] < 0) {
            /* TCP-interleaved would route media through this (the scheduler's) device */
            reply(c, 461, cseq, NULL, NULL);
            return;
        }
        if (t.destination[0]) {
            struct in_addr d;
            if (inet_pton(AF_INET, t.destination, &d) != 1 || d.s_addr != c->ip) {
                reply(c, 403, cseq, NULL, NULL); /* media only to the peer that asked */
                return;
            }
        }
        int free_slot = -1, from_peer = 0;
        for (int i = 0; i < cfg->max_sessions; i++) {
            if (!w->sessions[i].used && free_slot < 0)
                free_slot = i;
            from_peer += w->sessions[i].used && w->sessions[i].ip == c->ip;
        }
        if (free_slot < 0 || from_peer >= cfg->max_peer_sessions) {
            reply(c, 453, cseq, NULL, NULL);
            return;
        }
        s = &w->sessions[free_slot];
        memset(s, 0, sizeof *s);
        s->used = 1;
        s->state = S_READY;
        s->asset = (uint32_t)id;
        s->ip = c->ip;
        s->last_seen = serve_now(w);
        uint64_t r64 = dsend_mix64(cfg->seed ^ ((uint64_t)w->rank << 40) ^ ++w->sessions_total ^
                                   (uint64_t)s->last_seen);
        snprintf(s->id, sizeof s->id, "%016llx", (unsigned long long)r64);
        s->peer = (serve_peer){
            .client = ((uint32_t)w->rank << 16) | (uint32_t)free_slot,
            .asset = (uint32_t)id,
            .ip = c->ip,
            .rtp_port = htons((uint16_t)t.client_port[0]),
            .rtcp_port = htons((uint16_t)t.client_port[1]),
            .ssrc = (uint32_t)(r64 >> 32),
            .seq_base = (uint32_t)(r64 >> 16) & 0xffff,
            .ts_base = (uint32_t)r64,
            .open = 1,
        };
        struct sockaddr_in u;
        socklen_t ul = sizeof u;
        getsockname(w->udp_fd, (struct sockaddr *)&u, &ul);
        snprintf(h, sizeof h,
                 "Session: %s;timeout=%lld\r\nTransport: RTP/AVP/UDP;unicast;client_port=%d-%d;"
                 "server_port=%d-%d;ssrc=%08X\r\n",
                 s->id, (long long)(cfg->session_timeout / 1000000000), t.client_port[0],
                 t.client_port[1], ntohs(u.sin_port), ntohs(u.sin_port) + 1, s->peer.ssrc);
        reply(c, 200, cseq, h, NULL);
        return;
    }
    if (strcmp(r->method, "PLAY") == 0 || strcmp(r->method, "PAUSE") == 0 ||
        strcmp(r->method, "TEARDOWN") == 0 || strcmp(r->method, "GET_PARAMETER") == 0) {
        if (!s || s->ip != c->ip) {
            reply(c, 454, cseq, NULL, NULL);
            return;
        }
        s->last_seen = serve_now(w);
        snprintf(h, sizeof h, "Session: %s;timeout=%lld\r\n", s->id,
                 (long long)(cfg->session_timeout / 1000000000));
        if (r->method[0] == 'G') {
            reply(c, 200, cseq, h, NULL);
            return;
        }
        if (r->method[0] == 'T') {
            end_session(w, s);
            reply(c, 200, cseq, NULL, NULL);
            return;
        }
        const dsend_asset *a = &w->lib.assets[s->asset];
        if (r->method[1] == 'A') { /* PAUSE */
            if (s->state == S_READY) {
                reply(c, 455, cseq, h, NULL);
                return;
            }
            uint64_t planned;
            if (s->state == S_PLAYING)
                dsend_scheduler_pause(&w->sched, s->peer.client, &planned);
            s->state = S_PAUSED;
            /* senders drop what is queued: the next PLAY re-plans */
            s->peer.epoch++;
            announce(w, &s->peer);
            reply(c, 200, cseq, h, NULL);
            return;
        }
        /* PLAY: a start, a seek (Range) or a resume */
        int64_t start_ns = 0;
        int has_range = r->range[0] ? dsend_rtsp_parse_range(r->range, &start_ns) : 1;
        if (has_range < 0 || start_ns >= a->duration_ns) {
            reply(c, 457, cseq, h, NULL);
            return;
        }
        uint64_t offset = has_range == 0 ? (uint64_t)((unsigned __int128)(uint64_t)start_ns *
                                                      a->bitrate_bps / 8u / 1000000000u)
                                         : 0;
        offset -= offset % cfg->sub_block; /* playout starts at a sub-block, as planned */
        int rc = 0;
        if (s->state == S_READY) {
            announce(w, &s->peer);
            rc = dsend_scheduler_start(&w->sched, s->peer.client, s->asset, offset, a->size);
        } else {
            uint64_t planned, from;
            uint32_t epoch;
            if (s->state == S_PAUSED && has_range != 0) {
                /* resume where playout stopped */
                dsend_stream *st = NULL;
                for (uint32_t i = 0; i < w->sched.nstreams; i++)
                    if (w->sched.streams[i].client == s->peer.client)
                        st = &w->sched.streams[i];
                offset = st ? st->paused_pos - st->paused_pos % cfg->sub_block : 0;
            }
            rc = dsend_scheduler_seek(&w->sched, s->peer.client, offset, &planned, &from, &epoch);
            s->peer.epoch = epoch;
            announce(w, &s->peer);
        }
        if (rc) {
            reply(c, 500, cseq, h, NULL);
            return;
        }
        s->state = S_PLAYING;
        plan_end(w, s, offset);
        char url[600];
        snprintf(url, sizeof url, "%s", r->url);
        rtp_info(w, s, url, offset, h, sizeof h);
        reply(c, 200, cseq, h, NULL);
        return;
    }
    if (strcmp(r->method, "ANNOUNCE") == 0 || strcmp(r->method, "RECORD") == 0 ||
        strcmp(r->method, "SET_PARAMETER") == 0 || strcmp(r->method, "REDIRECT") == 0) {
        reply(c, 405, cseq, "Allow: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n",
              NULL);
        return;
    }
    reply(c, 501, cseq, NULL, NULL);
}

/* The front address spreads clients over every device's scheduler: a
 * DESCRIBE (or anything naming an asset) is redirected, round-robin, to a
 * device's own RTSP port, whose scheduler then services the session. */
static void handle_front(serve_world *w, conn *c, const dsend_rtsp_request *r)
{
    char name[DSEND_NAME_MAX + 2], h[1024];
    if (strcmp(r->method, "OPTIONS") == 0) {
        reply(c, 200, r->cseq, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n",
              NULL);
        return;
    }
    if (dsend_rtsp_url_asset(r->url, name, sizeof name) != 0 ||
        dsend_library_find(&w->lib, name) < 0) {
        reply(c, 404, r->cseq, NULL, NULL);
        return;
    }
    if (r->session[0]) {
        reply(c, 454, r->cseq, NULL, NULL);
        return;
    }
    int d = (int)(w->next_device++ % (uint32_t)w->size);
    snprintf(h, sizeof h, "Location: rtsp://%s:%d/%s\r\n", w->cfg->host, w->cfg->port + 1 + d,
             name);
    reply(c, 302, r->cseq, h, NULL);
}

static void conn_read(serve_world *w, int i)
{
    conn *c = w->conns[i];
    ssize_t n = read(c->fd, c->in + c->nin, sizeof c->in - c->nin);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_close(w, i); /* the client left; its sessions end at their timeout */
        return;
    }
    c->nin += (size_t)n;
    for (;;) {
        dsend_rtsp_request r;
        int pr = dsend_rtsp_parse(c->in, c->nin, &r);
        if (pr == 0) {
            if (c->nin == sizeof c->in) {
                reply(c, 431, -1, NULL, NULL);
                c->nin = 0;
                shutdown(c->fd, SHUT_RD);
            }
            return;
        }
        if (pr < 0 || r.cseq < 0) {
            reply(c, pr < 0 ? -pr : 400, r.cseq, NULL, NULL);
            c->nin = 0;
            shutdown(c->fd, SHUT_RD); /* answer, then close: the stream is lost */
            return;
        }
        if (c->front)
            handle_front(w, c, &r);
        else
            handle_device(w, c, &r);
        memmove(c->in, c->in + r.length, c->nin - r.length);
        c->nin -= r.length;
    }
}

static void accept_all(serve_world *w, int lfd, int front)
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

static void flush_conn(serve_world *w, int i)
{
    conn *c = w->conns[i];
    while (c->nout) {
        ssize_t n = write(c->fd, c->out, c->nout);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            conn_close(w, i);
            return;
        }
        memmove(c->out, c->out + n, c->nout - (size_t)n);
        c->nout -= (size_t)n;
    }
}

/* End of a stream: RTCP BYE (RFC 3550 6.6, in an RR compound) to the
 * client's RTCP port, so players know the stream is over. */
static void send_bye(serve_world *w, session *s)
{
    unsigned char p[16];
    uint32_t ssrc = s->peer.ssrc;
    p[0] = 0x80; p[1] = 201; p[2] = 0; p[3] = 1; /* RR, no report blocks */
    p[8] = 0x81; p[9] = 203; p[10] = 0; p[11] = 1; /* BYE, one SSRC */
    for (int i = 0; i < 4; i++) {
        p[4 + i] = (unsigned char)(ssrc >> (24 - 8 * i));
        p[12 + i] = (unsigned char)(ssrc >> (24 - 8 * i));
    }
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = s->peer.ip;
    to.sin_port = s->peer.rtcp_port;
    sendto(w->udp_fd, p, sizeof p, 0, (struct sockaddr *)&to, sizeof to);
    s->bye_sent = 1;
}

/* ------------------------------------------------------------ run */

static int setup(serve_world *w, MPI_Comm comm, const dsend_serve_config *cfg)
{
    int rc = 0;
    w->comm = comm;
    w->cfg = cfg;
    w->front_fd = w->rtsp_fd = w->udp_fd = -1;
    w->lib.file = -1;
    MPI_Comm_rank(comm, &w->rank);
    MPI_Comm_size(comm, &w->size);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->t0_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    MPI_Bcast(&w->t0_ns, 1, MPI_INT64_T, 0, comm);

    rc = dsend_library_open(cfg->library, comm, &w->lib);
    for (uint32_t i = 0; rc == 0 && i < w->lib.nassets; i++)
        if (w->lib.assets[i].kind == DSEND_ASSET_MPEGTS && cfg->sub_block % DSEND_TS_RTP_PAYLOAD)
            rc = dsend_seterr(DSEND_EINVAL, "--sub-block: a multiple of %u bytes (7 TS packets)",
                              DSEND_TS_RTP_PAYLOAD);
    if (rc == 0) {
        const dsend_layout_policy *pol = dsend_layout_find(cfg->layout);
        rc = pol ? dsend_layout_open(&w->layout, pol, w->size, cfg->replicas)
                 : dsend_seterr(DSEND_EINVAL, "--layout %s: unknown policy", cfg->layout);
    }
    if ((rc = dsend_mpi_agree(comm, rc)))
        return rc;
    if ((rc = dsend_load(comm, &w->lib, &w->layout, &w->store)))
        return rc;

    w->sessions = calloc((size_t)cfg->max_sessions, sizeof *w->sessions);
    w->npeers_cap = 1;
    while (w->npeers_cap < 2u * (uint32_t)cfg->max_sessions * (uint32_t)w->size)
        w->npeers_cap *= 2;
    w->peers = calloc(w->npeers_cap, sizeof *w->peers);
    w->out = calloc((size_t)w->size, sizeof *w->out);
    if (!w->sessions || !w->peers || !w->out)
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %d sessions", cfg->max_sessions);
    if (rc == 0 && w->rank == 0)
        rc = listen_on(cfg->host, cfg->port, &w->front_fd);
    if (rc == 0)
        rc = listen_on(cfg->host, cfg->port + 1 + w->rank, &w->rtsp_fd);
    if (rc == 0) {
        w->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        inet_pton(AF_INET, cfg->host, &a.sin_addr);
        a.sin_port = htons((uint16_t)(cfg->udp_port ? cfg->udp_port + 2 * w->rank : 0));
        int sndbuf = 4 << 20;
        if (w->udp_fd >= 0)
            setsockopt(w->udp_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        if (w->udp_fd < 0 || bind(w->udp_fd, (struct sockaddr *)&a, sizeof a) != 0)
            rc = dsend_seterr(DSEND_EIO, "device %d: cannot bind its UDP socket: %s", w->rank,
                              strerror(errno));
    }
    w->params = (dsend_core_params){.lib = &w->lib, .layout = &w->layout,
                                    .sub_block = cfg->sub_block, .startup = cfg->startup,
                                    .lead = cfg->lead, .tick = cfg->tick, .nic_bps = cfg->nic_bps,
                                    /* the pacer holds at most --lead of packets; a
                                     * shorter hand-over measured worse DF under load
                                     * (doc/benchmarks.md) */
                                    .send_ahead = cfg->lead};
    if (rc == 0)
        rc = dsend_scheduler_init(&w->sched, w->rank, &w->params, &dsend_clock_wall, w,
                                  &dsend_ctrl_mpi, w);
    if (rc == 0)
        rc = dsend_sender_init(&w->sender, w->rank, &w->params, &w->store, &dsend_clock_wall, w,
                               &dsend_emit_udp, w);
    return dsend_mpi_agree(comm, rc);
}

static void teardown(serve_world *w)
{
    while (w->nconns)
        conn_close(w, w->nconns - 1);
    for (size_t i = 0; i < w->npend; i++) {
        MPI_Cancel(&w->pend[i].req);
        MPI_Request_free(&w->pend[i].req);
        free(w->pend[i].buf);
    }
    free(w->pend);
    if (w->out)
        for (int r = 0; r < w->size; r++)
            free(w->out[r].v);
    free(w->out);
    free(w->local.v);
    free(w->pkts);
    free(w->peers);
    free(w->sessions);
    dsend_scheduler_free(&w->sched);
    dsend_sender_free(&w->sender);
    dsend_store_free(&w->store);
    dsend_layout_close(&w->layout);
    if (w->lib.file >= 0 || w->lib.assets)
        dsend_library_close(&w->lib);
    if (w->front_fd >= 0)
        close(w->front_fd);
    if (w->rtsp_fd >= 0)
        close(w->rtsp_fd);
    if (w->udp_fd >= 0)
        close(w->udp_fd);
}

int dsend_serve_run(MPI_Comm comm, const dsend_serve_config *cfg, FILE *out)
{
    serve_world *w = calloc(1, sizeof *w);
    if (!w)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    int rc = setup(w, comm, cfg);
    if (rc) {
        teardown(w);
        free(w);
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (w->rank == 0 && !cfg->quiet) {
        fprintf(out, "dsend serve: %d devices; clients connect to rtsp://%s:%d/ASSET "
                     "(devices' own RTSP ports %d-%d)\n",
                w->size, cfg->host, cfg->port, cfg->port + 1, cfg->port + w->size);
        fflush(out);
    }
    int lrc = 0;
    while (!stop_signal && lrc == 0) {
        int64_t now = serve_now(w);
        if (cfg->duration > 0 && now >= cfg->duration)
            break;
        if (now >= w->sched.next_tick)
            lrc = dsend_scheduler_tick(&w->sched);
        if (lrc == 0)
            lrc = flush_requests(w);
        if (lrc == 0)
            lrc = receive_mpi(w);
        /* the sender sends while its (modelled) link is free */
        while (lrc == 0 && w->sender.n && w->sender.wake_at <= serve_now(w)) {
            int64_t before = w->sender.wake_at;
            lrc = dsend_sender_run(&w->sender);
            if (w->sender.wake_at == before)
                break; /* nothing more due now */
        }
        if (lrc)
            break;
        reap_sends(w);
        /* packets due within the next 500 us go in this batch: pacing stays
         * within half a millisecond, and the loop sleeps between batches
         * instead of spinning (the CPU is shared with senders and clients) */
        send_due(w, serve_now(w) + 500000);
        for (int i = 0; i < cfg->max_sessions; i++) {
            session *s = &w->sessions[i];
            if (!s->used)
                continue;
            if (s->state == S_PLAYING && !s->bye_sent && now > s->end_at + 500000000)
                send_bye(w, s);
            if (now - s->last_seen > cfg->session_timeout)
                end_session(w, s); /* a client that vanished */
        }
        /* wait for sockets, at most until the next packet or 1 ms (MPI is polled) */
        struct pollfd pfd[MAX_CONNS + 2];
        int n = 0;
        if (w->front_fd >= 0)
            pfd[n++] = (struct pollfd){.fd = w->front_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = w->rtsp_fd, .events = POLLIN};
        int base = n;
        for (int i = 0; i < w->nconns; i++)
            pfd[n++] = (struct pollfd){.fd = w->conns[i]->fd,
                                       .events = (short)(POLLIN | (w->conns[i]->nout ? POLLOUT : 0))};
        /* sleep until the next thing due, in whole ms (0: just poll): a
         * paced packet, the sender's link, a planning round */
        int64_t t = serve_now(w), due = t + 1000000;
        if (w->npkts && w->pkts[0].release - 500000 < due)
            due = w->pkts[0].release - 500000;
        if (w->sender.n && w->sender.wake_at < due)
            due = w->sender.wake_at;
        struct timespec wait = {0, due > t ? (long)(due - t) : 0};
        if (ppoll(pfd, (nfds_t)n, &wait, NULL) > 0) {
            /* connections may close while handled (the last moves into the
             * hole): walk backwards, then accept new ones */
            for (int i = n - 1; i >= base; i--) {
                int ci = i - base;
                if (ci < w->nconns && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    conn_read(w, ci);
            }
            if (w->front_fd >= 0 && (pfd[0].revents & POLLIN))
                accept_all(w, w->front_fd, 1);
            if (pfd[base - 1].revents & POLLIN)
                accept_all(w, w->rtsp_fd, 0);
        }
        for (int i = w->nconns - 1; i >= 0; i--)
            if (w->conns[i]->nout)
                flush_conn(w, i);
    }
    if (lrc)
        fprintf(stderr, "dsend serve: device %d: %s\n", w->rank, dsend_errmsg());
    /* a signal (or a failure) on one device stops them all: tell the others,
     * then drain until every device has said so, so none waits forever */
    int one = 1;
    for (int r = 0; r < w->size; r++)
        if (r != w->rank)
            MPI_Send(&one, 1, MPI_INT, r, TAG_STOP, comm);
    while (w->stops_seen < w->size - 1) {
        MPI_Status st;
        int n = 0;
        MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, &st);
        MPI_Get_count(&st, MPI_BYTE, &n);
        char *buf = malloc(n ? (size_t)n : 1);
        MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, comm, MPI_STATUS_IGNORE);
        free(buf);
        w->stops_seen += st.MPI_TAG == TAG_STOP;
    }
    /* statistics, then a clean stop on every rank */
    unsigned long long mine[4] = {w->sent_packets, w->sent_bytes, w->dropped_packets,
                                  w->sessions_total},
                       sum[4] = {0, 0, 0, 0};
    MPI_Reduce(mine, sum, 4, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, comm);
    if (w->rank == 0 && !cfg->quiet) {
        fprintf(out, "dsend serve: stopped%s; %llu sessions, %llu RTP packets (%llu bytes) sent, "
                     "%llu dropped\n",
                stop_signal ? " by a signal" : "", sum[3], sum[0], sum[1], sum[2]);
        fflush(out);
    }
    teardown(w);
    free(w);
    return lrc ? DSEND_EIO : 0;
}
