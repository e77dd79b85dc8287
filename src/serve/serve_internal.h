/* Internal to `dsend serve`: the per-rank runtime that the wall clock, the
 * MPI control channel, the UDP emit backend and the RTSP front work on.
 * Each concept has its file: loop.c (set-up, the event loop with timers,
 * stop), clock_wall.c, transport_mpi.c, emit_udp.c, rtsp_conn.c
 * (connections), front.c (redirects), session.c, rtsp_methods.c (one
 * handler per method), rtsp_parse.c. */
#ifndef DSEND_SERVE_INTERNAL_H
#define DSEND_SERVE_INTERNAL_H

#include <mpi.h>
#include <netinet/in.h>
#include <stdint.h>

#include "dsend/core.h"
#include "dsend/rtsp.h"
#include "dsend/series.h"
#include "dsend/serve.h"
#include "util/netaddr.h"

enum { TAG_REQUESTS = 11, TAG_PEER = 12, TAG_STOP = 13, TAG_STATS = 14, TAG_HEARTBEAT = 15,
       TAG_BACKUP = 16, TAG_SURVIVORS = 17, TAG_OPS = 18 };
enum { S_READY = 1, S_PLAYING, S_PAUSED };

#define CONN_BUF DSEND_RTSP_MAX_REQUEST
#define MAX_CONNS 16384    /* the ceiling of --max-conns */

typedef struct conn {
    int fd;
    int front;             /* accepted on the front port */
    int watched;           /* in the loop's epoll set */
    dsend_netaddr peer;    /* the client's address and port */
    uint32_t nsessions;    /* sessions it owns: it is never evicted, nor idle */
    int64_t active_at;     /* accepted, or its last whole request (ns) */
    int64_t partial_at;    /* the first byte of the request coming in (ns) */
    int closing;           /* answered an error: nothing more is parsed; closed once
                            * the answer is out and the peer has closed, or at a deadline */
    int64_t closing_at;
    char in[CONN_BUF];
    size_t nin;
    char *out;
    size_t nout, outcap;
} conn;

typedef struct session {
    int used;
    char id[32];           /* the secret (22 letters and digits), '-', the client id in hex */
    int state;
    uint32_t asset;
    dsend_netaddr addr;    /* the address that set it up (its port aside) */
    conn *owner;           /* the connection that set it up (NULL once it closed, or
                            * taken over from a dead device): it obeys that one only */
    int64_t last_seen;
    dsend_peer peer;
} session;

typedef struct outbuf {
    dsend_send_request *v;
    size_t n, cap;
} outbuf;

/* A committed run in the transmit queue: its next burst and when it leaves. */
typedef struct txrun {
    int64_t next_at;
    uint64_t next;
    int32_t link;          /* the next entry of its slot (or of the free list); -1: none */
    dsend_packet_run run;
} txrun;

/* The transmit queue (txwheel.c): a timing wheel of slots `width` ns wide. */
typedef struct txwheel {
    txrun *pool;
    uint32_t cap;
    int32_t free_head;
    int32_t *head, *tail;  /* per slot: its entries, in the order they came */
    uint64_t *bits;        /* slots not empty */
    uint32_t nslots;       /* a power of two, >= 64 */
    int64_t base;          /* absolute slot sent next; none before it */
    int64_t width;
    uint32_t count;        /* entries in slots */
    int32_t *due;          /* txwheel_take's answer */
    uint32_t ndue, capdue;
} txwheel;

int txwheel_init(txwheel *q, int64_t width);
void txwheel_free(txwheel *q);
/* A new entry, in the slot of t->next_at. */
int txwheel_add(txwheel *q, const txrun *t);
/* Entry i (taken) back in, in the slot of its next_at. */
int txwheel_insert(txwheel *q, int32_t i);
void txwheel_release(txwheel *q, int32_t i);
/* Every entry due by `now` (its slot has begun) into q->due, taken out. */
int txwheel_take(txwheel *q, int64_t now);
/* Start of the first slot with an entry; INT64_MAX: none. */
int64_t txwheel_next(const txwheel *q);
void txwheel_clear(txwheel *q);

/* One sendmmsg's messages (emit_udp.c) */
typedef struct udp_batch udp_batch;

typedef struct serve_reader serve_reader;

/* A device's figures while serving, sent to rank 0 every second (or every
 * --status-interval, if shorter) for --metrics and the status line
 * (metrics.c).  Counters since the start; levels now. */
