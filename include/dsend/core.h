/* The scheduler and the sender, written once for both worlds.
 *
 * They see the world only through three small interfaces: a clock (what
 * time it is, and a wake-up call), a control channel (deliver a send
 * request to the device holding a block) and an emit backend (put a
 * sub-block on the wire to its client).  `dsend sim` plugs in a virtual
 * clock and events through the discrete-event core; `dsend serve` will plug
 * in the wall clock, MPI messages and UDP. */
#ifndef DSEND_CORE_H
#define DSEND_CORE_H

#include <stdint.h>

#include "dsend/layout.h"
#include "dsend/library.h"
#include "dsend/loader.h"

/* A scheduler's order to a sender: send sub-blocks [sub_first, sub_first +
 * sub_count) of a block straight to a client. */
typedef struct dsend_send_request {
    uint32_t client;     /* global client id */
    uint32_t asset;
    uint64_t block;
    uint32_t sub_first, sub_count;
    int64_t deadline;    /* ns: playout time of the first byte of sub_first */
    uint32_t priority;   /* 0 = normal; later mechanisms rank by it */
    uint32_t scheduler;  /* device of the scheduler that asked */
    uint32_t epoch;      /* the stream's plan: a pause, resume or seek starts a new one */
} dsend_send_request;

/* What arrives at a client: one sub-block, by identity and checksum. */
typedef struct dsend_sub_block {
    uint32_t client;
    uint32_t asset;
    uint64_t offset;     /* byte offset in the asset */
    uint32_t len;
    uint32_t crc32c;     /* of its bytes (stored) or of its identity (synthetic) */
    int64_t deadline;    /* ns: playout time of its first byte */
    int64_t sent;        /* ns: when its first bit left the device */
    uint32_t device;     /* the sender that sent it */
    uint32_t epoch;      /* of the send request */
} dsend_sub_block;

/* ---- the three seams ---- */
typedef struct dsend_clock {
    const char *name;
    int64_t (*now)(void *ctx);
    /* ask to be called back (scheduler or sender) at `at` */
    int (*wake)(void *ctx, int who, int64_t at);
} dsend_clock;
enum { DSEND_WAKE_SCHEDULER = 1, DSEND_WAKE_SENDER = 2 };

typedef struct dsend_ctrl {
    const char *name;
    int (*send_request)(void *ctx, int device, const dsend_send_request *rq);
} dsend_ctrl;

typedef struct dsend_emit {
    const char *name;
    /* put sb on the wire; it takes `wire_ns` of link time starting now */
    int (*sub_block)(void *ctx, const dsend_sub_block *sb, int64_t wire_ns);
} dsend_emit;

extern const dsend_clock dsend_clock_virtual;
extern const dsend_emit dsend_emit_mpi;
extern const dsend_emit dsend_emit_null;
extern const dsend_ctrl dsend_ctrl_des;

/* Refuse a backend with a missing method (never patched at run time). */
int dsend_check_clock(const dsend_clock *c);
int dsend_check_ctrl(const dsend_ctrl *c);
int dsend_check_emit(const dsend_emit *e);

/* Shared parameters of the core. */
typedef struct dsend_core_params {
    const dsend_library *lib;
    const dsend_layout *layout;
    uint64_t sub_block;   /* bytes */
    int64_t startup;      /* ns from the request reaching the scheduler to playout */
    int64_t lead;         /* ns: send requests leave this long before a block's deadline */
    int64_t tick;         /* ns between scheduler planning rounds */
    uint64_t nic_bps;     /* a device's egress link */
    int64_t send_ahead;   /* ns: no sub-block leaves earlier than its deadline minus
                           * this (0: as soon as the link is free) */
} dsend_core_params;

/* Serialization time of `bytes` on a link of `bps` (rounded up to the ns). */
static inline int64_t dsend_wire_ns(uint64_t bytes, uint64_t bps)
{
    return (int64_t)(((unsigned __int128)bytes * 8u * 1000000000u + bps - 1) / bps);
}

/* Playout time of byte `off` of a stream that plays byte `from` at `start`. */
int64_t dsend_media_time(const dsend_asset *a, uint64_t from, int64_t start, uint64_t off);

/* Number of sub-blocks of block b of asset a. */
uint32_t dsend_block_subs(const dsend_asset *a, uint64_t b, uint64_t sub_block);

