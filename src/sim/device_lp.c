/* A device as a logical process: the shared device (dsend/device.h) behind
 * the virtual clock, event-based control and the `des` emit backend. */
#include "dsend/error.h"
#include "sim/sim_internal.h"

#include <stdlib.h>
#include <string.h>

/* The least delay from an event to anything it can cause at another LP
 * (directly or through the LP's own follow-up events).  A heartbeat a
 * device arms is at least --heartbeat off (dsend_device_arm_beat), so no
 * event promises more than that plus the heartbeat's own lookahead unless
 * it never arms one. */
static int64_t event_lookahead(const dsend_event *ev, const sim_world *w);

/* Below their share (--ram), devices read blocks: a read that ends, or a
 * block released that lets a waiting read start, lets packets leave at
 * once, and most events may pin or release a block; so nothing promises
 * more than the data network's latency then (or a heartbeat, which a
 * send request going on may arm). */
int64_t sim_lookahead(const dsend_event *ev, const void *arg)
{
    const sim_world *w = arg;
    const dsend_sim_config *cfg = w->cfg;
    int64_t data = cfg->data_latency, ctrl = cfg->ctrl_latency;
    int64_t least = ctrl < data ? ctrl : data, beat = cfg->heartbeat + least;
    int64_t cap = data < beat ? data : beat;
    if (ev->type == EV_STORAGE_DONE || ev->type == EV_RUN_SENT)
        return cap;
    int64_t la = event_lookahead(ev, w);
    return w->cached && la > cap && la != DSEND_TIME_INF ? cap : la;
}

static int64_t event_lookahead(const dsend_event *ev, const sim_world *w)
{
    const dsend_sim_config *cfg = w->cfg;
    int64_t ctrl = cfg->ctrl_latency, data = cfg->data_latency;
    int64_t least = ctrl < data ? ctrl : data;
    /* a sub-block's first packet leaves this long before its deadline at
     * the earliest: its burst began up to --pace-burst before it */
    int64_t early = cfg->lead - cfg->pace_lead - cfg->pace_burst;
    switch (ev->type) {
    case EV_CLIENT_PAUSE:  /* -> control request */
    case EV_CLIENT_RESUME:
    case EV_CLIENT_SEEK:
    case EV_TAKEOVER:      /* -> a control request again */
    case EV_SCHED_TICK:    /* -> send requests */
        return ctrl;
    case EV_START:         /* -> send requests, announcements, and cancels of what */
    case EV_PAUSE:         /*    this device's pacer committed (data network) */
    case EV_RESUME:
    case EV_SEEK:
    case EV_HEALTH_WAKE:   /* -> reports, failover: requests, backups, takeovers */
    case EV_SILENT:        /* (a death is found at a heartbeat: these only set its time) */
    case EV_HELLO:
    case EV_DEVICE_FAIL:   /* -> silence to every device */
    case EV_DEVICE_RECOVER:
    case EV_PEER:          /* -> cancels of what the pacer committed */
    case EV_EMIT_WAKE:
        return least;
    case EV_REPORT:        /* only read at the device's next heartbeat or start */
        return DSEND_TIME_INF;
    case EV_BACKUP:
        /* a deputy keeps the plan and sends nothing: it acts on it at a
         * heartbeat, which the backup arms a heartbeat off at least */
        return cfg->heartbeat + least;
    case EV_SENDER_WAKE:
        /* a sender wakes when its earliest sub-block is due, --lead before
         * its deadline (a request arriving later is handed over at once,
         * by that event); the pacer releases its packets --pace-lead before
         * their playout, a burst's with its first packet (--pace-burst
         * earlier at most): nothing leaves before lead - pace_lead -
         * pace_burst from now */
        return early > 0 ? early + data : data;
    case EV_SEND_REQUEST: {
        /* its packets leave at their release at the earliest (its first
         * sub-block's deadline - pace lead), or now when it came late; and
         * it may arm the heartbeat */
        dsend_send_request rq;
        memcpy(&rq, ev->payload, sizeof rq);
        int64_t release = rq.deadline - cfg->pace_lead - cfg->pace_burst;
        int64_t la = (release > ev->ts ? release - ev->ts : 0) + data;
        /* (the sub-blocks of others it may hand over with it are due now) */
        int64_t due = (early > 0 ? early : 0) + data, beat = cfg->heartbeat + least;
        la = la < due ? la : due;
        return la < beat ? la : beat;
    }
    default:               /* a client receiving causes nothing elsewhere */
        return DSEND_TIME_INF;
    }
}

