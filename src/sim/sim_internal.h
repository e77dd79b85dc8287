/* Internal to `dsend sim`: events, and the LP states the backends work on. */
#ifndef DSEND_SIM_INTERNAL_H
#define DSEND_SIM_INTERNAL_H

#include "dsend/core.h"
#include "dsend/des.h"
#include "dsend/meter.h"
#include "dsend/series.h"
#include "dsend/units.h"
#include "dsend/sim.h"
#include "dsend/workload.h"

enum sim_event_type {
    EV_START = 1,         /* client -> its scheduler: play asset [from, to) (sent at set-up) */
    EV_SCHED_TICK,        /* the scheduler's timer (self) */
    EV_SENDER_WAKE,       /* the sender's timer (self) */
    EV_EMIT_WAKE,         /* the emit backend's timer (self; unused by `des`) */
    EV_SEND_REQUEST,      /* scheduler -> sender holding the block */
    EV_PEER,              /* scheduler -> every device: a session's new state */
    EV_PACKETS,           /* pacer -> client: a run of packets reaches its access link */
    EV_CANCEL,            /* pacer -> client: packets of older plans from then on are not sent */
    EV_CLIENT_PAUSE,      /* the viewer pauses (self) */
    EV_CLIENT_RESUME,     /* ... and resumes (self) */
    EV_CLIENT_SEEK,       /* the viewer seeks (self) */
    EV_PAUSE,             /* client -> scheduler */
    EV_RESUME,            /* client -> scheduler */
    EV_SEEK,              /* client -> scheduler: play from an offset */
    EV_CTRL_REPLY,        /* scheduler -> client: where the new plan starts */
    EV_HEALTH_WAKE,       /* the heartbeat's timer (self) */
    EV_REPORT,            /* device -> every device: its load report (heartbeats are modelled) */
    EV_BACKUP,            /* scheduler -> deputy: a session's plan */
    EV_DEVICE_FAIL,       /* the device dies (self, --fail) */
    EV_DEVICE_RECOVER,    /* ... and comes back (self, --recover) */
    EV_SILENT,            /* dead device -> every device: its heartbeats stop (the last one's arrival) */
    EV_HELLO,             /* recovered device -> every device: it lives again */
    EV_TAKEOVER,          /* deputy -> client: your scheduler is now this device */
    EV_STORAGE_DONE,      /* a block read from the device's mass storage (self) */
    EV_RUN_SENT,          /* a run's last packet left: its block is no longer held (self) */
};

/* EV_RUN_SENT: the block, and the device's life that held it (a recovery
 * starts a new cache) */
typedef struct ev_run_sent {
    uint32_t asset, life;
    uint64_t block;
} ev_run_sent;
/* EV_CTRL_REPLY's kind for a start admission refused */
enum { SIM_REFUSED = 100 };

typedef struct ev_silent {
    uint32_t device, pad_;
    int64_t heard;          /* when its last heartbeat arrived */
} ev_silent;

/* Control request and reply of a pause, resume or seek. */
typedef struct ev_ctrl {
    uint32_t client, kind;  /* kind: EV_PAUSE, EV_RESUME or EV_SEEK */
    uint64_t offset;        /* seek target */
    uint64_t from;          /* reply: first byte of the new plan (resume or seek) */
} ev_ctrl;

typedef struct ev_start {
    uint32_t client, asset;
    uint64_t from, to;
} ev_start;

/* A run of packets on its way (dsend_packet_run without the pointer). */
typedef struct ev_packets {
    uint32_t client, asset, epoch, device;
    uint64_t offset;
    uint32_t bytes, flags;
    int64_t depart;
    uint32_t crc32c;        /* of the run's payload: checked end to end */
    uint32_t burst;         /* packets per burst: dsend_run_depart */
} ev_packets;

typedef struct ev_cancel {
    uint32_t client, epoch, device, pad_;
    int64_t from;
} ev_cancel;

/* A packet through the access link, waiting to be metered in arrival order
 * (p.sender is the device that sent it). */
typedef struct arrived {
    dsend_meter_pkt p;
    int64_t sent;
} arrived;

typedef struct sim_world sim_world;

/* A device LP: the shared device, and its time series. */
typedef struct sim_device {
    const sim_world *w;
    dsend_des *des;
    dsend_lp *lp;
    const dsend_sim_config *cfg;
    int D;                          /* devices in the model */
    uint32_t nclients_lp0;          /* LP id of client 0 */
    dsend_device dev;
    dsend_series series;            /* wire bytes by interval of departure */
    uint64_t emitted;               /* emit_null counts here */
    const dsend_store *store;
    uint32_t expect;
    const dsend_core_params *params;
    int down;                       /* failed (--fail) and not recovered */
    int64_t down_at;                /* its next failure, INT64_MAX: none */
    dsend_load_report sent;              /* the last report it sent */
    dsend_device_stats before;      /* counters of its lives before a recovery */
    int64_t disk_free;              /* its mass storage is busy until then (storage_disk.c) */
    uint32_t life;                  /* recoveries so far */
    dsend_block_file *blocks;       /* the rank's handle on the library file (NULL: none) */
} sim_device;

