/* Internal to the event core: its state, and the seam of the exchanges
 * (how ranks agree on a window and hand each other their events). */
#ifndef DSEND_DES_INTERNAL_H
#define DSEND_DES_INTERNAL_H

#include "dsend/des.h"

#include <stddef.h>

typedef struct des_evbuf {
    dsend_event *v;
    size_t n, cap;
} des_evbuf;

/* A pending event: its order, (ts, src_lp << 40 | seq), and where it waits
 * in the pool. */
typedef struct des_key {
    int64_t ts;
    uint64_t ord;
    uint32_t slot, lp; /* the event in the pool; its destination LP */
} des_key;
#define DES_SEQ_BITS 40
#define DES_MAX_LPS (1u << 24)

/* A pending event in the pool: what its key does not say (its time, source,
 * sequence and destination are the key's; its reach is computed again when
 * it runs).  One cache line: at scale the next event's slot is a miss, and
 * one line misses once. */
typedef struct des_slot {
    _Alignas(64) uint32_t type;
    uint32_t pad_;
    unsigned char payload[DSEND_DES_PAYLOAD];
} des_slot;
_Static_assert(sizeof(des_slot) == 64, "a pending event is one cache line");

/* Keys in an array: a heap, or a calendar's bucket. */
typedef struct des_keys {
    des_key *v;
    size_t n, cap;
} des_keys;

/* A calendar in front of a heap (src/des/queue.c): the same order as one
 * heap, without its depth. */
#define DES_BUCKET_NS (1ll << 20) /* about 1 ms */
#define DES_BUCKETS 4096          /* about 4.3 s ahead; later ones in `far` */
typedef struct des_queue {
    des_keys near, far;
    des_keys *ring;
    /* arrays of buckets that emptied, for the next bucket to fill: only the
     * buckets holding keys hold memory, and what a bucket gets was in use
     * a moment ago (a ring of arrays of its own would touch fresh memory
     * all round the ring: 12 MiB a rank that sends little) */
    des_keys *spare;
    size_t nspare, capspare;
    size_t nring, cur, n;
    int64_t horizon;
    int started;
} des_queue;
int des_queue_push(des_queue *q, const des_key *k);
/* The first key (NULL: none); a non-zero return is out of memory. */
int des_queue_top(des_queue *q, const des_key **top);
void des_queue_pop(des_queue *q, des_key *out);
void des_queue_free(des_queue *q);

/* Pending events wait in one queue per lookahead (a model has a handful),
 * so min(ts + lookahead) over all of them is read off the fronts.  An event
 * whose lookahead has no class of its own joins one with a smaller
 * lookahead (or lowers the smallest): windows only get more careful. */
#define DES_CLASSES 12
typedef struct des_class {
    int64_t la;
    des_queue q;
} des_class;

/* One agreement per window: every rank gives {earliest pending ts, the
 * earliest ts + lookahead, failed} and its events for the other ranks
 * (d->out[r]); the exchange gives back the minimum, the minimum and the
 * maximum over all ranks, having handed every event sent to this rank to
 * des_deliver. */
enum { DES_NEXT = 0, DES_BOUND = 1, DES_FAILED = 2 };
typedef struct des_exchange {
    const char *name;
    int (*open)(dsend_des *d, void **ctx);                /* collective */
    int (*exchange)(void *ctx, dsend_des *d, const int64_t mine[3], int64_t all[3]);
    void (*close)(void *ctx);                             /* collective */
} des_exchange;

extern const des_exchange des_exchange_mpi;
extern const des_exchange des_exchange_shm;

struct dsend_des {
    MPI_Comm comm;
    int rank, size;
    int node_ranks, cores, one_node;
    uint32_t nlps;
    dsend_lp_rank_fn lp_rank;
    dsend_lookahead_fn lookahead;
    const void *arg;
    int64_t max_lookahead;
    dsend_prefetch_fn prefetch; /* optional: dsend_des_prefetch */
    const void *prefetch_arg;
    int64_t now;
    int64_t promise;    /* ts + lookahead of the event being processed */
    /* the LPs this rank hosts, by id - lp_lo, in one array over the span
     * of its ids (type NULL where an id in it is hosted elsewhere): an
     * LP's place is known from its id alone, so the next event's LP is
     * fetched ahead with no read of a table of pointers */
    dsend_lp *lps;
    uint32_t lp_lo, lp_span;
    /* pending events: a pool, and their keys in heaps by lookahead */
    des_slot *pool;
    uint32_t *free_slots;
    uint32_t nfree, used, cap;
    des_class cls[DES_CLASSES];
    int ncls;
    des_evbuf *out;     /* per destination rank, this window */
    const des_exchange *xo;
    void *xctx;
    uint64_t events, windows;
    double sync_s, run_s; /* in window agreements; in dsend_des_run */
    int failed, fail_rc;
};

/* Events sent to this rank by another (any order). */
int des_deliver(dsend_des *d, const dsend_event *v, size_t n);

#endif
