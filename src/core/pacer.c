/* The pacer: between the sender and the emit backend, in both worlds.
 *
 * Every packet is released with its burst (dsend_burst_start: --pace-burst
 * of media from a block's start) at the playout time of the burst's first
 * packet minus pace_lead.  The
 * device's link is a budget of wire bytes (payload plus RTP/UDP/IP headers)
 * per slot of pace_batch: a packet leaves at its release when its slot has
 * room, else at the start of the first later slot that has (a packet larger
 * than what is left spills into the next slots, so the rate holds even when
 * a slot is smaller than a packet).  `serve` sends a slot's packets in one
 * batch, so finer timing than a slot is not a property of the link there.
 *
 * A sub-block is committed when the sender hands it over, so its packets'
 * departures are known at once and consecutive bursts leaving exactly one
 * burst's media time apart form one run: one emit call (one event in the
 * simulation) for a whole sub-block while the link has room.  The work is
 * done a burst at a time where that is exact (the whole burst fits the room
 * of its slot), else packet by packet; releases are carried forward from
 * burst to burst, not divided out per packet. */
#include "dsend/core.h"
#include "dsend/error.h"

#include <stdlib.h>
#include <string.h>

int dsend_pacer_init(dsend_pacer *q, int device, const dsend_core_params *p,
                     const dsend_clock *clock, void *clock_ctx, const dsend_emit *emit,
                     void *emit_ctx)
{
    int rc;
    memset(q, 0, sizeof *q);
    if ((rc = dsend_check_clock(clock)) || (rc = dsend_check_emit(emit)))
        return rc;
    q->device = device;
    q->p = p;
    q->clock = clock;
    q->clock_ctx = clock_ctx;
    q->emit = emit;
    q->emit_ctx = emit_ctx;
    q->slot_bytes = (uint64_t)((unsigned __int128)p->nic_bps * (uint64_t)p->pace_batch /
                               8u / 1000000000u);
    if (q->slot_bytes == 0)
        q->slot_bytes = 1;
    return 0;
}

void dsend_pacer_free(dsend_pacer *q)
{
    free(q->used);
    free(q->group);
    memset(q, 0, sizeof *q);
}

/* The budget of absolute slot s: a ring of nslots (a power of two) over
 * [first_slot, first_slot + nslots), growing as needed; slots before now
 * are cleared as time passes them.  Each group of DSEND_PACER_GROUP slots
 * keeps their sum too (group g of the ring holds slots of absolute group
 * s / DSEND_PACER_GROUP), so the threshold adds groups, not slots. */
static int ring_alloc(dsend_pacer *q, uint32_t n)
{
    uint64_t *u = calloc(n, sizeof *u), *g = calloc(n / DSEND_PACER_GROUP, sizeof *g);
    if (!u || !g) {
        free(u);
        free(g);
        return -1;
    }
    if (q->nslots)
        for (int64_t k = q->first_slot; k < q->first_slot + q->nslots; k++) {
            uint64_t v = q->used[k & (q->nslots - 1)];
            u[k & (n - 1)] = v;
            g[(k / DSEND_PACER_GROUP) & (n / DSEND_PACER_GROUP - 1)] += v;
        }
    free(q->used);
    free(q->group);
    q->used = u;
    q->group = g;
    q->nslots = n;
    return 0;
}

static void charge(dsend_pacer *q, int64_t s, uint64_t bytes)
{
    q->committed += bytes;
    q->used[s & (q->nslots - 1)] += bytes;
    q->group[(s / DSEND_PACER_GROUP) & (q->nslots / DSEND_PACER_GROUP - 1)] += bytes;
}

