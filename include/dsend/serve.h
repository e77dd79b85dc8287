/* `dsend serve`: every rank a device (the shared device of dsend/device.h:
 * scheduler, sender, pacer); clients speak RTSP 1.0 and receive MPEG-TS
 * over RTP/UDP straight from every sender. */
#ifndef DSEND_SERVE_H
#define DSEND_SERVE_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "dsend/sim.h"

typedef struct dsend_serve_config {
    const char *library;
    const char *host;          /* front address clients use */
    const char *advertise;     /* host in the URLs handed out; NULL: the address reached */
    int port;                  /* front RTSP port; device d listens on port + 1 + d */
    int udp_port;              /* every device of a host sends RTP from it (shared); 0: any */
    const char *data_net;      /* CIDR: each device's own address there (NULL: --rtsp's host) */
    const char *rtp_source;    /* every device sends RTP from this address (NULL: its own) */
    int64_t startup, lead, tick, pace_lead, pace_batch, pace_burst; /* ns */
    uint64_t sub_block;
    uint64_t nic_bps;          /* wire bits per second, paced */
    int64_t interval;          /* time-series bucket (ns) for the results */
    int64_t session_timeout;   /* ns without a request before a session ends */
    int64_t duration;          /* stop serving after this (ns); 0: until a signal */
    int max_sessions;          /* per device */
    int max_peer_sessions;     /* per client address, per device */
    /* RTSP connections (doc/serving.md#connections) */
    int max_conns;             /* per device */
    int max_peer_conns;        /* without a session, per client address, per device */
    int64_t conn_timeout;      /* ns: a connection without a session or a request is closed */
    int64_t request_timeout;   /* ns: from a request's first byte to its last */
    const char *layout;
    int replicas;
    int64_t heartbeat, detect; /* ns: failure detection */
    const char *fail;          /* DEVICE@TIME list: those devices go silent then */
    int admission;
    double admit_load;
    uint64_t ram;              /* bytes of RAM for blocks per device (0: ram_share) */
    double ram_share;          /* of each device's share (both 0: all of it, preloaded) */
    int64_t look_ahead;        /* ns; used only below the share */
    uint64_t seed;
    /* operations (doc/serving.md#operations) */
    const char *metrics_host;  /* rank 0 answers GET /metrics there (NULL: off) */
    int metrics_port;
    int64_t status_interval;   /* ns between status lines on rank 0 (0: none) */
    const char *session_log;   /* "-": standard error; "off" or NULL: none; else a file */
    int quiet;
    int json;                  /* the final statistics as one JSON object, nothing before */
} dsend_serve_config;

/* --data-net's network: 0, or -1 if cidr is not A.B.C.D/BITS */
struct in_addr;
int dsend_data_net_parse(const char *cidr, struct in_addr *net, struct in_addr *mask);

/* Collective over comm; returns when a signal (SIGINT/SIGTERM) or the
 * duration ends the service, 0 on a clean stop.  `res` (may be NULL) is
 * filled on rank 0 with the server side, kind "serve": per device
 * statistics and time series, no clients (dsend clients measures those). */
int dsend_serve_run(MPI_Comm comm, const dsend_serve_config *cfg, FILE *out,
                    dsend_sim_result *res);

#endif
