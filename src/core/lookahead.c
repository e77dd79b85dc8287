/* Look-ahead pins on a sender: which stream's look-ahead request pinned
 * which block (the usage counters of the scheduling-scheme patent).  A pin
 * lasts until the send request for the same (client, epoch, block) takes
 * it over, the stream's plan changes or ends (a new epoch, announced to
 * every device), or the block's playout has ended without its send request
 * coming here (it went to another holder). */
#include "dsend/core.h"
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "util/heap.h"

#include <stdlib.h>
#include <string.h>

/* Open addressing by client with linear probing; an empty slot has no
 * array (v == NULL), and a stream without pins leaves the table
 * (backward-shift deletion), so the table holds the streams pinning now. */
static uint32_t home(const dsend_lookaheads *t, uint32_t client)
{
    return (uint32_t)dsend_mix64(client) & (t->cap - 1);
}

static dsend_la_stream *find(const dsend_lookaheads *t, uint32_t client)
{
    if (!t->cap)
        return NULL;
    for (uint32_t i = home(t, client);; i = (i + 1) & (t->cap - 1)) {
        dsend_la_stream *s = &t->slot[i];
        if (!s->v)
            return NULL;
        if (s->client == client)
            return s;
    }
}

static int grow(dsend_lookaheads *t)
{
    dsend_lookaheads b = *t;
    b.cap = t->cap ? 2 * t->cap : 64;
    if (!(b.slot = calloc(b.cap, sizeof *b.slot)))
        return dsend_seterr(DSEND_ENOMEM, "out of memory for look-ahead pins");
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->slot[i].v) {
            uint32_t k = home(&b, t->slot[i].client);
            while (b.slot[k].v)
                k = (k + 1) & (b.cap - 1);
            b.slot[k] = t->slot[i];
        }
    free(t->slot);
    *t = b;
    return 0;
}

static dsend_la_stream *insert(dsend_lookaheads *t, uint32_t client)
{
    if (2 * (t->nstreams + 1) > t->cap && grow(t))
        return NULL;
    uint32_t i = home(t, client);
    while (t->slot[i].v)
        i = (i + 1) & (t->cap - 1);
    dsend_la_stream *s = &t->slot[i];
    if (!(s->v = malloc(4 * sizeof *s->v))) {
        dsend_seterr(DSEND_ENOMEM, "out of memory for look-ahead pins");
        return NULL;
    }
    s->client = client;
    s->n = 0;
    s->cap = 4;
    t->nstreams++;
    return s;
}

/* The stream has no pin left: out of the table, and the slots after it
 * shift back so every probe still finds its client. */
static void drop_stream(dsend_lookaheads *t, dsend_la_stream *s)
{
    uint32_t i = (uint32_t)(s - t->slot);
    free(s->v);
    memset(s, 0, sizeof *s);
    t->nstreams--;
    for (uint32_t j = (i + 1) & (t->cap - 1); t->slot[j].v; j = (j + 1) & (t->cap - 1)) {
        uint32_t h = home(t, t->slot[j].client);
        /* slot j may move into the hole at i if its home is not in (i, j] */
        if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
            t->slot[i] = t->slot[j];
            memset(&t->slot[j], 0, sizeof t->slot[j]);
            i = j;
        }
    }
}

static int due_before(const dsend_la_due *x, const dsend_la_due *y)
{
    if (x->at != y->at)
        return x->at < y->at;
    if (x->client != y->client)
        return x->client < y->client;
    return x->block < y->block;
}

