/* The scheduler: for each stream of its clients, plans when every block
 * must reach the client and, `lead` ahead of that deadline, sends a send
 * request to the device holding the block.  The same code runs in `sim`
 * (virtual clock) and `serve` (wall clock). */
#include "dsend/core.h"
#include "dsend/des.h"
#include "dsend/error.h"

#include <stdlib.h>
#include <string.h>

int dsend_scheduler_init(dsend_scheduler *s, int device, const dsend_core_params *p,
                         const dsend_clock *clock, void *clock_ctx, const dsend_ctrl *ctrl,
                         void *ctrl_ctx, const dsend_health *health)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = dsend_check_clock(clock)) || (rc = dsend_check_ctrl(ctrl)))
        return rc;
    s->device = device;
    s->p = p;
    s->clock = clock;
    s->clock_ctx = clock_ctx;
    s->ctrl = ctrl;
    s->ctrl_ctx = ctrl_ctx;
    s->health = health;
    s->next_tick = DSEND_TIME_INF;
    return 0;
}

void dsend_scheduler_free(dsend_scheduler *s)
{
    free(s->streams);
    memset(s, 0, sizeof *s);
}

/* A stream started, stopped or changed its plan: the playing rate is
 * counted again when next asked. */
static void changed(dsend_scheduler *s)
{
    s->playing_until = INT64_MIN;
}

static int grow(dsend_scheduler *s)
{
    uint32_t cap = s->cap ? 2 * s->cap : 64;
    void *q = realloc(s->streams, cap * sizeof *s->streams);
    if (!q)
        return dsend_seterr(DSEND_ENOMEM, "scheduler %d: out of memory", s->device);
    s->streams = q;
    s->cap = cap;
    return 0;
}

int dsend_scheduler_start(dsend_scheduler *s, uint32_t client, uint32_t asset, uint64_t *fromp,
                          uint64_t to)
{
    uint64_t from = *fromp;
    if (asset >= s->p->lib->nassets)
        return dsend_seterr(DSEND_ENOENT, "scheduler %d: client %u asks for unknown asset %u",
                            s->device, client, asset);
    const dsend_asset *a = &s->p->lib->assets[asset];
    /* packets are the unit of receiving: a session ends after the packet
     * holding its last byte */
    to = dsend_packet_offset(a, dsend_packets_before(a, to));
    if (to > a->size)
        to = a->size;
    from = dsend_stream_start(a, from, s->p->sub_block); /* a keyframe, or its sub-block */
    *fromp = from;
    if (from >= to)
        return dsend_seterr(DSEND_EINVAL, "client %u: empty byte range of asset '%s'", client,
                            a->name);
    if (s->nstreams == s->cap && grow(s))
        return DSEND_ENOMEM;
    int64_t now = s->clock->now(s->clock_ctx);
    changed(s);
    s->streams[s->nstreams++] = (dsend_stream){.client = client, .asset = asset, .from = from,
                                               .to = to, .next = from, .ahead = from,
                                               .play_start = now + s->p->startup};
    return dsend_scheduler_tick(s);
}

static dsend_stream *find_stream(dsend_scheduler *s, uint32_t client)
{
    for (uint32_t i = 0; i < s->nstreams; i++)
        if (s->streams[i].client == client)
            return &s->streams[i];
    dsend_seterr(DSEND_ENOENT, "scheduler %d: client %u has no stream", s->device, client);
    return NULL;
}

int dsend_scheduler_stop(dsend_scheduler *s, uint32_t client)
{
    dsend_stream *st = find_stream(s, client);
    if (!st)
        return DSEND_ENOENT;
    changed(s);
    *st = s->streams[--s->nstreams];
    return 0;
}

const dsend_stream *dsend_scheduler_stream(const dsend_scheduler *s, uint32_t client)
{
    for (uint32_t i = 0; i < s->nstreams; i++)
        if (s->streams[i].client == client)
            return &s->streams[i];
    return NULL;
}

