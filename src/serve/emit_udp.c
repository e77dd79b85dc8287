#define _GNU_SOURCE 1 /* sendmmsg */
/* Emit backend `udp`: the pacer's committed runs wait in a transmit queue
 * (txwheel.c, a timing wheel of --pace-batch slots); when a slot begins,
 * every burst due in it leaves: RTP packets (RFC 3550, RFC 2250: 7 TS
 * packets) to the client's address, a burst to one client in one UDP GSO
 * send (UDP_SEGMENT: the kernel cuts it into datagrams), each packet a
 * 12-byte header and an iovec pointing into the block in RAM (no copy in
 * user space), one sendmmsg for many clients.  Packets thus leave at most a
 * slot early, never late while the loop keeps up (`late` counts those that
 * did not).  Sequence numbers and timestamps are functions of the packet's
 * place in the asset, and every device of a host sends from one shared port
 * (SO_REUSEPORT), so the packets of every sender form one RTP source
 * (across hosts: --rtp-source, one address and port on every host). */
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/ts.h"
#include "serve/serve_internal.h"
#include "util/check.h"

#define BYE_AFTER 500000000 /* ns from a plan's last packet to its RTCP BYE */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* One sendmmsg: up to UDP_MSGS messages of up to UDP_PKTS packets in all;
 * a message is one packet, or with UDP GSO up to GSO_SEGS packets to one
 * client, each a header and an iovec pointing into the block in RAM. */
#define UDP_MSGS 64
#define UDP_PKTS 1024
#define GSO_SEGS 49 /* 49 x 1328 bytes: one UDP datagram of at most 64 KiB */
typedef union udp_to { /* a client's address, in the UDP socket's family */
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} udp_to;
struct udp_batch {
    struct mmsghdr msgs[UDP_MSGS];
    udp_to to[UDP_MSGS];
    uint32_t segs[UDP_MSGS], seglen[UDP_MSGS], bytes[UDP_MSGS];
    char ctl[UDP_MSGS][64];
    struct iovec iov[2 * UDP_PKTS];
    unsigned char hdr[UDP_PKTS][12];
    unsigned char scratch[UDP_PKTS][DSEND_PKT_PAYLOAD]; /* synthetic payloads, end markers */
    int nmsg, npkt;
    int open;              /* the last message may take more segments */
    uint32_t client;       /* ... for this client */
};

