/* The UDP backend's transmit queue: a timing wheel of --pace-batch slots.
 * An entry is a committed run waiting for its next burst; it sits in the
 * slot of that burst's departure, so committing, taking what is due and
 * putting a run back for its next burst cost O(1) each, however many
 * sessions play (a heap of every run cost O(log n) per packet).  The ring
 * of slots grows (doubling) when a departure lies beyond it; a bitmap of
 * non-empty slots finds the next departure. */
#include "dsend/error.h"
#include "serve/serve_internal.h"

#include <stdlib.h>
#include <string.h>

int txwheel_init(txwheel *q, int64_t width)
{
    memset(q, 0, sizeof *q);
    q->width = width;
    q->free_head = -1;
    q->nslots = 4096;
    q->head = malloc(q->nslots * sizeof *q->head);
    q->tail = malloc(q->nslots * sizeof *q->tail);
    q->bits = calloc(q->nslots / 64, sizeof *q->bits);
    if (!q->head || !q->tail || !q->bits)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the transmit queue");
    memset(q->head, 0xff, q->nslots * sizeof *q->head); /* -1: empty */
    return 0;
}

void txwheel_free(txwheel *q)
{
    free(q->pool);
    free(q->head);
    free(q->tail);
    free(q->bits);
    free(q->due);
    memset(q, 0, sizeof *q);
}

static void link_in(txwheel *q, int32_t i, int64_t s)
{
    uint32_t k = (uint32_t)(s & (q->nslots - 1));
    q->pool[i].link = -1;
    if (q->head[k] < 0)
        q->head[k] = i;
    else
        q->pool[q->tail[k]].link = i;
    q->tail[k] = i;
    q->bits[k / 64] |= 1ull << (k % 64);
}

/* A departure at most this many slots ahead (2.3 h of 500 us slots, 128
 * MiB of ring): only an overloaded link without admission queues longer. */
#define MAX_SLOTS (1u << 24)

/* a ring twice as large (or more), every entry in its slot again, in order */
static int grow(txwheel *q, int64_t s)
{
    uint32_t n = q->nslots, old = q->nslots;
    if (s - q->base >= MAX_SLOTS)
        return dsend_seterr(DSEND_ENOMEM,
                            "transmit queue: a departure %.0f s ahead (the link, --nic, is far "
                            "below the load)",
                            (double)(s - q->base) * (double)q->width / 1e9);
    while ((int64_t)n <= s - q->base)
        n *= 2;
    int32_t *head = malloc(n * sizeof *head), *tail = malloc(n * sizeof *tail);
    uint64_t *bits = calloc(n / 64, sizeof *bits);
    if (!head || !tail || !bits) {
        free(head);
        free(tail);
        free(bits);
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the transmit queue");
    }
    memset(head, 0xff, n * sizeof *head);
    int32_t *oh = q->head;
    q->head = head;
    q->tail = tail;
    free(q->bits);
    q->bits = bits;
    q->nslots = n;
    for (int64_t a = q->base; a < q->base + old; a++)
        for (int32_t i = oh[a & (old - 1)], nx; i >= 0; i = nx) {
            nx = q->pool[i].link;
            link_in(q, i, a);
        }
    free(oh);
    return 0;
}

int txwheel_insert(txwheel *q, int32_t i)
{
    int64_t s = q->pool[i].next_at / q->width;
    if (s < q->base)
        s = q->base; /* due already: the next turn sends it */
    if (s - q->base >= q->nslots) {
        int rc = grow(q, s);
        if (rc)
            return rc;
    }
    link_in(q, i, s);
    q->count++;
    return 0;
}

int txwheel_add(txwheel *q, const txrun *t)
{
    if (q->free_head < 0) {
        uint32_t cap = q->cap ? 2 * q->cap : 1024;
        txrun *p = realloc(q->pool, cap * sizeof *p);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for the transmit queue");
        q->pool = p;
        for (uint32_t i = cap; i-- > q->cap;) {
            p[i].link = q->free_head;
            q->free_head = (int32_t)i;
        }
        q->cap = cap;
    }
    int32_t i = q->free_head;
    q->free_head = q->pool[i].link;
    q->pool[i] = *t;
    return txwheel_insert(q, i);
}

void txwheel_release(txwheel *q, int32_t i)
{
    q->pool[i].link = q->free_head;
    q->free_head = i;
}

/* Take every entry of the slots up to the one holding `now` (in slot
 * order, each slot in the order its entries came) into q->due. */
int txwheel_take(txwheel *q, int64_t now)
{
    int64_t last = now / q->width;
    q->ndue = 0;
    if (last < q->base)
        return 0;
    if (q->capdue < q->count) {
        int32_t *d = realloc(q->due, q->count * sizeof *d);
        if (!d)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for the transmit queue");
        q->due = d;
        q->capdue = q->count;
    }
    int64_t end = last + 1 < q->base + q->nslots ? last + 1 : q->base + q->nslots;
    for (int64_t a = q->base; a < end && q->count;) {
        uint32_t k = (uint32_t)(a & (q->nslots - 1));
        uint64_t word = q->bits[k / 64] >> (k % 64);
        if (!word) { /* the rest of this word is empty */
            a += 64 - k % 64;
            continue;
        }
        int skip = __builtin_ctzll(word);
        a += skip;
        if (a >= end)
            break;
        k += (uint32_t)skip;
        for (int32_t i = q->head[k]; i >= 0; i = q->pool[i].link) {
            q->due[q->ndue++] = i;
            q->count--;
        }
        q->head[k] = -1;
        q->bits[k / 64] &= ~(1ull << (k % 64));
        a++;
    }
    q->base = last + 1;
    return 0;
}

int64_t txwheel_next(const txwheel *q)
{
    if (!q->count)
        return INT64_MAX;
    for (int64_t a = q->base; a < q->base + q->nslots;) {
        uint32_t k = (uint32_t)(a & (q->nslots - 1));
        uint64_t word = q->bits[k / 64] >> (k % 64);
        if (!word) {
            a += 64 - k % 64;
            continue;
        }
        return (a + __builtin_ctzll(word)) * q->width;
    }
    return INT64_MAX; /* not reached: count > 0 means a slot is set */
}

void txwheel_clear(txwheel *q)
{
    for (uint32_t k = 0; k < q->nslots; k++)
        for (int32_t i = q->head[k], nx; i >= 0; i = nx) {
            nx = q->pool[i].link;
            txwheel_release(q, i);
        }
    memset(q->head, 0xff, q->nslots * sizeof *q->head);
    memset(q->bits, 0, q->nslots / 64 * sizeof *q->bits);
    q->count = 0;
}