void sim_device_account(void *ctx, int64_t at, uint64_t wire_bytes, uint32_t queue)
{
    sim_device *d = ctx;
    dsend_series_note(&d->series, at, d->cfg->interval, wire_bytes, queue);
}

int sim_device_down(const sim_world *w, int d, int64_t t)
{
    int64_t failed = -1, back = -1;
    for (int i = 0; i < w->nfails; i++)
        if (w->fails[i].device == d && w->fails[i].at <= t && w->fails[i].at > failed)
            failed = w->fails[i].at;
    for (int i = 0; i < w->nrecovers; i++)
        if (w->recovers[i].device == d && w->recovers[i].at <= t && w->recovers[i].at > back)
            back = w->recovers[i].at;
    return failed >= 0 && failed >= back;
}

int64_t sim_device_next_fail(const sim_world *w, int d, int64_t t)
{
    int64_t next = INT64_MAX;
    for (int i = 0; i < w->nfails; i++)
        if (w->fails[i].device == d && w->fails[i].at >= t && w->fails[i].at < next)
            next = w->fails[i].at;
    return next;
}

/* Heartbeats are modelled: every device is heard until it fails. */
static int start_device(sim_device *d)
{
    for (int x = 0; x < d->D; x++)
        dsend_device_heard(&d->dev, x, DSEND_HEARD_MODELLED);
    d->sent = (dsend_load_report){.threshold = INT64_MAX};
    return dsend_device_start(&d->dev);
}

static int device_init(dsend_lp *lp, dsend_des *des)
{
    sim_device *d = lp->state;
    const sim_world *w = d->w;
    int rc = 0;
    d->down_at = sim_device_next_fail(w, (int)lp->id, 0);
    for (int i = 0; i < w->nfails && rc == 0; i++)
        if (w->fails[i].device == (int)lp->id)
            rc = sim_self_event(des, lp, w->fails[i].at, EV_DEVICE_FAIL);
    for (int i = 0; i < w->nrecovers && rc == 0; i++)
        if (w->recovers[i].device == (int)lp->id)
            rc = sim_self_event(des, lp, w->recovers[i].at, EV_DEVICE_RECOVER);
    return rc ? rc : start_device(d);
}

int sim_device_init(sim_device *d, int id)
{
    int rc = dsend_device_init(&d->dev, id, d->params, d->store, d->expect, &dsend_clock_virtual,
                               d, &dsend_ctrl_des, d, &dsend_emit_des, d, &sim_storage_disk, d);
    d->dev.pacer.account = sim_device_account;
    d->dev.pacer.account_ctx = d;
    d->dev.pacer.account_interval = d->cfg->interval;
    d->dev.cache.account = sim_device_cache_account;
    d->dev.cache.account_ctx = d;
    return rc;
}

void sim_device_stats(const sim_device *d, dsend_device_stats *s)
{
    *s = d->before;
    dsend_device_stats_add(s, &d->dev);
}

/* An event to every other device: one event to each device rank, taken
 * by its first device for every device of the rank (sim_device_all).  The
 * same as one event each: those would have had one timestamp, one source
 * and consecutive numbers, so nothing else comes between them anywhere,
 * and they run in device order, as the rank's devices take it here. */
int sim_to_others(sim_device *d, dsend_des *des, dsend_event *ev)
{
    const sim_world *w = d->w;
    for (int r = 0; r < w->Dr && r < w->D; r++) {
        ev->dst_lp = (uint32_t)r; /* device r is the first on rank r */
        int rc = dsend_des_send(des, d->lp, ev);
        if (rc)
            return rc;
    }
    return 0;
}

/* Every device of this rank but the sender takes an announcement (in
 * device order); a dead one hears nothing. */