/* Time has passed now_slot: the slots before it are free again. */
static int ring_at(dsend_pacer *q, int64_t now_slot)
{
    if (!q->nslots) {
        if (ring_alloc(q, 1024))
            return -1;
        q->first_slot = now_slot;
    }
    if (now_slot > q->first_slot) {
        int64_t pass = now_slot - q->first_slot;
        if (pass >= q->nslots) {
            q->committed = 0;
            memset(q->used, 0, q->nslots * sizeof *q->used);
            memset(q->group, 0, q->nslots / DSEND_PACER_GROUP * sizeof *q->group);
        } else {
            for (int64_t k = q->first_slot; k < now_slot; k++) {
                uint64_t *u = &q->used[k & (q->nslots - 1)];
                q->group[(k / DSEND_PACER_GROUP) & (q->nslots / DSEND_PACER_GROUP - 1)] -= *u;
                q->committed -= *u;
                *u = 0;
            }
        }
        q->first_slot = now_slot;
    }
    return 0;
}

/* The used bytes of slot s (>= first_slot), the ring grown to hold it. */
static uint64_t *slot(dsend_pacer *q, int64_t s)
{
    if (s - q->first_slot >= q->nslots) {
        uint64_t n = q->nslots;
        while ((int64_t)n <= s - q->first_slot)
            n *= 2;
        if (n > UINT32_MAX || ring_alloc(q, (uint32_t)n))
            return NULL;
    }
    return &q->used[s & (q->nslots - 1)];
}

/* When a packet of `wire` bytes released at `release` leaves; its bytes
 * are charged to the link. */
static int depart(dsend_pacer *q, int64_t now, int64_t release, uint64_t wire, int64_t *out)
{
    int64_t w = q->p->pace_batch, t = release > now ? release : now;
    int64_t s = t / w, from = s;
    /* a saturated link's backlog is one range of full slots, known: a
     * packet does not walk it (slots fill, and empty only once passed) */
    if (s >= q->full_lo && s < q->full_hi)
        from = s = q->full_hi;
    uint64_t *u = slot(q, s);
    if (!u)
        return dsend_seterr(DSEND_ENOMEM, "pacer %d: out of memory for the link's budget",
                            q->device);
    while (*u >= q->slot_bytes) {
        if (!(u = slot(q, ++s)))
            return dsend_seterr(DSEND_ENOMEM, "pacer %d: out of memory for the link's budget",
                                q->device);
    }
    if (s > from) { /* [from, s) full: the range grows, or the longer is known */
        if (from == q->full_hi)
            q->full_hi = s;
        else if (s - from >= q->full_hi - q->full_lo || q->full_hi <= q->first_slot) {
            q->full_lo = from;
            q->full_hi = s;
        }
    }
    *out = s * w > t ? s * w : t;
    /* charge it, spilling what does not fit into the following slots */
    for (uint64_t left = wire; left;) {
        uint64_t room = q->slot_bytes - (*u < q->slot_bytes ? *u : q->slot_bytes);
        uint64_t take = left < room ? left : room;
        charge(q, s, take);
        left -= take;
        if (left && !(u = slot(q, ++s)))
            return dsend_seterr(DSEND_ENOMEM, "pacer %d: out of memory for the link's budget",
                                q->device);
    }
    return 0;
}

static int emit_run(dsend_pacer *q, dsend_packet_run *run)
{
    if (!run->bytes)
        return 0;
    dsend_cache_hold(run->hold); /* until the emit backend releases the run */
    int rc = q->emit->packets(q->emit_ctx, run);
    run->bytes = 0;
    return rc;
}

/* Wire bytes leaving, for the time series: per packet, or summed over the
 * packets of one interval of departures (account_interval). */
typedef struct pacer_acct {
    int64_t at, lo, hi;
    uint64_t bytes;
    uint32_t queue;
} pacer_acct;

static void acct_flush(dsend_pacer *q, pacer_acct *c)
{
    if (c->bytes)
        q->account(q->account_ctx, c->at, c->bytes, c->queue);
    c->bytes = 0;
}

