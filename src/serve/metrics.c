/* Operations of `dsend serve` (doc/serving.md#operations): every device
 * sends rank 0 a row of its figures every second (on the control channel,
 * never a collective: a device may die), rank 0 keeps the latest row of
 * each -- a dead device's stays, marked down -- answers GET /metrics in
 * the Prometheus text format (--metrics HOST:PORT) and prints a status
 * line every --status-interval. */
#define _GNU_SOURCE 1 /* accept4 */
#include "dsend/error.h"
#include "serve/serve_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROW_PERIOD (INT64_C(1000000000)) /* a row a second (or per status line, if sooner) */
#define ROW_PERIOD_MIN (INT64_C(100000000)) /* ten rows a second at most */
#define HTTP_CONNS 4                     /* scrapers at once; one more is closed at once */
#define HTTP_REQUEST 2048                /* a scrape's request, headers and all */
#define HTTP_TIMEOUT (5 * INT64_C(1000000000)) /* from accept to the answer written */

typedef struct http_conn {
    int fd;                /* -1: free */
    int64_t since;
    char in[HTTP_REQUEST];
    size_t nin;
    char *out;             /* the answer, written from `done` on */
    size_t nout, done;
} http_conn;

struct serve_ops {
    int64_t period, next_row, next_status;
    serve_ops_row *rows;   /* rank 0: by device, the latest each sent */
    serve_ops_row mine;    /* the row this device sent last */
    uint64_t status_wire;  /* rank 0: the devices' wire bytes at the status line before */
    int64_t status_at;
    int listen_fd;
    http_conn http[HTTP_CONNS];
};

int serve_ops_open(serve_world *w)
{
    const dsend_serve_config *cfg = w->cfg;
    serve_ops *o = calloc(1, sizeof *o);
    if (!o)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    w->ops = o;
    o->listen_fd = -1;
    for (int i = 0; i < HTTP_CONNS; i++)
        o->http[i].fd = -1;
    o->period = cfg->status_interval > 0 && cfg->status_interval < ROW_PERIOD
                    ? cfg->status_interval
                    : ROW_PERIOD;
    if (o->period < ROW_PERIOD_MIN)
        o->period = ROW_PERIOD_MIN; /* bounded traffic, however short the status interval */
    if (!cfg->metrics_host && cfg->status_interval <= 0)
        o->period = 0; /* nobody reads the rows: none are sent */
    o->next_status = cfg->status_interval;
    if (w->rank != 0)
        return 0;
    if (!(o->rows = calloc((size_t)w->size, sizeof *o->rows)))
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    if (!cfg->metrics_host)
        return 0;
    dsend_netaddr at;
    int rc = dsend_netaddr_parse(cfg->metrics_host, &at);
    if (rc == 0)
        rc = serve_listen(&at, cfg->metrics_port, "metrics", &o->listen_fd);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = o->listen_fd};
    if (rc == 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, o->listen_fd, &e) != 0)
        rc = dsend_seterr(DSEND_EIO, "--metrics: epoll_ctl: %s", strerror(errno));
    if (rc) {
        char why[256];
        snprintf(why, sizeof why, "%s", dsend_errmsg());
        rc = dsend_seterr(rc, "--metrics: %s", why);
    }
    return rc;
}

static void http_close(http_conn *h)
{
    if (h->fd >= 0)
        close(h->fd); /* it leaves the epoll set by itself */
    free(h->out);
    memset(h, 0, sizeof *h);
    h->fd = -1;
}

void serve_ops_close(serve_world *w)
{
    serve_ops *o = w->ops;
    if (!o)
        return;
    for (int i = 0; i < HTTP_CONNS; i++)
        http_close(&o->http[i]);
    if (o->listen_fd >= 0)
        close(o->listen_fd);
    free(o->rows);
    free(o);
    w->ops = NULL;
}

