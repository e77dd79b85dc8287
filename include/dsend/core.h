/* The device, written once for both worlds: scheduler, sender and pacer.
 *
 * They see the world only through three small interfaces: a clock (what
 * time it is, and a wake-up call), a control channel (deliver a send
 * request to the device holding a block; announce a session's state to
 * every device) and an emit backend (put a run of RTP packets on the wire
 * to their client).  `dsend sim` plugs in a virtual clock and events through
 * the discrete-event core; `dsend serve` the wall clock, MPI messages and
 * UDP.  Everything else -- what is requested when, which sub-block goes
 * first, when every packet leaves -- is this code, in both. */
#ifndef DSEND_CORE_H
#define DSEND_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "dsend/cache.h"
#include "dsend/layout.h"
#include "dsend/library.h"
#include "dsend/loader.h"

/* ---- packets: the unit both worlds send, count and meter ----
 * A sub-block is cut into RTP packets of DSEND_PKT_PAYLOAD bytes from its
 * start (7 TS packets, RFC 2250); sub-blocks are multiples of that size, so
 * packet k of an asset starts at a fixed offset and its RTP sequence number
 * is a function of k in both worlds. */
#define DSEND_PKT_PAYLOAD 1316u
#define DSEND_PKT_OVERHEAD 40u /* on the wire: RTP 12 + UDP 8 + IPv4 20 bytes */

/* Index of the packet starting at `off` (a packet boundary). */
uint64_t dsend_packet_index(const dsend_asset *a, uint64_t off);
/* Byte offset of packet `k`. */
uint64_t dsend_packet_offset(const dsend_asset *a, uint64_t k);
/* Packets starting before byte `off` (any offset). */
uint64_t dsend_packets_before(const dsend_asset *a, uint64_t off);
/* Payload bytes of the packet starting at `off`. */
uint32_t dsend_packet_len(const dsend_asset *a, uint64_t off);

/* ---- bursts: a session's packets leave in bursts of --pace-burst of media
 * (at least one packet), counted from each block's start, so every device
 * holding a block cuts the same bursts and a burst never spans two devices'
 * blocks.  A burst leaves at the playout time of its first packet minus the
 * pace lead: one time for all its packets (one UDP GSO send in serve), and
 * packets of one session from different devices stay in order. */
/* Packets per burst of asset a for a burst of `pace_burst` ns of media. */
uint32_t dsend_burst_packets(const dsend_asset *a, int64_t pace_burst);
/* Offset of the first packet of the burst holding the packet at `off`. */
uint64_t dsend_burst_start(const dsend_asset *a, uint64_t off, uint32_t burst);
/* When the packet at `off` of a run leaves: the run's first packet leaves at
 * `depart`, and every burst one burst's media time after the one before. */
int64_t dsend_run_depart(const dsend_asset *a, uint64_t run_offset, int64_t depart,
                         uint32_t burst, uint64_t off);

/* A scheduler's order to a sender: send sub-blocks [sub_first, sub_first +
 * sub_count) of a block straight to a client. */
typedef struct dsend_send_request {
    uint32_t client;     /* global client id */
    uint32_t asset;
    uint64_t block;
    uint32_t sub_first, sub_count;
    int64_t deadline;    /* ns: playout time of the first byte of sub_first */
    uint32_t priority;   /* after urgency (the deadline): holders of the block that were
                          * alive when it was asked for; fewer ranks higher */
    uint32_t scheduler;  /* device of the scheduler that asked */
    uint32_t epoch;      /* the stream's plan: a pause, resume or seek starts a new one */
    uint32_t last_len;   /* bytes of the last sub-block to send (0: all of it) */
    uint32_t flags;      /* DSEND_RQ_PLAN_END: its last sub-block ends the plan;
                          * DSEND_RQ_LOOKAHEAD: a look-ahead request (nothing to send yet) */
    uint32_t first_skip; /* bytes of sub_first not sent: a plan starting inside it, at the
                          * packet of a random-access point (dsend_stream_start) */
} dsend_send_request;
/* A look-ahead request names a block its stream will need within
 * --look-ahead: the sender pins it (its usage counter goes up) and starts
 * reading it if absent.  The send request for the same (client, epoch,
 * block) takes the pin over; a new epoch or the session's end (announced to
 * every device) releases it, and so does the block's end of playout (a send
 * request that went to another holder). */
enum { DSEND_RQ_PLAN_END = 1, DSEND_RQ_LOOKAHEAD = 2 };