int dsend_scheduler_pause(dsend_scheduler *s, uint32_t client, uint64_t *resume_at,
                          uint32_t *epoch)
{
    dsend_stream *st = find_stream(s, client);
    if (!st)
        return DSEND_ENOENT;
    if (!st->paused) {
        const dsend_asset *a = &s->p->lib->assets[st->asset];
        int64_t now = s->clock->now(s->clock_ctx);
        changed(s);
        /* the byte playing now, on the plan's clock */
        uint64_t pos = st->from;
        if (now > st->play_start)
            pos += dsend_media_bytes(a, now - st->play_start);
        /* the pacers released every packet up to pace_lead ahead of that;
         * the rest is dropped (a new epoch) and sent again on resume, from
         * its sub-block */
        uint64_t released = st->from;
        if (now + s->p->pace_lead > st->play_start)
            released += dsend_media_bytes(a, now + s->p->pace_lead - st->play_start);
        if (released > st->next)
            released = st->next;
        if (pos > released)
            pos = released;
        st->paused_pos = pos;
        st->paused_wait = st->play_start > now ? st->play_start - now : 0;
        st->next = released - released % s->p->sub_block;
        if (st->next < st->from)
            st->next = st->from;
        st->paused = 1;
        st->epoch++;
    }
    *resume_at = st->next;
    *epoch = st->epoch;
    return 0;
}

int dsend_scheduler_resume(dsend_scheduler *s, uint32_t client, uint64_t *resume_at,
                           uint32_t *epoch)
{
    dsend_stream *st = find_stream(s, client);
    if (!st)
        return DSEND_ENOENT;
    if (st->paused) {
        /* playout goes on from the byte it stopped at, with whatever startup
         * delay was left; the client holds what was released before the
         * pause, so the plan's clock runs from there */
        const dsend_asset *a = &s->p->lib->assets[st->asset];
        int64_t now = s->clock->now(s->clock_ctx);
        changed(s);
        st->play_start = dsend_media_time(a, st->paused_pos, now + st->paused_wait, st->next);
        st->from = st->ahead = st->next; /* the pause released its pins: pin again */
        st->paused = 0;
    }
    *resume_at = st->next;
    *epoch = st->epoch;
    return dsend_scheduler_tick(s);
}

int dsend_scheduler_seek(dsend_scheduler *s, uint32_t client, uint64_t offset, uint64_t *from,
                         uint32_t *epoch)
{
    dsend_stream *st = find_stream(s, client);
    if (!st)
        return DSEND_ENOENT;
    const dsend_asset *a = &s->p->lib->assets[st->asset];
    if (offset >= a->size)
        return dsend_seterr(DSEND_EINVAL, "client %u: seek to byte %llu beyond asset '%s' "
                                          "(%llu bytes)",
                            client, (unsigned long long)offset, a->name,
                            (unsigned long long)a->size);
    changed(s);
    /* a seek to or past the session's end plays on: decided by the byte
     * asked for, which the client knows too, not by its sub-block */
    if (offset >= st->to)
        st->to = a->size;
    offset = dsend_stream_start(a, offset, s->p->sub_block);
    st->from = st->next = st->ahead = offset;
    if (offset >= st->to)
        st->to = a->size; /* a seek past the session's end plays on */
    st->play_start = s->clock->now(s->clock_ctx) + s->p->startup;
    st->paused = 0;
    st->epoch++;
    *from = offset;
    *epoch = st->epoch;
    return dsend_scheduler_tick(s);
}

/* When the request for the stream's next block must leave. */
static int64_t request_time(const dsend_scheduler *s, const dsend_stream *st)
{
    const dsend_asset *a = &s->p->lib->assets[st->asset];
    return dsend_media_time(a, st->from, st->play_start, st->next) - s->p->lead;
}

/* When the look-ahead request for the stream's next block not yet named
 * must leave (INT64_MAX: none is sent). */
static int64_t ahead_time(const dsend_scheduler *s, const dsend_stream *st)
{
    const dsend_asset *a = &s->p->lib->assets[st->asset];
    if (!s->p->look_ahead || st->ahead >= st->to)
        return DSEND_TIME_INF;
    return dsend_media_time(a, st->from, st->play_start, st->ahead) - s->p->look_ahead;
}

/* The holder a request goes to, and its priority (the priority mechanism
 * of the patent family).  Urgency is the deadline; then blocks fewer live
 * devices hold rank higher.  The request goes to the first live holder
 * whose threshold says it would send it in time (its link's accepted work
 * ends after the deadline, or it has room); when none would, it escalates:
 * the first live holder gets it with the priority of a sole holder. */
