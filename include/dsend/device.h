/* Scheduler, sender, pacer, and the device that assembles them (included
 * by dsend/core.h, which defines the seams they use). */
#ifndef DSEND_DEVICE_H
#define DSEND_DEVICE_H

#include <stdint.h>

/* ---- health: which devices live, as this device knows it ----
 * Every device sends every other one a heartbeat (with its load report)
 * each --heartbeat; a device not heard for --detect is taken for dead.
 * Its blocks are then asked of their next holder, and the sessions its
 * scheduler owned are taken over by their deputies. */
typedef struct dsend_health {
    int D, self;
    int64_t *heard;        /* ns: last heard from each device */
    int64_t heard_min;     /* at most the earliest of them (live ones): while it is recent,
                            * a heartbeat need not look at every device */
    int64_t *alive_until;  /* a dead device: the last time it surely lived */
    uint8_t *dead;
    dsend_load_report *report;  /* the last report of each device */
    uint32_t ndead;
    int64_t next_beat;     /* DSEND_WAKE_HEALTH's timer; 0: not armed */
    uint64_t failovers;    /* devices this one took for dead */
    uint64_t takeovers;    /* sessions this device's scheduler took over */
} dsend_health;

int dsend_health_init(dsend_health *h, int D, int self);
void dsend_health_free(dsend_health *h);
/* The device that backs up the plan of `client` owned by `owner`: one of
 * the others, spread by client so a dead device's sessions spread over
 * several survivors; -1 if none lives. */
int dsend_health_deputy(const dsend_health *h, uint32_t client, int owner);

/* Backed-up plans this device is deputy for. */
typedef struct dsend_backups {
    dsend_session_plan *v;
    uint32_t n, cap;
} dsend_backups;

/* ---- scheduler: plans every stream of its clients ---- */
#define DSEND_ASKED 8
typedef struct dsend_stream {
    uint32_t client, asset;
    uint64_t from, to;    /* byte range of the current plan [from, to) */
    uint64_t next;        /* first byte not yet requested */
    uint64_t ahead;       /* first byte not yet named by a look-ahead request */
    int64_t play_start;   /* ns: playout time of byte `from` */
    uint32_t epoch;       /* plans so far - 1 */
    int paused;
    uint64_t paused_pos;  /* byte playing when paused */
    int64_t paused_wait;  /* ns of startup still to go when paused */
    /* the device each recent block was asked of (a ring): a failover asks
     * again exactly what went to the dead one (older: every block it holds) */
    struct {
        uint64_t block;
        int32_t device;
        uint32_t epoch;
    } asked[DSEND_ASKED];
    uint32_t nasked;      /* requests so far (the ring's write position) */
} dsend_stream;

typedef struct dsend_scheduler {
    int device;
    const dsend_core_params *p;
    const dsend_clock *clock;
    void *clock_ctx;
    const dsend_ctrl *ctrl;
    void *ctrl_ctx;
    const dsend_health *health;
    dsend_stream *streams;
    uint32_t nstreams, cap;
    int64_t next_tick;    /* DSEND_TIME_INF when idle */
    uint64_t requests;    /* send requests formulated */
    uint64_t lookaheads;  /* look-ahead requests formulated */
    uint64_t admitted, refused;
    uint64_t rerouted;    /* send requests asked again of another holder */
    /* the last count of the playing rate (and of the streams playing or
     * paused): it holds from playing_at until the first counted stream
     * ends (INT64_MIN: a stream changed since) */
    uint64_t playing_bps;
    uint32_t playing_n;
    int64_t playing_at, playing_until;
} dsend_scheduler;

int dsend_scheduler_init(dsend_scheduler *s, int device, const dsend_core_params *p,
                         const dsend_clock *clock, void *clock_ctx, const dsend_ctrl *ctrl,
                         void *ctrl_ctx, const dsend_health *health);
/* A client asks for bytes [from, to) of an asset; playout of `from`
 * (rounded down to a sub-block, *from) starts `startup` from now. */
int dsend_scheduler_start(dsend_scheduler *s, uint32_t client, uint32_t asset, uint64_t *from,
                          uint64_t to);
/* A planning round: send requests for every block whose request time has come. */
int dsend_scheduler_tick(dsend_scheduler *s);
/* The client pauses.  What the pacers have not released yet is dropped (a
 * new epoch, *epoch); *resume_at is where the stream will go on: the
 * sub-block holding the first packet not released by now. */
int dsend_scheduler_pause(dsend_scheduler *s, uint32_t client, uint64_t *resume_at,
                          uint32_t *epoch);
/* The client resumes: playout goes on from where it stopped; the plan
 * requests from *resume_at on. */
int dsend_scheduler_resume(dsend_scheduler *s, uint32_t client, uint64_t *resume_at,
                           uint32_t *epoch);