static void acct_note(dsend_pacer *q, pacer_acct *c, int64_t d, uint64_t wire)
{
    if (!q->account)
        return;
    int64_t I = q->account_interval;
    if (I <= 0) {
        q->account(q->account_ctx, d, wire, c->queue);
        return;
    }
    if (!c->bytes || d < c->lo || d >= c->hi) {
        acct_flush(q, c);
        int64_t i = d < 0 ? 0 : d / I; /* (every time before 0 is interval 0) */
        c->at = d;
        c->lo = i == 0 ? INT64_MIN : i * I;
        c->hi = (i + 1) * I;
    }
    c->bytes += wire;
}

/* floor(x x 8e9 / bps) and its remainder, for carrying forward */
static void media_at(uint64_t x, uint64_t bps, uint64_t *ns, uint64_t *rem)
{
    unsigned __int128 v = (unsigned __int128)x * 8000000000u;
    *ns = (uint64_t)(v / bps);
    *rem = (uint64_t)(v % bps);
}

/* ... one burst further on: an addition, the same answer */
static void media_step(const dsend_pacer *q, uint64_t *ns, uint64_t *rem)
{
    *ns += q->step_q;
    *rem += q->step_r;
    if (*rem >= q->step_bps) {
        *rem -= q->step_bps;
        (*ns)++;
    }
}

/* A sub-block's departures as they are decided: packets of one burst at a
 * time (or one packet, when a burst does not fit its slot whole), gathered
 * into runs and accounted. */
typedef struct pacer_cut {
    dsend_packet_run run;
    uint64_t run_ns, run_rem; /* media time from the run's first burst to the current one */
    int straight;             /* every packet so far left at its release */
    int missed;
    pacer_acct acct;
    int64_t last;
} pacer_cut;

/* Wire bytes of packets [o, end) (k of them, the last maybe short) leaving
 * at d, for the time series: summed into intervals, or per packet. */
static void acct_packets(dsend_pacer *q, pacer_acct *c, int64_t d, uint64_t o, uint64_t end,
                         uint32_t k)
{
    if (!q->account)
        return;
    if (q->account_interval > 0) {
        acct_note(q, c, d, (end - o) + (uint64_t)k * DSEND_PKT_OVERHEAD);
        return;
    }
    for (; o < end; o += DSEND_PKT_PAYLOAD)
        acct_note(q, c, d,
                  (end - o < DSEND_PKT_PAYLOAD ? end - o : DSEND_PKT_PAYLOAD) + DSEND_PKT_OVERHEAD);
}

/* k packets [o, end) of the current burst (released at `release`) leave
 * at d: into the run while its bursts leave exactly a burst's media time
 * apart (to the ns of rounding), else a new run. */
static int leave(dsend_pacer *q, pacer_cut *c, uint64_t o, uint64_t end, uint32_t k, int64_t d,
                 int64_t release, const dsend_packet_run *proto, const uint8_t *data,
                 uint64_t offset)
{
    int rc;
    uint64_t bytes = end - o;
    if (c->missed && d > release) { /* its block was being read when it was due */
        q->miss_delayed += k;
        q->miss_late += d > release + q->p->pace_lead ? k : 0;
    }
    if (d != release)
        c->straight = 0;
    /* while every packet leaves at its release, the run from the
     * sub-block's start is exact by construction (no check needed) */
    if (c->run.bytes && !c->straight) {
        int64_t off_run = d - (c->run.depart + (int64_t)c->run_ns);
        if ((off_run < -1 || off_run > 1) && (rc = emit_run(q, &c->run)))
            return rc;
    }
    if (!c->run.bytes) {
        c->run = *proto;
        c->run.offset = o;
        c->run.depart = d;
        c->run.data = data ? data + (o - offset) : NULL;
        c->run_ns = c->run_rem = 0;
    }
    c->run.bytes += (uint32_t)bytes;
    q->packets += k;
    q->wire_bytes += bytes + (uint64_t)k * DSEND_PKT_OVERHEAD;
    q->bytes += bytes;
    acct_packets(q, &c->acct, d, o, end, k);
    c->last = d;
    return 0;
}

