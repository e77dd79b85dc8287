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

enum { TAG_REQUESTS = 11, TAG_PEER = 12, TAG_STOP = 13, TAG_STATS = 14, TAG_HEARTBEAT = 15,
       TAG_BACKUP = 16, TAG_SURVIVORS = 17 };
enum { S_READY = 1, S_PLAYING, S_PAUSED };

#define CONN_BUF DSEND_RTSP_MAX_REQUEST
#define MAX_CONNS 4096
#define UDP_BATCH 64

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
    char id[32];           /* 16 hex digits of secret, '-', the client id in hex */
    int state;
    uint32_t asset;
    uint32_t ip;
    int64_t last_seen;
    dsend_peer peer;
} session;

typedef struct outbuf {
    dsend_send_request *v;
    size_t n, cap;
} outbuf;

/* A committed run in the transmit queue: its next packet and when it leaves. */
typedef struct txrun {
    int64_t next_at;
    uint64_t next;
    dsend_packet_run run;
} txrun;

typedef struct serve_reader serve_reader;

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
    conn *conns[MAX_CONNS];
    int nconns;
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
    /* UDP: the transmit queue (a heap by next_at) and one sendmmsg batch */
    txrun *tx;
    size_t ntx, captx, max_tx;
    int64_t tx_wake;
    unsigned char (*pkt)[12 + DSEND_PKT_PAYLOAD];
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_in *to;
    int nbatch;
    /* statistics */
    uint32_t next_device;  /* front: arrivals so far */
    uint64_t sent_packets, sent_bytes, send_errors, unaddressed, cancelled, sessions_total;
    dsend_series series;   /* wire bytes per --interval */
    serve_reader *reader;  /* below its share: the thread reading blocks (NULL: none) */
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

/* reader.c: the thread reading blocks (a device below its share) */
int serve_reader_start(serve_world *w);
int serve_reader_fd(const serve_world *w); /* -1: none; readable when reads finished */
int serve_reader_drain(serve_world *w);    /* hand the finished reads to the device */
void serve_reader_stop(serve_world *w);
/* The cache's series (the pacer's is loop.c's account). */
void serve_cache_account(void *ctx, int64_t at, int what, uint64_t n);

/* emit_udp.c */
int serve_udp_open(serve_world *w);
void serve_udp_close(serve_world *w);

/* rtsp_conn.c */
int serve_listen(const char *host, int port, int *fd);
void serve_accept(serve_world *w, int lfd, int front);
void serve_conn_read(serve_world *w, int i);
void serve_conn_flush(serve_world *w, int i);
void serve_conn_close(serve_world *w, int i);
void serve_reply(conn *c, int status, int cseq, const char *headers, const char *body);

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
void serve_session_end(serve_world *w, session *s);
void serve_sessions_housekeeping(serve_world *w, int64_t now);

#endif
