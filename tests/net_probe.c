/* Network probes for tests/mpi/serve-hardening.mpi: what an abusive or a
 * curious client does, with real sockets.
 *
 *   net_probe hold HOST PORT N SRC[,SRC...]
 *       opens N TCP connections to HOST:PORT from each source address (all
 *       on 127.0.0.0/8 are this host's), says "held M", and keeps them idle;
 *       on SIGUSR1 prints "open K of M": how many the server has not closed;
 *       on SIGTERM closes them and exits.
 *   net_probe rtp PORT N SECONDS FILE
 *       receives up to N UDP datagrams on 127.0.0.1:PORT within SECONDS and
 *       writes them, whole, to FILE; prints "received K", then "ssrc X
 *       others M": the first one's RTP SSRC (hex) and how many carried
 *       another.
 */
#define _DEFAULT_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t done, count;
static void on_term(int sig) { done = sig == SIGTERM; count = sig == SIGUSR1; }

static int hold(const char *host, int port, int n, char *srcs)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int *fd = NULL, m = 0, cap = 0;
    for (char *src = strtok(srcs, ","); src; src = strtok(NULL, ",")) {
        for (int i = 0; i < n; i++) {
            if (m == cap && !(fd = realloc(fd, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *fd)))
                return 1;
            int s = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a = {.sin_family = AF_INET};
            if (s < 0 || inet_pton(AF_INET, src, &a.sin_addr) != 1 ||
                bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
                fprintf(stderr, "net_probe: cannot bind to %s: %s\n", src, strerror(errno));
                return 1;
            }
            a.sin_port = htons((uint16_t)port);
            inet_pton(AF_INET, host, &a.sin_addr);
            /* at most 5 s per connection: a server that stops accepting
             * makes connects wait, never this probe hang */
            fcntl(s, F_SETFL, O_NONBLOCK);
            int err = 0;
            socklen_t el = sizeof err;
            struct pollfd p = {.fd = s, .events = POLLOUT};
            if ((connect(s, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) ||
                poll(&p, 1, 5000) != 1 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
                err) {
                close(s); /* refused or reset: the server is bounded, as it should be */
                continue;
            }
            fd[m++] = s;
        }
    }
    printf("held %d\n", m);
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    while (!done) {
        pause();
        if (!count)
            continue;
        count = 0;
        int open = 0;
        for (int i = 0; i < m; i++) {
            char c;
            ssize_t r = read(fd[i], &c, 1);
            open += r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        }
        printf("open %d of %d\n", open, m);
        fflush(stdout);
    }
    for (int i = 0; i < m; i++)
        close(fd[i]);
    free(fd);
    return 0;
}

static int rtp(int port, int n, int seconds, const char *path)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int big = 4 << 20;
    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "net_probe: cannot bind UDP port %d: %s\n", port, strerror(errno));
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    printf("listening\n");
    fflush(stdout);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int k = 0, others = 0;
    uint32_t ssrc = 0;
    while (k < n) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long left = seconds * 1000L - ((t.tv_sec - t0.tv_sec) * 1000L +
                                       (t.tv_nsec - t0.tv_nsec) / 1000000L);
        struct pollfd p = {.fd = s, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            break;
        unsigned char buf[65536];
        ssize_t r = recv(s, buf, sizeof buf, 0);
        if (r <= 0 || fwrite(buf, 1, (size_t)r, f) != (size_t)r)
            continue;
        uint32_t x = r >= 12 ? (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
                                   (uint32_t)buf[10] << 8 | buf[11]
                             : 0;
        if (k++ == 0)
            ssrc = x;
        else
            others += x != ssrc;
    }
    fclose(f);
    printf("received %d\n", k);
    printf("ssrc %08X others %d\n", (unsigned)ssrc, others);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "hold") == 0)
        return hold(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
    if (argc == 6 && strcmp(argv[1], "rtp") == 0)
        return rtp(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5]);
    fprintf(stderr, "usage: net_probe hold HOST PORT N SRC[,SRC...] | rtp PORT N SECONDS FILE\n");
    return 2;
}
