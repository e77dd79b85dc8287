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

#include "dsend/cache.h"
#include "dsend/library.h"
#include "dsend/workload.h"

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
    int64_t pace_lead, pace_batch, pace_burst; /* ns: the pacer (both worlds) */
    int64_t prebuffer;           /* ns: a client plays a prebuffer after its first packet */
    uint64_t sub_block;          /* bytes */
    uint64_t nic_bps, client_bps; /* wire bits per second */
    int64_t ctrl_latency, data_latency; /* ns, one way */
    int64_t lookahead;           /* 0: the smallest latency */
    double loss;                 /* probability a packet is lost */
    int64_t jitter;              /* extra delay per packet, uniform in [0, jitter] ns */
    int64_t interval;            /* time-series bucket, ns */
    int64_t until;               /* stop virtual time here; 0: run to the end */
    const char *layout;
    int replicas;
    int64_t heartbeat, detect;   /* ns: failure detection */
    const char *fail, *recover;  /* DEVICE@TIME lists */
    uint64_t ram;                /* bytes of RAM for blocks per device (0: ram_share) */
    double ram_share;            /* of each device's share (both 0: all of it, preloaded) */
    int64_t look_ahead;          /* ns; used only below the share */
    uint64_t disk_bps;           /* mass storage per device: FIFO reads at this rate */
    int64_t disk_latency;        /* ... each after this latency */
    int admission;
    double admit_load;
    uint64_t seed;
    int trace;                   /* keep every sub-block arrival */
    int progress;                /* progress line on stderr (rank 0) */
} dsend_sim_config;

/* Per client, as its meter (include/dsend/meter.h) measured it; the same
 * fields and units (RTP packets) in sim and in `dsend clients`. */
typedef struct dsend_client_stats {
    uint32_t client, asset, scheduler, pad_;
    int64_t request_at;          /* ns: the client asked */
    int64_t startup_ns;          /* request to playout start; -1 if it never started */
    uint64_t expected, received, lost;  /* packets the plans asked for, received, missing */
    uint64_t duplicate, out_of_order, late, crc_errors, bytes;
    uint64_t unexpected;         /* packets no plan asked for */
    uint32_t pauses, seeks;      /* control requests the client made */
    uint32_t senders;            /* distinct senders seen (devices; sockets for dsend clients) */
    uint32_t max_gap_us;         /* longest wait for the next new packet while playing (a
                                  * failover's gap), microseconds */
    int64_t max_lateness;        /* ns: arrival - playout deadline, max over packets */
    int64_t mean_lateness;       /* ns, over packets with a deadline (negative: early) */
    uint32_t underruns;          /* playout stalls */
    uint32_t refused;            /* 1: admission refused the stream (RTSP 453) */
    int64_t stall_ns;
    double jitter_ms;            /* RFC 3550 interarrival jitter, final value */
    double df_ms;                /* RFC 4445 MDI delay factor, max over 1 s intervals */
    double mlr;                  /* RFC 4445 media loss rate, TS packets lost per second */
} dsend_client_stats;

typedef struct dsend_device_stats {
    uint64_t sub_blocks, bytes, requests_received, requests_sent, max_queue;
    uint64_t packets, wire_bytes;  /* paced out, with RTP/UDP/IP headers */
    uint64_t stale;                /* dropped: their plan was paused, sought or ended */
    uint64_t delayed;              /* packets that waited for room on the link (--nic) */
    uint64_t admitted, refused;    /* streams its scheduler admitted, refused */
    uint64_t failovers;            /* devices it took for dead */
    uint64_t takeovers;            /* sessions its scheduler took over from a dead device */
    uint64_t rerouted;             /* send requests it asked again of another holder */
    /* RAM and mass storage (--ram; include/dsend/cache.h) */
    uint64_t ram, share;           /* bytes: its RAM for blocks; its share of the library */
    uint64_t lookaheads;           /* look-ahead requests its scheduler formulated */
    uint64_t cache_hits, cache_misses; /* send requests whose block was in RAM when they came,
                                        * or not */
    uint64_t storage_reads, storage_bytes; /* blocks and bytes read from mass storage */
    uint64_t evictions;            /* blocks evicted to make room */
    uint64_t max_pinned, pinned;   /* blocks with a positive usage counter: most at once; at
                                    * the end */
    uint64_t miss_waits;           /* send requests due before their block was in RAM */
    uint64_t miss_delayed, miss_late; /* their packets leaving after their release; after
                                       * their playout time (late by the plan) */
    uint64_t storage_errors;       /* reads that failed (checksum): their requests dropped */
} dsend_device_stats;

/* Add a device's counters to its row (a device recovered in the model has
 * several lives: counts add up, levels are the last life's, maxima the
 * largest).  The same for sim and serve. */
struct dsend_device;
void dsend_device_stats_add(dsend_device_stats *s, const struct dsend_device *dev);

/* One packet arrival (--trace). */
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
    uint64_t *series_cache[DSEND_CC_N]; /* devices x nintervals, per DSEND_CC_*: what the
                                     * caches did (NULL: every device held its share) */
    double *late_mean_ns;           /* nintervals: mean lateness of packets due then */
    uint64_t *late_count;           /* nintervals: packets due then */
    uint64_t narrivals;
    dsend_arrival_rec *arrivals;    /* --trace, by (client, offset) */
    uint64_t events, windows;       /* summed over ranks */
    /* (sim only; measured, not a result of the model) the least and the
     * most time a rank spent agreeing on windows -- waiting for the others,
     * and taking the events they sent it -- and those ranks: how evenly
     * the mapping loads the ranks */
    double wait_min_s, wait_max_s, run_s; /* run_s: the event loop's, the longest rank's */
    int wait_min_rank, wait_max_rank;
    int64_t sim_end;                /* ns of virtual time reached */
    double wall_seconds;
    /* memory (sim only; not a result of the model: it varies with the rank
     * mapping and the MPI library).  Peak resident set (getrusage) of every
     * rank; what the model added to it: peak - resident set at the run's start,
     * over the device ranks per device and over the client ranks per client;
     * and the fixed size of one device LP and one client LP. */
    uint64_t rss_peak, rss_peak_max;  /* bytes: summed over ranks, the largest rank */
    uint64_t mem_per_device, mem_per_client;
    uint32_t device_lp_bytes, client_lp_bytes;
    const char *kind;               /* "sim" (NULL), "clients" or "serve" (measured) */
    int64_t t0_unix_ns;             /* measured runs: the wall clock (CLOCK_REALTIME) at time 0 */
    const char *not_measured;       /* comma-separated /clients fields a run could not measure */
} dsend_sim_result;

/* The workload part of a sim configuration (dsend clients plays the same). */
dsend_workload_config dsend_sim_workload(const dsend_sim_config *cfg);

/* Collective over comm.  The result is filled on rank 0 only. */
int dsend_sim_run(MPI_Comm comm, const dsend_sim_config *cfg, dsend_sim_result *res);
void dsend_sim_result_free(dsend_sim_result *res);

/* The figures an SLA speaks of. */
typedef struct dsend_sim_figures_t {
    uint32_t clients;
    uint64_t started, lost, refused;
    double refused_pct;    /* clients admission refused, % */
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