int dsend_pacer_submit(dsend_pacer *q, uint32_t client, uint32_t asset, uint32_t epoch,
                       uint64_t offset, uint32_t len, int64_t deadline, const uint8_t *data,
                       dsend_cached *hold, int missed, int plan_end)
{
    const dsend_core_params *p = q->p;
    const dsend_asset *a = &p->lib->assets[asset];
    int64_t now = q->clock->now(q->clock_ctx), w = p->pace_batch;
    uint32_t burst = dsend_burst_packets(a, p->pace_burst);
    pacer_cut c = {.straight = 1, .missed = missed,
                   .acct = {.queue = q->queue ? *q->queue : 0}};
    const dsend_packet_run proto = {.client = client, .asset = asset, .epoch = epoch,
                                    .device = (uint32_t)q->device, .burst = burst,
                                    .hold = hold};
    int rc = 0;
    if (ring_at(q, now / w))
        return dsend_seterr(DSEND_ENOMEM, "pacer %d: out of memory for the link's budget",
                            q->device);
    /* Bursts count from the block's start, so the first may begin before
     * `offset`; the next ones B bytes apart (one packet apart without
     * bursts).  A burst's packets share its release: the playout time of
     * its first packet minus pace_lead, carried forward burst by burst. */
    uint64_t B = (uint64_t)burst * DSEND_PKT_PAYLOAD;
    uint64_t bs = burst > 1 ? dsend_burst_start(a, offset, burst) : offset;
    if (q->step_bps != a->bitrate_bps || q->step_bytes != B) {
        q->step_bps = a->bitrate_bps;
        q->step_bytes = B;
        media_at(B, a->bitrate_bps, &q->step_q, &q->step_r);
    }
    uint64_t rel_ns = 0, rel_rem = 0; /* media time of bs - offset, for bs >= offset */
    int before = bs < offset;
    int64_t release = deadline - p->pace_lead;
    if (before) {
        release = dsend_media_time(a, offset, deadline, bs) - p->pace_lead;
        media_at(bs + B - offset, a->bitrate_bps, &rel_ns, &rel_rem); /* the next burst's */
    }
    for (uint64_t o = offset, end = offset + len; o < end;) {
        /* the burst's packets from o: those starting before its end */
        uint64_t hi = bs + B < end ? bs + B : end, o2 = o;
        uint32_t k = 0;
        do {
            o2 += DSEND_PKT_PAYLOAD;
            k++;
        } while (o2 < hi);
        uint64_t gend = o2 < end ? o2 : end;
        uint64_t wire = (gend - o) + (uint64_t)k * DSEND_PKT_OVERHEAD;
        int64_t t = release > now ? release : now, s = t / w;
        uint64_t *u = s - q->first_slot < q->nslots ? &q->used[s & (q->nslots - 1)] : NULL;
        if (u && *u + wire <= q->slot_bytes) {
            /* the whole burst fits its slot: it leaves at its release (or
             * now), as each of its packets would one by one */
            charge(q, s, wire);
            if ((rc = leave(q, &c, o, gend, k, t, release, &proto, data, offset)))
                return rc;
            o = gend;
        } else {
            /* packet by packet: some wait for room on the link */
            for (; o < gend;) {
                uint64_t pend = end - o < DSEND_PKT_PAYLOAD ? end : o + DSEND_PKT_PAYLOAD;
                uint64_t pwire = (pend - o) + DSEND_PKT_OVERHEAD;
                int64_t d;
                u = s - q->first_slot < q->nslots ? &q->used[s & (q->nslots - 1)] : NULL;
                if (u && *u + pwire <= q->slot_bytes) {
                    charge(q, s, pwire); /* room in its slot: it leaves at its release (or now) */
                    d = t;
                } else {
                    if ((rc = depart(q, now, release, pwire, &d)))
                        return rc;
                    if (d > release && d > now)
                        q->delayed++;
                }
                if ((rc = leave(q, &c, o, pend, 1, d, release, &proto, data, offset)))
                    return rc;
                o = pend;
            }
        }
        /* the next burst */
        bs += B;
        if (before)
            before = 0;
        else
            media_step(q, &rel_ns, &rel_rem);
        release = deadline + (int64_t)rel_ns - p->pace_lead;
        media_step(q, &c.run_ns, &c.run_rem);
    }
    int64_t last = c.last;
    acct_flush(q, &c.acct);
    if ((rc = emit_run(q, &c.run)))
        return rc;
    if (!plan_end)
        return 0;
    /* after the plan's last packet: at an asset's end, the end-of-stream
     * packet (players emit a PES when the next one starts, so the last frame
     * of an RTP/MP2T stream would be held back forever: it closes every
     * PES, doc/serving.md); then the stream's end (an RTCP BYE in serve) */
    dsend_packet_run m = {.client = client, .asset = asset, .epoch = epoch,
                          .device = (uint32_t)q->device,
                          .offset = dsend_packet_offset(a, dsend_packets_before(a, offset + len)),
                          .flags = DSEND_RUN_PLAN_END, .depart = last, .burst = 1};
    if (offset + len == a->size && a->npes > 0) {
        m.bytes = (a->npes < 7 ? a->npes : 7) * 188u;
        m.flags |= DSEND_RUN_END_MARKER;
        uint64_t wire = (uint64_t)m.bytes + DSEND_PKT_OVERHEAD;
        if ((rc = depart(q, now, last, wire, &m.depart)))
            return rc;
        /* a packet on the wire like the others: counted and accounted */
        q->packets++;
        q->bytes += m.bytes;
        q->wire_bytes += wire;
        if (q->account)
            q->account(q->account_ctx, m.depart, wire, q->queue ? *q->queue : 0);
    }
    return q->emit->packets(q->emit_ctx, &m);
}