/* What every device knows of a session, announced by its scheduler when it
 * plays, pauses, seeks or ends.  A sender drops work of an older epoch. */
typedef struct dsend_peer {
    uint32_t client;     /* global client id */
    uint32_t asset;
    uint32_t epoch;
    int32_t open;        /* 0: the session ended (forget it) */
    /* where packets go: serve's addressing (the sim leaves it 0) */
    uint16_t rtp_port, rtcp_port; /* network order */
    uint32_t ssrc, seq_base, ts_base;
    /* serve: the session id's 128 random bits, known inside the cluster only
     * (never in an RTP packet), so a deputy that takes the session over
     * knows its owner by it (doc/serving.md#sessions) */
    uint32_t secret[4];
    /* the RTSP peer's own address, network order, IPv4 in its mapped form
     * ::ffff:a.b.c.d (src/util/netaddr.h); serve's only, so it comes last:
     * the sim carries the bytes before it (DSEND_PEER_SIM_BYTES), all zero */
    uint8_t addr[16];
} dsend_peer;
#define DSEND_PEER_SIM_BYTES offsetof(dsend_peer, addr)

/* What the pacer hands the emit backend: `bytes` of an asset from
 * `offset`, cut into packets as above, all for one client and plan.  The
 * first packet leaves at `depart`; packet at offset o leaves at
 * dsend_run_depart(a, offset, depart, burst, o) (within 1 ns of rounding): a
 * run is as smooth as the stream's bursts, so one run stands for many
 * packets, exactly. */
/* DSEND_RUN_PLAN_END: the run after a plan's last packet (an RTCP BYE goes
 * after it); with DSEND_RUN_END_MARKER its bytes are the end-of-stream
 * packet that closes every PES of an asset's end (doc/serving.md). */
enum { DSEND_RUN_END_MARKER = 1, DSEND_RUN_PLAN_END = 2 };
typedef struct dsend_packet_run {
    uint32_t client, asset, epoch, device;
    uint64_t offset;
    uint32_t bytes;
    uint32_t flags;        /* DSEND_RUN_* */
    int64_t depart;        /* ns */
    uint32_t burst;        /* packets per burst (dsend_burst_packets) */
    const uint8_t *data;   /* the payload in RAM (stored assets), NULL if synthetic */
    dsend_cached *hold;    /* the cached block `data` is in (NULL: none); see dsend_emit */
} dsend_packet_run;

/* A session's plan as its scheduler holds it, backed up on one other
 * device (its deputy), which takes the session over if the scheduler's
 * device dies.  Fits one simulation event. */
enum { DSEND_PLAN_PAUSED = 1, DSEND_PLAN_FORGET = 2 };
typedef struct dsend_session_plan {
    uint32_t client, asset, epoch;
    uint16_t owner;      /* device of the scheduler */
    uint16_t flags;      /* DSEND_PLAN_* */
    uint64_t from, to;   /* the current plan's byte range */
    int64_t play_start;  /* ns: playout of `from` */
    uint64_t paused_pos; /* paused: the byte playing when paused */
    int64_t paused_wait; /* paused: ns of startup still to go */
} dsend_session_plan;

/* What a device tells every other device each heartbeat: that it lives,
 * and its sender's load (dsend/device.h: threshold priorities). */
typedef struct dsend_load_report {
    uint32_t device, pad_;
    int64_t threshold;     /* deadline of the last sub-block its link accepts in that
                            * window; INT64_MAX: it accepts everything */
    uint64_t admitted_bps; /* media bits/s of the streams its scheduler admitted */
} dsend_load_report;

/* ---- the three seams ---- */
typedef struct dsend_clock {
    const char *name;
    int64_t (*now)(void *ctx);
    /* arm the timer of `who` (one per component) for `at`; the backend
     * calls dsend_device_wake(dev, who, at) then */
    int (*wake)(void *ctx, int who, int64_t at);
} dsend_clock;
enum { DSEND_WAKE_SCHEDULER = 0, DSEND_WAKE_SENDER = 1, DSEND_WAKE_EMIT = 2,
       DSEND_WAKE_HEALTH = 3, DSEND_WAKERS = 4 };

typedef struct dsend_ctrl {
    const char *name;
    int (*send_request)(void *ctx, int device, const dsend_send_request *rq);
    /* tell every other device (this one already knows) */
    int (*announce)(void *ctx, const dsend_peer *peer);
    /* back a session's plan up on its deputy `device` */
    int (*backup)(void *ctx, int device, const dsend_session_plan *plan);
    /* tell every other live device that this one lives, with its load */
    int (*heartbeat)(void *ctx, const dsend_load_report *report);
    /* this device's scheduler took a session over: tell the client where its
     * scheduler is now */
    int (*adopted)(void *ctx, const dsend_peer *peer);
} dsend_ctrl;