/* A run on its way through the access link: its next packet. */
typedef struct pending_run {
    int64_t next_in;        /* when the next packet reaches the access link */
    uint64_t next;          /* its offset */
    dsend_media_cursor at;  /* media time of next - m.offset */
    ev_packets m;
    int crc_ok;
} pending_run;

/* A client LP: its workload part, the runs on their way, its meter. */
typedef struct sim_client {
    sim_world *w;
    dsend_client_stats st;
    dsend_client_plan plan;
    dsend_meter meter;
    int64_t link_free;      /* its access link */
    int64_t wire_pkt;       /* a full packet's time on it */
    pending_run *runs;      /* a heap by (next_in, device, next) */
    uint32_t nruns, capruns;
    /* the runs' first home, beside the client: the top run is where the
     * client's own lines are (one page, prefetched with them) */
    pending_run run_space[8];
    ev_cancel cancels[16];  /* what devices will not send (runs still on their way) */
    uint32_t ncancels;
    uint32_t awaiting;      /* a control request without reply (resent after a takeover) */
    arrived *in;            /* queued: a heap by arrival (--jitter may reorder) */
    uint32_t nin, capin;
    int queued;             /* --jitter or --trace: every packet waits in the heap */
} sim_client;

/* What the LPs of one rank share. */
struct sim_world {
    const dsend_sim_config *cfg;
    int D, K, Dr, rank, size;   /* devices, client ranks, device ranks */
    dsend_library lib;
    dsend_layout layout;
    dsend_workload wl;
    uint8_t **stored;           /* client ranks: every stored asset's bytes */
    /* client-rank accumulators */
    int64_t *late_sum;          /* exact, so any order of clients sums the same */
    uint64_t *late_n;
    uint32_t nlate;
    int late_oom;
    dsend_arrival_rec *trace;
    uint64_t ntrace, captrace;
    dsend_block_file blocks;    /* device ranks below their share: blocks read on demand */
    int blocks_open;
    int cached;                 /* --ram: devices may hold less than their share */
    sim_device *devs;           /* device ranks: its devices, in id order */
    sim_client *clients;        /* client ranks: its clients, client id / K */
    int ndevs;
    /* --fail and --recover */
    dsend_device_event fails[DSEND_MAX_DEVICE_EVENTS], recovers[DSEND_MAX_DEVICE_EVENTS];
    int nfails, nrecovers;
};

/* sim_config.c: the configuration's checks (one line naming the option) */
int sim_check_config(const dsend_sim_config *cfg, int size);
int sim_parse_failures(const dsend_sim_config *cfg, int D, sim_world *w);
/* The run's output stays proportional to what a user could mean: its time
 * series, over the planned span (planned_end, or --until) and D devices. */
int sim_check_run_size(const dsend_sim_config *cfg, int64_t planned_end, int D);

/* Is device d down at t (failed, not recovered), by the --fail and
 * --recover schedule? */
int sim_device_down(const sim_world *w, int d, int64_t t);
/* When device d next fails at or after t (INT64_MAX: never). */
int64_t sim_device_next_fail(const sim_world *w, int d, int64_t t);

/* An event to every other device (one event per device rank). */
int sim_to_others(sim_device *d, dsend_des *des, dsend_event *ev);
extern const dsend_lptype sim_device_lptype;
extern const dsend_lptype sim_client_lptype;
/* Start fetching the client's lines an event touches (dsend_des_prefetch). */
void sim_client_prefetch(const sim_client *c);
/* Its counters, over every life (a recovery starts a new device). */
void sim_device_stats(const sim_device *d, dsend_device_stats *s);
void sim_device_account(void *ctx, int64_t at, uint64_t wire_bytes, uint32_t queue);
int64_t sim_lookahead(const dsend_event *ev, const void *arg);
/* an event an LP sends itself (a timer) */
int sim_self_event(dsend_des *des, dsend_lp *lp, int64_t ts, uint32_t type);
/* the meter's lateness sink (dsend_meter_late_to) of a client rank */
void sim_late_sink(void *ctx, uint64_t interval, int64_t sum, uint64_t n);
/* deterministic uniform [0, 1) of (seed, a, b) */
double sim_unit(uint64_t seed, uint64_t a, uint64_t b);

/* The device of an LP, with its seams and accounting (at start, and at a
 * recovery). */
int sim_device_init(sim_device *d, int id);

/* storage_disk.c: mass storage, and what the caches did */
extern const dsend_storage sim_storage_disk;
int sim_storage_done(sim_device *d, const dsend_event *ev);
int sim_run_sent(sim_device *d, const dsend_event *ev);
void sim_device_cache_account(void *ctx, int64_t at, int what, uint64_t n);
/* Collective: the caches' series into res (rank 0), devices x res->nintervals. */
int sim_cache_results(MPI_Comm comm, const sim_world *w, const sim_device *devs, int ndev,
                      uint32_t nmax, dsend_sim_result *res);

extern const dsend_clock dsend_clock_virtual;
extern const dsend_ctrl dsend_ctrl_des;
extern const dsend_emit dsend_emit_des;
extern const dsend_emit dsend_emit_null;

#endif