int dsend_lookahead_add(dsend_lookaheads *t, dsend_cache *c, const dsend_send_request *rq,
                        int64_t need, int64_t expire)
{
    dsend_la_stream *s = find(t, rq->client);
    for (uint32_t i = 0; s && i < s->n; i++)
        if (s->v[i].asset == rq->asset && s->v[i].block == rq->block &&
            s->v[i].epoch == rq->epoch)
            return 0; /* pinned already (asked again, after a failover) */
    if (t->ndue == t->capdue) {
        uint32_t cap = t->capdue ? 2 * t->capdue : 256;
        void *g = realloc(t->due, cap * sizeof *t->due);
        if (!g)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for look-ahead pins");
        t->due = g;
        t->capdue = cap;
    }
    if (!s && !(s = insert(t, rq->client)))
        return DSEND_ENOMEM;
    if (s->n == s->cap) {
        void *g = realloc(s->v, 2 * s->cap * sizeof *s->v);
        if (!g)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for look-ahead pins");
        s->v = g;
        s->cap *= 2;
    }
    dsend_la_pin *p = &s->v[s->n];
    *p = (dsend_la_pin){.asset = rq->asset, .epoch = rq->epoch, .block = rq->block,
                        .expire = expire};
    int rc = dsend_cache_pin(c, rq->asset, rq->block, 0, need, &p->blk);
    if (rc)
        return rc;
    s->n++;
    t->pins++;
    t->due[t->ndue++] = (dsend_la_due){.at = expire, .client = rq->client, .asset = rq->asset,
                                       .epoch = rq->epoch, .block = rq->block};
    DSEND_HEAP_UP(dsend_la_due, t->due, t->ndue, due_before);
    return 0;
}

/* Release pin i of stream s (the last one moves into its place). */
static int release(dsend_lookaheads *t, dsend_cache *c, dsend_la_stream *s, uint32_t i)
{
    dsend_cached *blk = s->v[i].blk;
    s->v[i] = s->v[--s->n];
    t->pins--;
    if (!s->n)
        drop_stream(t, s);
    return dsend_cache_unpin(c, blk);
}

int dsend_lookahead_take(dsend_lookaheads *t, dsend_cache *c, uint32_t client, uint32_t epoch,
                         uint32_t asset, uint64_t block)
{
    dsend_la_stream *s = find(t, client);
    for (uint32_t i = 0; s && i < s->n; i++)
        if (s->v[i].asset == asset && s->v[i].block == block && s->v[i].epoch == epoch)
            return release(t, c, s, i);
    return 0;
}

int dsend_lookahead_release(dsend_lookaheads *t, dsend_cache *c, uint32_t client, int open,
                            uint32_t epoch)
{
    dsend_la_stream *s = find(t, client);
    int rc = 0;
    for (uint32_t i = 0; s && i < s->n && rc == 0;) {
        if (open && s->v[i].epoch == epoch) {
            i++;
            continue;
        }
        int last = s->n == 1;
        rc = release(t, c, s, i);
        if (last)
            break; /* the stream left the table */
    }
    return rc;
}

/* The pin an expiry names, if it is still there (-1: taken or released). */
static int64_t pin_of(const dsend_lookaheads *t, const dsend_la_due *d, dsend_la_stream **sp)
{
    dsend_la_stream *s = find(t, d->client);
    *sp = s;
    for (uint32_t i = 0; s && i < s->n; i++)
        if (s->v[i].asset == d->asset && s->v[i].block == d->block && s->v[i].epoch == d->epoch &&
            s->v[i].expire == d->at)
            return i;
    return -1;
}

int dsend_lookahead_expire(dsend_lookaheads *t, dsend_cache *c, int64_t now)
{
    int rc = 0;
    while (t->ndue && t->due[0].at <= now && rc == 0) {
        dsend_la_due d;
        DSEND_HEAP_POP(dsend_la_due, t->due, t->ndue, &d, due_before);
        dsend_la_stream *s;
        int64_t i = pin_of(t, &d, &s);
        if (i >= 0)
            rc = release(t, c, s, (uint32_t)i);
    }
    return rc;
}

int64_t dsend_lookahead_next(dsend_lookaheads *t)
{
    /* expiries of pins taken over or released since are dropped, so they
     * arm no timer */
    while (t->ndue) {
        dsend_la_stream *s;
        if (pin_of(t, &t->due[0], &s) >= 0)
            return t->due[0].at;
        dsend_la_due gone;
        DSEND_HEAP_POP(dsend_la_due, t->due, t->ndue, &gone, due_before);
    }
    return INT64_MAX;
}

void dsend_lookahead_free(dsend_lookaheads *t)
{
    for (uint32_t i = 0; i < t->cap; i++)
        free(t->slot[i].v);
    free(t->slot);
    free(t->due);
    memset(t, 0, sizeof *t);
}