typedef struct dsend_emit {
    const char *name;
    /* commit a run: its packets leave at their departures (run->depart >= now).
     * A run that holds a cached block (run->hold) keeps it in RAM until the
     * backend calls dsend_device_release(device, run): at once if it uses
     * the bytes inside this call (sim), after the run's last packet left or
     * was cancelled if it keeps them (serve). */
    int (*packets)(void *ctx, const dsend_packet_run *run);
    /* packets of `client` in epochs before `epoch` that this device committed
     * to leave at `from` or later are not sent */
    int (*cancel)(void *ctx, uint32_t client, uint32_t epoch, uint32_t device, int64_t from);
    /* the timer the backend armed (DSEND_WAKE_EMIT) fired: send what is due */
    int (*transmit)(void *ctx);
} dsend_emit;

/* Refuse a backend with a missing method (never patched at run time). */
int dsend_check_clock(const dsend_clock *c);
int dsend_check_ctrl(const dsend_ctrl *c);
int dsend_check_emit(const dsend_emit *e);

/* Parameters of a device, the same in both worlds (dsend_core_params_check
 * validates them once, with one set of messages). */
typedef struct dsend_core_params {
    const dsend_library *lib;
    const dsend_layout *layout;
    uint64_t sub_block;   /* bytes, a multiple of DSEND_PKT_PAYLOAD */
    int64_t startup;      /* ns from the request reaching the scheduler to playout */
    int64_t lead;         /* ns: send requests leave this long before a block's deadline */
    int64_t tick;         /* ns between scheduler planning rounds */
    uint64_t nic_bps;     /* a device's egress link, in wire bytes */
    int64_t send_ahead;   /* ns: a sub-block goes to the pacer its deadline minus this */
    int64_t pace_lead;    /* ns: a packet leaves its playout time minus this */
    int64_t pace_batch;   /* ns: the link's budget slot; serve sends what is due within it at once */
    int64_t pace_burst;   /* ns of media a session's packets leave together (0: one packet) */
    int64_t heartbeat;    /* ns between a device's heartbeats (and load reports) */
    int64_t detect;       /* ns of silence after which a device is taken for dead */
    int beat_idle;        /* heartbeats while idle too (serve sends them; the simulation
                           * models them, so an idle device needs no timer) */
    int admission;        /* admit a stream only where the links have room */
    double admit_load;    /* ... up to this fraction of the devices' links */
    int64_t look_ahead;   /* ns: look-ahead requests leave this long before a block's
                           * deadline; 0: none (every device holds its share in RAM) */
} dsend_core_params;

/* Bounds of the device's parameters, one set for both worlds: the option
 * table refuses a value outside them (one message per option, the same for
 * sim, plan and serve), dsend_core_params_check from any caller.  They keep
 * a run's memory, time and output proportional to what a user could mean. */
#define DSEND_MS INT64_C(1000000)
#define DSEND_SEC INT64_C(1000000000)
#define DSEND_STARTUP_MIN DSEND_MS
#define DSEND_STARTUP_MAX (3600 * DSEND_SEC)
#define DSEND_LEAD_MIN DSEND_MS
#define DSEND_LEAD_MAX (3600 * DSEND_SEC)
#define DSEND_TICK_MIN INT64_C(1000)
#define DSEND_TICK_MAX (60 * DSEND_SEC)
#define DSEND_PACE_LEAD_MAX (3600 * DSEND_SEC)
#define DSEND_PACE_BATCH_MIN INT64_C(1000)
#define DSEND_PACE_BATCH_MAX DSEND_SEC
#define DSEND_PACE_BURST_MAX DSEND_SEC
#define DSEND_HEARTBEAT_MIN DSEND_MS
#define DSEND_HEARTBEAT_MAX (60 * DSEND_SEC)
#define DSEND_DETECT_MAX (3600 * DSEND_SEC)
#define DSEND_SUB_BLOCK_MAX (INT64_C(64) << 20)
/* a link sends at least one packet a second, at most 10 Tbit/s */
#define DSEND_LINK_MIN_BPS (INT64_C(8) * (DSEND_PKT_PAYLOAD + DSEND_PKT_OVERHEAD))
#define DSEND_LINK_MAX_BPS INT64_C(10000000000000)
/* the time series' bucket (sim and serve) */
#define DSEND_INTERVAL_MIN DSEND_MS
#define DSEND_INTERVAL_MAX (86400 * DSEND_SEC)

