/* Virtual clock: time is the discrete-event core's; a component's timer is
 * an event the device LP sends itself (a superseded one is ignored when it
 * fires, see dsend_device_wake). */
#include "sim/sim_internal.h"

#include <string.h>

static int64_t virtual_now(void *ctx)
{
    const sim_device *d = ctx;
    return dsend_des_now(d->des);
}

static int virtual_wake(void *ctx, int who, int64_t at)
{
    sim_device *d = ctx;
    static const uint32_t type[DSEND_WAKERS] = {EV_SCHED_TICK, EV_SENDER_WAKE, EV_EMIT_WAKE,
                                                     EV_HEALTH_WAKE};
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = at;
    ev.dst_lp = d->lp->id;
    ev.type = type[who];
    return dsend_des_send(d->des, d->lp, &ev);
}

const dsend_clock dsend_clock_virtual = {
    .name = "virtual",
    .now = virtual_now,
    .wake = virtual_wake,
};
