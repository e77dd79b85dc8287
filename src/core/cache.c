/* The block cache of a sender: RAM in front of mass storage, with usage
 * counters (include/dsend/cache.h).  The same code in `sim` and `serve`;
 * only the storage backend differs. */
#include "dsend/core.h"
#include "dsend/error.h"
#include "dsend/checksum.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifdef DSEND_UNIT_TESTING /* tests/test_cache.c makes the assertion fire on purpose */
void mock_assert(const int result, const char *const expression, const char *const file,
                 const int line);
#undef assert
#define assert(e) mock_assert((int)(e), #e, __FILE__, __LINE__)
#endif

int dsend_check_storage(const dsend_storage *s)
{
    if (!s || !s->name || !s->read)
        return dsend_seterr(DSEND_EINVAL, "storage backend '%s' lacks a method",
                            s && s->name ? s->name : "(unnamed)");
    return 0;
}

/* ---- lists with a sentinel: the LRU list and the wait queue ---- */
static void list_init(dsend_cached *s) { s->prev = s->next = s; }
static int list_empty(const dsend_cached *s) { return s->next == s; }
static void list_add_tail(dsend_cached *s, dsend_cached *e)
{
    e->prev = s->prev;
    e->next = s;
    s->prev->next = e;
    s->prev = e;
}
static void list_del(dsend_cached *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

/* ---- the hash of present blocks ---- */
static uint32_t bucket_of(const dsend_cache *c, uint32_t asset, uint64_t block)
{
    return (uint32_t)(dsend_mix64(((uint64_t)asset << 40) ^ block) & (c->nbuckets - 1));
}

dsend_cached *dsend_cache_find(const dsend_cache *c, uint32_t asset, uint64_t block)
{
    if (!c->nbuckets)
        return NULL;
    for (dsend_cached *e = c->bucket[bucket_of(c, asset, block)]; e; e = e->hnext)
        if (e->asset == asset && e->block == block)
            return e;
    return NULL;
}

static int hash_add(dsend_cache *c, dsend_cached *e)
{
    if (c->n >= c->nbuckets) {
        uint32_t nb = c->nbuckets ? 2 * c->nbuckets : 256;
        dsend_cached **b = calloc(nb, sizeof *b);
        if (!b)
            return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory for its cache", c->device);
        dsend_cached **old = c->bucket;
        uint32_t on = c->nbuckets;
        c->bucket = b;
        c->nbuckets = nb;
        for (uint32_t i = 0; i < on; i++)
            for (dsend_cached *x = old[i], *nx; x; x = nx) {
                nx = x->hnext;
                uint32_t k = bucket_of(c, x->asset, x->block);
                x->hnext = b[k];
                b[k] = x;
            }
        free(old);
    }
    uint32_t k = bucket_of(c, e->asset, e->block);
    e->hnext = c->bucket[k];
    c->bucket[k] = e;
    c->n++;
    return 0;
}

static void hash_del(dsend_cache *c, dsend_cached *e)
{
    for (dsend_cached **p = &c->bucket[bucket_of(c, e->asset, e->block)]; *p; p = &(*p)->hnext)
        if (*p == e) {
            *p = e->hnext;
            c->n--;
            return;
        }
}

static void note(dsend_cache *c, int what, uint64_t n)
{
    if (what == DSEND_CC_PINNED) {
        c->count[what] = n;
        if (n > c->max_pinned)
            c->max_pinned = n;
    } else {
        c->count[what] += n;
    }
    if (c->account && !c->resident) /* a resident cache has hits only: no series */
        c->account(c->account_ctx, c->clock->now(c->clock_ctx), what, n);
}

int dsend_cache_init(dsend_cache *c, int device, const dsend_library *lib,
                     const dsend_store *store, const dsend_storage *storage, void *storage_ctx,
                     const dsend_clock *clock, void *clock_ctx)
{
    int rc;
    memset(c, 0, sizeof *c);
    list_init(&c->lru);
    list_init(&c->wait);
    if ((rc = dsend_check_storage(storage)) || (rc = dsend_check_clock(clock)))
        return rc;
    c->device = device;
    c->lib = lib;
    c->store = store;
    c->resident = !store || store->resident || store->share_bytes == 0;
    c->capacity = store ? store->capacity : 0;
    c->storage = storage;
    c->storage_ctx = storage_ctx;
    c->clock = clock;
    c->clock_ctx = clock_ctx;
    return 0;
}

void dsend_cache_free(dsend_cache *c)
{
    for (uint32_t i = 0; i < c->nbuckets; i++)
        for (dsend_cached *e = c->bucket[i], *nx; e; e = nx) {
            nx = e->hnext;
            free(e->data);
            free(e);
        }
    free(c->bucket);
    c->bucket = NULL;
    c->nbuckets = c->n = 0;
    list_init(&c->lru);
    list_init(&c->wait);
}

/* The one place a block leaves RAM: only an unpinned, ready block. */
static void evict(dsend_cache *c, dsend_cached *e)
{
    assert(e->pins == 0 && e->state == DSEND_BLOCK_READY);
    list_del(e);
    hash_del(c, e);
    c->used -= e->len;
    free(e->data);
    free(e);
    note(c, DSEND_CC_EVICTIONS, 1);
}

/* Evict least recently released blocks until `len` more bytes fit. */
static int make_room(dsend_cache *c, uint64_t len)
{
    while (c->used + len > c->capacity && !list_empty(&c->lru))
        evict(c, c->lru.next);
    return c->used + len <= c->capacity;
}

static int start_read(dsend_cache *c, dsend_cached *e)
{
    const dsend_asset *a = &c->lib->assets[e->asset];
    if (a->kind == DSEND_ASSET_MPEGTS && !(e->data = malloc(e->len)))
        return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory for a block of '%s'",
                            c->device, a->name);
    e->state = DSEND_BLOCK_LOADING;
    c->used += e->len;
    note(c, DSEND_CC_READS, 1);
    note(c, DSEND_CC_READ_BYTES, e->len);
    return c->storage->read(c->storage_ctx, e->asset, e->block, e->data, e->len);
}

