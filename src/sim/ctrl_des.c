/* Control network of the simulation: a send request, an announcement, a
 * backed-up plan or a load report is an event to a device's LP, one
 * control-network latency later.  Events to one rank in one window travel
 * in one MPI message (see des.h).  Heartbeats are modelled, not sent: a
 * device is heard until its failure says when its last heartbeat arrived
 * (EV_SILENT), so a report travels only when it changed. */
#include "sim/sim_internal.h"

#include <string.h>

static int to_device(sim_device *d, int device, uint32_t type, const void *payload, size_t len)
{
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = dsend_des_now(d->des) + d->cfg->ctrl_latency;
    ev.dst_lp = (uint32_t)device;
    ev.type = type;
    memcpy(ev.payload, payload, len);
    return dsend_des_send(d->des, d->lp, &ev);
}

static int des_send_request(void *ctx, int device, const dsend_send_request *rq)
{
    _Static_assert(sizeof *rq <= DSEND_DES_PAYLOAD, "send request fits an event");
    return to_device(ctx, device, EV_SEND_REQUEST, rq, sizeof *rq);
}

static int to_all(sim_device *d, uint32_t type, const void *payload, size_t len)
{
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = dsend_des_now(d->des) + d->cfg->ctrl_latency;
    ev.type = type;
    memcpy(ev.payload, payload, len);
    return sim_to_others(d, d->des, &ev);
}

static int des_announce(void *ctx, const dsend_peer *p)
{
    /* a session nobody announced is open at epoch 0 (dsend_peers_current):
     * only changes travel, so a start costs no events */
    if (p->open && p->epoch == 0)
        return 0;
    /* without serve's address, which the sim leaves zero */
    _Static_assert(DSEND_PEER_SIM_BYTES <= DSEND_DES_PAYLOAD, "a peer fits an event");
    return to_all(ctx, EV_PEER, p, DSEND_PEER_SIM_BYTES);
}

static int des_backup(void *ctx, int device, const dsend_session_plan *plan)
{
    _Static_assert(sizeof *plan <= DSEND_DES_PAYLOAD, "a plan fits an event");
    return to_device(ctx, device, EV_BACKUP, plan, sizeof *plan);
}

static int des_heartbeat(void *ctx, const dsend_load_report *r)
{
    sim_device *d = ctx;
    /* what admission reads: the streams playing (to 1/64), and whether the
     * link has room */
    uint64_t was = d->sent.admitted_bps, now = r->admitted_bps;
    uint64_t diff = was > now ? was - now : now - was;
    int changed = diff > (was > now ? was : now) / 64 ||
                  (r->threshold == INT64_MAX) != (d->sent.threshold == INT64_MAX);
    if (!changed)
        return 0;
    d->sent = *r;
    _Static_assert(sizeof *r <= DSEND_DES_PAYLOAD, "a report fits an event");
    return to_all(d, EV_REPORT, r, sizeof *r);
}

static int des_adopted(void *ctx, const dsend_peer *p)
{
    sim_device *d = ctx;
    uint32_t device = d->lp->id;
    return to_device(d, (int)(d->nclients_lp0 + p->client), EV_TAKEOVER, &device, sizeof device);
}

const dsend_ctrl dsend_ctrl_des = {
    .name = "des",
    .send_request = des_send_request,
    .announce = des_announce,
    .backup = des_backup,
    .heartbeat = des_heartbeat,
    .adopted = des_adopted,
};
