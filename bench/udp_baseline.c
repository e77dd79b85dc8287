/* Baseline for bench/serve.sh: a plain UDP send loop on loopback, 1328-byte
 * datagrams (12-byte RTP header + 7 TS packets) sent with sendmmsg in
 * batches of 64 by a child process, drained by the parent; prints the
 * delivered Gbit/s.  Usage: udp_baseline [SECONDS] */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3;
    int rx = socket(AF_INET, SOCK_DGRAM, 0), big = 8 << 20;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    socklen_t al = sizeof a;
    if (bind(rx, (struct sockaddr *)&a, sizeof a) || getsockname(rx, (struct sockaddr *)&a, &al))
        return 1;
    pid_t child = fork();
    if (child == 0) {
        int tx = socket(AF_INET, SOCK_DGRAM, 0);
        static char buf[64][1328];
        struct mmsghdr m[64];
        struct iovec v[64];
        for (int i = 0; i < 64; i++) {
            v[i] = (struct iovec){buf[i], sizeof buf[i]};
            memset(&m[i], 0, sizeof m[i]);
            m[i].msg_hdr.msg_name = &a;
            m[i].msg_hdr.msg_namelen = sizeof a;
            m[i].msg_hdr.msg_iov = &v[i];
            m[i].msg_hdr.msg_iovlen = 1;
        }
        for (;;)
            sendmmsg(tx, m, 64, 0);
    }
    char buf[2048];
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
    printf("baseline: plain UDP sendmmsg loop on loopback delivered %.3f Gbit/s (1328-byte datagrams)\n",
           (double)bytes * 8 / (t - t0) / 1e9);
    return 0;
}
