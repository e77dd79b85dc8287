/* The device: a scheduler, a sender and a pacer with the sessions they
 * know, assembled once for both worlds.  `sim` and `serve` drive a device
 * only through these calls and the three seams. */
#include "dsend/core.h"
#include "dsend/error.h"
#include "dsend/sim.h"

#include <stdlib.h>
#include <string.h>

int dsend_device_init(dsend_device *d, int id, const dsend_core_params *p,
                      const dsend_store *store, uint32_t expect_sessions,
                      const dsend_clock *clock, void *clock_ctx, const dsend_ctrl *ctrl,
                      void *ctrl_ctx, const dsend_emit *emit, void *emit_ctx,
                      const dsend_storage *storage, void *storage_ctx)
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
        (rc = dsend_health_init(&d->health, p->layout->devices, id)) ||
        (rc = dsend_pacer_init(&d->pacer, id, p, clock, clock_ctx, emit, emit_ctx)) ||
        (rc = dsend_cache_init(&d->cache, id, p->lib, store, storage, storage_ctx, clock,
                               clock_ctx)) ||
        (rc = dsend_sender_init(&d->sender, id, p, &d->cache, &d->peers, &d->pacer, clock,
                                clock_ctx)) ||
        (rc = dsend_scheduler_init(&d->sched, id, p, clock, clock_ctx, ctrl, ctrl_ctx,
                                   &d->health)))
        dsend_device_free(d);
    d->pacer.queue = &d->sender.n;
    return rc;
}

