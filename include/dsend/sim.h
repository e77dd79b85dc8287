/* `dsend sim`: the cluster in virtual time.
 *
 * Ranks 0..D-1 are devices (each a scheduler and a sender holding its
 * blocks), ranks D..N-1 host the virtual clients.  Time is virtual and the
 * run deterministic: same library, options and seed, same per-client
 * results, however many client ranks and however loaded the machine. */
#ifndef DSEND_SIM_H
#define DSEND_SIM_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "dsend/library.h"

enum dsend_arrival { DSEND_ARRIVAL_ALL, DSEND_ARRIVAL_STAGGERED, DSEND_ARRIVAL_POISSON };

typedef struct dsend_sim_config {
    const char *library;
    int client_ranks;            /* K */
    int devices;                 /* D device LPs over the N-K device ranks; 0: one per rank */
    int64_t clients;             /* C */
    const char *asset;           /* NULL: Zipf over every asset */
    double zipf;                 /* 0: uniform */
    enum dsend_arrival arrival;
    int64_t arrival_window;      /* staggered: arrivals spread over this, ns */
    double arrival_rate;         /* poisson: clients per second */
    int64_t session_min, session_max; /* ns of media; 0: whole asset */
    double pause_prob;           /* a client pauses once, with this probability */
    int64_t pause_min, pause_max; /* ns the pause lasts, uniform */
    double seek_prob;            /* a client seeks once, with this probability */
    int64_t startup, lead, tick; /* ns */
    uint64_t sub_block;          /* bytes */
    uint64_t nic_bps, client_bps;
    int64_t ctrl_latency, data_latency; /* ns, one way */
    int64_t lookahead;           /* 0: the smallest latency */
    double loss;                 /* probability a sub-block is lost */
    int64_t jitter;              /* extra delay, uniform in [0, jitter] ns */
    int64_t interval;            /* time-series bucket, ns */
    int64_t until;               /* stop virtual time here; 0: run to the end */
    const char *layout;
    int replicas;
    uint64_t seed;
    int trace;                   /* keep every sub-block arrival */
    int progress;                /* progress line on stderr (rank 0) */
} dsend_sim_config;

/* Per client, as the virtual client measured it. */
typedef struct dsend_client_stats {
    uint32_t client, asset, scheduler, pad_;
    int64_t request_at;          /* ns: the client asked */
    int64_t startup_ns;          /* first sub-block arrival - request; -1 if none */
    uint64_t expected, received, lost, duplicate, out_of_order, late, crc_errors, bytes;
    uint32_t pauses, seeks;      /* control requests the client made */
    uint32_t senders, pad3_;     /* distinct sender addresses seen (dsend clients; 0 in sim) */
    int64_t max_lateness;        /* ns: arrival - playout deadline, max over sub-blocks */
    int64_t mean_lateness;       /* ns, over received sub-blocks (negative: early) */
    uint32_t underruns;          /* playout stalls (buffer model) */
    uint32_t pad2_;
    int64_t stall_ns;
    double jitter_ms;            /* RFC 3550 interarrival jitter, final value */
    double df_ms;                /* RFC 4445 MDI delay factor, max over 1 s intervals */
    double mlr;                  /* RFC 4445 media loss rate, TS packets lost per second */
} dsend_client_stats;

typedef struct dsend_device_stats {
    uint64_t sub_blocks, bytes, requests_received, requests_sent, max_queue;
} dsend_device_stats;

/* One sub-block arrival (--trace). */
typedef struct dsend_arrival_rec {
    uint32_t client, asset, device, len;
    uint64_t offset;
    int64_t sent, arrival, deadline;
} dsend_arrival_rec;

typedef struct dsend_sim_result {
    int devices, client_ranks;
    uint32_t nclients;
    dsend_client_stats *clients;    /* by client id */
    dsend_device_stats *devs;       /* by device */
    uint32_t nintervals;
    uint64_t *series_bytes;         /* devices x nintervals: bytes sent */
    uint32_t *series_queue;         /* devices x nintervals: max queue depth */
    double *late_mean_ns;           /* nintervals: mean lateness of sub-blocks due then */
    uint64_t *late_count;           /* nintervals: sub-blocks due then */
    uint64_t narrivals;
    dsend_arrival_rec *arrivals;    /* --trace, by (client, offset) */
    uint64_t events, windows;       /* summed over ranks */
    int64_t sim_end;                /* ns of virtual time reached */
    double wall_seconds;
    const char *kind;               /* "sim" (NULL) or "clients" (measured) */
} dsend_sim_result;

/* Collective over comm.  The result is filled on rank 0 only. */
int dsend_sim_run(MPI_Comm comm, const dsend_sim_config *cfg, dsend_sim_result *res);
void dsend_sim_result_free(dsend_sim_result *res);

/* The figures an SLA speaks of. */
typedef struct dsend_sim_figures_t {
    uint32_t clients;
    uint64_t started, lost;
    double underrun_pct;   /* clients with at least one underrun, % */
    double ontime_pct;     /* received sub-blocks on time, % */
    double startup_p99_ms, df_p99_ms, jitter_p99_ms;
} dsend_sim_figures_t;
void dsend_sim_figures(const dsend_sim_result *r, dsend_sim_figures_t *f);

/* Human summary (and JSON) of a result. */
void dsend_sim_summary(const dsend_sim_config *cfg, const dsend_sim_result *r, FILE *out);
void dsend_sim_json(const dsend_sim_config *cfg, const dsend_sim_result *r, FILE *out);
/* Results file (doc/results-format.md). */
/* config_lines: "name = value" lines, one attribute each under /config. */
int dsend_sim_write(const char *path, const dsend_sim_config *cfg, const dsend_sim_result *r,
                    const char *config_lines, int argc, char **argv, int exit_status);

#endif