/* This device's figures now. */
static void take_row(serve_world *w, int64_t now, serve_ops_row *r)
{
    dsend_device_stats ds = {0};
    dsend_device_stats_add(&ds, &w->dev);
    serve_ops_row prev = *r;
    *r = (serve_ops_row){
        .at = now,
        .sessions = w->nsessions,
        .sessions_total = w->sessions_total,
        .packets = w->sent_packets,
        .bytes = w->sent_bytes,
        .not_sent = w->not_sent,
        .late = w->late,
        .send_errors = w->send_errors,
        .wire_bytes = ds.wire_bytes,
        .window_wire_bytes = ds.wire_bytes - prev.wire_bytes,
        .window_ns = now - prev.at,
        .queue = w->dev.sender.n,
        .max_queue = ds.max_queue,
        .admitted = ds.admitted,
        .refused = ds.refused,
        .cache_hits = ds.cache_hits,
        .cache_misses = ds.cache_misses,
        .storage_bytes = ds.storage_bytes,
        .failovers = ds.failovers,
        .takeovers = ds.takeovers,
    };
}

void serve_ops_row_in(serve_world *w, int source, const void *buf, size_t n)
{
    if (w->ops && w->ops->rows && n == sizeof(serve_ops_row) && source > 0 && source < w->size)
        memcpy(&w->ops->rows[source], buf, n);
}

static int device_up(const serve_world *w, int d)
{
    return d == w->rank || (!w->dev.health.dead[d] && !w->stopped[d]);
}

/* The status line: the devices' figures summed (a dead device's last, but
 * its sessions). */
static void status_line(serve_world *w, int64_t now)
{
    serve_ops *o = w->ops;
    serve_ops_row t = {0};
    int up = 0;
    for (int d = 0; d < w->size; d++) {
        const serve_ops_row *r = &o->rows[d];
        if (device_up(w, d)) /* a dead device's were taken over, or are gone */
            t.sessions += r->sessions;
        t.sessions_total += r->sessions_total;
        t.packets += r->packets;
        t.not_sent += r->not_sent;
        t.late += r->late;
        t.refused += r->refused;
        t.wire_bytes += r->wire_bytes;
        up += device_up(w, d);
    }
    double secs = (double)(now - o->status_at) / 1e9;
    double gbps = secs > 0 ? (double)(t.wire_bytes - o->status_wire) * 8 / secs / 1e9 : 0;
    o->status_wire = t.wire_bytes;
    o->status_at = now;
    long long s = now / 1000000000;
    fprintf(w->status_out,
            "dsend serve: %lld:%02lld:%02lld served; sessions %llu live, %llu total; "
            "%.3f Gbit/s; packets %llu sent, %llu not sent, %llu late; %llu refused; "
            "devices %d/%d up\n",
            s / 3600, s / 60 % 60, s % 60, (unsigned long long)t.sessions,
            (unsigned long long)t.sessions_total, gbps, (unsigned long long)t.packets,
            (unsigned long long)t.not_sent, (unsigned long long)t.late,
            (unsigned long long)t.refused, up, w->size);
    fflush(w->status_out);
}

/* ---- GET /metrics ---- */

typedef struct metric {
    const char *name, *type, *help;
    size_t off;            /* a uint64_t of the row; SIZE_MAX: computed (kind) */
    int kind;              /* 0: the field; 1: up; 2: utilization */
} metric;

