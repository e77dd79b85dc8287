/* The sender: ranks the send requests of all schedulers earliest deadline
 * first and hands each sub-block to the pacer send_ahead before its
 * deadline, straight to its client (never back through the scheduler's
 * device).  The same code runs in `sim` and `serve`. */
#include "dsend/core.h"
#include "dsend/error.h"
#include "util/heap.h"

#include <stdlib.h>
#include <string.h>

int dsend_sender_init(dsend_sender *s, int device, const dsend_core_params *p,
                      dsend_cache *cache, const dsend_peers *peers, dsend_pacer *pacer,
                      const dsend_clock *clock, void *clock_ctx)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = dsend_check_clock(clock)))
        return rc;
    s->device = device;
    s->p = p;
    s->cache = cache;
    s->peers = peers;
    s->pacer = pacer;
    s->clock = clock;
    s->clock_ctx = clock_ctx;
    s->wake_at = -1;
    return 0;
}

void dsend_sender_free(dsend_sender *s)
{
    free(s->heap);
    free(s->pool);
    free(s->free);
    free(s->blocked);
    dsend_lookahead_free(&s->la);
    memset(s, 0, sizeof *s);
}

/* Deadline of the pending request's next sub-block. */
static int64_t next_deadline(const dsend_sender *s, const dsend_pending *q)
{
    const dsend_asset *a = &s->p->lib->assets[q->rq.asset];
    uint64_t base = q->rq.block * a->block_size;
    return dsend_media_time(a, base + (uint64_t)q->rq.sub_first * s->p->sub_block,
                            q->rq.deadline, base + (uint64_t)q->next_sub * s->p->sub_block);
}

/* EDF with a total order, so equal deadlines never depend on arrival order */
static int before(const dsend_pending *x, const dsend_pending *y)
{
    if (x->next_deadline != y->next_deadline)
        return x->next_deadline < y->next_deadline;
    if (x->rq.priority != y->rq.priority)
        return x->rq.priority < y->rq.priority; /* fewer live holders first */
    if (x->rq.client != y->rq.client)
        return x->rq.client < y->rq.client;
    if (x->rq.asset != y->rq.asset)
        return x->rq.asset < y->rq.asset;
    if (x->rq.block != y->rq.block)
        return x->rq.block < y->rq.block;
    return x->next_sub < y->next_sub;
}

/* the same order over keys: the pool is read only on a tie of deadline,
 * priority and client (a client's requests at one device) */
static inline int key_before(const dsend_sender *s, const dsend_pending_key *x,
                             const dsend_pending_key *y)
{
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline;
    if (x->tie != y->tie)
        return x->tie < y->tie;
    return before(&s->pool[x->slot], &s->pool[y->slot]);
}
#define KEY_BEFORE(x, y) key_before(s, (x), (y))

static dsend_pending_key key_of(const dsend_pending *q, uint32_t slot)
{
    return (dsend_pending_key){.deadline = q->next_deadline,
                               .tie = (uint64_t)q->rq.priority << 32 | q->rq.client,
                               .slot = slot};
}

/* A request out of the heap gives its slot back. */
static void release(dsend_sender *s, uint32_t slot) { s->free[s->nfree++] = slot; }

static int push(dsend_sender *s, const dsend_pending *q)
{
    if (s->nfree == 0) { /* every slot is in the heap: n == cap */
        uint32_t cap = s->cap ? 2 * s->cap : 256;
        void *h = realloc(s->heap, cap * sizeof *s->heap);
        if (h)
            s->heap = h;
        void *p = h ? realloc(s->pool, cap * sizeof *s->pool) : NULL;
        if (p)
            s->pool = p;
        void *f = p ? realloc(s->free, cap * sizeof *s->free) : NULL;
        if (!f)
            return dsend_seterr(DSEND_ENOMEM, "sender %d: out of memory for its queue", s->device);
        s->free = f;
        for (uint32_t i = cap; i > s->cap; i--) /* the new slots, lowest on top */
            s->free[s->nfree++] = i - 1;
        s->cap = cap;
    }
    uint32_t slot = s->free[--s->nfree];
    s->pool[slot] = *q;
    s->heap[s->n++] = key_of(q, slot);
    DSEND_HEAP_UP(dsend_pending_key, s->heap, s->n, KEY_BEFORE);
    if (s->n > s->max_queue)
        s->max_queue = s->n;
    return 0;
}

/* The block's end of playout, for a request of it whose first sub-block
 * plays at rq->deadline. */
static int64_t block_end(const dsend_sender *s, const dsend_send_request *rq)
{
    const dsend_asset *a = &s->p->lib->assets[rq->asset];
    uint64_t base = rq->block * a->block_size;
    return dsend_media_time(a, base + (uint64_t)rq->sub_first * s->p->sub_block, rq->deadline,
                            base + dsend_asset_block_len(a, rq->block));
}

