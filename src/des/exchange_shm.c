/* The event core's exchange through the node's shared memory, for ranks
 * that all share one node (a workstation, however many ranks it runs).
 *
 * Each rank has a row in a shared table (its bounds, and where its events
 * for each other rank lie) and an outbox (its events, grouped by
 * destination).  A window's agreement is one barrier: every rank writes
 * its row and outbox, arrives, and then reads every row and the part of
 * every outbox meant for it.  Rows and outboxes have two halves used by
 * alternate rounds, so a rank writing round k + 1 never overwrites what a
 * slower rank still reads of round k (it reads before it arrives at the
 * next barrier).  An outbox too small for a round grows by a collective
 * reallocation, after the barrier, while nobody reads.
 *
 * The barrier waits on a futex: a rank that arrives early spins a little
 * when it has a core of its own and otherwise sleeps in the kernel until
 * the last one arrives, so 64 ranks on 2 cores leave the cores to the ranks
 * with work (MPI's own waits poll, and yield at best). */
#define _GNU_SOURCE
#include "des/des_internal.h"
#include "dsend/error.h"
#include "util/check.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct shm_hdr {
    _Atomic uint32_t count, gen, sleepers;
} shm_hdr;

/* a row: next, bound, failed, need, then off[P] and cnt[P] */
enum { ROW_NEXT = 0, ROW_BOUND = 1, ROW_FAILED = 2, ROW_NEED = 3, ROW_OFF = 4 };

typedef struct shm_ctx {
    MPI_Comm comm;
    int P, me, spin;
    MPI_Win ctlwin, boxwin;
    shm_hdr *hdr;
    int64_t *rows;          /* [2][P][rowlen] */
    size_t rowlen;
    dsend_event **box;      /* each rank's outbox: two halves of cap[r] events */
    size_t *cap;
    uint64_t round;
} shm_ctx;

static int64_t *row(shm_ctx *c, int half, int r)
{
    return c->rows + ((size_t)half * (size_t)c->P + (size_t)r) * c->rowlen;
}

