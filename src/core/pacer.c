/* The pacer: between the sender and the emit backend, in both worlds.
 *
 * A sub-block handed over by the sender becomes a train of packets; every
 * packet is released at its playout time minus pace_lead and leaves at the
 * later of that and the moment the device's link (--nic, in wire bytes:
 * payload plus RTP/UDP/IP headers) has sent everything before it.  Trains
 * wait in a heap by the release of their next packet, so the link serves
 * packets in playout order.  One round sends what is due within
 * pace_batch of now (serve sleeps between rounds) and asks the clock to
 * wake it for the next. */
#include "dsend/core.h"
#include "dsend/error.h"
#include "util/heap.h"

#include <stdlib.h>
#include <string.h>

int dsend_pacer_init(dsend_pacer *q, int device, const dsend_core_params *p,
                     const dsend_peers *peers, const dsend_clock *clock, void *clock_ctx,
                     const dsend_emit *emit, void *emit_ctx)
{
    int rc;
    memset(q, 0, sizeof *q);
    if ((rc = dsend_check_clock(clock)) || (rc = dsend_check_emit(emit)))
        return rc;
    q->device = device;
    q->p = p;
    q->peers = peers;
    q->clock = clock;
    q->clock_ctx = clock_ctx;
    q->emit = emit;
    q->emit_ctx = emit_ctx;
    q->wake_at = -1;
    return 0;
}

void dsend_pacer_free(dsend_pacer *q)
{
    free(q->heap);
    memset(q, 0, sizeof *q);
}

/* a total order, so equal releases never depend on arrival order */
static int train_before(const dsend_train *x, const dsend_train *y)
{
    if (x->release != y->release)
        return x->release < y->release;
    if (x->client != y->client)
        return x->client < y->client;
    return x->next < y->next;
}

static int64_t release_of(const dsend_pacer *q, const dsend_train *t, uint64_t off)
{
    const dsend_asset *a = &q->p->lib->assets[t->asset];
    return dsend_media_time(a, t->base, t->deadline, off) - q->p->pace_lead;
}

int dsend_pacer_submit(dsend_pacer *q, uint32_t client, uint32_t asset, uint32_t epoch,
                       uint64_t offset, uint32_t len, int64_t deadline, const uint8_t *data)
{
    if (q->n == q->cap) {
        uint32_t cap = q->cap ? 2 * q->cap : 256;
        void *h = realloc(q->heap, cap * sizeof *q->heap);
        if (!h)
            return dsend_seterr(DSEND_ENOMEM, "pacer %d: out of memory for its trains", q->device);
        q->heap = h;
        q->cap = cap;
    }
    const dsend_asset *a = &q->p->lib->assets[asset];
    dsend_train t = {.deadline = deadline, .base = offset, .next = offset, .end = offset + len,
                     .data = data, .client = client, .asset = asset, .epoch = epoch,
                     .marker = offset + len == a->size && a->npes > 0};
    t.release = release_of(q, &t, offset);
    q->heap[q->n++] = t;
    DSEND_HEAP_UP(dsend_train, q->heap, q->n, train_before);
    if (q->n > q->max_trains)
        q->max_trains = q->n;
    return dsend_pacer_run(q);
}

/* Emit the run [run->offset, upto) and account for it. */
static int emit_run(dsend_pacer *q, dsend_packet_run *run)
{
    if (!run->bytes)
        return 0;
    int rc = q->emit->packets(q->emit_ctx, run);
    run->bytes = 0;
    return rc;
}