/* The client seeks: a new plan (*epoch) plays from `offset` (rounded down
 * to a sub-block, *from) after the startup delay. */
int dsend_scheduler_seek(dsend_scheduler *s, uint32_t client, uint64_t offset, uint64_t *from,
                         uint32_t *epoch);
/* Failover: the sub-blocks of every stream asked of `dead` that may not
 * have left by the time it was last known alive (`alive`) are asked of
 * another holder. */
int dsend_scheduler_reroute(dsend_scheduler *s, int dead, int64_t alive);
/* Take over a stream from a backed-up plan whose owner died (last known
 * alive at `alive`): what the owner surely asked for is left to the
 * senders; the rest is asked from here on. */
int dsend_scheduler_adopt(dsend_scheduler *s, const dsend_session_plan *plan, int64_t alive);
/* The plan of a stream, to back up. */
int dsend_scheduler_plan(const dsend_scheduler *s, uint32_t client, dsend_session_plan *plan);
/* Media bits/s of the streams playing now. */
uint64_t dsend_scheduler_playing_bps(dsend_scheduler *s);
/* Streams playing or paused now (not yet at their plan's end). */
uint32_t dsend_scheduler_active(dsend_scheduler *s);
/* The client is gone (teardown): its stream is forgotten. */
int dsend_scheduler_stop(dsend_scheduler *s, uint32_t client);
const dsend_stream *dsend_scheduler_stream(const dsend_scheduler *s, uint32_t client);
void dsend_scheduler_free(dsend_scheduler *s);

/* ---- pacer: decides when every packet leaves, the same in both worlds.
 * A sub-block handed over by the sender is committed at once: each of its
 * packets leaves at its playout time minus pace_lead, unless the device's
 * link (--nic, in wire bytes) has no room left in that pace_batch-long
 * slot, in which case it leaves at the start of the first slot that has.
 * The emit backend then realises the committed departures (sim: event
 * timestamps; serve: a transmit queue sending each packet at its time). */
#define DSEND_PACER_GROUP 64
typedef struct dsend_pacer {
    int device;
    const dsend_core_params *p;
    const dsend_clock *clock;
    void *clock_ctx;
    const dsend_emit *emit;
    void *emit_ctx;
    uint64_t slot_bytes;  /* the link's wire bytes per slot */
    int64_t first_slot;   /* absolute slot number of used[0] */
    uint64_t *used;       /* wire bytes committed per slot, a window of nslots */
    uint64_t *group;      /* ... and per group of DSEND_PACER_GROUP slots (the threshold's sums) */
    uint64_t committed;   /* ... and in the whole ring */
    int64_t full_lo, full_hi; /* slots [full_lo, full_hi) are full (depart skips them) */
    uint32_t nslots;
    uint64_t packets, wire_bytes, bytes;
    uint64_t delayed;     /* packets that waited for room on the link */
    uint64_t miss_delayed, miss_late; /* packets of sub-blocks that waited for their block to
                                       * be read: leaving after their release; after their
                                       * playout time (late by the plan) */
    /* optional accounting: wire bytes leaving at a time, with the sender's
     * queue then (time series) */
    void (*account)(void *ctx, int64_t at, uint64_t wire_bytes, uint32_t queue);
    void *account_ctx;
    int64_t account_interval; /* > 0: account once per interval of departures a sub-block
                               * spans (at its first departure in it), not per packet */
    const uint32_t *queue;  /* the sender's queue length */
    /* one burst's media time, carried forward burst by burst: step_bytes x
     * 8e9 = step_bps x step_q + step_r (kept for the last asset's rate) */
    uint64_t step_bps, step_bytes, step_q, step_r;
} dsend_pacer;

int dsend_pacer_init(dsend_pacer *q, int device, const dsend_core_params *p,
                     const dsend_clock *clock, void *clock_ctx, const dsend_emit *emit,
                     void *emit_ctx);
/* A sub-block, from the sender: [offset, offset + len) playing at deadline.
 * Its bytes (NULL: synthetic) are in the cached block `hold` (NULL: none),
 * held by every run until the emit backend releases it; `missed`: it
 * waited for its block to be read (its packets' delays are counted). */
int dsend_pacer_submit(dsend_pacer *q, uint32_t client, uint32_t asset, uint32_t epoch,
                       uint64_t offset, uint32_t len, int64_t deadline, const uint8_t *data,
                       dsend_cached *hold, int missed, int plan_end);
/* The client's plan changed (a pause, seek or end): packets of older epochs
 * committed to leave from now on are not sent. */
