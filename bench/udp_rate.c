/* What a link carries: a UDP blast from one host of the namespace cluster
 * (scripts/netns-cluster.sh) to another, measured on the sender's link and
 * at the receiver.
 *
 *   udp_rate recv PORT SECONDS
 *       waits (up to SECONDS + 10 s) for the first datagram on PORT, then
 *       counts until SECONDS after it or 1 s of silence; prints one line:
 *       packets N lost N payload_bytes B seconds S wire_bit/s R
 *       (S: first to last arrival as the kernel stamped them, not as this
 *       reader, maybe descheduled, read them; R: the bytes after the first
 *       packet over S, each packet counted as on an Ethernet link, payload +
 *       42 header bytes, which is what a tc qdisc on the sending veth meters)
 *   udp_rate send ADDR PORT SECONDS RATE [IFACE|- [SIZE]]
 *       sends SIZE-byte datagrams (default 1328: one RTP packet of dsend, a
 *       12-byte header and 7 TS packets; 1370 bytes as an Ethernet frame) for
 *       SECONDS, offering RATE wire bit/s (0: as fast as it can), 16 a
 *       sendmmsg; each carries its sequence number; prints what it offered.
 *       With IFACE, also what left on that link, from its transmit counter
 *       over the blast's last 7/8 (its queue full by then), timed from
 *       before the first read to after the last, so the window holds every
 *       byte counted:
 *       link IFACE: tx_bytes B seconds S wire_bit/s R
 *       This is the figure to hold against a rate limit: the receiver's
 *       figure rests on when its host stamped each packet in, which a busy
 *       machine can bunch (a backlog processed late); the link counter does
 *       not.
 *
 * Exit status: 0, 1 on a failure (one line on stderr), 2 on bad arguments. */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { WIRE_OVERHEAD = 14 + 20 + 8, BATCH = 16, MAX_SIZE = 1472 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr, "usage: udp_rate recv PORT SECONDS | udp_rate send ADDR PORT SECONDS RATE_BPS [IFACE|- [SIZE]]\n");
    return 2;
}

static int recv_mode(int port, double secs)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    /* above net.core.rmem_max where allowed (root): a reader behind on a busy
     * machine loses nothing the link delivered */
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) != 0)
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "udp_rate: cannot bind UDP port %d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("listening on %d\n", port);
    fflush(stdout);
    struct timeval tv = {10 + (long)secs, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    /* arrival times from the kernel (when the packet reached this host), not
     * from when this process, maybe descheduled on a busy machine, read it */
    int on = 1;
    setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    unsigned char buf[2048];
    union {
        char raw[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    unsigned long long packets = 0, bytes = 0, first_len = 0, max_seq = 0;
    double first = 0, last = 0, started = 0;
    for (;;) {
        struct iovec v = {buf, sizeof buf};
        struct msghdr mh = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl.raw, .msg_controllen = sizeof ctl.raw};
        ssize_t n = recvmsg(s, &mh, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* silence: the timeout */
        }
        double t = -1;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof ts);
                t = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
            }
        if (t < 0) {
            fprintf(stderr, "udp_rate: no kernel receive timestamp\n");
            return 1;
        }
        uint64_t seq = 0;
        if (n >= 8)
            memcpy(&seq, buf, sizeof seq);
        if (packets == 0) {
            first = t;
            started = now();
            first_len = (unsigned long long)n;
            tv = (struct timeval){1, 0};
            setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        }
        if (seq > max_seq)
            max_seq = seq;
        packets++;
        bytes += (unsigned long long)n;
        last = t;
        if (t - first >= secs || now() - started >= secs + 5)
            break;
    }
    if (packets == 0) {
        fprintf(stderr, "udp_rate: nothing arrived on port %d\n", port);
        return 1;
    }
    double span = last - first;
    double after = (double)(bytes - first_len) + (double)(packets - 1) * WIRE_OVERHEAD;
    printf("packets %llu lost %llu payload_bytes %llu seconds %.6f wire_bit/s %.0f\n", packets,
           max_seq + 1 > packets ? max_seq + 1 - packets : 0, bytes, span,
           span > 0 ? after * 8 / span : 0);
    return 0;
}