/* One line naming the option, or 0. */
int dsend_core_params_check(const dsend_core_params *p);

/* Serialization time of `bytes` on a link of `bps` (rounded up to the ns). */
static inline int64_t dsend_wire_ns(uint64_t bytes, uint64_t bps)
{
    return (int64_t)(((unsigned __int128)bytes * 8u * 1000000000u + bps - 1) / bps);
}

/* floor(x * 8e9 / bitrate): the media time of x bytes, for a count x that
 * mostly grows by one packet at a time (a run of packets, a stream in
 * order): quotient and remainder are carried forward, so the next packet
 * costs an addition, not a division, and the answer is the same. */
typedef struct dsend_media_cursor {
    uint64_t bps, q, r;    /* one packet's media time: bps x q + r = 1316 x 8e9 */
    uint64_t x, ns, rem;   /* x x 8e9 = bps x ns + rem */
    int valid;
} dsend_media_cursor;

static inline void dsend_media_cursor_init(dsend_media_cursor *c, uint64_t bitrate_bps)
{
    unsigned __int128 pkt = (unsigned __int128)DSEND_PKT_PAYLOAD * 8000000000u;
    c->bps = bitrate_bps;
    c->q = (uint64_t)(pkt / bitrate_bps);
    c->r = (uint64_t)(pkt % bitrate_bps);
    c->valid = 0;
}

static inline uint64_t dsend_media_cursor_ns(dsend_media_cursor *c, uint64_t x)
{
    if (c->valid && x == c->x + DSEND_PKT_PAYLOAD) {
        c->ns += c->q;
        c->rem += c->r;
        if (c->rem >= c->bps) {
            c->rem -= c->bps;
            c->ns++;
        }
    } else if (!c->valid || x != c->x) {
        unsigned __int128 p = (unsigned __int128)x * 8000000000u;
        c->ns = (uint64_t)(p / c->bps);
        c->rem = (uint64_t)(p % c->bps);
        c->valid = 1;
    }
    c->x = x;
    return c->ns;
}

/* Playout time of byte `off` of a stream that plays byte `from` at `start`. */
int64_t dsend_media_time(const dsend_asset *a, uint64_t from, int64_t start, uint64_t off);
/* Bytes of media played in `ns` (rounded down). */
uint64_t dsend_media_bytes(const dsend_asset *a, int64_t ns);

/* Where a stream asked to start at byte `off` starts.  An asset with a
 * random-access index starts at the packet holding the last random-access
 * point at or before `off` (at 0 when there is none), so a player's first
 * picture is a keyframe and its first frame at most one GOP before what it
 * asked for; one without (synthetic assets, libraries written before the
 * index) at the sub-block holding `off`.  Both worlds' schedulers start and
 * seek streams here. */
uint64_t dsend_stream_start(const dsend_asset *a, uint64_t off, uint64_t sub_block);

/* Number of sub-blocks of block b of asset a. */
uint32_t dsend_block_subs(const dsend_asset *a, uint64_t b, uint64_t sub_block);

/* ---- peers: the sessions a device knows of ---- */
typedef struct dsend_peers {
    dsend_peer *slot;    /* open addressing by client id */
    uint32_t cap, n;
    uint64_t gen;        /* updates so far, from 1: an answer of dsend_peers_current
                          * holds while it has not moved */
} dsend_peers;
int dsend_peers_init(dsend_peers *t, uint32_t expect);
/* Record an announcement (open: insert or replace; closed: forget). */
int dsend_peers_update(dsend_peers *t, const dsend_peer *p);
const dsend_peer *dsend_peers_find(const dsend_peers *t, uint32_t client);
/* Is work of (client, epoch) still wanted?  A session nobody announced is
 * open at epoch 0 (the sim announces only changes). */
int dsend_peers_current(const dsend_peers *t, uint32_t client, uint32_t epoch);
void dsend_peers_free(dsend_peers *t);

#include "dsend/device.h"

/* Checksum a receiver expects for a payload: CRC32C of its bytes for
 * stored assets (bytes given), of its identity for synthetic ones (whose
 * bytes are a function of that identity). */
uint32_t dsend_payload_crc(const dsend_asset *a, uint64_t offset, uint32_t len,
                           const uint8_t *bytes);

#endif
