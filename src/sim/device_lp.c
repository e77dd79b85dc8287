/* A device as a logical process: the shared device (dsend/device.h) behind
 * the virtual clock, event-based control and the `des` emit backend. */
#include "dsend/error.h"
#include "sim/sim_internal.h"

#include <stdlib.h>
#include <string.h>

/* The least delay from an event to anything it can cause at another LP
 * (directly or through the LP's own follow-up events). */
int64_t sim_lookahead(uint32_t lp, uint32_t type, const void *arg)
{
    const sim_world *w = arg;
    (void)lp;
    switch (type) {
    case EV_CLIENT_ARRIVE: /* -> start request */
    case EV_CLIENT_PAUSE:  /* -> control request */
    case EV_CLIENT_RESUME:
    case EV_CLIENT_SEEK:
    case EV_SCHED_TICK:    /* -> send requests */
        return w->cfg->ctrl_latency;
    case EV_START:         /* -> send requests, announcements, and cancels of what */
    case EV_PAUSE:         /*    this device's pacer committed (data network) */
    case EV_RESUME:
    case EV_SEEK:
        return w->cfg->ctrl_latency < w->cfg->data_latency ? w->cfg->ctrl_latency
                                                           : w->cfg->data_latency;
    case EV_SEND_REQUEST:  /* -> sender -> pacer -> packets */
    case EV_PEER:
    case EV_SENDER_WAKE:
    case EV_EMIT_WAKE:
        return w->cfg->data_latency;
    default:               /* a client receiving causes nothing elsewhere */
        return DSEND_TIME_INF;
    }
}

void sim_device_account(void *ctx, int64_t at, uint64_t wire_bytes, uint32_t queue)
{
    sim_device *d = ctx;
    dsend_series_note(&d->series, at, d->cfg->interval, wire_bytes, queue);
}

static int device_init(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

static int device_event(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    sim_device *d = lp->state;
    dsend_device *dev = &d->dev;
    switch (ev->type) {
    case EV_START: {
        ev_start s;
        memcpy(&s, ev->payload, sizeof s);
        dsend_peer p = {.client = s.client, .asset = s.asset, .open = 1};
        return dsend_device_play(dev, &p, &s.from, s.to);
    }
    case EV_SCHED_TICK:
        return dsend_device_wake(dev, DSEND_WAKE_SCHEDULER, ev->ts);
    case EV_SENDER_WAKE:
        return dsend_device_wake(dev, DSEND_WAKE_SENDER, ev->ts);
    case EV_EMIT_WAKE:
        return dsend_device_wake(dev, DSEND_WAKE_EMIT, ev->ts);
    case EV_SEND_REQUEST: {
        dsend_send_request rq;
        memcpy(&rq, ev->payload, sizeof rq);
        return dsend_device_request(dev, &rq);
    }
    case EV_PEER: {
        dsend_peer p;
        memcpy(&p, ev->payload, sizeof p);
        return dsend_device_peer(dev, &p);
    }
    case EV_PAUSE:
    case EV_RESUME:
    case EV_SEEK: {
        ev_ctrl m;
        memcpy(&m, ev->payload, sizeof m);
        int rc = ev->type == EV_PAUSE    ? dsend_device_pause(dev, m.client, &m.from)
                 : ev->type == EV_RESUME ? dsend_device_resume(dev, m.client, &m.from)
                                         : dsend_device_seek(dev, m.client, m.offset, &m.from);
        if (rc)
            return rc;
        dsend_event out;
        memset(&out, 0, sizeof out);
        out.ts = ev->ts + d->cfg->ctrl_latency;
        out.dst_lp = d->nclients_lp0 + m.client;
        out.type = EV_CTRL_REPLY;
        memcpy(out.payload, &m, sizeof m);
        return dsend_des_send(des, lp, &out);
    }
    default:
        return dsend_seterr(DSEND_EINVAL, "device %u: unexpected event type %u", lp->id, ev->type);
    }
}

static int device_final(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

const dsend_lptype sim_device_lptype = {
    .name = "device",
    .init = device_init,
    .event = device_event,
    .final = device_final,
};
