/* Control network of the simulation: a send request is an event to the
 * holding device's LP, one control-network latency later.  Requests to one
 * device in one window travel in one MPI message (see des.h). */
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

const dsend_ctrl dsend_ctrl_des = {
    .name = "des",
    .send_request = des_send_request,
};