int dsend_sender_submit(dsend_sender *s, const dsend_send_request *rq)
{
    const dsend_library *lib = s->p->lib;
    if (rq->asset >= lib->nassets || rq->block >= lib->assets[rq->asset].blocks ||
        rq->sub_count == 0 ||
        rq->sub_first + rq->sub_count >
            dsend_block_subs(&lib->assets[rq->asset], rq->block, s->p->sub_block) ||
        rq->last_len > s->p->sub_block || rq->first_skip >= s->p->sub_block ||
        (rq->sub_count == 1 && rq->last_len && rq->first_skip >= rq->last_len))
        return dsend_seterr(DSEND_EINVAL,
                            "sender %d: malformed send request (asset %u block %llu sub-blocks "
                            "%u+%u) from scheduler %u",
                            s->device, rq->asset, (unsigned long long)rq->block, rq->sub_first,
                            rq->sub_count, rq->scheduler);
    if (!dsend_layout_holds(s->p->layout, rq->asset, rq->block, s->device, NULL))
        return dsend_seterr(DSEND_EINVAL,
                            "sender %d: asked for asset '%s' block %llu, which it does not hold",
                            s->device, lib->assets[rq->asset].name, (unsigned long long)rq->block);
    int rc;
    if (rq->flags & DSEND_RQ_LOOKAHEAD) {
        s->lookaheads++;
        /* a resident cache holds every block: nothing to pin */
        if (s->cache->resident || !dsend_peers_current(s->peers, rq->client, rq->epoch))
            return 0;
        rc = dsend_lookahead_add(&s->la, s->cache, rq, rq->deadline - s->p->send_ahead,
                                 block_end(s, rq));
        return rc ? rc : dsend_sender_run(s); /* its expiry may come first */
    }
    s->requests++;
    dsend_pending q = {.rq = *rq, .next_sub = rq->sub_first};
    q.next_deadline = next_deadline(s, &q);
    /* the request's own pin, then its look-ahead's goes: the block stays pinned */
    if ((rc = dsend_cache_pin(s->cache, rq->asset, rq->block, 1,
                              q.next_deadline - s->p->send_ahead, &q.blk)) ||
        (rc = dsend_lookahead_take(&s->la, s->cache, rq->client, rq->epoch, rq->asset,
                                   rq->block)))
        return rc;
    rc = push(s, &q);
    return rc ? rc : dsend_sender_run(s);
}

/* A request leaves the sender (sent, stale or failed): its pin goes. */
static int done(dsend_sender *s, dsend_pending *q)
{
    return dsend_cache_unpin(s->cache, q->blk);
}

static int block(dsend_sender *s, const dsend_pending *q)
{
    if (s->nblocked == s->capblocked) {
        uint32_t cap = s->capblocked ? 2 * s->capblocked : 64;
        void *g = realloc(s->blocked, cap * sizeof *s->blocked);
        if (!g)
            return dsend_seterr(DSEND_ENOMEM, "sender %d: out of memory for its queue", s->device);
        s->blocked = g;
        s->capblocked = cap;
    }
    s->blocked[s->nblocked++] = *q;
    return 0;
}

int dsend_sender_loaded(dsend_sender *s, dsend_cached *e)
{
    int rc = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->nblocked; i++) {
        if (s->blocked[i].blk != e || rc)
            s->blocked[k++] = s->blocked[i];
        else
            rc = push(s, &s->blocked[i]); /* due: the run below takes it (or drops it) */
    }
    s->nblocked = k;
    return rc ? rc : dsend_sender_run(s);
}

/* A request of `client` in a plan other than `epoch` (any plan if it
 * closed) is stale: it leaves, its pin with it (1; the first error in *rc). */
static int stale_gone(dsend_sender *s, dsend_pending *q, uint32_t client, int open,
                      uint32_t epoch, int *rc)
{
    if (q->rq.client != client || (open && q->rq.epoch == epoch))
        return 0;
    s->stale++;
    int r = done(s, q);
    if (*rc == 0)
        *rc = r;
    return 1;
}

int dsend_sender_session(dsend_sender *s, uint32_t client, int open, uint32_t epoch)
{
    if (s->cache->resident)
        return 0; /* no pins: stale requests are dropped when they come due */
    /* pins go now, not when the requests would have come due */
    int rc = dsend_lookahead_release(&s->la, s->cache, client, open, epoch), r = 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->nblocked; i++)
        if (!stale_gone(s, &s->blocked[i], client, open, epoch, &r))
            s->blocked[k++] = s->blocked[i];
    s->nblocked = k;
    uint32_t n = s->n;
    k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (stale_gone(s, &s->pool[s->heap[i].slot], client, open, epoch, &r))
            release(s, s->heap[i].slot);
        else
            s->heap[k++] = s->heap[i];
    }
    s->n = k;
    if (k != n)
        for (uint32_t i = 1; i <= s->n; i++) /* heapify again */
            DSEND_HEAP_UP(dsend_pending_key, s->heap, i, KEY_BEFORE);
    return rc ? rc : r;
}