int dsend_pacer_cancel(dsend_pacer *q, uint32_t client, uint32_t epoch)
{
    return q->emit->cancel(q->emit_ctx, client, epoch, (uint32_t)q->device,
                           q->clock->now(q->clock_ctx));
}

int64_t dsend_pacer_threshold(const dsend_pacer *q)
{
    const dsend_core_params *p = q->p;
    int64_t now = q->clock->now(q->clock_ctx), w = p->pace_batch;
    /* everything due to leave within lead - pace_lead is committed by now
     * (a sub-block reaches the pacer --lead before its playout) */
    int64_t span = p->send_ahead - p->pace_lead;
    if (span < w)
        span = w;
    int64_t s0 = now / w, s1 = (now + span) / w;
    /* what the whole ring holds is at least what the window holds: far
     * from full, no need to add the window up */
    unsigned __int128 full = (unsigned __int128)(uint64_t)(s1 - s0) * q->slot_bytes * 49;
    if (full <= UINT64_MAX && (unsigned __int128)q->committed * 50 < full)
        return INT64_MAX;
    uint64_t total = 0;
    if (q->nslots) {
        int64_t lo = s0 > q->first_slot ? s0 : q->first_slot;
        int64_t hi = s1 < q->first_slot + (int64_t)q->nslots ? s1 : q->first_slot + q->nslots;
        const int64_t G = DSEND_PACER_GROUP;
        for (int64_t s = lo; s < hi;) {
            if (s % G == 0 && s + G <= hi && s / G > (q->first_slot - 1) / G) {
                /* a whole group inside the window (and none of it before the ring) */
                total += q->group[(s / G) & (q->nslots / G - 1)];
                s += G;
            } else {
                total += q->used[s & (q->nslots - 1)];
                s++;
            }
        }
    }
    /* the pacer never puts more on the link than it carries: what does not
     * fit waits for later slots, so a window near full means the link
     * accepts what is committed and nothing more on time: the threshold is
     * the last deadline the window covers */
    return total * 50 >= (uint64_t)(s1 - s0) * q->slot_bytes * 49 ? now + span + p->pace_lead
                                                                    : INT64_MAX;
}
