#define _GNU_SOURCE 1 /* sendmmsg */
/* Emit backend `udp`: the pacer's committed runs wait in a transmit queue;
 * when a packet's departure comes (within --pace-batch: one batch per
 * wake-up) it becomes an RTP packet (RFC 3550, RFC 2250: 7 TS packets)
 * sent from this device's own UDP socket straight to the client's
 * address, one sendmmsg per batch.  Sequence numbers and timestamps are
 * functions of the packet's place in the asset, so the packets of every
 * sender form one stream. */
#include "dsend/error.h"
#include "dsend/ts.h"
#include "serve/serve_internal.h"
#include "util/heap.h"

#define BYE_AFTER 500000000 /* ns from a plan's last packet to its RTCP BYE */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int serve_udp_open(serve_world *w)
{
    const dsend_serve_config *cfg = w->cfg;
    w->pkt = calloc(UDP_BATCH, sizeof *w->pkt);
    w->msgs = calloc(UDP_BATCH, sizeof *w->msgs);
    w->iov = calloc(UDP_BATCH, sizeof *w->iov);
    w->to = calloc(UDP_BATCH, sizeof *w->to);
    if (!w->pkt || !w->msgs || !w->iov || !w->to)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
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
        return dsend_seterr(DSEND_EIO, "device %d: cannot bind its UDP socket: %s", w->rank,
                            strerror(errno));
    return 0;
}

void serve_udp_close(serve_world *w)
{
    if (w->udp_fd >= 0)
        close(w->udp_fd);
    w->udp_fd = -1;
    free(w->tx);
    free(w->pkt);
    free(w->msgs);
    free(w->iov);
    free(w->to);
}

static void batch_flush(serve_world *w)
{
    int done = 0, n = w->nbatch;
    while (done < n) {
        int k = sendmmsg(w->udp_fd, w->msgs + done, (unsigned)(n - done), 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == ENOBUFS) {
                w->send_errors += (uint64_t)(n - done); /* the socket is full: really dropped */
                break;
            }
            /* one destination's error (a vanished client's ICMP port
             * unreachable): that packet only, the others still go */
            w->send_errors++;
            done++;
            continue;
        }
        for (int i = done; i < done + k; i++)
            w->sent_bytes += w->iov[i].iov_len;
        w->sent_packets += (uint64_t)k;
        done += k;
    }
    w->nbatch = 0;
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

/* The packet of `run` at offset o, into the batch. */
static void one_packet(serve_world *w, const dsend_packet_run *run, const dsend_peer *p,
                       uint64_t o, uint32_t len)
{
    const dsend_asset *a = &w->lib.assets[run->asset];
    if (w->nbatch == UDP_BATCH)
        batch_flush(w);
    int n = w->nbatch++;
    unsigned char *h = w->pkt[n];
    uint32_t seq = p->seq_base + (uint32_t)dsend_packet_index(a, o);
    uint32_t ts = p->ts_base + (uint32_t)((unsigned __int128)o * 8u * 90000u / a->bitrate_bps);
    h[0] = 0x80; /* V=2 */
    h[1] = 33;   /* MP2T */
    h[2] = (unsigned char)(seq >> 8);
    h[3] = (unsigned char)seq;
    for (int i = 0; i < 4; i++) {
        h[4 + i] = (unsigned char)(ts >> (24 - 8 * i));
        h[8 + i] = (unsigned char)(p->ssrc >> (24 - 8 * i));
    }
    if (run->flags & DSEND_RUN_END_MARKER) {
        end_marker(a, h + 12, len / DSEND_TS_PACKET);
        h[1] |= 0x80; /* RTP marker bit: the end */
    } else if (run->data) {
        memcpy(h + 12, run->data + (o - run->offset), len);
    } else {
        dsend_synthetic_fill(a, o, h + 12, len);
    }
    memset(&w->to[n], 0, sizeof w->to[n]);
    w->to[n].sin_family = AF_INET;
    w->to[n].sin_addr.s_addr = p->ip;
    w->to[n].sin_port = p->rtp_port;
    w->iov[n].iov_base = h;
    w->iov[n].iov_len = 12 + len;
    memset(&w->msgs[n], 0, sizeof w->msgs[n]);
    w->msgs[n].msg_hdr.msg_name = &w->to[n];
    w->msgs[n].msg_hdr.msg_namelen = sizeof w->to[n];
    w->msgs[n].msg_hdr.msg_iov = &w->iov[n];
    w->msgs[n].msg_hdr.msg_iovlen = 1;
}

static int tx_before(const txrun *x, const txrun *y)
{
    if (x->next_at != y->next_at)
        return x->next_at < y->next_at;
    if (x->run.client != y->run.client)
        return x->run.client < y->run.client;
    return x->next < y->next;
}

/* wake when the first packet falls within a batch */
static int arm(serve_world *w)
{
    if (!w->ntx)
        return 0;
    int64_t at = w->tx[0].next_at - w->cfg->pace_batch;
    if (at == w->tx_wake)
        return 0;
    w->tx_wake = at;
    return dsend_clock_wall.wake(w, DSEND_WAKE_EMIT, at);
}

