/* Baseline for bench/serve.sh: raw UDP on loopback, 1328-byte datagrams
 * (12-byte RTP header + 7 TS packets) sent as fast as they go by a child
 * process to one socket of the parent, which drains it (with UDP GRO, as
 * bench/rtsp_load does), three ways:
 *   send      one send() per datagram
 *   sendmmsg  batches of 64 datagrams
 *   gso       UDP GSO (UDP_SEGMENT): 49 datagrams per send, 64 sends per sendmmsg
 * Prints one line per way with the Gbit/s of datagrams received.
 * Usage: udp_baseline [SECONDS per way] */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define DGRAM 1328
#define SEGS 49 /* 49 x 1328 = 65072 bytes: under the 64 KiB of one UDP send */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sender(int way, const struct sockaddr_in *a)
{
    int tx = socket(AF_INET, SOCK_DGRAM, 0), big = 4 << 20;
    setsockopt(tx, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    static char buf[64][SEGS * DGRAM];
    static char ctl[64][CMSG_SPACE(sizeof(uint16_t))];
    struct mmsghdr m[64];
    struct iovec v[64];
    for (int i = 0; i < 64; i++) {
        v[i] = (struct iovec){buf[i], way == 2 ? SEGS * DGRAM : DGRAM};
        memset(&m[i], 0, sizeof m[i]);
        m[i].msg_hdr.msg_name = (void *)a;
        m[i].msg_hdr.msg_namelen = sizeof *a;
        m[i].msg_hdr.msg_iov = &v[i];
        m[i].msg_hdr.msg_iovlen = 1;
        if (way == 2) {
            m[i].msg_hdr.msg_control = ctl[i];
            m[i].msg_hdr.msg_controllen = sizeof ctl[i];
            struct cmsghdr *c = CMSG_FIRSTHDR(&m[i].msg_hdr);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = DGRAM;
            memcpy(CMSG_DATA(c), &seg, sizeof seg);
        }
    }
    for (;;) {
        if (way == 0)
            sendto(tx, buf[0], DGRAM, 0, (const struct sockaddr *)a, sizeof *a);
        else
            sendmmsg(tx, m, 64, 0);
    }
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3;
    static const char *names[] = {"send", "sendmmsg", "gso"};
    static const char *what[] = {"one send() a datagram", "sendmmsg of 64 datagrams",
                                 "UDP GSO, 49 datagrams a send, sendmmsg of 64 sends"};
    for (int way = 0; way < 3; way++) {
        int rx = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20, one = 1;
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof one);
        socklen_t al = sizeof a;
        if (bind(rx, (struct sockaddr *)&a, sizeof a) || getsockname(rx, (struct sockaddr *)&a, &al))
            return 1;
        pid_t child = fork();
        if (child == 0)
            sender(way, &a);
        static char buf[65536];
        double t0 = now(), t;
        unsigned long long bytes = 0;
        struct timeval tv = {0, 100000};
        setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        while ((t = now()) - t0 < secs) {
            ssize_t n = recv(rx, buf, sizeof buf, 0);
            if (n > 0)
                bytes += (unsigned long long)n;
        }
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        close(rx);
        printf("%-8s raw loopback UDP (%s, 1328-byte datagrams) received %.3f Gbit/s\n",
               names[way], what[way], (double)bytes * 8 / (t - t0) / 1e9);
        fflush(stdout);
    }
    return 0;
}
