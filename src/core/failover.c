/* Failover, on every device, the same in both worlds: heartbeats with load
 * reports, backed-up plans, and what a device does when it takes another
 * for dead -- ask that device's blocks of their next holder, and take over
 * the sessions it is deputy for. */
#include "dsend/core.h"
#include "dsend/error.h"

#include <stdlib.h>
#include <string.h>

/* Has the device anything a failure could hurt: a stream playing (or
 * paused), requests queued, a backed-up plan still playing? */
static int busy(dsend_device *d, int64_t now)
{
    if (d->sender.n || dsend_scheduler_active(&d->sched))
        return 1;
    for (uint32_t i = 0; i < d->backups.n; i++) {
        const dsend_session_plan *pl = &d->backups.v[i];
        const dsend_asset *a = &d->p->lib->assets[pl->asset];
        if ((pl->flags & DSEND_PLAN_PAUSED) ||
            dsend_media_time(a, pl->from, pl->play_start, pl->to) > now)
            return 1;
    }
    return 0;
}

/* Arm the heartbeat if it is not: at a multiple of --heartbeat (every
 * device beats in the same phase) at least a heartbeat from now (so a
 * timer armed by any event is further off than the event's own effects:
 * the simulation's lookahead). */
int dsend_device_arm_beat(dsend_device *d)
{
    if (d->health.next_beat > 0)
        return 0;
    int64_t now = d->sched.clock->now(d->sched.clock_ctx), h = d->p->heartbeat;
    d->health.next_beat = (now + h + h - 1) / h * h;
    return d->sched.clock->wake(d->sched.clock_ctx, DSEND_WAKE_HEALTH, d->health.next_beat);
}

int dsend_device_start(dsend_device *d)
{
    int64_t now = d->sched.clock->now(d->sched.clock_ctx);
    d->health.heard_min = INT64_MAX;
    for (int x = 0; x < d->health.D; x++) {
        if (d->health.heard[x] < now)
            d->health.heard[x] = now; /* everyone lives at the start */
        if (x != d->id && d->health.heard[x] < d->health.heard_min)
            d->health.heard_min = d->health.heard[x];
    }
    d->health.next_beat = 0;
    return d->p->beat_idle ? dsend_device_arm_beat(d) : 0;
}

void dsend_device_own_report(dsend_device *d, dsend_load_report *r)
{
    *r = (dsend_load_report){.device = (uint32_t)d->id,
                             .threshold = dsend_pacer_threshold(&d->pacer),
                             .admitted_bps = dsend_scheduler_playing_bps(&d->sched)};
}

int dsend_device_report(dsend_device *d, const dsend_load_report *r)
{
    if (r->device >= (uint32_t)d->health.D)
        return dsend_seterr(DSEND_EINVAL, "device %d: report from device %u of %d", d->id,
                            r->device, d->health.D);
    d->health.report[r->device] = *r;
    return 0;
}

static dsend_session_plan *backup_find(dsend_backups *b, uint32_t client)
{
    for (uint32_t i = 0; i < b->n; i++)
        if (b->v[i].client == client)
            return &b->v[i];
    return NULL;
}

int dsend_device_backup(dsend_device *d, const dsend_session_plan *pl)
{
    dsend_backups *b = &d->backups;
    dsend_session_plan *cur = backup_find(b, pl->client);
    if (pl->flags & DSEND_PLAN_FORGET) {
        if (cur && cur->owner == pl->owner)
            *cur = b->v[--b->n];
        return 0;
    }
    if (cur) {
        *cur = *pl;
        return dsend_device_arm_beat(d);
    }
    if (b->n == b->cap) {
        uint32_t cap = b->cap ? 2 * b->cap : 64;
        void *v = realloc(b->v, cap * sizeof *b->v);
        if (!v)
            return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory for backed-up plans",
                                d->id);
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = *pl;
    return dsend_device_arm_beat(d);
}

int dsend_device_send_plan(dsend_device *d, uint32_t client, int forget)
{
    dsend_session_plan pl;
    int deputy = dsend_health_deputy(&d->health, client, d->id);
    if (deputy < 0)
        return 0; /* alone: nobody to take over */
    if (forget)
        pl = (dsend_session_plan){.client = client, .owner = (uint16_t)d->id,
                                  .flags = DSEND_PLAN_FORGET};
    else if (dsend_scheduler_plan(&d->sched, client, &pl))
        return 0;
    return d->ctrl->backup(d->ctrl_ctx, deputy, &pl);
}

/* `x` is taken for dead: it surely lived a heartbeat before it was last
 * heard (a message may take that long). */