int dsend_pacer_cancel(dsend_pacer *q, uint32_t client, uint32_t epoch);
/* The link's threshold priority over what is committed (the next lead -
 * pace_lead): sub-blocks are taken by priority (deadline first) while the
 * link has room, so a full window means nothing due after it is taken on
 * time (the window's last deadline); INT64_MAX: room. */
int64_t dsend_pacer_threshold(const dsend_pacer *q);
void dsend_pacer_free(dsend_pacer *q);

/* ---- sender: ranks the requests of all schedulers, earliest deadline
 * first, and hands each sub-block to the pacer send_ahead before its
 * deadline ---- */
/* ---- look-ahead pins: which stream pinned which block on a sender
 * (src/core/lookahead.c) ---- */
typedef struct dsend_la_pin {
    uint32_t asset, epoch;
    uint64_t block;
    int64_t expire;       /* ns: the block's end of playout */
    dsend_cached *blk;
} dsend_la_pin;
typedef struct dsend_la_stream {
    uint32_t client, n, cap;
    dsend_la_pin *v;      /* NULL: an empty slot */
} dsend_la_stream;
typedef struct dsend_la_due {
    int64_t at;
    uint32_t client, asset, epoch, pad_;
    uint64_t block;
} dsend_la_due;
typedef struct dsend_lookaheads {
    dsend_la_stream *slot; /* by client, the streams pinning now */
    uint32_t cap, nstreams;
    dsend_la_due *due;     /* a heap of expiries (entries of pins gone since are skipped) */
    uint32_t ndue, capdue;
    uint64_t pins;
} dsend_lookaheads;
/* A look-ahead request: pin its block (reading it if absent, for `need`)
 * until `expire`. */
int dsend_lookahead_add(dsend_lookaheads *t, dsend_cache *c, const dsend_send_request *rq,
                        int64_t need, int64_t expire);
/* The send request for (client, epoch, asset, block) arrived: its pin, if any, goes. */
int dsend_lookahead_take(dsend_lookaheads *t, dsend_cache *c, uint32_t client, uint32_t epoch,
                         uint32_t asset, uint64_t block);
/* The session changed: pins of every other epoch go (all of them if it closed). */
int dsend_lookahead_release(dsend_lookaheads *t, dsend_cache *c, uint32_t client, int open,
                            uint32_t epoch);
/* Pins whose block's playout ended by `now` go. */
int dsend_lookahead_expire(dsend_lookaheads *t, dsend_cache *c, int64_t now);
/* The next expiry (INT64_MAX: none). */
int64_t dsend_lookahead_next(dsend_lookaheads *t);
void dsend_lookahead_free(dsend_lookaheads *t);

/* ---- sender: ranks the requests of all schedulers, earliest deadline
 * first, and hands each sub-block to the pacer send_ahead before its
 * deadline.  A request pins its block in the cache; one whose block is not
 * in RAM when due waits for it (blocked) and goes on when it is read. ---- */
typedef struct dsend_pending {
    dsend_send_request rq;
    uint32_t next_sub;    /* next sub-block to send */
    int waited;           /* its block was not in RAM when it was due */
    int64_t next_deadline;
    dsend_cached *blk;    /* its block, pinned (NULL: a resident cache) */
    uint64_t peers_gen;   /* the sessions' generation (dsend_peers) when it was last found
                           * current (0: never): unchanged since, it still is */
} dsend_pending;

/* The EDF heap holds small keys of the pending requests, which stay put in
 * a pool: a sift moves 24 bytes a level, not a whole request, and a heap
 * of thousands (a device whose link is oversubscribed) stays in cache. */
typedef struct dsend_pending_key {
    int64_t deadline;     /* its next sub-block's (the pool entry's next_deadline) */
    uint64_t tie;         /* priority << 32 | client: the order's next two keys */
    uint32_t slot;        /* the request in the pool */
} dsend_pending_key;

typedef struct dsend_sender {
    int device;
    const dsend_core_params *p;
    dsend_cache *cache;
    const dsend_peers *peers;
    dsend_pacer *pacer;
    const dsend_clock *clock;
    void *clock_ctx;
    dsend_pending_key *heap; /* EDF, over the pool */
    uint32_t n, cap;      /* keys in the heap; room in heap, pool and free */
    dsend_pending *pool;  /* the requests in the heap, by slot */
    uint32_t *free;       /* free slots of the pool, a stack of nfree */
    uint32_t nfree;
    dsend_pending *blocked; /* due, waiting for their block to be read */
    uint32_t nblocked, capblocked;
    dsend_lookaheads la;
    int64_t wake_at;      /* the timer asked for, or -1 */
    uint64_t sub_blocks, bytes, requests, stale, max_queue;
    uint64_t lookaheads;  /* look-ahead requests received */
    uint64_t waits;       /* send requests due before their block was in RAM */
    uint64_t failed;      /* send requests dropped: their block could not be read */
} dsend_sender;