static int udp_packets(void *ctx, const dsend_packet_run *run)
{
    serve_world *w = ctx;
    if (w->ntx == w->captx) {
        size_t cap = w->captx ? 2 * w->captx : 1024;
        void *g = realloc(w->tx, cap * sizeof *w->tx);
        if (!g)
            return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory for the transmit queue",
                                w->rank);
        w->tx = g;
        w->captx = cap;
    }
    w->tx[w->ntx++] = (txrun){.next_at = run->depart, .next = run->offset, .run = *run};
    DSEND_HEAP_UP(txrun, w->tx, w->ntx, tx_before);
    if (w->ntx > w->max_tx)
        w->max_tx = w->ntx;
    return w->tx[0].next_at == run->depart ? arm(w) : 0;
}

/* What the pacer committed for older plans, leaving from `from` on, is not sent. */
static int udp_cancel(void *ctx, uint32_t client, uint32_t epoch, uint32_t device, int64_t from)
{
    serve_world *w = ctx;
    (void)device;
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < w->ntx; i++) {
        txrun *t = &w->tx[i];
        if (t->run.client == client && t->run.epoch < epoch && t->next_at >= from) {
            uint64_t end = t->run.offset + t->run.bytes;
            w->cancelled += (end - t->next + DSEND_PKT_PAYLOAD - 1) / DSEND_PKT_PAYLOAD;
            int r = dsend_device_release(&w->dev, &t->run); /* its bytes are not needed */
            rc = rc ? rc : r;
            continue;
        }
        w->tx[k++] = *t;
    }
    w->ntx = k;
    for (size_t i = 1; i <= w->ntx; i++) /* heapify again */
        DSEND_HEAP_UP(txrun, w->tx, i, tx_before);
    w->tx_wake = -1;
    int r = arm(w);
    return rc ? rc : r;
}

/* End of a stream: RTCP BYE (RFC 3550 6.6, in an RR compound) to the
 * client's RTCP port, right after the plan's last packet, from the device
 * that sent it, so players know the stream is over. */
static void send_bye(serve_world *w, const dsend_peer *peer)
{
    unsigned char p[16];
    uint32_t ssrc = peer->ssrc;
    p[0] = 0x80; p[1] = 201; p[2] = 0; p[3] = 1; /* RR, no report blocks */
    p[8] = 0x81; p[9] = 203; p[10] = 0; p[11] = 1; /* BYE, one SSRC */
    for (int i = 0; i < 4; i++) {
        p[4 + i] = (unsigned char)(ssrc >> (24 - 8 * i));
        p[12 + i] = (unsigned char)(ssrc >> (24 - 8 * i));
    }
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = peer->ip;
    to.sin_port = peer->rtcp_port;
    sendto(w->udp_fd, p, sizeof p, 0, (struct sockaddr *)&to, sizeof to);
}

/* The timer fired: every packet due within a batch leaves now. */
static int udp_transmit(void *ctx)
{
    serve_world *w = ctx;
    int64_t horizon = serve_now(w) + w->cfg->pace_batch;
    w->tx_wake = -1;
    while (w->ntx && w->tx[0].next_at <= horizon) {
        txrun *t = &w->tx[0];
        const dsend_asset *a = &w->lib.assets[t->run.asset];
        const dsend_peer *p = dsend_peers_find(&w->dev.peers, t->run.client);
        int addressed = p && p->ip && p->epoch == t->run.epoch;
        if (t->run.flags & DSEND_RUN_PLAN_END) {
            if (t->next == t->run.offset) {
                /* the end-of-stream packet now, the BYE a little later: a
                 * player stops at the BYE, and must have read the rest */
                if (addressed && t->run.bytes)
                    one_packet(w, &t->run, p, t->run.offset, t->run.bytes);
                t->next = t->run.offset + 1;
                t->next_at += BYE_AFTER;
                DSEND_HEAP_DOWN(txrun, w->tx, w->ntx, tx_before);
                continue;
            }
            if (addressed)
                send_bye(w, p);
            txrun done;
            DSEND_HEAP_POP(txrun, w->tx, w->ntx, &done, tx_before);
            continue;
        }
        uint64_t end = t->run.offset + t->run.bytes;
        uint32_t len = dsend_packet_len(a, t->next);
        if (t->next + len > end)
            len = (uint32_t)(end - t->next);
        if (addressed)
            one_packet(w, &t->run, p, t->next, len);
        else
            w->unaddressed++; /* the session ended, or its address never reached us */
        t->next += len;
        if (t->next < end) {
            t->next_at = dsend_media_time(a, t->run.offset, t->run.depart, t->next);
            DSEND_HEAP_DOWN(txrun, w->tx, w->ntx, tx_before);
        } else {
            txrun done;
            DSEND_HEAP_POP(txrun, w->tx, w->ntx, &done, tx_before);
            /* its last packet is in the batch (a copy): the block may go */
            int rc = dsend_device_release(&w->dev, &done.run);
            if (rc)
                return rc;
        }
    }
    batch_flush(w);
    return arm(w);
}

const dsend_emit dsend_emit_udp = {
    .name = "udp",
    .packets = udp_packets,
    .cancel = udp_cancel,
    .transmit = udp_transmit,
};