static int choose_holder(const dsend_scheduler *s, dsend_send_request *rq)
{
    const dsend_health *h = s->health;
    int dev[DSEND_MAX_REPLICAS], first = -1;
    uint32_t live = 0;
    dsend_layout_place(s->p->layout, rq->asset, rq->block, dev);
    for (int r = 0; r < s->p->layout->replicas; r++) {
        if (h->dead[dev[r]])
            continue;
        live++;
        if (first < 0)
            first = dev[r];
    }
    if (first < 0) {
        rq->priority = 0;
        return dev[0]; /* every holder is dead: the primary, in case it comes back */
    }
    rq->priority = live;
    if (live == 1)
        return first;
    for (int r = 0; r < s->p->layout->replicas; r++)
        if (!h->dead[dev[r]] && h->report[dev[r]].threshold >= rq->deadline)
            return dev[r];
    rq->priority = 1; /* escalated */
    return first;
}

/* The request for [start, end) of one block of a stream (start on a
 * sub-block boundary, or on a packet inside one where the plan starts
 * there; end clipped to the block). */
static void make_request(const dsend_scheduler *s, const dsend_stream *st, uint64_t start,
                         uint64_t end, dsend_send_request *out)
{
    const dsend_core_params *p = s->p;
    const dsend_asset *a = &p->lib->assets[st->asset];
    uint64_t b = start / a->block_size, base = b * a->block_size;
    uint64_t blen = dsend_asset_block_len(a, b);
    if (end > base + blen)
        end = base + blen;
    dsend_send_request rq = {
        .client = st->client,
        .asset = st->asset,
        .block = b,
        .sub_first = (uint32_t)((start - base) / p->sub_block),
        /* only a start at a keyframe's packet skips: elsewhere a request
         * starts at its block's sub-block boundary (where the start of a
         * plan of an asset without an index may lie before `start`) */
        .first_skip = a->nrap ? (uint32_t)((start - base) % p->sub_block) : 0,
        .scheduler = (uint32_t)s->device,
        .epoch = st->epoch,
    };
    uint32_t last = (uint32_t)((end - base + p->sub_block - 1) / p->sub_block);
    rq.sub_count = last - rq.sub_first;
    /* a plan ending inside a sub-block ends after the packet holding its
     * last byte */
    uint64_t whole = base + (uint64_t)last * p->sub_block;
    if (whole > base + blen)
        whole = base + blen;
    if (end < whole)
        rq.last_len = (uint32_t)(end - (base + (uint64_t)(last - 1) * p->sub_block));
    if (end == st->to)
        rq.flags |= DSEND_RQ_PLAN_END;
    rq.deadline = dsend_media_time(a, st->from, st->play_start,
                                   base + (uint64_t)rq.sub_first * p->sub_block);
    *out = rq;
}

/* Ask for [start, end) of one block of a stream (start on a sub-block
 * boundary) of the holder choose_holder picks. */
static int request_range(dsend_scheduler *s, dsend_stream *st, uint64_t start, uint64_t end)
{
    dsend_send_request rq;
    make_request(s, st, start, end, &rq);
    uint64_t b = rq.block;
    int dev = choose_holder(s, &rq);
    st->asked[st->nasked % DSEND_ASKED].block = b;
    st->asked[st->nasked % DSEND_ASKED].device = dev;
    st->asked[st->nasked % DSEND_ASKED].epoch = st->epoch;
    st->nasked++;
    int rc = s->ctrl->send_request(s->ctrl_ctx, dev, &rq);
    if (rc == 0)
        s->requests++;
    return rc;
}

/* Name the block holding `start` in a look-ahead request, to the holder
 * its send request will most likely go to (the same choice, now). */
static int look_ahead(dsend_scheduler *s, dsend_stream *st, uint64_t start, uint64_t end)
{
    dsend_send_request rq;
    make_request(s, st, start, end, &rq);
    rq.flags = DSEND_RQ_LOOKAHEAD;
    int rc = s->ctrl->send_request(s->ctrl_ctx, choose_holder(s, &rq), &rq);
    if (rc == 0)
        s->lookaheads++;
    return rc;
}

