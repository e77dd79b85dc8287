/* Control network of the simulation: a send request or an announcement is
 * an event to a device's LP, one control-network latency later.  Events
 * to one rank in one window travel in one MPI message (see des.h). */
#include "sim/sim_internal.h"

#include <string.h>

static int des_send_request(void *ctx, int device, const dsend_send_request *rq)
{
    sim_device *d = ctx;
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = dsend_des_now(d->des) + d->cfg->ctrl_latency;
    ev.dst_lp = (uint32_t)device;
    ev.type = EV_SEND_REQUEST;
    _Static_assert(sizeof *rq <= DSEND_DES_PAYLOAD, "send request fits an event");
    memcpy(ev.payload, rq, sizeof *rq);
    return dsend_des_send(d->des, d->lp, &ev);
}

static int des_announce(void *ctx, const dsend_peer *p)
{
    sim_device *d = ctx;
    /* a session nobody announced is open at epoch 0 (dsend_peers_current):
     * only changes travel, so a start costs no events */
    if (p->open && p->epoch == 0)
        return 0;
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = dsend_des_now(d->des) + d->cfg->ctrl_latency;
    ev.type = EV_PEER;
    _Static_assert(sizeof *p <= DSEND_DES_PAYLOAD, "a peer fits an event");
    memcpy(ev.payload, p, sizeof *p);
    for (int dev = 0; dev < d->D; dev++) {
        if ((uint32_t)dev == d->lp->id)
            continue;
        ev.dst_lp = (uint32_t)dev;
        int rc = dsend_des_send(d->des, d->lp, &ev);
        if (rc)
            return rc;
    }
    return 0;
}

const dsend_ctrl dsend_ctrl_des = {
    .name = "des",
    .send_request = des_send_request,
    .announce = des_announce,
};
