/* The sender's RAM: a cache of blocks in front of mass storage (claims 2
 * and 27), with the usage counters of the scheduling-scheme patent of the
 * family.  The same code in both worlds; only the storage backend differs
 * (`serve`: a reader thread on the library file; `sim`: a disk model).
 *
 * A device whose RAM (--ram) holds all of its share preloads it at
 * start-up, as the loader always did, and the cache is *resident*: every
 * block it holds is in RAM, nothing is ever read or evicted.  Below its
 * share nothing is preloaded: a block is read when a look-ahead request or
 * a send request first needs it, and RAM is a budget of bytes (synthetic
 * blocks are accounted, their bytes being a function of their identity).
 *
 * Every block in the cache has a usage counter (pins): a look-ahead
 * request, a send request waiting or being sent, and a run of packets the
 * emit backend still holds each count one.  A block whose counter is above
 * zero is never evicted (asserted).  Eviction takes the least recently
 * released unpinned block; a read that finds no room waits until a block
 * is released, the block needed soonest first. */
#ifndef DSEND_CACHE_H
#define DSEND_CACHE_H

#include <stdint.h>

#include "dsend/library.h"
#include "dsend/loader.h"

/* ---- the storage seam: mass storage behind the cache ----
 * `read` starts reading `len` bytes of block `block` of `asset` into `buf`
 * (NULL for a synthetic block: only the time it takes is modelled).  It
 * never completes inside the call: the backend calls
 * dsend_device_loaded(device, asset, block, rc) later, from the device's
 * own thread (serve: the loop, woken by the reader thread; sim: an event
 * of the device), with the loader's checksum verified. */
typedef struct dsend_storage {
    const char *name;
    int (*read)(void *ctx, uint32_t asset, uint64_t block, uint8_t *buf, uint64_t len);
} dsend_storage;

/* Refuse a backend with a missing method. */
int dsend_check_storage(const dsend_storage *s);

enum dsend_block_state {
    DSEND_BLOCK_WAITING = 1, /* wanted, no room yet: queued for a read */
    DSEND_BLOCK_LOADING,     /* being read (its bytes are counted in RAM) */
    DSEND_BLOCK_READY,       /* in RAM */
    DSEND_BLOCK_FAILED,      /* the read failed (a checksum mismatch): never served */
};

/* One block in the cache. */
typedef struct dsend_cached {
    uint32_t asset;
    uint32_t pins;           /* usage counter: never evicted while above zero */
    uint64_t block, len;
    int state;               /* enum dsend_block_state */
    int64_t need;            /* waiting: when its bytes are first needed (ns) */
    uint8_t *data;           /* its bytes (NULL for a synthetic block) */
    struct dsend_cached *hnext;        /* hash chain */
    struct dsend_cached *prev, *next;  /* the LRU list (READY, unpinned) or the wait queue */
} dsend_cached;

/* What the cache counts (per device results, doc/results-format.md). */
enum dsend_cache_count {
    DSEND_CC_HITS,           /* send requests whose block was in RAM when they arrived */
    DSEND_CC_MISSES,         /* ... and whose block was not (absent, queued or being read) */
    DSEND_CC_READS,          /* blocks read from storage */
    DSEND_CC_READ_BYTES,     /* bytes read from storage */
    DSEND_CC_EVICTIONS,      /* blocks evicted to make room */
    DSEND_CC_PINNED,         /* blocks with a positive usage counter (a level, not a count) */
    DSEND_CC_N
};

typedef struct dsend_clock dsend_clock;

typedef struct dsend_cache {
    int device;
    const dsend_library *lib;
    const dsend_store *store;     /* resident: the preloaded blocks */
    int resident;                 /* all of the share in RAM: nothing read, nothing evicted */
    uint64_t capacity, used;      /* bytes of RAM for blocks; held (loading or ready) */
    const dsend_storage *storage;
    void *storage_ctx;
    dsend_cached **bucket;        /* hash of every block present, by (asset, block) */
    uint32_t nbuckets, n;
    dsend_cached lru;             /* sentinel: unpinned ready blocks, least recent first */
    dsend_cached wait;            /* sentinel: blocks waiting for room, earliest need first */
    uint64_t count[DSEND_CC_N];
    uint64_t max_pinned, errors;  /* most blocks pinned at once; failed reads */
    /* optional accounting: a count (or the pinned level) at a time (time series) */
    void (*account)(void *ctx, int64_t at, int what, uint64_t n);
    void *account_ctx;
    const dsend_clock *clock;
    void *clock_ctx;
} dsend_cache;

/* A cache for device `device` over its store: resident when the store
 * holds all of the share (store->resident). */
int dsend_cache_init(dsend_cache *c, int device, const dsend_library *lib,
                     const dsend_store *store, const dsend_storage *storage, void *storage_ctx,
                     const dsend_clock *clock, void *clock_ctx);
void dsend_cache_free(dsend_cache *c);

/* Use a block: its counter goes up, and a read starts if it is absent.
 * `send`: for a send request (counted as a hit or a miss); else a
 * look-ahead.  `need`: when its bytes are first needed (ns); reads waiting
 * for room start earliest need first.  *e is NULL in a resident cache
 * (every block there, always). */
int dsend_cache_pin(dsend_cache *c, uint32_t asset, uint64_t block, int send, int64_t need,
                    dsend_cached **e);
/* One more use of a block already pinned (a run of packets in flight). */
void dsend_cache_hold(dsend_cached *e);
/* One use less; an unpinned block becomes the most recently used
 * candidate for eviction, and reads waiting for room may start. */
int dsend_cache_unpin(dsend_cache *c, dsend_cached *e);
/* Its bytes are in RAM (a resident cache's always are). */
static inline int dsend_cache_ready(const dsend_cached *e)
{
    return !e || e->state == DSEND_BLOCK_READY;
}
/* The bytes of a ready block (NULL: synthetic). */
const uint8_t *dsend_cache_bytes(const dsend_cache *c, const dsend_cached *e, uint32_t asset,
                                 uint64_t block);
/* The storage backend finished a read (rc 0, or its error): the block is
 * ready or failed (*e), and reads waiting for room may start.  *e is NULL
 * if nothing was being read there (a stale answer). */
int dsend_cache_loaded(dsend_cache *c, uint32_t asset, uint64_t block, int rc, dsend_cached **e);
/* The block, if present (any state), else NULL. */
dsend_cached *dsend_cache_find(const dsend_cache *c, uint32_t asset, uint64_t block);
/* Blocks pinned now. */
static inline uint64_t dsend_cache_pinned(const dsend_cache *c)
{
    return c->count[DSEND_CC_PINNED];
}
/* Check every invariant (bytes held, lists, counters): 0 or a message. */
int dsend_cache_check(const dsend_cache *c);

#endif