/* The end of the block holding byte `off` of the stream's plan. */
static uint64_t block_end(const dsend_asset *a, const dsend_stream *st, uint64_t off)
{
    uint64_t b = off / a->block_size;
    uint64_t end = b * a->block_size + dsend_asset_block_len(a, b);
    return end < st->to ? end : st->to;
}

int dsend_scheduler_tick(dsend_scheduler *s)
{
    const dsend_core_params *p = s->p;
    int64_t now = s->clock->now(s->clock_ctx);
    int64_t horizon = now + p->tick; /* due before the next round: send now */
    int64_t next = DSEND_TIME_INF;
    for (uint32_t i = 0; i < s->nstreams; i++) {
        dsend_stream *st = &s->streams[i];
        const dsend_asset *a = &p->lib->assets[st->asset];
        if (st->paused)
            continue;
        /* look-ahead requests first: each reaches its sender before the send
         * request for the same block */
        if (st->ahead < st->next)
            st->ahead = st->next;
        while (ahead_time(s, st) <= horizon) {
            uint64_t end = block_end(a, st, st->ahead);
            int rc = look_ahead(s, st, st->ahead, end);
            if (rc)
                return rc;
            st->ahead = end;
        }
        while (st->next < st->to && request_time(s, st) <= horizon) {
            uint64_t end = block_end(a, st, st->next);
            int rc = request_range(s, st, st->next, end);
            if (rc)
                return rc;
            st->next = end;
        }
        if (st->next >= st->to)
            continue; /* planned to the end; kept for a later seek */
        int64_t t = request_time(s, st), ta = ahead_time(s, st);
        if (ta < t)
            t = ta;
        if (t < next)
            next = t;
    }
    if (next != DSEND_TIME_INF) {
        /* rounds on the grid of --tick (every device in the same phase, as
         * heartbeats): at the last multiple of the tick not after the
         * earliest request time, which is past this round's horizon, so a
         * round is never late, requests travel in batches, and the
         * simulation's windows hold every device's round at once */
        next -= next % p->tick;
        if (next != s->next_tick) {
            s->next_tick = next;
            return s->clock->wake(s->clock_ctx, DSEND_WAKE_SCHEDULER, next);
        }
    } else {
        s->next_tick = DSEND_TIME_INF;
    }
    return 0;
}

/* The first byte (on a sub-block boundary) whose packets leave after
 * `alive`: the pacers release a packet pace_lead before its playout. */
static uint64_t first_unsent(const dsend_scheduler *s, const dsend_stream *st, int64_t alive)
{
    const dsend_asset *a = &s->p->lib->assets[st->asset];
    uint64_t off = st->from;
    if (alive + s->p->pace_lead > st->play_start)
        off += dsend_media_bytes(a, alive + s->p->pace_lead - st->play_start);
    off -= off % s->p->sub_block;
    return off < st->from ? st->from : off;
}

/* Where block b of the stream's current plan was asked for: the ring's
 * newest entry, or -1 when it is too old (or the stream was adopted). */
static int asked_of(const dsend_stream *st, uint64_t b)
{
    uint32_t n = st->nasked < DSEND_ASKED ? st->nasked : DSEND_ASKED;
    for (uint32_t i = 1; i <= n; i++) {
        uint32_t k = (st->nasked - i) % DSEND_ASKED;
        if (st->asked[k].block == b && st->asked[k].epoch == st->epoch)
            return st->asked[k].device;
    }
    return -1;
}

/* The blocks of [start, end) that were asked of `dead` are asked again of
 * a live holder.  Where a block went is in the stream's ring; for one too
 * old for it (or a stream taken over from a dead owner) the rule without
 * load: its first holder that lived then (a request the thresholds sent
 * elsewhere is then missed: only under overload). */
static int reroute_stream(dsend_scheduler *s, dsend_stream *st, int dead, uint64_t start,
                          uint64_t end)
{
    const dsend_asset *a = &s->p->lib->assets[st->asset];
    while (start < end) {
        uint64_t b = start / a->block_size;
        uint64_t bend = b * a->block_size + dsend_asset_block_len(a, b);
        if (bend > end)
            bend = end;
        int then = asked_of(st, b);
        if (then < 0) {
            int dev[DSEND_MAX_REPLICAS];
            dsend_layout_place(s->p->layout, st->asset, b, dev);
            for (int r = 0; r < s->p->layout->replicas && then < 0; r++)
                if (dev[r] == dead || !s->health->dead[dev[r]])
                    then = dev[r];
        }
        if (then == dead) {
            int rc = request_range(s, st, start, bend);
            if (rc)
                return rc;
            s->rerouted++;
        }
        start = bend;
    }
    return 0;
}