#define ROW(f) offsetof(serve_ops_row, f)
static const metric metrics[] = {
    {"dsend_device_up", "gauge", "1 if the device is serving, 0 if it stopped or was taken for "
                                 "dead (its figures are its last)", SIZE_MAX, 1},
    {"dsend_sessions", "gauge", "RTSP sessions of the device's scheduler", ROW(sessions), 0},
    {"dsend_sessions_total", "counter", "sessions set up", ROW(sessions_total), 0},
    {"dsend_rtp_packets_sent_total", "counter", "RTP packets sent", ROW(packets), 0},
    {"dsend_rtp_bytes_sent_total", "counter", "bytes of RTP packets sent", ROW(bytes), 0},
    {"dsend_wire_bytes_total", "counter", "bytes paced out, with RTP/UDP/IP headers",
     ROW(wire_bytes), 0},
    {"dsend_packets_not_sent_total", "counter",
     "packets of paused, sought or ended plans, not sent", ROW(not_sent), 0},
    {"dsend_packets_late_total", "counter",
     "packets that left more than --pace-batch after their departure time", ROW(late), 0},
    {"dsend_send_errors_total", "counter", "UDP sends that failed", ROW(send_errors), 0},
    {"dsend_device_utilization", "gauge",
     "wire bits over the last second against --nic (0 to 1)", SIZE_MAX, 2},
    {"dsend_device_queue", "gauge", "send requests in the sender's queue", ROW(queue), 0},
    {"dsend_device_queue_max", "gauge", "most send requests in the sender's queue at once",
     ROW(max_queue), 0},
    {"dsend_admission_admitted_total", "counter", "streams the scheduler admitted",
     ROW(admitted), 0},
    {"dsend_admission_refused_total", "counter", "streams the scheduler refused (RTSP 453)",
     ROW(refused), 0},
    {"dsend_cache_hits_total", "counter", "send requests whose block was in RAM",
     ROW(cache_hits), 0},
    {"dsend_cache_misses_total", "counter", "send requests whose block was not in RAM",
     ROW(cache_misses), 0},
    {"dsend_storage_read_bytes_total", "counter", "bytes read from mass storage",
     ROW(storage_bytes), 0},
    {"dsend_failovers_total", "counter", "devices this device took for dead", ROW(failovers), 0},
    {"dsend_takeovers_total", "counter", "sessions taken over from a dead device",
     ROW(takeovers), 0},
};

static char *exposition(serve_world *w, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    double bps = (double)w->cfg->nic_bps;
    for (size_t i = 0; i < sizeof metrics / sizeof *metrics; i++) {
        const metric *m = &metrics[i];
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
        for (int d = 0; d < w->size; d++) {
            const serve_ops_row *r = &w->ops->rows[d];
            fprintf(f, "%s{device=\"%d\"} ", m->name, d);
            if (m->kind == 1)
                fprintf(f, "%d\n", device_up(w, d));
            else if (m->kind == 2)
                fprintf(f, "%.6f\n",
                        r->window_ns > 0 && bps > 0
                            ? (double)r->window_wire_bytes * 8 / ((double)r->window_ns / 1e9) / bps
                            : 0.0);
            else
                fprintf(f, "%llu\n",
                        (unsigned long long)*(const uint64_t *)((const char *)r + m->off));
        }
    }
    fprintf(f, "# HELP dsend_uptime_seconds time served\n# TYPE dsend_uptime_seconds gauge\n"
               "dsend_uptime_seconds %.3f\n",
            (double)serve_now(w) / 1e9);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

static void http_answer(http_conn *h, int status, const char *reason,
                        const char *headers, const char *body, size_t nbody)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, reason, headers, nbody);
    if (!(h->out = malloc((size_t)n + nbody))) {
        http_close(h);
        return;
    }
    memcpy(h->out, head, (size_t)n);
    if (nbody)
        memcpy(h->out + n, body, nbody);
    h->nout = (size_t)n + nbody;
    h->done = 0;
}

/* A whole request head in h->in: GET /metrics is answered, nothing else
 * (the path is only compared, never used). */
static void http_request(serve_world *w, http_conn *h)
{
    char *sp1 = memchr(h->in, ' ', h->nin);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', h->nin - (size_t)(sp1 + 1 - h->in)) : NULL;
    char *eol = memchr(h->in, '\r', h->nin);
    if (!sp1 || !sp2 || !eol || sp2 > eol || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        static const char bad[] = "bad request\n";
        http_answer(h, 400, "Bad Request", "Content-Type: text/plain\r\n", bad,
                    sizeof bad - 1);
        return;
    }
    size_t mlen = (size_t)(sp1 - h->in), plen = (size_t)(sp2 - sp1 - 1);
    if (!(mlen == 3 && memcmp(h->in, "GET", 3) == 0)) {
        static const char no[] = "only GET\n";
        http_answer(h, 405, "Method Not Allowed", "Allow: GET\r\nContent-Type: text/plain\r\n",
                    no, sizeof no - 1);
        return;
    }
    if (!(plen == 8 && memcmp(sp1 + 1, "/metrics", 8) == 0)) {
        static const char nf[] = "not found: try /metrics\n";
        http_answer(h, 404, "Not Found", "Content-Type: text/plain\r\n", nf, sizeof nf - 1);
        return;
    }
    size_t len = 0;
    char *text = exposition(w, &len);
    if (!text) {
        http_answer(h, 500, "Internal Server Error", "", NULL, 0);
        return;
    }
    http_answer(h, 200, "OK", "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n",
                text, len);
    free(text);
}