typedef struct serve_ops_row {
    int64_t at;                    /* serve_now when taken */
    uint64_t sessions, sessions_total;
    uint64_t packets, bytes;       /* RTP packets and their bytes, sent */
    uint64_t not_sent, late, send_errors;
    uint64_t wire_bytes;           /* with RTP/UDP/IP headers */
    uint64_t window_wire_bytes;    /* of them, since the row before */
    int64_t window_ns;             /* the time since the row before */
    uint64_t queue, max_queue;     /* the sender's send requests: now, most at once */
    uint64_t admitted, refused;    /* streams */
    uint64_t cache_hits, cache_misses, storage_bytes;
    uint64_t failovers, takeovers;
} serve_ops_row;

typedef struct serve_ops serve_ops;

typedef struct pending_send {
    MPI_Request req;
    void *buf;
} pending_send;


typedef struct serve_world {
    MPI_Comm comm;
    int rank, size;
    const dsend_serve_config *cfg;
    int64_t t0_ns;
    dsend_library lib;
    dsend_layout layout;
    dsend_store store;
    dsend_core_params params;
    dsend_device dev;
    int64_t timer[DSEND_WAKERS]; /* armed by the clock's wake; INT64_MAX: none */
    int front_fd, rtsp_fd, udp_fd;
    dsend_netaddr host;    /* --rtsp's address (IPv4 or IPv6; 0.0.0.0 or ::, every one of the host's) */
    int udp_family;        /* udp_fd's: --rtsp's (AF_INET6 takes IPv4 clients mapped) */
    /* --data-net: every device's own address in the data network, by
     * device (NULL: all share --rtsp's host) */
    dsend_netaddr *data_addr;
    int epfd;              /* the loop's epoll set: listening sockets, RTSP connections */
    conn *conns[MAX_CONNS];
    int nconns, max_conns; /* max_conns: --max-conns within the open-file limit */
    int64_t next_conn_check;
    session *sessions;
    uint32_t nsessions;    /* in use */
    int64_t next_housekeeping;
    /* MPI */
    outbuf *out;           /* per destination device */
    outbuf local;          /* requests for this device's own sender */
    pending_send *pend;
    size_t npend, cappend;
    uint8_t *stopped;      /* per device: it said so */
    int64_t silent_at;     /* --fail: this device goes silent then (INT64_MAX: never) */
    int silent;
    uint8_t *told_dead;    /* devices whose death was said on stderr */
    uint8_t *survivors;    /* the coordinator's list, if it came while stopping */
    int coordinator;       /* this device gathers the statistics at the stop */
    /* UDP: the transmit queue and one sendmmsg batch */
    txwheel tx;
    int64_t tx_wake;
    udp_batch *batch;
    dsend_packet_run *held; /* runs sent whole whose blocks go after the batch is out */
    uint32_t nheld, capheld;
    int gso;               /* the kernel takes UDP_SEGMENT */
    /* statistics */
    uint32_t next_device;  /* front: arrivals so far */
    uint64_t sent_packets, sent_bytes, send_errors, sessions_total;
    uint64_t not_sent;     /* packets of paused, sought or ended plans, not sent */
    uint64_t late;         /* packets that left more than --pace-batch after their departure */
    /* the loop's own timing (DSEND_LOOP_STATS=1 prints it at the stop) */
    uint64_t turns, oversleeps; /* turns; wake-ups more than 1 ms after the one asked for */
    int64_t max_oversleep, max_work; /* ns: latest wake-up; longest turn without its sleep */
    dsend_series series;   /* wire bytes per --interval */
    serve_reader *reader;  /* below its share: the thread reading blocks (NULL: none) */
    /* operations (metrics.c, session.c) */
    serve_ops *ops;        /* stats rows, the metrics endpoint (rank 0), the status line */
    FILE *status_out;      /* where the status line goes (rank 0) */
    int session_log_fd;    /* --session-log (-1: off) */
} serve_world;

/* wall clock, MPI control channel, UDP emit, block reader: contexts are the world */
extern const dsend_clock dsend_clock_wall;
extern const dsend_ctrl dsend_ctrl_mpi;
extern const dsend_emit dsend_emit_udp;
extern const dsend_storage dsend_storage_reader;

int64_t serve_now(const serve_world *w);

/* transport_mpi.c */
int serve_mpi_flush(serve_world *w);
int serve_mpi_receive(serve_world *w, int *stop);
void serve_mpi_reap(serve_world *w);
int serve_mpi_isend(serve_world *w, const void *data, size_t len, int dest, int tag);
int serve_queue_request(serve_world *w, int device, const dsend_send_request *rq);

/* stop.c */
void serve_stop_all(serve_world *w);
int serve_gather(serve_world *w, dsend_sim_result *res, uint64_t sum[6], int *lost);
/* The coordinator's last word: the totals (and, with --json, every
 * device's figures from res) as a line of text or one JSON object. */
