/* Pending events of the event core: a calendar in front of a heap
 * (src/des/des_internal.h, des_queue).
 *
 * A simulation holds many events far ahead of now (a client's packet runs
 * are committed up to --lead ahead): one binary heap of them all is deep,
 * and each pop walks it through cache misses.  Here only events before
 * `horizon` are in the heap (`near`); later ones wait unsorted in buckets
 * of DES_BUCKET_NS each (a ring of them), or beyond the ring in a heap of
 * their own (`far`).  When the near heap runs dry the next bucket is
 * opened into it.  The order is the keys' order exactly: every event
 * before the horizon is in the near heap, every other one after it. */
#include "des/des_internal.h"
#include "dsend/error.h"

#include <stdlib.h>
#include <string.h>

static int key_before(const des_key *a, const des_key *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts;
    return a->ord < b->ord;
}

static void sift_up(des_key *v, size_t i)
{
    des_key x = v[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!key_before(&x, &v[p]))
            break;
        v[i] = v[p];
        i = p;
    }
    v[i] = x;
}

static void sift_down(des_key *v, size_t n, size_t i)
{
    des_key x = v[i];
    for (;;) {
        size_t m = 2 * i + 1;
        if (m >= n)
            break;
        if (m + 1 < n && key_before(&v[m + 1], &v[m]))
            m++;
        if (!key_before(&v[m], &x))
            break;
        v[i] = v[m];
        i = m;
    }
    v[i] = x;
}

/* Pop the first key: the hole goes down the smaller children to a leaf,
 * then the last key rises into it from there (it mostly belongs near the
 * bottom: one comparison a level instead of two). */
static void heap_pop(des_keys *h, des_key *out)
{
    des_key *v = h->v;
    *out = v[0];
    size_t n = --h->n, i = 0;
    des_key x = v[n];
    for (;;) {
        size_t m = 2 * i + 1;
        if (m >= n)
            break;
        if (m + 1 < n && key_before(&v[m + 1], &v[m]))
            m++;
        v[i] = v[m];
        i = m;
    }
    v[i] = x;
    sift_up(v, i);
}

static int keys_push(des_keys *h, const des_key *k)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        des_key *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for %zu pending events", cap);
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = *k;
    return 0;
}

static int heap_push(des_keys *h, const des_key *k)
{
    int rc = keys_push(h, k);
    if (rc == 0)
        sift_up(h->v, h->n - 1);
    return rc;
}

static int64_t align(int64_t ts)
{
    int64_t r = ts % DES_BUCKET_NS;
    return r < 0 ? ts - r - DES_BUCKET_NS : ts - r;
}

int des_queue_push(des_queue *q, const des_key *k)
{
    if (!q->started) {
        q->started = 1;
        q->horizon = align(k->ts);
    }
    q->n++;
    if (k->ts < q->horizon)
        return heap_push(&q->near, k);
    /* (computed without overflow: ts >= horizon) */
    uint64_t b = ((uint64_t)k->ts - (uint64_t)q->horizon) / DES_BUCKET_NS;
    if (b >= DES_BUCKETS)
        return heap_push(&q->far, k);
    if (!q->ring && !(q->ring = calloc(DES_BUCKETS, sizeof *q->ring)))
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the event calendar");
    des_keys *bk = &q->ring[(q->cur + b) % DES_BUCKETS];
    if (!bk->cap && q->nspare)
        *bk = q->spare[--q->nspare];
    int rc = keys_push(bk, k);
    if (rc == 0)
        q->nring++;
    return rc;
}

/* An emptied array for later buckets (freed if large, or if the spares
 * cannot grow: a ring of large arrays would hold memory). */
static void put_spare(des_queue *q, des_keys *a)
{
    int keep = a->cap && a->cap <= 4096;
    if (keep && q->nspare == q->capspare) {
        size_t cap = q->capspare ? 2 * q->capspare : 64;
        des_keys *p = realloc(q->spare, cap * sizeof *p);
        if (p) {
            q->spare = p;
            q->capspare = cap;
        }
        keep = p != NULL;
    }
    if (keep) {
        a->n = 0;
        q->spare[q->nspare++] = *a;
    } else {
        free(a->v);
    }
    memset(a, 0, sizeof *a);
}

/* Open buckets (and far events) until the near heap has the first key. */
static int refill(des_queue *q)
{
    while (q->near.n == 0 && (q->nring || q->far.n)) {
        if (!q->nring) {
            /* nothing in the ring: move the horizon to the far heap's first */
            q->horizon = align(q->far.v[0].ts);
            q->cur = 0;
        }
        if (q->nring) {
            des_keys *b = &q->ring[q->cur];
            if (b->n) {
                /* the bucket becomes the near heap (Floyd's build); the
                 * near heap's empty array becomes a spare */
                des_keys t = q->near;
                q->near = *b;
                memset(b, 0, sizeof *b);
                put_spare(q, &t);
                q->nring -= q->near.n;
                for (size_t i = q->near.n / 2; i-- > 0;)
                    sift_down(q->near.v, q->near.n, i);
            }
            q->cur = (q->cur + 1) % DES_BUCKETS;
        }
        q->horizon += DES_BUCKET_NS;
        while (q->far.n && q->far.v[0].ts < q->horizon) {
            des_key k;
            heap_pop(&q->far, &k);
            int rc = heap_push(&q->near, &k);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int des_queue_top(des_queue *q, const des_key **top)
{
    int rc = q->near.n == 0 ? refill(q) : 0;
    *top = q->near.n ? &q->near.v[0] : NULL;
    return rc;
}

void des_queue_pop(des_queue *q, des_key *out)
{
    heap_pop(&q->near, out);
    q->n--;
}

void des_queue_free(des_queue *q)
{
    free(q->near.v);
    free(q->far.v);
    if (q->ring)
        for (size_t i = 0; i < DES_BUCKETS; i++)
            free(q->ring[i].v);
    free(q->ring);
    for (size_t i = 0; i < q->nspare; i++)
        free(q->spare[i].v);
    free(q->spare);
    memset(q, 0, sizeof *q);
}