int dsend_sender_init(dsend_sender *s, int device, const dsend_core_params *p,
                      dsend_cache *cache, const dsend_peers *peers, dsend_pacer *pacer,
                      const dsend_clock *clock, void *clock_ctx);
/* A send request, or a look-ahead request (DSEND_RQ_LOOKAHEAD). */
int dsend_sender_submit(dsend_sender *s, const dsend_send_request *rq);
/* A block was read (or failed, e->state): the requests waiting for it go on. */
int dsend_sender_loaded(dsend_sender *s, dsend_cached *e);
/* A session's new state (epoch, or closed): its look-ahead pins of other
 * epochs go, and so do its blocked requests of older plans. */
int dsend_sender_session(dsend_sender *s, uint32_t client, int open, uint32_t epoch);

/* Hand over every sub-block due; arm the timer for the next. */
int dsend_sender_run(dsend_sender *s);
void dsend_sender_free(dsend_sender *s);

/* ---- the device: one scheduler, one sender, one pacer, the sessions it
 * knows, and the three seams.  Both worlds drive it only through these
 * calls. ---- */
typedef struct dsend_device {
    int id;
    const dsend_core_params *p;
    const dsend_ctrl *ctrl;
    void *ctrl_ctx;
    dsend_peers peers;
    dsend_health health;
    dsend_backups backups;
    dsend_scheduler sched;
    dsend_sender sender;
    dsend_pacer pacer;
    dsend_cache cache;
    uint64_t requests_received;
} dsend_device;

/* The fourth seam, storage, reads the blocks a store below its share does
 * not hold (dsend/cache.h). */
int dsend_device_init(dsend_device *d, int id, const dsend_core_params *p,
                      const dsend_store *store, uint32_t expect_sessions,
                      const dsend_clock *clock, void *clock_ctx, const dsend_ctrl *ctrl,
                      void *ctrl_ctx, const dsend_emit *emit, void *emit_ctx,
                      const dsend_storage *storage, void *storage_ctx);
void dsend_device_free(dsend_device *d);

/* The scheduler's side: a session this device's scheduler owns.  `peer`
 * carries the client id, asset and addressing; the device sets its epoch. */
/* DSEND_EBUSY: admission refused the stream (the links have no room). */
int dsend_device_play(dsend_device *d, const dsend_peer *peer, uint64_t *from, uint64_t to);
int dsend_device_pause(dsend_device *d, uint32_t client, uint64_t *resume_at);
int dsend_device_resume(dsend_device *d, uint32_t client, uint64_t *resume_at);
int dsend_device_seek(dsend_device *d, uint32_t client, uint64_t offset, uint64_t *from);
int dsend_device_stop(dsend_device *d, uint32_t client);

/* What arrives through the seams. */
int dsend_device_request(dsend_device *d, const dsend_send_request *rq);
int dsend_device_peer(dsend_device *d, const dsend_peer *peer);
/* Once the backends are in place: arm the heartbeat (every device is
 * taken to live from now). */
int dsend_device_start(dsend_device *d);
/* Arm the heartbeat timer if it is not (a device that was idle has work). */
int dsend_device_arm_beat(dsend_device *d);
/* The heartbeat's timer fired: take the silent for dead, send the report. */
int dsend_device_beat(dsend_device *d);
/* heartbeats modelled (the simulation): heard until told otherwise */
#define DSEND_HEARD_MODELLED (INT64_MAX / 4)
/* Back the plan of a stream of this device's scheduler up on its deputy
 * (or, `forget`, tell the deputy the session ended). */
int dsend_device_send_plan(dsend_device *d, uint32_t client, int forget);
/* A backed-up plan from its owner (or, with DSEND_PLAN_FORGET, its end). */
int dsend_device_backup(dsend_device *d, const dsend_session_plan *plan);
/* Device `from` was heard at `at` (its heartbeat or any message; the
 * simulation models heartbeats: it says once when they stop). */
int dsend_device_heard(dsend_device *d, int from, int64_t at);
/* A device's load report (with its heartbeat). */
int dsend_device_report(dsend_device *d, const dsend_load_report *r);
/* This device's own report now. */
void dsend_device_own_report(dsend_device *d, dsend_load_report *r);
/* The clock's timer of `who`, armed for `at`, fired (a stale one is ignored). */
int dsend_device_wake(dsend_device *d, int who, int64_t at);
/* The storage backend finished reading a block (rc 0, or the read's error). */
int dsend_device_loaded(dsend_device *d, uint32_t asset, uint64_t block, int rc);
/* The emit backend no longer needs a run's bytes (dsend_emit). */
int dsend_device_release(dsend_device *d, const dsend_packet_run *run);


#endif