/* IFACE's transmit byte counter (what left this host on that link: a veth
 * counts when its qdisc hands a frame on, Ethernet header included) */
static int link_tx_bytes(const char *iface, unsigned long long *out)
{
    char path[256];
    snprintf(path, sizeof path, "/sys/class/net/%s/statistics/tx_bytes", iface);
    FILE *f = fopen(path, "r");
    int ok = f && fscanf(f, "%llu", out) == 1;
    if (f)
        fclose(f);
    if (!ok)
        fprintf(stderr, "udp_rate: cannot read %s\n", path);
    return ok ? 0 : -1;
}

static int send_mode(const char *addr, int port, double secs, double rate, const char *iface, int size)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
        return usage();
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "udp_rate: cannot reach %s:%d: %s\n", addr, port, strerror(errno));
        return 1;
    }
    static unsigned char buf[BATCH][MAX_SIZE];
    struct mmsghdr m[BATCH];
    struct iovec v[BATCH];
    memset(m, 0, sizeof m);
    for (int i = 0; i < BATCH; i++) {
        v[i] = (struct iovec){buf[i], (size_t)size};
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t seq = 0;
    unsigned long long refused = 0, link0 = 0, link1 = 0;
    double t0 = now(), t, link_t0 = -1;
    while ((t = now()) - t0 < secs) {
        /* the link's window opens once the blast has filled its queue */
        if (iface && link_t0 < 0 && t - t0 >= secs / 8) {
            link_t0 = now(); /* before the read: the window holds every byte counted */
            if (link_tx_bytes(iface, &link0) != 0)
                return 1;
        }
        for (int i = 0; i < BATCH; i++) {
            uint64_t q = seq + (uint64_t)i;
            memcpy(buf[i], &q, sizeof q);
        }
        int n = sendmmsg(s, m, BATCH, 0);
        if (n > 0)
            seq += (uint64_t)n;
        else if (errno == ECONNREFUSED) /* an ICMP error from a receiver not up yet */
            refused++;
        else if (errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
            fprintf(stderr, "udp_rate: send to %s:%d: %s\n", addr, port, strerror(errno));
            return 1;
        }
        if (rate > 0) { /* offer RATE: sleep until the bytes sent so far are due */
            double due = t0 + (double)seq * (size + WIRE_OVERHEAD) * 8 / rate, wait = due - now();
            if (wait > 0) {
                struct timespec w = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&w, NULL);
            }
        }
    }
    double link_t1 = 0;
    if (iface && link_t0 >= 0) {
        if (link_tx_bytes(iface, &link1) != 0)
            return 1;
        link_t1 = now(); /* after the read */
    }
    double span = now() - t0;
    printf("sent %llu datagrams of %d bytes in %.3f s, offered wire_bit/s %.0f%s\n",
           (unsigned long long)seq, size, span, (double)seq * (size + WIRE_OVERHEAD) * 8 / span,
           refused ? " (some refused by the receiver's host)" : "");
    if (iface && link_t0 >= 0)
        printf("link %s: tx_bytes %llu seconds %.6f wire_bit/s %.0f\n", iface, link1 - link0,
               link_t1 - link_t0, (double)(link1 - link0) * 8 / (link_t1 - link_t0));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "recv") == 0) {
        int port = atoi(argv[2]);
        double secs = atof(argv[3]);
        if (port <= 0 || port > 65535 || secs <= 0)
            return usage();
        return recv_mode(port, secs);
    }
    if (argc >= 6 && argc <= 8 && strcmp(argv[1], "send") == 0) {
        int port = atoi(argv[3]), size = argc == 8 ? atoi(argv[7]) : 1328;
        double secs = atof(argv[4]), rate = atof(argv[5]);
        const char *iface = argc >= 7 && strcmp(argv[6], "-") != 0 ? argv[6] : NULL;
        if (port <= 0 || port > 65535 || secs <= 0 || rate < 0 || size < 8 || size > MAX_SIZE ||
            (iface && (strlen(iface) > 32 || strchr(iface, '/'))))
            return usage();
        return send_mode(argv[2], port, secs, rate, iface, size);
    }
    return usage();
}
