/* The client meter: one model of a viewer, used by the virtual clients of
 * `dsend sim` and by `dsend clients` alike, packet by packet.
 *
 * A stream is a sequence of plans (PLAY from a position, a resume after a
 * pause, a seek).  Playout starts `prebuffer` after the first packet of a
 * plan that starts afresh (a start or a seek); a resume continues from the
 * buffer at once.  Every packet then has a deadline, its playout time; a
 * packet later than that stalls playout (an underrun) and shifts every
 * later deadline by the stall.  Startup is the time from the request to the
 * start of playout.  Loss is counted against what the plans asked for, so
 * a missing head or tail is loss too.  Jitter is RFC 3550's, the delay
 * factor and media loss rate RFC 4445's, all over RTP packets. */
#ifndef DSEND_METER_H
#define DSEND_METER_H

#include <stddef.h>
#include <stdint.h>

#include "dsend/core.h"
#include "dsend/library.h"
#include "dsend/sim.h"

#define DSEND_METER_PLANS 8

/* Which packets of a plan arrived: a bit per packet, kept only for chunks
 * of DSEND_SEEN_CHUNK packets partly seen (a chunk not yet reached or
 * complete costs nothing), so a long stream arriving in order holds a
 * chunk or two, not a bit per packet of its whole length. */
#define DSEND_SEEN_SHIFT 12
#define DSEND_SEEN_CHUNK (1u << DSEND_SEEN_SHIFT)
typedef struct dsend_seen_chunk {
    uint64_t *bits;        /* NULL: none seen (count 0) or all (count = the chunk's packets) */
    uint32_t count;
} dsend_seen_chunk;

typedef struct dsend_meter_plan {
    uint64_t lo, hi;       /* bytes [lo, hi) asked for; hi shrinks when the plan is cut short */
    uint64_t k0, n;        /* packets [k0, k0 + n) */
    dsend_seen_chunk *seen;
    uint32_t nchunks;
    uint64_t pend_lo, pend_hi; /* packets seen in order, not yet in `seen` (meter.c: seen_flush) */
    int64_t max_k;         /* highest packet received, -1 */
    int afresh;            /* playout waits for the prebuffer */
} dsend_meter_plan;

/* One packet as it arrived. */
typedef struct dsend_meter_pkt {
    uint64_t offset;
    uint32_t len, sender;
    int64_t arrival;
} dsend_meter_pkt;

/* Where packets with a deadline are summed by interval of deadline
 * (optional): sink(ctx, interval index, sum of lateness, packets), called
 * once per run of packets in one interval. */
typedef void (*dsend_meter_late_sink)(void *ctx, uint64_t interval, int64_t sum, uint64_t n);

typedef struct dsend_meter {
    const dsend_asset *a;
    int64_t prebuffer;
    dsend_client_stats *st;
    dsend_meter_plan plan[DSEND_METER_PLANS];
    uint32_t nplans;
    int waiting;           /* for the first packet of an afresh plan */
    int paused;
    int64_t anchor_t;      /* playout: byte anchor_off plays at anchor_t (+ shift) */
    uint64_t anchor_off;
    int64_t shift;         /* stall since the anchor */
    uint64_t paused_off;
    int64_t paused_wait;
    __int128 sum_lateness; /* exact: any order of packets sums the same */
    uint64_t nlateness;
    double jitter;         /* ns */
    int have_prev;
    int64_t prev_arrival, prev_media;
    int64_t first_arrival, df_start;
    double vb_min, vb_max, rx_bytes, rate;
    uint32_t senders[64];  /* distinct senders seen */
    int64_t gap_prev;      /* arrival of the last new packet while playing; -1 after a change */
    int oom;               /* out of memory for a chunk of seen bits: counts not exact */
    int last_timed;        /* the packet just metered had a deadline: */
    int64_t last_deadline, last_lateness;
    /* what the next packet in order is: its offset and index, and the
     * media clock of the stream and of playout at the last one */
    uint64_t next_off, next_k;
    uint32_t last_sender;
    dsend_media_cursor media, play;
    /* lateness by interval of deadline (dsend_meter_late_to) */
    dsend_meter_late_sink late_sink;
    void *late_ctx;
    int64_t late_interval, late_lo, late_hi;
    uint64_t late_i, late_n;
    int64_t late_sum;
} dsend_meter;

/* The results land in *st (its client, asset, request_at are the caller's). */
void dsend_meter_init(dsend_meter *m, const dsend_asset *a, int64_t prebuffer,
                      dsend_client_stats *st);
/* A plan begins: bytes [from, to).  `afresh`: a start or seek (playout
 * waits for the prebuffer); else a resume going on from the buffer.  The
 * previous plan ends at `from` (a resume) or after its last packet
 * received (a seek: what it never sent was not missed). */
int dsend_meter_plan_begin(dsend_meter *m, uint64_t from, uint64_t to, int afresh);
/* The viewer pauses, resumes, or seeks (playout stops until the new plan). */
void dsend_meter_pause(dsend_meter *m, int64_t now);
void dsend_meter_resume(dsend_meter *m, int64_t now);
void dsend_meter_seek(dsend_meter *m, int64_t now);
/* A packet (payload [offset, offset + len)) arrives; `sender` names who sent it. */
void dsend_meter_packet(dsend_meter *m, uint64_t offset, uint32_t len, int64_t arrival,
                        uint32_t sender);
/* n packets, in the order they arrived: the same as one call each (the
 * simulation meters runs of packets this way). */
void dsend_meter_packets(dsend_meter *m, const dsend_meter_pkt *p, size_t n);
/* A run of packets as a pacer sends them (dsend_packet_run) through the
 * client's access link, a FIFO: the packets from `base` leave in bursts
 * of `burst` packets (dsend_burst_start; 1: one by one), every burst
 * reaching the link at once, t0 plus its media time after base's burst;
 * a packet starts on the link when it reached it and the link is free,
 * and takes `delay` there (`delay_last` for a last packet shorter than a
 * full one). */
typedef struct dsend_meter_smooth {
    uint64_t base, end;
    int64_t t0, delay, delay_last;
    int64_t reach_before; /* only packets reaching the link before this, */
    int tie_first;        /* or at it when they pass first */
    uint32_t sender, burst;
} dsend_meter_smooth;
/* Meter the run's packets from *next on, in order, while they reach the
 * link before r->reach_before (or at it, r->tie_first) and arrive by
 * `limit`; *link is when the
 * link is free, and after them, when the last of them arrived; *next and
 * (one packet at a time) `at`, the media time of *next - base, move past
 * them.  The same results as dsend_meter_packets, without its work per
 * packet where a run allows (in order, in the newest plan, none seen
 * before, in one block); returns the packets metered, 0 where the run is
 * not such (the caller meters it packet by packet). */
size_t dsend_meter_run(dsend_meter *m, const dsend_meter_smooth *r, uint64_t *next,
                       dsend_media_cursor *at, int64_t limit, int64_t *link);
/* Sum the lateness of packets with a deadline by `interval` of deadline
 * into `sink` (flushed as the interval changes and at dsend_meter_final). */
void dsend_meter_late_to(dsend_meter *m, int64_t interval, dsend_meter_late_sink sink, void *ctx);
/* Admission refused the stream: no plan, counted as refused. */
void dsend_meter_refused(dsend_meter *m);
/* Close: expected, lost, MLR, DF, jitter into *st. */
void dsend_meter_final(dsend_meter *m);
void dsend_meter_free(dsend_meter *m);

#endif