/* Into the wait queue by need (after those needed as soon: first come
 * first served among equals). */
static void wait_for_room(dsend_cache *c, dsend_cached *e)
{
    dsend_cached *at = c->wait.prev;
    while (at != &c->wait && at->need > e->need)
        at = at->prev;
    e->prev = at;
    e->next = at->next;
    at->next->prev = e;
    at->next = e;
}

/* Reads waiting for room start, the one needed soonest first, while room
 * can be made. */
static int pump(dsend_cache *c)
{
    while (!list_empty(&c->wait) && make_room(c, c->wait.next->len)) {
        dsend_cached *e = c->wait.next;
        list_del(e);
        int rc = start_read(c, e);
        if (rc)
            return rc;
    }
    return 0;
}

int dsend_cache_pin(dsend_cache *c, uint32_t asset, uint64_t block, int send, int64_t need,
                    dsend_cached **out)
{
    int rc = 0;
    *out = NULL;
    if (c->resident) {
        if (send)
            note(c, DSEND_CC_HITS, 1);
        return 0;
    }
    dsend_cached *e = dsend_cache_find(c, asset, block);
    if (send)
        note(c, e && e->state == DSEND_BLOCK_READY ? DSEND_CC_HITS : DSEND_CC_MISSES, 1);
    if (!e) {
        if (!(e = calloc(1, sizeof *e)))
            return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory for its cache", c->device);
        e->asset = asset;
        e->block = block;
        e->len = dsend_asset_block_len(&c->lib->assets[asset], block);
        e->state = DSEND_BLOCK_WAITING;
        e->need = need;
        if ((rc = hash_add(c, e))) {
            free(e);
            return rc;
        }
        /* among reads already waiting; at once if room can be made */
        wait_for_room(c, e);
        e->pins = 1;
        note(c, DSEND_CC_PINNED, c->count[DSEND_CC_PINNED] + 1);
        *out = e;
        return pump(c);
    }
    if (e->pins++ == 0) {
        if (e->state == DSEND_BLOCK_READY)
            list_del(e); /* out of the LRU list: pinned */
        note(c, DSEND_CC_PINNED, c->count[DSEND_CC_PINNED] + 1);
    }
    *out = e;
    if (e->state == DSEND_BLOCK_WAITING && need < e->need) {
        list_del(e); /* needed sooner now: further up the queue */
        e->need = need;
        wait_for_room(c, e);
        return pump(c);
    }
    return 0;
}