/* Write what the peer takes; the answer out, the connection closes. */
static void http_flush(http_conn *h)
{
    while (h->done < h->nout) {
        ssize_t k = send(h->fd, h->out + h->done, h->nout - h->done, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            http_close(h);
            return;
        }
        h->done += (size_t)k;
    }
    shutdown(h->fd, SHUT_WR);
    http_close(h);
}

static void http_read(serve_world *w, http_conn *h)
{
    if (h->out) { /* answered: what more comes is read and dropped */
        char drop[512];
        if (recv(h->fd, drop, sizeof drop, 0) == 0)
            http_close(h);
        else
            http_flush(h);
        return;
    }
    ssize_t k = recv(h->fd, h->in + h->nin, sizeof h->in - 1 - h->nin, 0);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (k <= 0) {
        http_close(h);
        return;
    }
    h->nin += (size_t)k;
    h->in[h->nin] = '\0';
    if (strstr(h->in, "\r\n\r\n") || strstr(h->in, "\n\n")) {
        http_request(w, h);
    } else if (h->nin == sizeof h->in - 1) {
        static const char big[] = "request too large\n";
        http_answer(h, 431, "Request Header Fields Too Large", "Content-Type: text/plain\r\n",
                    big, sizeof big - 1);
    } else {
        return;
    }
    if (h->fd >= 0 && h->out)
        http_flush(h);
}

static void http_accept(serve_world *w)
{
    serve_ops *o = w->ops;
    for (;;) {
        int fd = accept4(o->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        http_conn *h = NULL;
        for (int i = 0; i < HTTP_CONNS && !h; i++)
            if (o->http[i].fd < 0)
                h = &o->http[i];
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        if (!h || epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
            close(fd); /* bounded: a few scrapers at once */
            continue;
        }
        h->fd = fd;
        h->since = serve_now(w);
        h->nin = 0;
    }
}

int serve_ops_event(serve_world *w, int fd)
{
    serve_ops *o = w->ops;
    if (!o || o->listen_fd < 0)
        return 0;
    if (fd == o->listen_fd) {
        http_accept(w);
        return 1;
    }
    for (int i = 0; i < HTTP_CONNS; i++)
        if (o->http[i].fd == fd) {
            http_read(w, &o->http[i]);
            return 1;
        }
    return 0;
}

void serve_ops_tick(serve_world *w, int64_t now)
{
    serve_ops *o = w->ops;
    if (!o || !o->period)
        return;
    if (now >= o->next_row) {
        o->next_row = now + o->period;
        take_row(w, now, &o->mine);
        if (w->rank == 0)
            o->rows[0] = o->mine;
        else if (!w->dev.health.dead[0])
            serve_mpi_isend(w, &o->mine, sizeof o->mine, 0, TAG_OPS); /* best effort */
    }
    if (w->rank != 0)
        return;
    if (w->cfg->status_interval > 0 && now >= o->next_status && w->status_out) {
        o->next_status = now + w->cfg->status_interval;
        status_line(w, now);
    }
    for (int i = 0; i < HTTP_CONNS; i++) {
        http_conn *h = &o->http[i];
        if (h->fd < 0)
            continue;
        if (now - h->since > HTTP_TIMEOUT)
            http_close(h); /* too slow to ask, or to take the answer */
        else if (h->out)
            http_flush(h);
    }
}