void dsend_device_free(dsend_device *d)
{
    dsend_scheduler_free(&d->sched);
    dsend_sender_free(&d->sender);
    dsend_cache_free(&d->cache);
    dsend_pacer_free(&d->pacer);
    dsend_peers_free(&d->peers);
    dsend_health_free(&d->health);
    free(d->backups.v);
    memset(&d->backups, 0, sizeof d->backups);
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
    /* its pins of other plans go: look-ahead cancels travel with the news */
    if (rc == 0 && (!p->open || p->epoch != was))
        rc = dsend_sender_session(&d->sender, p->client, p->open, p->epoch);
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

/* Admission: a stream is admitted while the streams playing on every live
 * device (their reports; this one's own, exact) leave room for it under
 * --admit-load of the live links, and a holder of its first block has
 * room by its threshold. */
static int admit(dsend_device *d, uint32_t client, uint32_t asset, uint64_t from)
{
    const dsend_core_params *p = d->p;
    if (!p->admission || asset >= p->lib->nassets)
        return 0;
    const dsend_asset *a = &p->lib->assets[asset];
    const dsend_health *h = &d->health;
    unsigned __int128 playing = dsend_scheduler_playing_bps(&d->sched), links = 0;
    for (int x = 0; x < h->D; x++) {
        if (h->dead[x])
            continue;
        links += p->nic_bps;
        if (x != d->id)
            playing += h->report[x].admitted_bps;
    }
    /* the links carry wire bytes: media plus RTP/UDP/IP headers */
    double room = p->admit_load * (double)links * DSEND_PKT_PAYLOAD /
                  (DSEND_PKT_PAYLOAD + DSEND_PKT_OVERHEAD);
    int holder_room = 0, dev[DSEND_MAX_REPLICAS];
    dsend_layout_place(p->layout, asset, from / a->block_size, dev);
    for (int r = 0; r < p->layout->replicas; r++)
        if (!h->dead[dev[r]] && h->report[dev[r]].threshold == INT64_MAX)
            holder_room = 1; /* its own report too: the last heartbeat's */
    if ((double)(playing + a->bitrate_bps) <= room && holder_room) {
        d->sched.admitted++;
        return 0;
    }
    d->sched.refused++;
    return dsend_seterr(DSEND_EBUSY,
                        "device %d: client %u refused: %.0f of %.0f Mbit/s admitted on %d live "
                        "devices%s",
                        d->id, client, (double)playing / 1e6, room / 1e6, h->D - (int)h->ndead,
                        holder_room ? "" : ", and no holder of its first block has room");
}

int dsend_device_play(dsend_device *d, const dsend_peer *peer, uint64_t *from, uint64_t to)
{
    dsend_peer p = *peer;
    p.epoch = 0;
    p.open = 1;
    int rc = admit(d, p.client, p.asset, *from);
    if (rc == 0)
        rc = announce(d, &p);
    if (rc == 0)
        rc = dsend_scheduler_start(&d->sched, p.client, p.asset, from, to);
    if (rc == 0)
        rc = dsend_device_arm_beat(d);
    return rc ? rc : dsend_device_send_plan(d, p.client, 0);
}

int dsend_device_pause(dsend_device *d, uint32_t client, uint64_t *resume_at)
{
    uint32_t epoch;
    int rc = dsend_scheduler_pause(&d->sched, client, resume_at, &epoch);
    if (rc == 0)
        rc = set_epoch(d, client, epoch);
    return rc ? rc : dsend_device_send_plan(d, client, 0);
}

int dsend_device_resume(dsend_device *d, uint32_t client, uint64_t *resume_at)
{
    uint32_t epoch;
    int rc = dsend_scheduler_resume(&d->sched, client, resume_at, &epoch);
    return rc ? rc : dsend_device_send_plan(d, client, 0);
}

int dsend_device_seek(dsend_device *d, uint32_t client, uint64_t offset, uint64_t *from)
{
    uint32_t epoch;
    const dsend_stream *st = dsend_scheduler_stream(&d->sched, client);
    if (!st)
        return dsend_seterr(DSEND_ENOENT, "device %d: client %u has no stream", d->id, client);
    /* the new epoch is known everywhere before its first request leaves */
    int rc = set_epoch(d, client, st->epoch + 1);
    if (rc == 0)
        rc = dsend_scheduler_seek(&d->sched, client, offset, from, &epoch);
    return rc ? rc : dsend_device_send_plan(d, client, 0);
}

int dsend_device_stop(dsend_device *d, uint32_t client)
{
    const dsend_peer *cur = dsend_peers_find(&d->peers, client);
    dsend_peer p = cur ? *cur : (dsend_peer){.client = client};
    p.open = 0;
    int owned = dsend_scheduler_stop(&d->sched, client) == 0;
    int rc = announce(d, &p);
    return rc || !owned ? rc : dsend_device_send_plan(d, client, 1);
}

int dsend_device_request(dsend_device *d, const dsend_send_request *rq)
{
    d->requests_received += !(rq->flags & DSEND_RQ_LOOKAHEAD);
    int rc = dsend_sender_submit(&d->sender, rq);
    return rc ? rc : dsend_device_arm_beat(d);
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
    case DSEND_WAKE_HEALTH:
        return at == d->health.next_beat ? dsend_device_beat(d) : 0;
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

int dsend_device_loaded(dsend_device *d, uint32_t asset, uint64_t block, int rc)
{
    dsend_cached *e;
    int r = dsend_cache_loaded(&d->cache, asset, block, rc, &e);
    if (r == 0 && e)
        r = dsend_sender_loaded(&d->sender, e);
    return r;
}

int dsend_device_release(dsend_device *d, const dsend_packet_run *run)
{
    return dsend_cache_unpin(&d->cache, run->hold);
}

void dsend_device_stats_add(dsend_device_stats *s, const dsend_device *dev)
{
    const dsend_cache *c = &dev->cache;
    s->sub_blocks += dev->sender.sub_blocks;
    s->bytes += dev->pacer.bytes;
    s->requests_received += dev->requests_received;
    s->requests_sent += dev->sched.requests;
    if (dev->sender.max_queue > s->max_queue)
        s->max_queue = dev->sender.max_queue;
    s->packets += dev->pacer.packets;
    s->wire_bytes += dev->pacer.wire_bytes;
    s->stale += dev->sender.stale;
    s->delayed += dev->pacer.delayed;
    s->admitted += dev->sched.admitted;
    s->refused += dev->sched.refused;
    s->failovers += dev->health.failovers;
    s->takeovers += dev->health.takeovers;
    s->rerouted += dev->sched.rerouted;
    s->ram = c->capacity;
    s->share = c->store ? c->store->share_bytes : 0;
    s->lookaheads += dev->sched.lookaheads;
    s->cache_hits += c->count[DSEND_CC_HITS];
    s->cache_misses += c->count[DSEND_CC_MISSES];
    s->storage_reads += c->count[DSEND_CC_READS];
    s->storage_bytes += c->count[DSEND_CC_READ_BYTES];
    s->evictions += c->count[DSEND_CC_EVICTIONS];
    if (c->max_pinned > s->max_pinned)
        s->max_pinned = c->max_pinned;
    s->pinned = dsend_cache_pinned(c);
    s->miss_waits += dev->sender.waits;
    s->miss_delayed += dev->pacer.miss_delayed;
    s->miss_late += dev->pacer.miss_late;
    s->storage_errors += c->errors;
}