void dsend_cache_hold(dsend_cached *e)
{
    if (e)
        e->pins++; /* it is pinned already: no list to leave */
}

int dsend_cache_unpin(dsend_cache *c, dsend_cached *e)
{
    if (!e)
        return 0;
    assert(e->pins > 0);
    if (--e->pins)
        return 0;
    note(c, DSEND_CC_PINNED, c->count[DSEND_CC_PINNED] - 1);
    switch (e->state) {
    case DSEND_BLOCK_READY:
        list_add_tail(&c->lru, e); /* the most recently used */
        return pump(c);
    case DSEND_BLOCK_WAITING: /* nobody wants it any more */
        list_del(e);
        hash_del(c, e);
        free(e);
        return 0;
    default: /* loading: it joins the LRU list when read; failed: kept, costs no RAM */
        return 0;
    }
}

const uint8_t *dsend_cache_bytes(const dsend_cache *c, const dsend_cached *e, uint32_t asset,
                                 uint64_t block)
{
    if (e)
        return e->data;
    if (c->lib->assets[asset].kind != DSEND_ASSET_MPEGTS || !c->store)
        return NULL;
    const dsend_block *b = dsend_store_find(c->store, asset, block);
    return b ? b->data : NULL;
}

int dsend_cache_loaded(dsend_cache *c, uint32_t asset, uint64_t block, int rc,
                       dsend_cached **out)
{
    dsend_cached *e = dsend_cache_find(c, asset, block);
    *out = NULL;
    if (!e || e->state != DSEND_BLOCK_LOADING)
        return 0; /* a stale answer */
    if (rc) {
        e->state = DSEND_BLOCK_FAILED;
        c->used -= e->len;
        free(e->data);
        e->data = NULL;
        c->errors++;
    } else {
        e->state = DSEND_BLOCK_READY;
        if (e->pins == 0)
            list_add_tail(&c->lru, e);
    }
    *out = e;
    /* room freed (a failure), or an evictable block (nobody waits for it) */
    return pump(c);
}

int dsend_cache_check(const dsend_cache *c)
{
    uint64_t used = 0, pinned = 0, lru_ok = 0, n = 0;
    for (uint32_t i = 0; i < c->nbuckets; i++)
        for (const dsend_cached *e = c->bucket[i]; e; e = e->hnext) {
            n++;
            if (e->state == DSEND_BLOCK_LOADING || e->state == DSEND_BLOCK_READY)
                used += e->len;
            pinned += e->pins > 0;
            lru_ok += e->state == DSEND_BLOCK_READY && e->pins == 0;
            if (e->state == DSEND_BLOCK_WAITING && e->pins == 0)
                return dsend_seterr(DSEND_EINVAL, "cache: a block waits for nobody");
        }
    uint64_t lru = 0;
    for (const dsend_cached *e = c->lru.next; e != &c->lru; e = e->next, lru++)
        if (e->pins || e->state != DSEND_BLOCK_READY)
            return dsend_seterr(DSEND_EINVAL, "cache: a pinned or unready block can be evicted");
    for (const dsend_cached *e = c->wait.next; e != &c->wait; e = e->next)
        if (e->state != DSEND_BLOCK_WAITING || (e->next != &c->wait && e->next->need < e->need))
            return dsend_seterr(DSEND_EINVAL, "cache: the wait queue holds a block not waiting, "
                                              "or out of order");
    if (n != c->n || used != c->used || pinned != c->count[DSEND_CC_PINNED] || lru != lru_ok)
        return dsend_seterr(DSEND_EINVAL,
                            "cache: %llu blocks (%u counted), %llu bytes (%llu counted), %llu "
                            "pinned (%llu counted), %llu evictable (%llu listed)",
                            (unsigned long long)n, c->n, (unsigned long long)used,
                            (unsigned long long)c->used, (unsigned long long)pinned,
                            (unsigned long long)c->count[DSEND_CC_PINNED],
                            (unsigned long long)lru_ok, (unsigned long long)lru);
    if (!c->resident && c->used > c->capacity)
        return dsend_seterr(DSEND_EINVAL, "cache: %llu bytes held, above its %llu",
                            (unsigned long long)c->used, (unsigned long long)c->capacity);
    return 0;
}
