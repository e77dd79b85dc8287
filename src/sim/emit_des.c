/* Emit backend `des`: a committed run of packets goes straight from the
 * sender's device to the LP of its client (never through the scheduler's
 * device) as one event, at the time its first packet reaches the client's
 * access link; the payload's checksum travels with it.  A cancel is an
 * event too, reaching the client when the first packet it stops would
 * have. */
#include "sim/sim_internal.h"

#include <string.h>

static int des_run(sim_device *d, const dsend_packet_run *run)
{
    const dsend_asset *a = &d->dev.p->lib->assets[run->asset];
    if (run->flags & DSEND_RUN_PLAN_END)
        return 0; /* an RTCP BYE and an end-of-stream packet: nothing a virtual client meters */
    /* a device that dies sends nothing from then on (--fail) */
    uint32_t bytes = run->bytes;
    if (d->down_at != INT64_MAX) {
        if (run->depart >= d->down_at)
            return 0;
        uint64_t o = run->offset, end = run->offset + run->bytes;
        while (o < end && dsend_run_depart(a, run->offset, run->depart, run->burst, o) < d->down_at)
            o += dsend_packet_len(a, o);
        bytes = (uint32_t)((o < end ? o : end) - run->offset);
    }
    ev_packets m = {.client = run->client, .asset = run->asset, .epoch = run->epoch,
                    .device = run->device, .offset = run->offset, .bytes = bytes,
                    .flags = run->flags, .depart = run->depart, .burst = run->burst};
    if (!(run->flags & DSEND_RUN_END_MARKER))
        m.crc32c = dsend_payload_crc(a, run->offset, bytes, run->data);
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = run->depart + d->cfg->data_latency;
    ev.dst_lp = d->nclients_lp0 + run->client;
    ev.type = EV_PACKETS;
    _Static_assert(sizeof m <= DSEND_DES_PAYLOAD, "a packet run fits an event");
    memcpy(ev.payload, &m, sizeof m);
    return dsend_des_send(d->des, d->lp, &ev);
}

/* A run holding a cached block keeps it in RAM until its last packet
 * left, as serve's transmit queue does: an event then. */
static int hold_until_sent(sim_device *d, const dsend_packet_run *run)
{
    const dsend_asset *a = &d->dev.p->lib->assets[run->asset];
    uint64_t end = run->offset + run->bytes;
    ev_run_sent m = {.asset = run->asset, .life = d->life, .block = run->hold->block};
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = dsend_run_depart(a, run->offset, run->depart, run->burst,
                             dsend_packet_offset(a, dsend_packets_before(a, end) - 1));
    ev.dst_lp = d->lp->id;
    ev.type = EV_RUN_SENT;
    memcpy(ev.payload, &m, sizeof m);
    return dsend_des_send(d->des, d->lp, &ev);
}

static int des_packets(void *ctx, const dsend_packet_run *run)
{
    sim_device *d = ctx;
    int rc = des_run(d, run);
    return rc == 0 && run->hold ? hold_until_sent(d, run) : rc;
}

static int des_cancel(void *ctx, uint32_t client, uint32_t epoch, uint32_t device, int64_t from)
{
    sim_device *d = ctx;
    ev_cancel m = {.client = client, .epoch = epoch, .device = device, .from = from};
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = from + d->cfg->data_latency;
    ev.dst_lp = d->nclients_lp0 + client;
    ev.type = EV_CANCEL;
    memcpy(ev.payload, &m, sizeof m);
    return dsend_des_send(d->des, d->lp, &ev);
}

static int des_transmit(void *ctx)
{
    (void)ctx;
    return 0; /* the events carry the departures: nothing to send later */
}

const dsend_emit dsend_emit_des = {
    .name = "des",
    .packets = des_packets,
    .cancel = des_cancel,
    .transmit = des_transmit,
};
