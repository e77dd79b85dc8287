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
 * simulation) for a whole sub-block while the link has room. */
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
    memset(q, 0, sizeof *q);
}

/* The budget of absolute slot s: a ring of nslots (a power of two) over
 * [first_slot, first_slot + nslots), growing as needed; slots before now
 * are cleared as time passes them. */
static uint64_t *slot(dsend_pacer *q, int64_t s, int64_t now_slot)
{
    if (!q->nslots) {
        q->used = calloc(1024, sizeof *q->used);
        if (!q->used)
            return NULL;
        q->nslots = 1024;
        q->first_slot = now_slot;
    }
    if (now_slot > q->first_slot) {
        int64_t pass = now_slot - q->first_slot;
        if (pass >= q->nslots)
            memset(q->used, 0, q->nslots * sizeof *q->used);
        else
            for (int64_t k = q->first_slot; k < now_slot; k++)
                q->used[k & (q->nslots - 1)] = 0;
        q->first_slot = now_slot;
    }
    if (s < q->first_slot)
        s = q->first_slot;
    if (s - q->first_slot >= q->nslots) {
        uint64_t n = q->nslots;
        while ((int64_t)n <= s - q->first_slot)
            n *= 2;
        uint64_t *u = calloc(n, sizeof *u);
        if (!u)
            return NULL;
        for (int64_t k = q->first_slot; k < q->first_slot + q->nslots; k++)
            u[k & (n - 1)] = q->used[k & (q->nslots - 1)];
        free(q->used);
        q->used = u;
        q->nslots = (uint32_t)n;
    }
    return &q->used[s & (q->nslots - 1)];
}

/* When a packet of `wire` bytes released at `release` leaves; its bytes
 * are charged to the link. */
static int depart(dsend_pacer *q, int64_t now, int64_t release, uint64_t wire, int64_t *out)
{
    int64_t w = q->p->pace_batch, t = release > now ? release : now;
    int64_t now_slot = now / w, s = t / w;
    uint64_t *u = slot(q, s, now_slot);
    if (!u)
        return dsend_seterr(DSEND_ENOMEM, "pacer %d: out of memory for the link's budget",
                            q->device);
    while (*u >= q->slot_bytes) {
        if (!(u = slot(q, ++s, now_slot)))
            return dsend_seterr(DSEND_ENOMEM, "pacer %d: out of memory for the link's budget",
                                q->device);
    }
    *out = s * w > t ? s * w : t;
    /* charge it, spilling what does not fit into the following slots */
    for (uint64_t left = wire; left;) {
        uint64_t room = q->slot_bytes - (*u < q->slot_bytes ? *u : q->slot_bytes);
        uint64_t take = left < room ? left : room;
        *u += take;
        left -= take;
        if (left && !(u = slot(q, ++s, now_slot)))
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

int dsend_pacer_submit(dsend_pacer *q, uint32_t client, uint32_t asset, uint32_t epoch,
                       uint64_t offset, uint32_t len, int64_t deadline, const uint8_t *data,
                       dsend_cached *hold, int missed, int plan_end)
{
    const dsend_core_params *p = q->p;
    const dsend_asset *a = &p->lib->assets[asset];
    int64_t now = q->clock->now(q->clock_ctx);
    uint32_t burst = dsend_burst_packets(a, p->pace_burst);
    dsend_packet_run run = {.bytes = 0};
    int rc = 0;
    int64_t last = 0;
    for (uint64_t o = offset, end = offset + len; o < end;) {
        uint32_t plen = dsend_packet_len(a, o);
        if (o + plen > end)
            plen = (uint32_t)(end - o);
        int64_t release =
            dsend_media_time(a, offset, deadline, dsend_burst_start(a, o, burst)) - p->pace_lead;
        int64_t d;
        uint64_t wire = (uint64_t)plen + DSEND_PKT_OVERHEAD;
        if ((rc = depart(q, now, release, wire, &d)))
            return rc;
        if (d > release && d > now)
            q->delayed++;
        if (missed && d > release) { /* its block was being read when it was due */
            q->miss_delayed++;
            q->miss_late += d > release + p->pace_lead;
        }
        /* one run while its bursts leave exactly a burst's media time apart
         * (to the ns of rounding) */
        int64_t off_run = run.bytes ? d - dsend_run_depart(a, run.offset, run.depart, burst, o) : 0;
        if (run.bytes && (off_run < -1 || off_run > 1) && (rc = emit_run(q, &run)))
            return rc;
        if (!run.bytes)
            run = (dsend_packet_run){.client = client, .asset = asset, .epoch = epoch,
                                     .device = (uint32_t)q->device, .offset = o, .depart = d,
                                     .burst = burst, .hold = hold,
                                     .data = data ? data + (o - offset) : NULL};
        run.bytes += plen;
        q->packets++;
        q->wire_bytes += wire;
        q->bytes += plen;
        if (q->account)
            q->account(q->account_ctx, d, wire, q->queue ? *q->queue : 0);
        last = d;
        o += plen;
    }
    if ((rc = emit_run(q, &run)))
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
    uint64_t total = 0;
    for (int64_t s = s0; q->nslots && s < s1; s++)
        if (s >= q->first_slot && s < q->first_slot + (int64_t)q->nslots)
            total += q->used[s & (q->nslots - 1)];
    /* the pacer never puts more on the link than it carries: what does not
     * fit waits for later slots, so a window near full means the link
     * accepts what is committed and nothing more on time: the threshold is
     * the last deadline the window covers */
    return total * 50 >= (uint64_t)(s1 - s0) * q->slot_bytes * 49 ? now + span + p->pace_lead
                                                                    : INT64_MAX;
}
