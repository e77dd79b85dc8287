/* The sender: ranks the send requests of all schedulers earliest deadline
 * first and sends sub-blocks over its device's link straight to the
 * clients.  The same code runs in `sim` and `serve`. */
#include "dsend/checksum.h"
#include "dsend/core.h"
#include "dsend/error.h"
#include "util/heap.h"

#include <stdlib.h>
#include <string.h>

uint32_t dsend_sub_block_crc(const dsend_asset *a, uint64_t offset, uint32_t len,
                             const uint8_t *bytes)
{
    if (bytes)
        return dsend_crc32c(0, bytes, len);
    unsigned char id[24];
    uint64_t v[3] = {a->seed, offset, len};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 8; k++)
            id[8 * i + k] = (unsigned char)(v[i] >> (8 * k));
    return dsend_crc32c(0, id, sizeof id);
}

int dsend_sender_init(dsend_sender *s, int device, const dsend_core_params *p,
                      const dsend_store *store, const dsend_clock *clock, void *clock_ctx,
                      const dsend_emit *emit, void *emit_ctx)
{
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = dsend_check_clock(clock)) || (rc = dsend_check_emit(emit)))
        return rc;
    s->device = device;
    s->p = p;
    s->store = store;
    s->clock = clock;
    s->clock_ctx = clock_ctx;
    s->emit = emit;
    s->emit_ctx = emit_ctx;
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
static int before(const dsend_sender *s, const dsend_pending *x, const dsend_pending *y)
{
    int64_t a = next_deadline(s, x), b = next_deadline(s, y);
    if (a != b)
        return a < b;
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
#define SENDER_BEFORE(x, y) before(s, x, y)
    DSEND_HEAP_UP(dsend_pending, s->heap, s->n, SENDER_BEFORE);
    if (s->n > s->max_queue)
        s->max_queue = s->n;
    return 0;
}

static void pop(dsend_sender *s, dsend_pending *out)
{
    DSEND_HEAP_POP(dsend_pending, s->heap, s->n, out, SENDER_BEFORE);
}
#undef SENDER_BEFORE

int dsend_sender_submit(dsend_sender *s, const dsend_send_request *rq)
{
    const dsend_library *lib = s->p->lib;
    if (rq->asset >= lib->nassets || rq->block >= lib->assets[rq->asset].blocks ||
        rq->sub_count == 0 ||
        rq->sub_first + rq->sub_count >
            dsend_block_subs(&lib->assets[rq->asset], rq->block, s->p->sub_block))
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
    int rc = push(s, &q);
    return rc ? rc : dsend_sender_run(s);
}

int dsend_sender_run(dsend_sender *s)
{
    int64_t now = s->clock->now(s->clock_ctx);
    const dsend_library *lib = s->p->lib;
    int64_t not_before = 0;
    while (s->n && s->link_free <= now) {
        if (s->p->send_ahead > 0 &&
            (not_before = next_deadline(s, &s->heap[0]) - s->p->send_ahead) > now)
            break; /* the earliest is not due yet: nothing is */
        dsend_pending q;
        pop(s, &q);
        const dsend_asset *a = &lib->assets[q.rq.asset];
        uint64_t base = q.rq.block * a->block_size;
        uint64_t off = base + (uint64_t)q.next_sub * s->p->sub_block;
        uint64_t blen = dsend_asset_block_len(a, q.rq.block);
        uint32_t len = (uint32_t)(base + blen - off < s->p->sub_block ? base + blen - off
                                                                      : s->p->sub_block);
        const uint8_t *bytes = NULL;
        if (a->kind == DSEND_ASSET_MPEGTS) {
            const dsend_block *blk = dsend_store_find(s->store, q.rq.asset, q.rq.block);
            if (!blk)
                return dsend_seterr(DSEND_EINVAL, "sender %d: block %llu of '%s' is not in RAM",
                                    s->device, (unsigned long long)q.rq.block, a->name);
            bytes = blk->data + (off - base);
        }
        int64_t wire = dsend_wire_ns(len, s->p->nic_bps);
        dsend_sub_block sb = {
            .client = q.rq.client,
            .asset = q.rq.asset,
            .offset = off,
            .len = len,
            .crc32c = dsend_sub_block_crc(a, off, len, bytes),
            .deadline = next_deadline(s, &q),
            .sent = now,
            .device = (uint32_t)s->device,
            .epoch = q.rq.epoch,
        };
        int rc = s->emit->sub_block(s->emit_ctx, &sb, wire);
        if (rc)
            return rc;
        s->link_free = now + wire;
        s->sub_blocks++;
        s->bytes += len;
        if (s->account)
            s->account(s->account_ctx, now, len, s->n);
        if (++q.next_sub < q.rq.sub_first + q.rq.sub_count && (rc = push(s, &q)))
            return rc;
    }
    int64_t wake = s->link_free > not_before ? s->link_free : not_before;
    if (s->n && s->wake_at != wake) {
        s->wake_at = wake;
        return s->clock->wake(s->clock_ctx, DSEND_WAKE_SENDER, wake);
    }
    return 0;
}
