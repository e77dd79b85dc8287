#define _GNU_SOURCE 1 /* ppoll */
/* `dsend serve`: the production runtime.  One loop per rank, shaped like
 * redis' ae: fire the timers that are due (the clock's wake armed them for
 * the scheduler, the sender and the pacer), move MPI messages, then sleep
 * in poll until the nearest timer or a socket.  The device is the shared
 * one; only the clock (wall), control (MPI) and emit backend (UDP) differ
 * from the simulation. */
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/ts.h"
#include "dsend/units.h"
#include "serve/serve_internal.h"
#include "util/check.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static void account(void *ctx, int64_t at, uint64_t wire_bytes, uint32_t queue)
{
    serve_world *w = ctx;
    dsend_series_note(&w->series, at, w->cfg->interval, wire_bytes, queue);
}

static int setup(serve_world *w, MPI_Comm comm, const dsend_serve_config *cfg)
{
    int rc = 0;
    w->comm = comm;
    w->cfg = cfg;
    w->front_fd = w->rtsp_fd = w->udp_fd = w->epfd = w->session_log_fd = -1;
    w->lib.file = -1;
    for (int i = 0; i < DSEND_WAKERS; i++)
        w->timer[i] = INT64_MAX;
    w->tx_wake = -1;
    MPI_Comm_rank(comm, &w->rank);
    MPI_Comm_size(comm, &w->size);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->t0_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    MPI_Bcast(&w->t0_ns, 1, MPI_INT64_T, 0, comm);

    rc = dsend_library_open(cfg->library, comm, &w->lib);
    if (rc == 0) {
        const dsend_layout_policy *pol = dsend_layout_find(cfg->layout);
        rc = pol ? dsend_layout_open(&w->layout, pol, w->size, cfg->replicas)
                 : dsend_seterr(DSEND_EINVAL, "--layout %s: unknown policy", cfg->layout);
    }
    /* the same parameters, and the same checks, as the simulation's */
    w->params = (dsend_core_params){.lib = &w->lib, .layout = &w->layout,
                                    .sub_block = cfg->sub_block, .startup = cfg->startup,
                                    .lead = cfg->lead, .tick = cfg->tick, .nic_bps = cfg->nic_bps,
                                    .send_ahead = cfg->lead, .pace_lead = cfg->pace_lead,
                                    .pace_batch = cfg->pace_batch,
                                    .pace_burst = cfg->pace_burst, .heartbeat = cfg->heartbeat,
                                    .detect = cfg->detect, .beat_idle = 1,
                                    .admission = cfg->admission,
                                    .admit_load = cfg->admit_load,
                                    .look_ahead = cfg->ram || cfg->ram_share > 0 ? cfg->look_ahead
                                                                                 : 0};
    if (rc == 0)
        rc = dsend_core_params_check(&w->params);
    /* --fail: this device goes silent then */
    w->silent_at = INT64_MAX;
    if (rc == 0) {
        dsend_device_event ev[DSEND_MAX_DEVICE_EVENTS];
        int n = 0;
        rc = dsend_parse_device_events(cfg->fail, "fail", w->size, ev, DSEND_MAX_DEVICE_EVENTS,
                                       &n);
        for (int i = 0; i < n; i++)
            if (ev[i].device == w->rank && ev[i].at < w->silent_at)
                w->silent_at = ev[i].at;
    }
    if ((rc = dsend_mpi_agree(comm, rc)))
        return rc;
    if ((rc = dsend_load_cached(comm, &w->lib, &w->layout, w->rank,
                                (dsend_ram){cfg->ram, cfg->ram_share}, &w->store)))
        return rc;
    /* --data-net: every device's own address (collective) */
    if ((rc = serve_data_net_open(w)))
        return rc;
    /* every block is in RAM now, or will be read on demand through a handle
     * of the reader's own: the file is closed while every device lives
     * (closing it is collective, and would wait for a dead one) */
    H5Fclose(w->lib.file);
    w->lib.file = -1;
    if (!w->store.resident)
        rc = serve_reader_start(w);

    w->sessions = calloc((size_t)cfg->max_sessions, sizeof *w->sessions);
    w->out = calloc((size_t)w->size, sizeof *w->out);
    w->stopped = calloc((size_t)w->size, 1);
    if (!w->sessions || !w->out || !w->stopped)
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %d sessions", cfg->max_sessions);
    if (rc == 0 && dsend_netaddr_parse(cfg->host, &w->host) != 0)
        rc = dsend_seterr(DSEND_EINVAL, "--rtsp %s: not an IPv4 or IPv6 address", cfg->host);
    if (rc == 0)
        rc = serve_conns_init(w);
    if (rc == 0 && w->rank == 0)
        rc = serve_listen(serve_listen_addr(w, 0), cfg->port, "rtsp", &w->front_fd);
    if (rc == 0)
        rc = serve_listen(serve_listen_addr(w, w->rank), cfg->port + 1 + w->rank, "rtsp",
                          &w->rtsp_fd);
    if (rc == 0 && (w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        rc = dsend_seterr(DSEND_EIO, "device %d: epoll_create1: %s", w->rank, strerror(errno));
    if (rc == 0)
        rc = serve_ops_open(w);
    if (rc == 0)
        rc = serve_session_log_open(w);
    /* the devices of a host agree on their one UDP port (collective) */
    if ((rc = dsend_mpi_agree(comm, rc)) == 0)
        rc = serve_udp_open(w);
    if (rc == 0)
        rc = dsend_device_init(&w->dev, w->rank, &w->params, &w->store,
                               (uint32_t)cfg->max_sessions * (uint32_t)w->size, &dsend_clock_wall,
                               w, &dsend_ctrl_mpi, w, &dsend_emit_udp, w, &dsend_storage_reader,
                               w);
    w->dev.pacer.account = account;
    w->dev.pacer.account_ctx = w;
    w->dev.cache.account = serve_cache_account;
    w->dev.cache.account_ctx = w;
    if ((rc = dsend_mpi_agree(comm, rc)))
        return rc;
    return dsend_device_start(&w->dev);
}

static void teardown(serve_world *w)
{
    serve_reader_stop(w); /* before anything it reads into or from goes */
    while (w->nconns)
        serve_conn_close(w, w->nconns - 1, "stop");
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
    free(w->sessions);
    free(w->stopped);
    free(w->data_addr);
    free(w->told_dead);
    free(w->survivors);
    serve_ops_close(w);
    if (w->session_log_fd > STDERR_FILENO)
        close(w->session_log_fd);
    dsend_series_free(&w->series);
    dsend_device_free(&w->dev);
    dsend_store_free(&w->store);
    dsend_layout_close(&w->layout);
    if (w->lib.file >= 0 || w->lib.assets)
        dsend_library_close(&w->lib);
    if (w->front_fd >= 0)
        close(w->front_fd);
    if (w->rtsp_fd >= 0)
        close(w->rtsp_fd);
    if (w->epfd >= 0)
        close(w->epfd);
    serve_udp_close(w);
}

/* Fire every timer that is due, in the order scheduler, sender, pacer. */
static int fire_timers(serve_world *w)
{
    int rc = 0;
    int64_t now = serve_now(w);
    for (int who = 0; who < DSEND_WAKERS && rc == 0; who++)
        if (w->timer[who] <= now) {
            int64_t at = w->timer[who];
            w->timer[who] = INT64_MAX;
            rc = dsend_device_wake(&w->dev, who, at);
        }
    return rc;
}

/* --fail: the device goes silent -- it sends, answers and plans nothing
 * more (its sockets close, what it committed is dropped) and only waits
 * for the stop, as if it had died but could still take part in it. */
static void go_silent(serve_world *w)
{
    w->silent = 1;
    while (w->nconns)
        serve_conn_close(w, w->nconns - 1, "silent");
    if (w->front_fd >= 0)
        close(w->front_fd);
    if (w->rtsp_fd >= 0)
        close(w->rtsp_fd);
    w->front_fd = w->rtsp_fd = -1;
    serve_ops_close(w); /* rank 0's endpoint too: nothing answers any more */
    serve_udp_drop_all(w);
    for (int i = 0; i < DSEND_WAKERS; i++)
        w->timer[i] = INT64_MAX;
    for (int r = 0; r < w->size; r++)
        w->out[r].n = 0;
    w->local.n = 0;
    fprintf(stderr, "dsend serve: device %d goes silent (--fail)\n", w->rank);
}

/* Say which devices this one took for dead (once each). */
static void tell_failovers(serve_world *w)
{
    const dsend_health *h = &w->dev.health;
    for (int x = 0; x < h->D; x++)
        if (h->dead[x] && !w->stopped[x] && !(w->told_dead && w->told_dead[x])) {
            if (!w->told_dead && !(w->told_dead = calloc((size_t)h->D, 1)))
                return;
            w->told_dead[x] = 1;
            fprintf(stderr,
                    "dsend serve: device %d: device %d silent for %lld ms: taken for dead; its "
                    "blocks are asked of their next holders, %llu sessions taken over here\n",
                    w->rank, x, (long long)(w->cfg->detect / 1000000),
                    (unsigned long long)h->takeovers);
        }
}

/* Sockets wait in one epoll set, so a turn costs the same with 10 or 4,000
 * RTSP connections (a poll of every connection each turn cost most of a
 * rank's time at 2,000 sessions); a closed one leaves the set by itself. */
static void watch(serve_world *w, int fd)
{
    struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
    if (fd >= 0)
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e);
}

/* Accepting may close idle connections to make room (the last one moves
 * into the hole), so a new one is found by its flag, not by its index. */
static void accept_watched(serve_world *w, int lfd, int front)
{
    serve_accept(w, lfd, front);
    for (int i = w->nconns - 1; i >= 0; i--)
        if (!w->conns[i]->watched) {
            watch(w, w->conns[i]->fd);
            w->conns[i]->watched = 1;
        }
}

static int loop(serve_world *w)
{
    const dsend_serve_config *cfg = w->cfg;
    struct epoll_event ev[256];
    int rc = 0, peer_stop = 0;
    watch(w, w->front_fd);
    watch(w, w->rtsp_fd);
    watch(w, serve_reader_fd(w)); /* blocks read (a device below its share) */
    while (!stop_signal && !peer_stop && rc == 0) {
        int64_t now = serve_now(w);
        if (cfg->duration > 0 && now >= cfg->duration)
            break;
        if (!w->silent && now >= w->silent_at)
            go_silent(w);
        if (w->silent) {
            struct timespec nap = {0, 1000000};
            rc = serve_mpi_receive(w, &peer_stop);
            nanosleep(&nap, NULL);
            continue;
        }
        /* hear the others before the timers judge them: after this process
         * was held off the CPU, their heartbeats wait here, and a health
         * timer firing first would take them all for dead */
        if ((rc = serve_mpi_receive(w, &peer_stop)) || (rc = fire_timers(w)) ||
            (rc = serve_mpi_flush(w)))
            break;
        serve_mpi_reap(w);
        tell_failovers(w);
        serve_sessions_housekeeping(w, now);
        serve_conns_housekeeping(w, now);
        serve_ops_tick(w, now);
        /* sleep until the nearest timer; MPI has no descriptor, so at most
         * a millisecond (ppoll on the epoll set: a timeout finer than
         * epoll_wait's milliseconds) */
        int64_t t = serve_now(w), due = t + 1000000;
        for (int who = 0; who < DSEND_WAKERS; who++)
            if (w->timer[who] < due)
                due = w->timer[who];
        struct timespec wait = {0, due > t ? (long)(due - t) : 0};
        if (t - now > w->max_work)
            w->max_work = t - now;
        struct pollfd pfd = {.fd = w->epfd, .events = POLLIN};
        int ready = ppoll(&pfd, 1, &wait, NULL);
        int64_t woke = serve_now(w) - (due > t ? due : t);
        w->turns++;
        if (ready == 0 && woke > w->max_oversleep)
            w->max_oversleep = woke;
        if (ready == 0 && woke > 1000000)
            w->oversleeps++;
        int nev = ready > 0 ? epoll_wait(w->epfd, ev, 256, 0) : 0;
        for (int k = 0; k < nev; k++) {
            int fd = ev[k].data.fd;
            if (fd == w->front_fd) {
                accept_watched(w, fd, 1);
            } else if (fd == w->rtsp_fd) {
                accept_watched(w, fd, 0);
            } else if (fd == serve_reader_fd(w)) {
                if ((rc = serve_reader_drain(w)))
                    break;
            } else if (serve_ops_event(w, fd)) {
                /* --metrics: a scrape */
            } else {
                /* by descriptor: handling one may have closed others (the
                 * last connection moves into the hole) */
                for (int i = 0; i < w->nconns; i++)
                    if (w->conns[i]->fd == fd) {
                        serve_conn_read(w, i);
                        break;
                    }
            }
        }
        /* answers not written whole wait here, tried each turn */
        for (int i = w->nconns - 1; i >= 0; i--)
            if (w->conns[i]->nout)
                serve_conn_flush(w, i);
    }
    return rc;
}

int dsend_serve_run(MPI_Comm comm, const dsend_serve_config *cfg, FILE *out,
                    dsend_sim_result *res)
{
    if (res)
        memset(res, 0, sizeof *res);
    serve_world *w = calloc(1, sizeof *w);
    if (!w)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    double t_setup = MPI_Wtime();
    int rc = setup(w, comm, cfg);
    t_setup = MPI_Wtime() - t_setup;
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
    if (w->rank == 0 && !cfg->quiet && !cfg->json) {
        char h[32], host[DSEND_NETADDR_STRLEN];
        fprintf(out, "dsend serve: %d devices; clients connect to rtsp://%s:%d/ASSET "
                     "(devices' own RTSP ports %d-%d); ready in %.3f s, %s of blocks preloaded "
                     "here\n",
                w->size,
                cfg->advertise                                     ? cfg->advertise
                : dsend_netaddr_is_any(serve_listen_addr(w, 0)) ? "ANY-ADDRESS-OF-THIS-HOST"
                    : dsend_netaddr_url_host(serve_listen_addr(w, 0), host, sizeof host),
                cfg->port, cfg->port + 1, cfg->port + w->size, t_setup,
                dsend_human_size((double)(w->store.bytes + w->store.synthetic_bytes), h,
                                 sizeof h));
        fflush(out);
    }
    if (w->rank == 0 && !cfg->quiet && !cfg->json)
        w->status_out = out;
    int lrc = loop(w);
    if (lrc)
        fprintf(stderr, "dsend serve: device %d: %s\n", w->rank, dsend_errmsg());
    if (!w->silent)
        serve_sessions_stop(w); /* sessions still live end here (their log lines) */
    serve_stop_all(w);
    if (getenv("DSEND_LOOP_STATS"))
        fprintf(stderr,
                "dsend serve: device %d: %llu RTP packets sent, %llu late, %llu send errors; "
                "loop: %llu turns, "
                "longest turn %.3f ms (without its sleep), %llu wake-ups over 1 ms late (latest "
                "%.3f ms)\n",
                w->rank, (unsigned long long)w->sent_packets, (unsigned long long)w->late,
                (unsigned long long)w->send_errors,
                (unsigned long long)w->turns, (double)w->max_work / 1e6,
                (unsigned long long)w->oversleeps, (double)w->max_oversleep / 1e6);
    uint64_t sum[6] = {0};
    int lost = 0;
    rc = serve_gather(w, res, sum, &lost);
    if (w->coordinator && !cfg->quiet)
        serve_stop_report(w, out, res, sum, lost, stop_signal != 0);
    teardown(w);
    free(w);
    return lrc ? DSEND_EIO : rc;
}
