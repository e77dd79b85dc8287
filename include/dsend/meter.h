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

#include <stdint.h>

#include "dsend/library.h"
#include "dsend/sim.h"

#define DSEND_METER_PLANS 8

typedef struct dsend_meter_plan {
    uint64_t lo, hi;       /* bytes [lo, hi) asked for; hi shrinks when the plan is cut short */
    uint64_t k0, n;        /* packets [k0, k0 + n) */
    uint8_t *seen;         /* a bit per packet */
    int64_t max_k;         /* highest packet received, -1 */
    int afresh;            /* playout waits for the prebuffer */
} dsend_meter_plan;

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
    double sum_lateness;
    uint64_t nlateness;
    double jitter;         /* ns */
    int have_prev;
    int64_t prev_arrival, prev_media;
    int64_t first_arrival, df_start;
    double vb_min, vb_max, rx_bytes;
    uint32_t senders[64];  /* distinct senders seen */
    int64_t gap_prev;      /* arrival of the last new packet while playing; -1 after a change */
    int last_timed;        /* the packet just metered had a deadline: */
    int64_t last_deadline, last_lateness;
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
/* Admission refused the stream: no plan, counted as refused. */
void dsend_meter_refused(dsend_meter *m);
/* Close: expected, lost, MLR, DF, jitter into *st. */
void dsend_meter_final(dsend_meter *m);
void dsend_meter_free(dsend_meter *m);

#endif