int dsend_scheduler_reroute(dsend_scheduler *s, int dead, int64_t alive)
{
    for (uint32_t i = 0; i < s->nstreams; i++) {
        dsend_stream *st = &s->streams[i];
        if (st->paused)
            continue;
        int rc = reroute_stream(s, st, dead, first_unsent(s, st, alive), st->next);
        if (rc)
            return rc;
    }
    return 0;
}

int dsend_scheduler_adopt(dsend_scheduler *s, const dsend_session_plan *pl, int64_t alive)
{
    if (pl->asset >= s->p->lib->nassets || pl->from >= pl->to ||
        pl->to > s->p->lib->assets[pl->asset].size)
        return dsend_seterr(DSEND_EINVAL, "scheduler %d: malformed plan of client %u", s->device,
                            pl->client);
    if (dsend_scheduler_stream(s, pl->client))
        return 0; /* already ours */
    if (s->nstreams == s->cap && grow(s))
        return DSEND_ENOMEM;
    changed(s);
    const dsend_asset *a = &s->p->lib->assets[pl->asset];
    dsend_stream *st = &s->streams[s->nstreams++];
    *st = (dsend_stream){.client = pl->client, .asset = pl->asset, .from = pl->from,
                         .to = pl->to, .next = pl->from, .play_start = pl->play_start,
                         .epoch = pl->epoch, .paused = !!(pl->flags & DSEND_PLAN_PAUSED),
                         .paused_pos = pl->paused_pos, .paused_wait = pl->paused_wait};
    s->admitted++;
    if (st->paused)
        return 0; /* its resume asks from `from` */
    /* the owner asked for every block whose request time came while it
     * lived (rounds are at most a tick late, never later than that time) */
    while (st->next < st->to && request_time(s, st) <= alive)
        st->next = block_end(a, st, st->next);
    st->ahead = st->next; /* what the owner pinned, pinned again is no second pin */
    return 0;
}

int dsend_scheduler_plan(const dsend_scheduler *s, uint32_t client, dsend_session_plan *pl)
{
    const dsend_stream *st = dsend_scheduler_stream(s, client);
    if (!st)
        return DSEND_ENOENT;
    *pl = (dsend_session_plan){.client = st->client, .asset = st->asset, .epoch = st->epoch,
                               .owner = (uint16_t)s->device,
                               .flags = st->paused ? DSEND_PLAN_PAUSED : 0, .from = st->from,
                               .to = st->to, .play_start = st->play_start,
                               .paused_pos = st->paused_pos, .paused_wait = st->paused_wait};
    return 0;
}

/* Count the streams playing and paused now, unless no stream changed
 * since the last count and none it counted ended since: the same. */
static void count_playing(dsend_scheduler *s)
{
    int64_t now = s->clock->now(s->clock_ctx);
    if (now >= s->playing_at && now < s->playing_until)
        return;
    uint64_t bps = 0;
    uint32_t n = 0;
    int64_t until = INT64_MAX;
    for (uint32_t i = 0; i < s->nstreams; i++) {
        const dsend_stream *st = &s->streams[i];
        const dsend_asset *a = &s->p->lib->assets[st->asset];
        if (st->paused) {
            n++;
            continue;
        }
        int64_t end = dsend_media_time(a, st->from, st->play_start, st->to);
        if (end > now) {
            bps += a->bitrate_bps;
            n++;
            if (end < until)
                until = end;
        }
    }
    s->playing_bps = bps;
    s->playing_n = n;
    s->playing_at = now;
    s->playing_until = until;
}

uint64_t dsend_scheduler_playing_bps(dsend_scheduler *s)
{
    count_playing(s);
    return s->playing_bps;
}

uint32_t dsend_scheduler_active(dsend_scheduler *s)
{
    count_playing(s);
    return s->playing_n;
}