static int device_all(const sim_world *w, const dsend_event *ev)
{
    for (int i = 0; i < w->ndevs; i++) {
        sim_device *d = &w->devs[i];
        dsend_device *dev = &d->dev;
        if (d->lp->id == ev->src_lp || d->down)
            continue;
        int rc = 0;
        switch (ev->type) {
        case EV_REPORT: {
            dsend_load_report r;
            memcpy(&r, ev->payload, sizeof r);
            rc = dsend_device_report(dev, &r);
            break;
        }
        case EV_SILENT: {
            ev_silent m;
            memcpy(&m, ev->payload, sizeof m);
            rc = dsend_device_heard(dev, (int)m.device, m.heard);
            break;
        }
        case EV_HELLO: {
            uint32_t x;
            memcpy(&x, ev->payload, sizeof x);
            /* its heartbeats are modelled again from now on */
            rc = dsend_device_heard(dev, (int)x, DSEND_HEARD_MODELLED);
            break;
        }
        case EV_PEER: {
            dsend_peer p = {0};
            memcpy(&p, ev->payload, DSEND_PEER_SIM_BYTES);
            rc = dsend_device_peer(dev, &p);
            break;
        }
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* The device dies: it sends and answers nothing from now on; every other
 * device stops hearing its heartbeats (the last arrived one control
 * latency after it left, at the last multiple of --heartbeat before now). */
static int device_fail(sim_device *d, dsend_des *des, int64_t now)
{
    if (d->down)
        return 0;
    d->down = 1;
    int64_t h = d->params->heartbeat, beat = now > 0 ? (now - 1) / h * h : 0;
    ev_silent m = {.device = d->lp->id,
                   .heard = beat > 0 ? beat + d->cfg->ctrl_latency : 0};
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = now + d->cfg->ctrl_latency;
    ev.type = EV_SILENT;
    memcpy(ev.payload, &m, sizeof m);
    return sim_to_others(d, des, &ev);
}

/* It comes back with its blocks (reloaded) and nothing else: a new device. */
static int device_recover(sim_device *d, dsend_des *des, int64_t now)
{
    if (!d->down)
        return 0;
    dsend_device_stats_add(&d->before, &d->dev);
    dsend_device_free(&d->dev);
    d->life++; /* what the old cache held is released with it */
    int rc = sim_device_init(d, (int)d->lp->id);
    if (rc)
        return rc;
    d->down = 0;
    d->down_at = sim_device_next_fail(d->w, (int)d->lp->id, now);
    if ((rc = start_device(d)))
        return rc;
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = now + d->cfg->ctrl_latency;
    ev.type = EV_HELLO;
    uint32_t me = d->lp->id;
    memcpy(ev.payload, &me, sizeof me);
    return sim_to_others(d, des, &ev);
}

static int device_event(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    sim_device *d = lp->state;
    dsend_device *dev = &d->dev;
    if (ev->type == EV_REPORT || ev->type == EV_SILENT || ev->type == EV_HELLO ||
        ev->type == EV_PEER)
        return device_all(d->w, ev);
    if (ev->type == EV_DEVICE_RECOVER)
        return device_recover(d, des, ev->ts);
    if (d->down)
        return 0; /* a dead device hears nothing */
    switch (ev->type) {
    case EV_DEVICE_FAIL:
        return device_fail(d, des, ev->ts);
    case EV_START: {
        ev_start s;
        memcpy(&s, ev->payload, sizeof s);
        dsend_peer p = {.client = s.client, .asset = s.asset, .open = 1};
        int rc = dsend_device_play(dev, &p, &s.from, s.to);
        if (rc != DSEND_EBUSY)
            return rc;
        /* admission refused it: the client hears so */
        ev_ctrl m = {.client = s.client, .kind = SIM_REFUSED};
        dsend_event out;
        memset(&out, 0, sizeof out);
        out.ts = ev->ts + d->cfg->ctrl_latency;
        out.dst_lp = d->nclients_lp0 + s.client;
        out.type = EV_CTRL_REPLY;
        memcpy(out.payload, &m, sizeof m);
        return dsend_des_send(des, lp, &out);
    }
    case EV_HEALTH_WAKE:
        return dsend_device_wake(dev, DSEND_WAKE_HEALTH, ev->ts);
    case EV_BACKUP: {
        dsend_session_plan pl;
        memcpy(&pl, ev->payload, sizeof pl);
        return dsend_device_backup(dev, &pl);
    }
    case EV_SCHED_TICK:
        return dsend_device_wake(dev, DSEND_WAKE_SCHEDULER, ev->ts);
    case EV_SENDER_WAKE:
        return dsend_device_wake(dev, DSEND_WAKE_SENDER, ev->ts);
    case EV_STORAGE_DONE:
        return sim_storage_done(d, ev);
    case EV_RUN_SENT:
        return sim_run_sent(d, ev);
    case EV_EMIT_WAKE:
        return dsend_device_wake(dev, DSEND_WAKE_EMIT, ev->ts);
    case EV_SEND_REQUEST: {
        dsend_send_request rq;
        memcpy(&rq, ev->payload, sizeof rq);
        return dsend_device_request(dev, &rq);
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