int dsend_pacer_run(dsend_pacer *q)
{
    const dsend_core_params *p = q->p;
    int64_t now = q->clock->now(q->clock_ctx), horizon = now + p->pace_batch;
    int rc = 0, sent = 0;
    dsend_packet_run run = {.bytes = 0};
    while (q->n) {
        dsend_train *t = &q->heap[0];
        if (!dsend_peers_current(q->peers, t->client, t->epoch)) {
            /* paused, sought or ended since: nothing of it leaves */
            dsend_train gone;
            q->stale += (t->end - t->next + DSEND_PKT_PAYLOAD - 1) / DSEND_PKT_PAYLOAD;
            DSEND_HEAP_POP(dsend_train, q->heap, q->n, &gone, train_before);
            continue;
        }
        int64_t depart = t->release > q->link_free ? t->release : q->link_free;
        if (depart < now)
            depart = now; /* late: it leaves now, never in the past */
        if (depart > horizon)
            break;
        const dsend_asset *a = &p->lib->assets[t->asset];
        uint32_t len = dsend_packet_len(a, t->next);
        if (t->next + len > t->end)
            len = (uint32_t)(t->end - t->next);
        /* one run while the same train keeps the link and its packets leave
         * exactly one packet's media time apart */
        int64_t off_run = run.bytes ? depart - dsend_media_time(a, run.offset, run.depart,
                                                               t->next)
                                    : 0; /* 0, or +-1 ns of rounding */
        if (run.bytes && !(run.client == t->client && run.epoch == t->epoch &&
                           run.offset + run.bytes == t->next && off_run >= -1 && off_run <= 1)) {
            if ((rc = emit_run(q, &run)))
                return rc;
        }
        if (!run.bytes)
            run = (dsend_packet_run){.client = t->client, .asset = t->asset, .epoch = t->epoch,
                                     .device = (uint32_t)q->device, .offset = t->next,
                                     .depart = depart,
                                     .data = t->data ? t->data + (t->next - t->base) : NULL};
        run.bytes += len;
        uint64_t wire = (uint64_t)len + DSEND_PKT_OVERHEAD;
        q->link_free = depart + dsend_wire_ns(wire, p->nic_bps);
        q->packets++;
        q->wire_bytes += wire;
        q->bytes += len;
        if (q->account)
            q->account(q->account_ctx, depart, wire, q->n);
        sent = 1;
        t->next += len;
        if (t->next < t->end) {
            t->release = release_of(q, t, t->next);
            DSEND_HEAP_DOWN(dsend_train, q->heap, q->n, train_before);
            continue;
        }
        dsend_train done;
        DSEND_HEAP_POP(dsend_train, q->heap, q->n, &done, train_before);
        if ((rc = emit_run(q, &run)))
            return rc;
        if (done.marker) {
            /* players emit a PES when the next one starts, so the last frame
             * of an RTP/MP2T stream would be held back forever: one packet
             * closes every PES (doc/serving.md) */
            uint32_t mlen = (a->npes < 7 ? a->npes : 7) * 188u;
            dsend_packet_run m = {.client = done.client, .asset = done.asset,
                                  .epoch = done.epoch, .device = (uint32_t)q->device,
                                  .offset = dsend_packet_offset(a, dsend_packets_before(a, a->size)),
                                  .bytes = mlen, .flags = DSEND_RUN_END_MARKER,
                                  .depart = q->link_free > depart ? q->link_free : depart};
            q->link_free = m.depart + dsend_wire_ns(mlen + DSEND_PKT_OVERHEAD, p->nic_bps);
            q->wire_bytes += mlen + DSEND_PKT_OVERHEAD;
            if ((rc = q->emit->packets(q->emit_ctx, &m)))
                return rc;
        }
    }
    if ((rc = emit_run(q, &run)))
        return rc;
    if (sent && (rc = q->emit->flush(q->emit_ctx)))
        return rc;
    if (q->n) {
        const dsend_train *t = &q->heap[0];
        int64_t due = t->release > q->link_free ? t->release : q->link_free;
        /* wake when it falls within a round's batch */
        int64_t wake = due - p->pace_batch > now ? due - p->pace_batch : now + 1;
        if (wake != q->wake_at) {
            q->wake_at = wake;
            return q->clock->wake(q->clock_ctx, DSEND_WAKE_PACER, wake);
        }
    }
    return 0;
}