static int declare_dead(dsend_device *d, int x)
{
    dsend_health *h = &d->health;
    int rc = 0;
    uint32_t n = d->sched.nstreams, *moved = malloc((n ? n : 1) * sizeof *moved), nmoved = 0;
    if (!moved)
        return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory", d->id);
    /* streams whose deputy it was get another */
    for (uint32_t i = 0; i < n; i++)
        if (dsend_health_deputy(h, d->sched.streams[i].client, d->id) == x)
            moved[nmoved++] = d->sched.streams[i].client;
    int64_t alive = h->heard[x] - d->p->heartbeat;
    h->dead[x] = 1;
    h->ndead++;
    h->alive_until[x] = alive;
    h->failovers++;
    /* its sessions this device is deputy for: taken over */
    for (uint32_t i = 0; i < d->backups.n && rc == 0;) {
        dsend_session_plan pl = d->backups.v[i];
        if (pl.owner != (uint16_t)x) {
            i++;
            continue;
        }
        d->backups.v[i] = d->backups.v[--d->backups.n];
        if ((rc = dsend_scheduler_adopt(&d->sched, &pl, alive)))
            break;
        h->takeovers++;
        const dsend_peer *peer = dsend_peers_find(&d->peers, pl.client);
        dsend_peer p = peer ? *peer
                            : (dsend_peer){.client = pl.client, .asset = pl.asset,
                                           .epoch = pl.epoch, .open = 1};
        if ((rc = d->ctrl->adopted(d->ctrl_ctx, &p)) || (rc = dsend_device_send_plan(d, pl.client, 0)))
            break;
    }
    for (uint32_t i = 0; i < nmoved && rc == 0; i++)
        rc = dsend_device_send_plan(d, moved[i], 0);
    free(moved);
    /* what may not have left it is asked of the next holders (adopted
     * streams too: the blocks their owner asked of itself) */
    if (rc == 0)
        rc = dsend_scheduler_reroute(&d->sched, x, alive);
    return rc ? rc : dsend_scheduler_tick(&d->sched);
}

int dsend_device_heard(dsend_device *d, int from, int64_t at)
{
    dsend_health *h = &d->health;
    if (from < 0 || from >= h->D || from == d->id)
        return 0;
    if (h->dead[from]) {
        /* a message that was on its way when it was taken for dead is no
         * sign of life; one sent well after is (it recovered) */
        if (at <= h->alive_until[from] + d->p->heartbeat + d->p->detect)
            return 0;
        /* its plans come back to it where it is the deputy again, and the
         * device that stood in forgets them (else it would keep a paused
         * one for ever, and take over a session it no longer backs up) */
        for (uint32_t i = 0; i < d->sched.nstreams; i++) {
            uint32_t client = d->sched.streams[i].client;
            int was = dsend_health_deputy(h, client, d->id), rc = 0;
            h->dead[from] = 0;
            if (dsend_health_deputy(h, client, d->id) == from) {
                dsend_session_plan forget = {.client = client, .owner = (uint16_t)d->id,
                                             .flags = DSEND_PLAN_FORGET};
                if (was >= 0)
                    rc = d->ctrl->backup(d->ctrl_ctx, was, &forget);
                if (rc == 0)
                    rc = dsend_device_send_plan(d, client, 0);
            }
            h->dead[from] = 1;
            if (rc)
                return rc;
        }
        h->dead[from] = 0;
        h->ndead--;
    }
    h->heard[from] = at;
    if (at < h->heard_min)
        h->heard_min = at;
    return 0;
}

/* A heartbeat: take the silent for dead, then tell the others this one
 * lives and how loaded it is. */
int dsend_device_beat(dsend_device *d)
{
    dsend_health *h = &d->health;
    int64_t now = d->sched.clock->now(d->sched.clock_ctx);
    int rc = 0;
    if (now - h->heard_min > d->p->detect) {
        /* somebody may be silent: look at everybody, and learn the earliest again */
        int64_t least = INT64_MAX;
        for (int x = 0; x < h->D && rc == 0; x++) {
            if (x == d->id || h->dead[x])
                continue;
            if (now - h->heard[x] > d->p->detect)
                rc = declare_dead(d, x);
            else if (h->heard[x] < least)
                least = h->heard[x];
        }
        h->heard_min = least;
    }
    if (rc)
        return rc;
    dsend_load_report r;
    dsend_device_own_report(d, &r);
    h->report[d->id] = r; /* its own scheduler reads its threshold too */
    if ((rc = d->ctrl->heartbeat(d->ctrl_ctx, &r)))
        return rc;
    h->next_beat = 0;
    return d->p->beat_idle || busy(d, now) ? dsend_device_arm_beat(d) : 0;
}