/* ---- scheduler: plans every stream of its clients ---- */
typedef struct dsend_stream {
    uint32_t client, asset;
    uint64_t from, to;    /* byte range of the current plan [from, to) */
    uint64_t next;        /* first byte not yet requested */
    int64_t play_start;   /* ns: playout time of byte `from` */
    uint32_t epoch;       /* plans so far - 1 */
    int paused;
    uint64_t paused_pos;  /* byte playing when paused */
    int64_t paused_wait;  /* ns of startup still to go when paused */
} dsend_stream;

typedef struct dsend_scheduler {
    int device;
    const dsend_core_params *p;
    const dsend_clock *clock;
    void *clock_ctx;
    const dsend_ctrl *ctrl;
    void *ctrl_ctx;
    dsend_stream *streams;
    uint32_t nstreams, cap;
    int64_t next_tick;    /* DSEND_TIME_INF-like when idle */
    uint64_t requests;    /* send requests formulated */
} dsend_scheduler;

int dsend_scheduler_init(dsend_scheduler *s, int device, const dsend_core_params *p,
                         const dsend_clock *clock, void *clock_ctx, const dsend_ctrl *ctrl,
                         void *ctrl_ctx);
/* A client asks for bytes [from, to) of an asset; playout starts `startup`
 * from now. */
int dsend_scheduler_start(dsend_scheduler *s, uint32_t client, uint32_t asset, uint64_t from,
                          uint64_t to);
/* A planning round: send requests for every block whose request time has come. */
int dsend_scheduler_tick(dsend_scheduler *s);
/* The client pauses: planning stops; *planned_to is the first byte never
 * requested (everything before it is, or will be, sent). */
int dsend_scheduler_pause(dsend_scheduler *s, uint32_t client, uint64_t *planned_to);
/* The client resumes: playout continues where it stopped, planning from
 * *planned_to on, in a new plan (*epoch). */
int dsend_scheduler_resume(dsend_scheduler *s, uint32_t client, uint64_t *planned_to,
                           uint32_t *epoch);
/* The client is gone (teardown): its stream is forgotten. */
int dsend_scheduler_stop(dsend_scheduler *s, uint32_t client);
/* The client seeks: the old plan stops at *planned_to; a new plan (*epoch)
 * plays from `offset` (rounded down to a sub-block) after the startup delay.
 * *from is where it starts. */
int dsend_scheduler_seek(dsend_scheduler *s, uint32_t client, uint64_t offset,
                         uint64_t *planned_to, uint64_t *from, uint32_t *epoch);
void dsend_scheduler_free(dsend_scheduler *s);

/* ---- sender: ranks the requests of all schedulers, earliest deadline first ---- */
typedef struct dsend_pending {
    dsend_send_request rq;
    uint32_t next_sub;    /* next sub-block to send */
} dsend_pending;

typedef struct dsend_sender {
    int device;
    const dsend_core_params *p;
    const dsend_store *store;
    const dsend_clock *clock;
    void *clock_ctx;
    const dsend_emit *emit;
    void *emit_ctx;
    dsend_pending *heap;  /* EDF */
    uint32_t n, cap;
    int64_t link_free;    /* ns: when the egress link is next idle */
    int64_t wake_at;      /* a wake-up already asked for, or -1 */
    uint64_t sub_blocks, bytes, requests, max_queue;
    /* optional accounting hook: bytes sent at a time (time series) */
    void (*account)(void *ctx, int64_t at, uint64_t bytes, uint32_t queue);
    void *account_ctx;
} dsend_sender;

int dsend_sender_init(dsend_sender *s, int device, const dsend_core_params *p,
                      const dsend_store *store, const dsend_clock *clock, void *clock_ctx,
                      const dsend_emit *emit, void *emit_ctx);
int dsend_sender_submit(dsend_sender *s, const dsend_send_request *rq);
/* Send while the link is free; asks the clock for the next wake-up. */
int dsend_sender_run(dsend_sender *s);
void dsend_sender_free(dsend_sender *s);

/* Checksum a receiver expects for a sub-block: CRC32C of its bytes for
 * stored assets (bytes given), of its identity for synthetic ones (whose
 * bytes are a function of that identity). */
uint32_t dsend_sub_block_crc(const dsend_asset *a, uint64_t offset, uint32_t len,
                             const uint8_t *bytes);

#endif