int dsend_sender_run(dsend_sender *s)
{
    int64_t now = s->clock->now(s->clock_ctx);
    const dsend_library *lib = s->p->lib;
    int rc = dsend_lookahead_expire(&s->la, s->cache, now);
    while (s->n && rc == 0) {
        dsend_pending *q = &s->pool[s->heap[0].slot];
        /* asked again only when the sessions changed since it last was */
        if (q->peers_gen != s->peers->gen) {
            if (!dsend_peers_current(s->peers, q->rq.client, q->rq.epoch)) {
                dsend_pending_key k; /* the client paused, sought or left since */
                s->stale++;
                DSEND_HEAP_POP(dsend_pending_key, s->heap, s->n, &k, KEY_BEFORE);
                rc = done(s, &s->pool[k.slot]);
                release(s, k.slot);
                continue;
            }
            q->peers_gen = s->peers->gen;
        }
        if (q->next_deadline - s->p->send_ahead > now)
            break; /* the earliest is not due yet: nothing is */
        if (!dsend_cache_ready(q->blk)) {
            dsend_pending_key k;
            DSEND_HEAP_POP(dsend_pending_key, s->heap, s->n, &k, KEY_BEFORE);
            dsend_pending wait = s->pool[k.slot];
            release(s, k.slot);
            if (wait.blk->state == DSEND_BLOCK_FAILED) {
                s->failed++; /* its block could not be read (said where it failed) */
                rc = done(s, &wait);
                continue;
            }
            /* due before its block is in RAM: it waits for the read */
            if (!wait.waited)
                s->waits++;
            wait.waited = 1;
            rc = block(s, &wait);
            continue;
        }
        const dsend_asset *a = &lib->assets[q->rq.asset];
        uint64_t base = q->rq.block * a->block_size;
        uint64_t off = base + (uint64_t)q->next_sub * s->p->sub_block;
        uint64_t blen = dsend_asset_block_len(a, q->rq.block);
        uint32_t len = (uint32_t)(base + blen - off < s->p->sub_block ? base + blen - off
                                                                      : s->p->sub_block);
        if (q->rq.last_len && q->next_sub + 1 == q->rq.sub_first + q->rq.sub_count)
            len = q->rq.last_len; /* the plan ends inside this sub-block */
        /* the plan starts inside this sub-block (at a keyframe's packet) */
        uint32_t skip = q->next_sub == q->rq.sub_first ? q->rq.first_skip : 0;
        if (skip >= len)
            skip = 0; /* (the block ends before it: malformed, sent whole) */
        off += skip;
        len -= skip;
        const uint8_t *bytes = dsend_cache_bytes(s->cache, q->blk, q->rq.asset, q->rq.block);
        if (a->kind == DSEND_ASSET_MPEGTS) {
            if (!bytes)
                return dsend_seterr(DSEND_EINVAL, "sender %d: block %llu of '%s' is not in RAM",
                                    s->device, (unsigned long long)q->rq.block, a->name);
            bytes += off - base;
        }
        dsend_pending cur = *q;
        int last = ++q->next_sub == q->rq.sub_first + q->rq.sub_count;
        if (!last) {
            q->next_deadline = next_deadline(s, q);
            s->heap[0].deadline = q->next_deadline;
            DSEND_HEAP_DOWN(dsend_pending_key, s->heap, s->n, KEY_BEFORE);
        } else {
            dsend_pending_key k;
            DSEND_HEAP_POP(dsend_pending_key, s->heap, s->n, &k, KEY_BEFORE);
            release(s, k.slot);
        }
        s->sub_blocks++;
        s->bytes += len;
        int plan_end = (cur.rq.flags & DSEND_RQ_PLAN_END) && last;
        int64_t deadline = skip ? dsend_media_time(a, off - skip, cur.next_deadline, off)
                                : cur.next_deadline;
        rc = dsend_pacer_submit(s->pacer, cur.rq.client, cur.rq.asset, cur.rq.epoch, off, len,
                                deadline, bytes, cur.blk, cur.waited, plan_end);
        if (rc == 0 && last)
            rc = done(s, &cur); /* the runs in flight hold the block themselves */
    }
    if (rc)
        return rc;
    /* the next sub-block due, or the next look-ahead pin to expire */
    int64_t wake = s->n ? s->heap[0].deadline - s->p->send_ahead : INT64_MAX;
    int64_t expiry = dsend_lookahead_next(&s->la);
    if (expiry < wake)
        wake = expiry;
    if (wake != INT64_MAX && wake != s->wake_at) {
        s->wake_at = wake;
        return s->clock->wake(s->clock_ctx, DSEND_WAKE_SENDER, wake);
    }
    return 0;
}