static void futex_wait(_Atomic uint32_t *a, uint32_t v)
{
    syscall(SYS_futex, a, FUTEX_WAIT, v, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *a)
{
    syscall(SYS_futex, a, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void barrier(shm_ctx *c)
{
    shm_hdr *h = c->hdr;
    uint32_t g = atomic_load(&h->gen);
    if (atomic_fetch_add(&h->count, 1) == (uint32_t)c->P - 1) {
        atomic_store(&h->count, 0);
        atomic_store(&h->gen, g + 1);
        if (atomic_load(&h->sleepers))
            futex_wake(&h->gen);
        return;
    }
    for (int i = 0; i < c->spin; i++) {
        if (atomic_load_explicit(&h->gen, memory_order_acquire) != g)
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    /* a sleeper counted before it looks again: the last arrival either sees
     * it and wakes it, or it sees the new generation and never sleeps */
    atomic_fetch_add(&h->sleepers, 1);
    while (atomic_load(&h->gen) == g)
        futex_wait(&h->gen, g);
    atomic_fetch_sub(&h->sleepers, 1);
}

/* (Re)allocate the outboxes, this rank's with room for `want` events a half. */
static int alloc_boxes(shm_ctx *c, size_t want)
{
    int rc = 0;
    MPI_Info info = MPI_INFO_NULL;
    dsend_event *mine;
    if (c->boxwin != MPI_WIN_NULL)
        MPI_CHECK(MPI_Win_free(&c->boxwin));
    MPI_CHECK(MPI_Info_create(&info));
    MPI_CHECK(MPI_Info_set(info, "alloc_shared_noncontig", "true"));
    MPI_CHECK(MPI_Win_allocate_shared((MPI_Aint)(2 * want * sizeof(dsend_event)),
                                      (int)sizeof(dsend_event), info, c->comm, &mine,
                                      &c->boxwin));
    for (int r = 0; r < c->P; r++) {
        MPI_Aint bytes;
        int unit;
        MPI_CHECK(MPI_Win_shared_query(c->boxwin, r, &bytes, &unit, &c->box[r]));
        c->cap[r] = (size_t)bytes / (2 * sizeof(dsend_event));
    }
err:
    if (info != MPI_INFO_NULL)
        MPI_Info_free(&info);
    return rc;
}

static void shm_close(void *vctx)
{
    shm_ctx *c = vctx;
    if (!c)
        return;
    if (c->boxwin != MPI_WIN_NULL)
        MPI_Win_free(&c->boxwin);
    if (c->ctlwin != MPI_WIN_NULL)
        MPI_Win_free(&c->ctlwin);
    if (c->comm != MPI_COMM_NULL)
        MPI_Comm_free(&c->comm);
    free(c->box);
    free(c->cap);
    free(c);
}

static int shm_open(dsend_des *d, void **out)
{
    int rc = 0;
    shm_ctx *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    c->comm = MPI_COMM_NULL;
    c->ctlwin = c->boxwin = MPI_WIN_NULL;
    c->P = d->size;
    c->me = d->rank;
    /* a rank with a core of its own spins about 100 us before it sleeps */
    c->spin = d->node_ranks > d->cores ? 0 : 4000;
    c->rowlen = ROW_OFF + 2 * (size_t)c->P;
    c->box = calloc((size_t)c->P, sizeof *c->box);
    c->cap = calloc((size_t)c->P, sizeof *c->cap);
    if (!c->box || !c->cap)
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
    /* from here on only collectives every rank reaches */
    MPI_CHECK(MPI_Comm_dup(d->comm, &c->comm));
    size_t ctl = 64 + 2 * (size_t)c->P * c->rowlen * sizeof(int64_t);
    void *base;
    MPI_CHECK(MPI_Win_allocate_shared(c->me == 0 ? (MPI_Aint)ctl : 0, 1, MPI_INFO_NULL, c->comm,
                                      &base, &c->ctlwin));
    MPI_Aint bytes;
    int unit;
    MPI_CHECK(MPI_Win_shared_query(c->ctlwin, 0, &bytes, &unit, &base));
    c->hdr = base;
    c->rows = (int64_t *)((char *)base + 64);
    if (c->me == 0)
        memset(base, 0, ctl);
    if (rc == 0)
        rc = alloc_boxes(c, 1024);
    else
        alloc_boxes(c, 0);
    MPI_CHECK(MPI_Barrier(c->comm));
    if (rc)
        goto err;
    *out = c;
    return 0;
err:
    shm_close(c);
    return rc;
}

/* This round's events into this rank's outbox half, grouped by destination. */
static void fill_box(shm_ctx *c, dsend_des *d, int half)
{
    int64_t *w = row(c, half, c->me);
    dsend_event *dst = c->box[c->me] + (size_t)half * c->cap[c->me];
    size_t off = 0;
    for (int r = 0; r < c->P; r++) {
        size_t n = d->out[r].n;
        w[ROW_OFF + r] = (int64_t)off;
        w[ROW_OFF + c->P + r] = (int64_t)n;
        if (n)
            memcpy(dst + off, d->out[r].v, n * sizeof *dst);
        off += n;
    }
}

static int shm_exchange(void *vctx, dsend_des *d, const int64_t mine[3], int64_t all[3])
{
    shm_ctx *c = vctx;
    int half = (int)(c->round++ & 1), rc = 0;
    size_t total = 0;
    for (int r = 0; r < c->P; r++)
        total += d->out[r].n;
    int64_t *w = row(c, half, c->me);
    int fits = total <= c->cap[c->me];
    if (fits)
        fill_box(c, d, half);
    w[ROW_NEXT] = mine[DES_NEXT];
    w[ROW_BOUND] = mine[DES_BOUND];
    w[ROW_FAILED] = mine[DES_FAILED];
    w[ROW_NEED] = fits ? 0 : (int64_t)total;
    barrier(c);
    int64_t next = DSEND_TIME_INF, bound = DSEND_TIME_INF, failed = 0, need = 0;
    for (int r = 0; r < c->P; r++) {
        const int64_t *x = row(c, half, r);
        next = x[ROW_NEXT] < next ? x[ROW_NEXT] : next;
        bound = x[ROW_BOUND] < bound ? x[ROW_BOUND] : bound;
        failed |= x[ROW_FAILED];
        need |= x[ROW_NEED];
    }
    if (need) {
        /* everybody read the last round before this barrier: the outboxes
         * can move; this one grows if it must */
        size_t want = c->cap[c->me];
        while (want < total)
            want *= 2;
        if ((rc = alloc_boxes(c, want)))
            return rc;
        fill_box(c, d, half);
        w[ROW_NEED] = 0;
        barrier(c);
    }
    for (int r = 0; r < c->P; r++) {
        if (r == c->me)
            continue;
        const int64_t *x = row(c, half, r);
        size_t n = (size_t)x[ROW_OFF + c->P + c->me];
        if (n && (rc = des_deliver(d, c->box[r] + (size_t)half * c->cap[r] +
                                          (size_t)x[ROW_OFF + c->me],
                                   n)))
            return rc;
    }
    all[DES_NEXT] = next;
    all[DES_BOUND] = bound;
    all[DES_FAILED] = failed;
    return 0;
}

const des_exchange des_exchange_shm = {
    .name = "shm",
    .open = shm_open,
    .exchange = shm_exchange,
    .close = shm_close,
};