void serve_stop_report(const serve_world *w, FILE *out, const dsend_sim_result *res,
                       const uint64_t sum[6], int lost, int by_signal);

/* reader.c: the thread reading blocks (a device below its share) */
int serve_reader_start(serve_world *w);
int serve_reader_fd(const serve_world *w); /* -1: none; readable when reads finished */
int serve_reader_drain(serve_world *w);    /* hand the finished reads to the device */
void serve_reader_stop(serve_world *w);
/* The cache's series (the pacer's is loop.c's account). */
void serve_cache_account(void *ctx, int64_t at, int what, uint64_t n);

/* emit_udp.c: the devices of a host share one UDP port (SO_REUSEPORT), so a
 * client sees one RTP source however many devices send (collective over
 * comm) */
int serve_udp_open(serve_world *w);
void serve_udp_close(serve_world *w);
/* --fail: what was committed is not sent */
void serve_udp_drop_all(serve_world *w);

/* rtsp_conn.c */
/* The connection limits within the process's open-file limit. */
int serve_conns_init(serve_world *w);
/* Listen on host's address at `port` (`what` names the option in errors);
 * [::] takes IPv4 clients too (dual stack). */
int serve_listen(const dsend_netaddr *host, int port, const char *what, int *fd);
/* The host to name in URLs handed to connection c's client: --advertise, or
 * the address it reached (with --rtsp 0.0.0.0 or [::], whichever of the
 * host's), IPv6 in brackets. */
const char *serve_url_host(const serve_world *w, const conn *c, char *buf, size_t n);
void serve_accept(serve_world *w, int lfd, int front);
void serve_conn_read(serve_world *w, int i);
void serve_conn_flush(serve_world *w, int i);
/* Close connection i; `why` (client-closed, write-failed, bad-request, idle,
 * room, silent, stop) goes to the session log of each session it held. */
void serve_conn_close(serve_world *w, int i, const char *why);
void serve_reply(conn *c, int status, int cseq, const char *headers, const char *body);
/* Deadlines: a request not whole after --request-timeout (408), a
 * connection without a session idle for --conn-timeout, a closing one. */
void serve_conns_housekeeping(serve_world *w, int64_t now);

/* data_net.c: with --data-net, the table of every device's own data
 * address (collective over comm: a device without one fails the start) */
int serve_data_net_open(serve_world *w);
/* where device d listens: its data address, or --rtsp's host */
const dsend_netaddr *serve_listen_addr(const serve_world *w, int device);
/* the host naming device d in a redirect handed to connection c's client:
 * its data address, or serve_url_host */
const char *serve_device_host(const serve_world *w, const conn *c, int device, char *buf,
                              size_t n);

/* front.c, rtsp_methods.c */
void serve_handle_front(serve_world *w, conn *c, const dsend_rtsp_request *r);
void serve_handle_device(serve_world *w, conn *c, const dsend_rtsp_request *r);

/* session.c */
session *serve_session_find(serve_world *w, const char *id);
session *serve_session_new(serve_world *w, conn *c, uint32_t asset, int *status);
/* A session this device's scheduler took over (its owner died): its RTSP
 * control comes here now, through the front. */
int serve_session_adopt(serve_world *w, const dsend_peer *peer);
/* The client id a session id names (-1: not a session id of ours). */
int64_t serve_session_client(const char *id);
/* `reason`: teardown, timeout, stop (logged as its end, if it played). */
void serve_session_end(serve_world *w, session *s, const char *reason);
void serve_sessions_housekeeping(serve_world *w, int64_t now);
/* The session log (--session-log): one key=value line per event of a
 * session that played -- start, seek, resume, pause, takeover, end
 * (`reason`) -- naming its client id, never its secret. */
int serve_session_log_open(serve_world *w);
void serve_session_log(serve_world *w, const session *s, const char *event, const char *reason);
/* A PLAY answered 200: its start, seek (`ranged`) or resume, by the
 * session's state before it. */
void serve_session_played(serve_world *w, const session *s, int ranged);
/* The stop: every session that played ends (logged), the log closes. */
void serve_sessions_stop(serve_world *w);

/* metrics.c: operations.  Every device sends rank 0 its row periodically
 * (never a collective: a device may die); rank 0 keeps the latest of each,
 * answers GET /metrics (--metrics) and prints the status line. */
int serve_ops_open(serve_world *w);
void serve_ops_close(serve_world *w);
void serve_ops_tick(serve_world *w, int64_t now);
/* A row from device `source` (rank 0). */
void serve_ops_row_in(serve_world *w, int source, const void *buf, size_t n);
/* An epoll event on one of the endpoint's descriptors: handled (1), or not its (0). */
int serve_ops_event(serve_world *w, int fd);

#endif
