/* The device: a scheduler, a sender and a pacer with the sessions they
 * know, assembled once for both worlds.  `sim` and `serve` drive a device
 * only through these calls and the three seams. */
#include "dsend/core.h"
#include "dsend/error.h"

#include <string.h>

int dsend_device_init(dsend_device *d, int id, const dsend_core_params *p,
                      const dsend_store *store, uint32_t expect_sessions,
                      const dsend_clock *clock, void *clock_ctx, const dsend_ctrl *ctrl,
                      void *ctrl_ctx, const dsend_emit *emit, void *emit_ctx)
{
    int rc;
    memset(d, 0, sizeof *d);
    if ((rc = dsend_core_params_check(p)) || (rc = dsend_check_clock(clock)) ||
        (rc = dsend_check_ctrl(ctrl)) || (rc = dsend_check_emit(emit)))
        return rc;
    d->id = id;
    d->p = p;
    d->ctrl = ctrl;
    d->ctrl_ctx = ctrl_ctx;
    if ((rc = dsend_peers_init(&d->peers, expect_sessions)) ||
        (rc = dsend_pacer_init(&d->pacer, id, p, clock, clock_ctx, emit, emit_ctx)) ||
        (rc = dsend_sender_init(&d->sender, id, p, store, &d->peers, &d->pacer, clock,
                                clock_ctx)) ||
        (rc = dsend_scheduler_init(&d->sched, id, p, clock, clock_ctx, ctrl, ctrl_ctx)))
        dsend_device_free(d);
    d->pacer.queue = &d->sender.n;
    return rc;
}

void dsend_device_free(dsend_device *d)
{
    dsend_scheduler_free(&d->sched);
    dsend_sender_free(&d->sender);
    dsend_pacer_free(&d->pacer);
    dsend_peers_free(&d->peers);
}

/* A session's new state on this device: what its pacer committed for an
 * older plan (or an ended session) from now on is not sent. */
static int learn(dsend_device *d, const dsend_peer *p)
{
    const dsend_peer *cur = dsend_peers_find(&d->peers, p->client);
    uint32_t was = cur ? cur->epoch : 0;
    int rc = dsend_peers_update(&d->peers, p);
    if (rc == 0 && (!p->open || p->epoch != was))
        rc = dsend_pacer_cancel(&d->pacer, p->client, p->open ? p->epoch : UINT32_MAX);
    return rc;
}

/* this device first, then every other device */
static int announce(dsend_device *d, const dsend_peer *p)
{
    int rc = learn(d, p);
    return rc ? rc : d->ctrl->announce(d->ctrl_ctx, p);
}

static int set_epoch(dsend_device *d, uint32_t client, uint32_t epoch)
{
    const dsend_peer *cur = dsend_peers_find(&d->peers, client);
    dsend_peer p = cur ? *cur : (dsend_peer){.client = client, .open = 1};
    if (!cur) {
        const dsend_stream *st = dsend_scheduler_stream(&d->sched, client);
        p.asset = st ? st->asset : 0;
    }
    p.epoch = epoch;
    return announce(d, &p);
}

int dsend_device_play(dsend_device *d, const dsend_peer *peer, uint64_t *from, uint64_t to)
{
    dsend_peer p = *peer;
    p.epoch = 0;
    p.open = 1;
    int rc = announce(d, &p);
    return rc ? rc : dsend_scheduler_start(&d->sched, p.client, p.asset, from, to);
}

int dsend_device_pause(dsend_device *d, uint32_t client, uint64_t *resume_at)
{
    uint32_t epoch;
    int rc = dsend_scheduler_pause(&d->sched, client, resume_at, &epoch);
    return rc ? rc : set_epoch(d, client, epoch);
}

int dsend_device_resume(dsend_device *d, uint32_t client, uint64_t *resume_at)
{
    uint32_t epoch;
    return dsend_scheduler_resume(&d->sched, client, resume_at, &epoch);
}

int dsend_device_seek(dsend_device *d, uint32_t client, uint64_t offset, uint64_t *from)
{
    uint32_t epoch;
    const dsend_stream *st = dsend_scheduler_stream(&d->sched, client);
    if (!st)
        return dsend_seterr(DSEND_ENOENT, "device %d: client %u has no stream", d->id, client);
    /* the new epoch is known everywhere before its first request leaves */
    int rc = set_epoch(d, client, st->epoch + 1);
    return rc ? rc : dsend_scheduler_seek(&d->sched, client, offset, from, &epoch);
}

int dsend_device_stop(dsend_device *d, uint32_t client)
{
    const dsend_peer *cur = dsend_peers_find(&d->peers, client);
    dsend_peer p = cur ? *cur : (dsend_peer){.client = client};
    p.open = 0;
    dsend_scheduler_stop(&d->sched, client);
    return announce(d, &p);
}

int dsend_device_request(dsend_device *d, const dsend_send_request *rq)
{
    d->requests_received++;
    return dsend_sender_submit(&d->sender, rq);
}

int dsend_device_peer(dsend_device *d, const dsend_peer *peer)
{
    int rc = learn(d, peer);
    /* drop what the change made stale now, not when it would leave */
    if (rc == 0 && d->sender.n)
        rc = dsend_sender_run(&d->sender);
    return rc;
}

int dsend_device_wake(dsend_device *d, int who, int64_t at)
{
    switch (who) {
    case DSEND_WAKE_SCHEDULER:
        /* a round superseded by an earlier one is stale */
        return at == d->sched.next_tick ? dsend_scheduler_tick(&d->sched) : 0;
    case DSEND_WAKE_SENDER:
        if (at != d->sender.wake_at)
            return 0;
        d->sender.wake_at = -1;
        return dsend_sender_run(&d->sender);
    case DSEND_WAKE_EMIT:
        (void)at; /* the backend keeps its own queue: a stale timer finds nothing due */
        return d->pacer.emit->transmit(d->pacer.emit_ctx);
    default:
        return dsend_seterr(DSEND_EINVAL, "device %d: wake-up for unknown part %d", d->id, who);
    }
}
