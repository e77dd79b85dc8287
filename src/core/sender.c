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
                      const dsend_store *store, const dsend_peers *peers, dsend_pacer *pacer,
                      const dsend_clock *clock, void *clock_ctx)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = dsend_check_clock(clock)))
        return rc;
    s->device = device;
    s->p = p;
    s->store = store;
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

static int push(dsend_sender *s, const dsend_pending *q)
{
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? 2 * s->cap : 256;
        void *h = realloc(s->heap, cap * sizeof *s->heap);
        if (!h)
            return dsend_seterr(DSEND_ENOMEM, "sender %d: out of memory for its queue", s->device);
        s->heap = h;
        s->cap = cap;
    }
    s->heap[s->n++] = *q;
    DSEND_HEAP_UP(dsend_pending, s->heap, s->n, before);
    if (s->n > s->max_queue)
        s->max_queue = s->n;
    return 0;
}

int dsend_sender_submit(dsend_sender *s, const dsend_send_request *rq)
{
    const dsend_library *lib = s->p->lib;
    if (rq->asset >= lib->nassets || rq->block >= lib->assets[rq->asset].blocks ||
        rq->sub_count == 0 ||
        rq->sub_first + rq->sub_count >
            dsend_block_subs(&lib->assets[rq->asset], rq->block, s->p->sub_block) ||
        rq->last_len > s->p->sub_block)
        return dsend_seterr(DSEND_EINVAL,
                            "sender %d: malformed send request (asset %u block %llu sub-blocks "
                            "%u+%u) from scheduler %u",
                            s->device, rq->asset, (unsigned long long)rq->block, rq->sub_first,
                            rq->sub_count, rq->scheduler);
    if (!dsend_layout_holds(s->p->layout, rq->asset, rq->block, s->device, NULL))
        return dsend_seterr(DSEND_EINVAL,
                            "sender %d: asked for asset '%s' block %llu, which it does not hold",
                            s->device, lib->assets[rq->asset].name, (unsigned long long)rq->block);
    s->requests++;
    dsend_pending q = {.rq = *rq, .next_sub = rq->sub_first};
    q.next_deadline = next_deadline(s, &q);
    int rc = push(s, &q);
    return rc ? rc : dsend_sender_run(s);
}

int dsend_sender_run(dsend_sender *s)
{
    int64_t now = s->clock->now(s->clock_ctx);
    const dsend_library *lib = s->p->lib;
    int rc = 0;
    while (s->n) {
        dsend_pending *q = &s->heap[0];
        if (!dsend_peers_current(s->peers, q->rq.client, q->rq.epoch)) {
            dsend_pending gone; /* the client paused, sought or left since */
            s->stale++;
            DSEND_HEAP_POP(dsend_pending, s->heap, s->n, &gone, before);
            continue;
        }
        if (q->next_deadline - s->p->send_ahead > now)
            break; /* the earliest is not due yet: nothing is */
        const dsend_asset *a = &lib->assets[q->rq.asset];
        uint64_t base = q->rq.block * a->block_size;
        uint64_t off = base + (uint64_t)q->next_sub * s->p->sub_block;
        uint64_t blen = dsend_asset_block_len(a, q->rq.block);
        uint32_t len = (uint32_t)(base + blen - off < s->p->sub_block ? base + blen - off
                                                                      : s->p->sub_block);
        if (q->rq.last_len && q->next_sub + 1 == q->rq.sub_first + q->rq.sub_count)
            len = q->rq.last_len; /* the plan ends inside this sub-block */
        const uint8_t *bytes = NULL;
        if (a->kind == DSEND_ASSET_MPEGTS) {
            const dsend_block *blk = dsend_store_find(s->store, q->rq.asset, q->rq.block);
            if (!blk)
                return dsend_seterr(DSEND_EINVAL, "sender %d: block %llu of '%s' is not in RAM",
                                    s->device, (unsigned long long)q->rq.block, a->name);
            bytes = blk->data + (off - base);
        }
        dsend_pending cur = *q;
        if (++q->next_sub < q->rq.sub_first + q->rq.sub_count) {
            q->next_deadline = next_deadline(s, q);
            DSEND_HEAP_DOWN(dsend_pending, s->heap, s->n, before);
        } else {
            dsend_pending done;
            DSEND_HEAP_POP(dsend_pending, s->heap, s->n, &done, before);
        }
        s->sub_blocks++;
        s->bytes += len;
        int plan_end = (cur.rq.flags & DSEND_RQ_PLAN_END) &&
                       cur.next_sub + 1 == cur.rq.sub_first + cur.rq.sub_count;
        if ((rc = dsend_pacer_submit(s->pacer, cur.rq.client, cur.rq.asset, cur.rq.epoch, off, len,
                                     cur.next_deadline, bytes, plan_end)))
            return rc;
    }
    if (s->n) {
        int64_t wake = s->heap[0].next_deadline - s->p->send_ahead;
        if (wake != s->wake_at) {
            s->wake_at = wake;
            return s->clock->wake(s->clock_ctx, DSEND_WAKE_SENDER, wake);
        }
    }
    return 0;
}