static int bind_shared(serve_world *w, int port, int *bound)
{
    const dsend_serve_config *cfg = w->cfg;
    int one = 1, zero = 0, sndbuf = 4 << 20;
    /* --rtp-source: the service address every device host shares
     * (doc/cluster.md), bound even before it is configured (IP_FREEBIND);
     * else the device's own data address, or --rtsp's host (its family: on
     * [::] one socket reaches IPv4 clients too, mapped) */
    dsend_netaddr at = *serve_listen_addr(w, w->rank), got;
    if (cfg->rtp_source && dsend_netaddr_parse(cfg->rtp_source, &at) != 0)
        return dsend_seterr(DSEND_EINVAL, "--rtp-source %s: %s", cfg->rtp_source, dsend_errmsg());
    at.port = (uint16_t)port;
    w->udp_family = at.family;
    w->udp_fd = socket(at.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (w->udp_fd >= 0 && at.family == AF_INET6 && dsend_netaddr_is_any(&at))
        setsockopt(w->udp_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_storage a;
    socklen_t al = dsend_netaddr_to_sockaddr(&at, 0, &a);
    if (w->udp_fd < 0 || setsockopt(w->udp_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
        (cfg->rtp_source && setsockopt(w->udp_fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one)) ||
        bind(w->udp_fd, (struct sockaddr *)&a, al) ||
        getsockname(w->udp_fd, (struct sockaddr *)&a, &(socklen_t){sizeof a}) ||
        dsend_netaddr_from_sockaddr((struct sockaddr *)&a, sizeof a, &got)) {
        char name[DSEND_NETADDR_STRLEN];
        return dsend_seterr(DSEND_EIO, "device %d: cannot bind its UDP socket to %s: %s", w->rank,
                            dsend_netaddr_format(&at, name, sizeof name), strerror(errno));
    }
    setsockopt(w->udp_fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    /* nothing is read from it: a client's stray datagrams take little room */
    int rcvbuf = 4096;
    setsockopt(w->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    /* a kernel without UDP GSO refuses the option: one datagram a packet then */
    int seg = 12 + DSEND_PKT_PAYLOAD;
    w->gso = setsockopt(w->udp_fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
    seg = 0;
    if (w->gso)
        setsockopt(w->udp_fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg);
    *bound = got.port;
    return 0;
}

int serve_udp_open(serve_world *w)
{
    int rc = 0, port = w->cfg->udp_port, same = 0;
    MPI_Comm host = MPI_COMM_NULL;
    w->batch = calloc(1, sizeof *w->batch);
    if (!w->batch)
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
    if (rc == 0)
        rc = txwheel_init(&w->tx, w->cfg->pace_batch);
    /* the host's first device binds (a free port unless --udp-port), the
     * others the same port; with --rtp-source, every device of every host
     * the port of the first device (one source across hosts) */
    if (w->cfg->rtp_source)
        MPI_CHECK(MPI_Comm_dup(w->comm, &host));
    else
        MPI_CHECK(MPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &host));
    int hrank = 0;
    MPI_Comm_rank(host, &hrank);
    if (hrank == 0 && rc == 0)
        rc = bind_shared(w, port, &port);
    if (rc)
        port = -1;
    MPI_CHECK(MPI_Bcast(&port, 1, MPI_INT, 0, host));
    if (hrank != 0 && rc == 0)
        rc = port < 0 ? dsend_seterr(DSEND_EIO, "device %d: the host's UDP port could not be bound",
                                     w->rank)
                      : bind_shared(w, port, &same);
err:
    if (host != MPI_COMM_NULL)
        MPI_Comm_free(&host);
    return rc;
}

void serve_udp_close(serve_world *w)
{
    if (w->udp_fd >= 0)
        close(w->udp_fd);
    w->udp_fd = -1;
    txwheel_free(&w->tx);
    free(w->held);
    w->held = NULL;
    w->nheld = w->capheld = 0;
    free(w->batch);
    w->batch = NULL;
}

static void batch_flush(serve_world *w)
{
    udp_batch *b = w->batch;
    int done = 0, n = b->nmsg;
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &b->msgs[i].msg_hdr;
        if (b->segs[i] > 1) {
            h->msg_control = b->ctl[i];
            h->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = (uint16_t)b->seglen[i];
            memcpy(CMSG_DATA(c), &seg, sizeof seg);
        }
    }
    while (done < n) {
        int k = sendmmsg(w->udp_fd, b->msgs + done, (unsigned)(n - done), 0);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == ENOBUFS) {
                for (int i = done; i < n; i++) /* the socket is full: really dropped */
                    w->send_errors += b->segs[i];
                break;
            }
            /* one destination's error (a vanished client's ICMP port
             * unreachable): that message only, the others still go */
            w->send_errors += b->segs[done];
            done++;
            continue;
        }
        for (int i = done; i < done + k; i++) {
            w->sent_bytes += b->bytes[i];
            w->sent_packets += b->segs[i];
        }
        done += k;
    }
    b->nmsg = b->npkt = 0;
    b->open = 0;
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

/* The peer's address at `port` (network order) in the UDP socket's family:
 * its bytes are already the form an AF_INET6 socket takes (IPv4 mapped).
 * `to` has room for either. */
static socklen_t peer_to(const serve_world *w, const dsend_peer *p, uint16_t port, udp_to *to)
{
    if (w->udp_family == AF_INET) {
        to->v4 = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = port};
        memcpy(&to->v4.sin_addr, p->addr + 12, 4);
        return sizeof to->v4;
    }
    to->v6 = (struct sockaddr_in6){.sin6_family = AF_INET6, .sin6_port = port};
    memcpy(&to->v6.sin6_addr, p->addr, 16);
    return sizeof to->v6;
}

/* Its address came, and the socket's family reaches it. */
static int peer_reachable(const serve_world *w, const dsend_peer *p)
{
    dsend_netaddr a;
    dsend_netaddr_from_bytes(p->addr, 0, &a);
    return a.family == AF_INET || (a.family == AF_INET6 && w->udp_family == AF_INET6);
}

/* The packet of `run` at offset o into the batch: a segment of the open
 * message to the same client while every segment before it is full-sized,
 * else a new message. */
static void one_packet(serve_world *w, const dsend_packet_run *run, const dsend_peer *p,
                       uint64_t o, uint32_t len)
{
    const dsend_asset *a = &w->lib.assets[run->asset];
    udp_batch *b = w->batch;
    int join = b->open && b->client == run->client && w->gso &&
               b->segs[b->nmsg - 1] < GSO_SEGS && 12 + len <= b->seglen[b->nmsg - 1];
    if (b->npkt == UDP_PKTS || (!join && b->nmsg == UDP_MSGS)) {
        batch_flush(w);
        join = 0;
    }
    int k = b->npkt++;
    unsigned char *h = b->hdr[k];
    uint32_t seq = p->seq_base + (uint32_t)dsend_packet_index(a, o);
    uint32_t ts = p->ts_base + (uint32_t)(o < (UINT64_MAX / 720000u)
                                              ? o * 720000u / a->bitrate_bps
                                              : (uint64_t)((unsigned __int128)o * 720000u /
                                                           a->bitrate_bps)); /* 8 x 90 kHz */
    h[0] = 0x80; /* V=2 */
    h[1] = 33;   /* MP2T */
    h[2] = (unsigned char)(seq >> 8);
    h[3] = (unsigned char)seq;
    for (int i = 0; i < 4; i++) {
        h[4 + i] = (unsigned char)(ts >> (24 - 8 * i));
        h[8 + i] = (unsigned char)(p->ssrc >> (24 - 8 * i));
    }
    const unsigned char *payload;
    if (run->flags & DSEND_RUN_END_MARKER) {
        end_marker(a, b->scratch[k], len / DSEND_TS_PACKET);
        payload = b->scratch[k];
        h[1] |= 0x80; /* RTP marker bit: the end */
    } else if (run->data) {
        payload = run->data + (o - run->offset); /* the block in RAM: no copy */
    } else {
        dsend_synthetic_fill(a, o, b->scratch[k], len);
        payload = b->scratch[k];
    }
    b->iov[2 * k] = (struct iovec){h, 12};
    b->iov[2 * k + 1] = (struct iovec){(void *)payload, len};
    if (join) {
        int m = b->nmsg - 1;
        b->msgs[m].msg_hdr.msg_iovlen += 2;
        b->segs[m]++;
        b->bytes[m] += 12 + len;
        b->open = 12 + len == b->seglen[m]; /* a shorter segment is a message's last */
        return;
    }
    int m = b->nmsg++;
    memset(&b->msgs[m], 0, sizeof b->msgs[m]);
    b->msgs[m].msg_hdr.msg_name = &b->to[m];
    b->msgs[m].msg_hdr.msg_namelen = peer_to(w, p, p->rtp_port, &b->to[m]);
    b->msgs[m].msg_hdr.msg_iov = &b->iov[2 * k];
    b->msgs[m].msg_hdr.msg_iovlen = 2;
    b->segs[m] = 1;
    b->seglen[m] = b->bytes[m] = 12 + len;
    b->open = 1;
    b->client = run->client;
}

/* wake when the first slot with a burst begins */
static int arm(serve_world *w)
{
    int64_t at = txwheel_next(&w->tx);
    if (at == INT64_MAX || at == w->tx_wake)
        return 0;
    w->tx_wake = at;
    return dsend_clock_wall.wake(w, DSEND_WAKE_EMIT, at);
}

static int udp_packets(void *ctx, const dsend_packet_run *run)
{
    serve_world *w = ctx;
    txrun t = {.next_at = run->depart, .next = run->offset, .run = *run};
    int rc = txwheel_add(&w->tx, &t);
    return rc ? rc : run->depart < w->tx_wake || w->tx_wake < 0 ? arm(w) : 0;
}

/* Packets of older plans are dropped when they come due (udp_transmit
 * checks each burst's plan against the session's), which is exactly "from
 * now on": what was due before has left. */
static int udp_cancel(void *ctx, uint32_t client, uint32_t epoch, uint32_t device, int64_t from)
{
    (void)ctx, (void)client, (void)epoch, (void)device, (void)from;
    return 0;
}

/* A run's cached block may go once nothing points into it: its packets'
 * iovecs point into the block until the batch holding them was sent. */
static int release_held(serve_world *w)
{
    int rc = 0;
    for (uint32_t k = 0; k < w->nheld; k++) {
        int r = dsend_device_release(&w->dev, &w->held[k]);
        rc = rc ? rc : r;
    }
    w->nheld = 0;
    return rc;
}

static int hold_until_flushed(serve_world *w, const dsend_packet_run *run)
{
    if (!run->hold)
        return 0;
    if (w->nheld == w->capheld) {
        uint32_t cap = w->capheld ? 2 * w->capheld : 256;
        dsend_packet_run *h = realloc(w->held, cap * sizeof *h);
        if (!h)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for the transmit queue");
        w->held = h;
        w->capheld = cap;
    }
    w->held[w->nheld++] = *run;
    return 0;
}

void serve_udp_drop_all(serve_world *w)
{
    txwheel *q = &w->tx;
    for (uint32_t k = 0; k < q->nslots; k++)
        for (int32_t i = q->head[k]; i >= 0; i = q->pool[i].link)
            dsend_device_release(&w->dev, &q->pool[i].run); /* its bytes are not needed */
    txwheel_clear(&w->tx);
    w->batch->nmsg = w->batch->npkt = 0;
    w->batch->open = 0;
    release_held(w);
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
    udp_to to;
    socklen_t tl = peer_to(w, peer, peer->rtcp_port, &to);
    sendto(w->udp_fd, p, sizeof p, 0, (struct sockaddr *)&to, tl);
}

typedef struct due_key {
    uint32_t client;
    int32_t i;
    uint64_t next;
} due_key;

static int key_cmp(const void *x, const void *y)
{
    const due_key *a = x, *b = y;
    if (a->client != b->client)
        return a->client < b->client ? -1 : 1;
    return a->next < b->next ? -1 : a->next > b->next;
}

/* One entry's burst (or its plan's end); 1 if the run goes on. */
static int one_burst(serve_world *w, txrun *t, int64_t now)
{
    const dsend_asset *a = &w->lib.assets[t->run.asset];
    const dsend_peer *p = dsend_peers_find(&w->dev.peers, t->run.client);
    uint64_t end = t->run.offset + t->run.bytes;
    if (!p || !peer_reachable(w, p) || p->epoch != t->run.epoch) {
        /* the plan changed or the session ended (or its address never came) */
        if (!(t->run.flags & DSEND_RUN_PLAN_END))
            w->not_sent += dsend_packets_before(a, end) - dsend_packets_before(a, t->next);
        return 0;
    }
    if (t->run.flags & DSEND_RUN_PLAN_END) {
        if (t->next == t->run.offset) {
            /* the end-of-stream packet now, the BYE a little later: a player
             * stops at the BYE, and must have read the rest */
            if (t->run.bytes)
                one_packet(w, &t->run, p, t->run.offset, t->run.bytes);
            t->next = t->run.offset + 1;
            t->next_at += BYE_AFTER;
            return 1;
        }
        send_bye(w, p);
        return 0;
    }
    /* the burst: to its last packet, the block's or the run's end */
    uint32_t burst = t->run.burst ? t->run.burst : 1, n = 0;
    uint64_t bend = dsend_burst_start(a, t->next, burst) + (uint64_t)burst * DSEND_PKT_PAYLOAD;
    uint64_t block_end = (t->next / a->block_size + 1) * a->block_size;
    if (bend > block_end)
        bend = block_end;
    if (bend > end)
        bend = end;
    while (t->next < bend) {
        uint32_t len = dsend_packet_len(a, t->next);
        if (t->next + len > bend)
            len = (uint32_t)(bend - t->next);
        one_packet(w, &t->run, p, t->next, len);
        t->next += len;
        n++;
    }
    if (now - t->next_at > w->cfg->pace_batch)
        w->late += n;
    if (t->next >= end)
        return 0;
    t->next_at = dsend_run_depart(a, t->run.offset, t->run.depart, burst, t->next);
    return 1;
}

/* The timer fired: every burst whose slot has begun leaves now, the
 * entries of one client in offset order (runs of consecutive sub-blocks
 * may share a slot). */
static int udp_transmit(void *ctx)
{
    serve_world *w = ctx;
    int64_t now = serve_now(w);
    int rc = txwheel_take(&w->tx, now);
    w->tx_wake = -1;
    if (rc)
        return rc;
    txwheel *q = &w->tx;
    due_key key[256], *keys = key;
    if (q->ndue > 256 && !(keys = malloc(q->ndue * sizeof *keys)))
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the transmit queue");
    for (uint32_t k = 0; k < q->ndue; k++)
        keys[k] = (due_key){.client = q->pool[q->due[k]].run.client, .i = q->due[k],
                            .next = q->pool[q->due[k]].next};
    qsort(keys, q->ndue, sizeof *keys, key_cmp);
    /* a run that fell behind sends every burst due now, before the client's
     * next run does: the client's packets stay in order */
    int64_t slot = now / q->width;
    for (uint32_t k = 0; k < q->ndue && rc == 0; k++) {
        txrun *t = &q->pool[keys[k].i];
        int more;
        while ((more = one_burst(w, t, now)) && t->next_at / q->width <= slot) {
        }
        if (more)
            rc = txwheel_insert(q, keys[k].i);
        else {
            int r = hold_until_flushed(w, &t->run);
            rc = rc ? rc : r;
            txwheel_release(q, keys[k].i);
        }
    }
    if (keys != key)
        free(keys);
    batch_flush(w);
    int r = release_held(w);
    rc = rc ? rc : r;
    return rc ? rc : arm(w);
}

const dsend_emit dsend_emit_udp = {
    .name = "udp",
    .packets = udp_packets,
    .cancel = udp_cancel,
    .transmit = udp_transmit,
};
