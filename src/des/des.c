/* Conservative parallel discrete-event core (see include/dsend/des.h). */
#include "des/des_internal.h"
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "util/check.h"
#include "util/heap.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The event's reach: ts + its lookahead, capped by max_lookahead. */
static int64_t reach_of(const dsend_des *d, const dsend_event *e)
{
    int64_t la = d->lookahead(e, d->arg);
    if (la > d->max_lookahead)
        la = d->max_lookahead;
    if (la < 1)
        return INT64_MIN;
    return add_sat(e->ts, la);
}

static int grow_pool(dsend_des *d)
{
    uint32_t cap = d->cap ? 2 * d->cap : 4096;
    if (cap <= d->cap)
        return dsend_seterr(DSEND_ENOMEM, "more than %u pending events on rank %d", d->cap,
                            d->rank);
    /* slots on cache lines: aligned, so moved by hand rather than realloc */
    des_slot *p = aligned_alloc(64, (size_t)cap * sizeof *p);
    if (p && d->used)
        memcpy(p, d->pool, (size_t)d->used * sizeof *p);
    uint32_t *f = realloc(d->free_slots, (size_t)cap * sizeof *f);
    if (f)
        d->free_slots = f;
    if (!p || !f) {
        free(p);
        return dsend_seterr(DSEND_ENOMEM, "out of memory for %u pending events", cap);
    }
    free(d->pool);
    d->pool = p;
    d->cap = cap;
    return 0;
}

/* The class an event of lookahead `la` waits in (see des_internal.h). */
static des_class *class_of(dsend_des *d, int64_t la)
{
    des_class *below = NULL, *least = NULL;
    for (int i = 0; i < d->ncls; i++) {
        des_class *c = &d->cls[i];
        if (c->la == la)
            return c;
        if (c->la < la && (!below || c->la > below->la))
            below = c;
        if (!least || c->la < least->la)
            least = c;
    }
    if (d->ncls < DES_CLASSES) {
        d->cls[d->ncls].la = la;
        return &d->cls[d->ncls++];
    }
    if (below)
        return below;
    least->la = la;
    return least;
}

static int insert(dsend_des *d, const dsend_event *e)
{
    if (e->reach == INT64_MIN)
        return dsend_seterr(DSEND_EINVAL, "event type %u at LP %u: lookahead < 1 ns", e->type,
                            e->dst_lp);
    des_class *c = class_of(d, e->reach == DSEND_TIME_INF ? DSEND_TIME_INF : e->reach - e->ts);
    uint32_t slot;
    if (d->nfree) {
        slot = d->free_slots[--d->nfree];
    } else {
        if (d->used == d->cap) {
            int rc = grow_pool(d);
            if (rc)
                return rc;
        }
        slot = d->used++;
    }
    des_slot *sl = &d->pool[slot];
    sl->type = e->type;
    sl->pad_ = 0;
    memcpy(sl->payload, e->payload, sizeof sl->payload);
    des_key k = {.ts = e->ts, .ord = (uint64_t)e->src_lp << DES_SEQ_BITS | e->seq, .slot = slot,
                 .lp = e->dst_lp};
    return des_queue_push(&c->q, &k);
}

/* The class whose first event comes first (NULL: none), and that event. */
static int first_class(dsend_des *d, des_class **best, const des_key **top)
{
    *best = NULL;
    *top = NULL;
    for (int i = 0; i < d->ncls; i++) {
        const des_key *k;
        int rc = des_queue_top(&d->cls[i].q, &k);
        if (rc)
            return rc;
        if (k && (!*top || k->ts < (*top)->ts || (k->ts == (*top)->ts && k->ord < (*top)->ord))) {
            *best = &d->cls[i];
            *top = k;
        }
    }
    return 0;
}

int des_deliver(dsend_des *d, const dsend_event *v, size_t n)
{
    for (size_t i = 0; i < n && !d->fail_rc; i++) {
        int rc = insert(d, &v[i]);
        if (rc) {
            /* agreed on in the next round, so no rank waits for this one */
            d->failed = 1;
            d->fail_rc = rc;
        }
    }
    return 0;
}

static int buf_push(des_evbuf *b, const dsend_event *e)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        void *p = realloc(b->v, cap * sizeof *b->v);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for %zu events", cap);
        b->v = p;
        b->cap = cap;
    }
    b->v[b->n++] = *e;
    return 0;
}

/* Ranks of comm on this node, and whether all of comm is on one node. */
static int node_of(dsend_des *d)
{
    int rc = 0, one = 0;
    MPI_Comm node = MPI_COMM_NULL;
    MPI_CHECK(MPI_Comm_split_type(d->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    MPI_CHECK(MPI_Comm_size(node, &d->node_ranks));
    int mine = d->node_ranks == d->size;
    MPI_CHECK(MPI_Allreduce(&mine, &one, 1, MPI_INT, MPI_MIN, d->comm));
    d->one_node = one;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    d->cores = c > 0 ? (int)c : 1;
err:
    if (node != MPI_COMM_NULL)
        MPI_Comm_free(&node);
    return rc;
}

int dsend_des_create(MPI_Comm comm, uint32_t nlps, dsend_lp_rank_fn lp_rank,
                     dsend_lookahead_fn lookahead, const void *arg, int64_t max_lookahead,
                     dsend_des **out)
{
    int rc = 0;
    *out = NULL;
    if (max_lookahead <= 0 || !lp_rank || !lookahead)
        return dsend_seterr(DSEND_EINVAL, "the event core needs lp_rank, lookahead and a "
                                          "max_lookahead > 0");
    if (nlps > DES_MAX_LPS)
        return dsend_seterr(DSEND_EINVAL, "%u logical processes: the event core takes at most %u",
                            nlps, DES_MAX_LPS);
    dsend_des *d = calloc(1, sizeof *d);
    if (!d)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    d->comm = comm;
    MPI_Comm_rank(comm, &d->rank);
    MPI_Comm_size(comm, &d->size);
    d->nlps = nlps;
    d->lp_rank = lp_rank;
    d->lookahead = lookahead;
    d->arg = arg;
    d->max_lookahead = max_lookahead;
    d->now = 0;
    d->promise = INT64_MIN; /* before time starts, anything goes */
    uint32_t hi = 0;
    d->lp_lo = nlps;
    for (uint32_t id = 0; id < nlps; id++)
        if (lp_rank(id, arg) == d->rank) {
            if (id < d->lp_lo)
                d->lp_lo = id;
            hi = id + 1;
        }
    d->lp_span = hi > d->lp_lo ? hi - d->lp_lo : 0;
    d->lps = calloc(d->lp_span ? d->lp_span : 1, sizeof *d->lps);
    d->out = calloc((size_t)d->size, sizeof *d->out);
    rc = node_of(d); /* collective: every rank takes part */
    if (rc == 0 && (!d->lps || !d->out))
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %u logical processes", nlps);
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;
    const char *want = getenv("DSEND_DES_EXCHANGE");
    int shm = d->one_node && d->size > 1;
    if (want && strcmp(want, "mpi") == 0)
        shm = 0;
    d->xo = shm ? &des_exchange_shm : &des_exchange_mpi;
    TRY(d->xo->open(d, &d->xctx));
    *out = d;
    return 0;
err:
    d->xo = NULL;
    dsend_des_free(d);
    return rc;
}

int dsend_des_add_lp(dsend_des *d, uint32_t id, const dsend_lptype *type, void *state)
{
    if (id >= d->nlps || d->lp_rank(id, d->arg) != d->rank || d->lps[id - d->lp_lo].type)
        return dsend_seterr(DSEND_EINVAL, "LP %u cannot be added on rank %d", id, d->rank);
    if (!type || !type->name || !type->init || !type->event || !type->final)
        return dsend_seterr(DSEND_EINVAL, "LP type '%s' lacks a callback",
                            type && type->name ? type->name : "(unnamed)");
    dsend_lp *lp = &d->lps[id - d->lp_lo];
    lp->id = id;
    lp->type = type;
    lp->state = state;
    return 0;
}

int dsend_des_send(dsend_des *d, dsend_lp *from, dsend_event *ev)
{
    if (ev->dst_lp >= d->nlps)
        return dsend_seterr(DSEND_EINVAL, "event to LP %u: no such LP", ev->dst_lp);
    if (from->sent >> DES_SEQ_BITS)
        return dsend_seterr(DSEND_EINVAL, "LP %u sent 2^%d events", from->id, DES_SEQ_BITS);
    int self = ev->dst_lp == from->id;
    ev->reach = reach_of(d, ev);
    /* what this event may cause elsewhere must not come sooner than what
     * the event being processed promised */
    int64_t reach = self ? ev->reach : ev->ts;
    if (ev->ts < d->now || reach < d->promise)
        return dsend_seterr(DSEND_EINVAL,
                            "event type %u from LP %u to LP %u at t=%lld ns is inside the "
                            "lookahead (now %lld ns, promised nothing elsewhere before %lld ns): "
                            "a modelled latency is smaller than the lookahead",
                            ev->type, from->id, ev->dst_lp, (long long)ev->ts, (long long)d->now,
                            (long long)d->promise);
    ev->src_lp = from->id;
    ev->seq = from->sent++;
    int r = d->lp_rank(ev->dst_lp, d->arg);
    return r == d->rank ? insert(d, ev) : buf_push(&d->out[r], ev);
}

/* This rank's part of the agreement: the earliest pending timestamp, and
 * the earliest time anything pending (here or on its way out) can cause
 * elsewhere. */
static void local_bounds(dsend_des *d, int64_t mine[3])
{
    int64_t next = DSEND_TIME_INF, bound = DSEND_TIME_INF;
    for (int i = 0; i < d->ncls; i++) {
        const des_key *k;
        if (des_queue_top(&d->cls[i].q, &k) && !d->fail_rc) {
            d->failed = 1;
            d->fail_rc = DSEND_ENOMEM;
        }
        if (k) {
            int64_t b = add_sat(k->ts, d->cls[i].la);
            next = k->ts < next ? k->ts : next;
            bound = b < bound ? b : bound;
        }
    }
    for (int r = 0; r < d->size; r++)
        for (size_t k = 0; k < d->out[r].n; k++) {
            const dsend_event *e = &d->out[r].v[k];
            next = e->ts < next ? e->ts : next;
            bound = e->reach < bound ? e->reach : bound;
        }
    mine[DES_NEXT] = next;
    mine[DES_BOUND] = bound;
    mine[DES_FAILED] = d->failed;
}

int dsend_des_run(dsend_des *d, int64_t until,
                  void (*progress)(void *arg, int64_t now, uint64_t events), void *parg)
{
    int rc = 0, lrc = 0;
    double t_run = MPI_Wtime();
    /* init every local LP in id order */
    for (uint32_t i = 0; i < d->lp_span && lrc == 0; i++)
        if (d->lps[i].type)
            lrc = d->lps[i].type->init(&d->lps[i], d);
    if (lrc)
        d->failed = 1;
    double last = MPI_Wtime();
    for (;;) {
        int64_t mine[3], all[3];
        local_bounds(d, mine);
        double t0 = MPI_Wtime();
        rc = d->xo->exchange(d->xctx, d, mine, all);
        d->sync_s += MPI_Wtime() - t0;
        if (rc)
            return rc; /* MPI itself failed: nothing sane to agree on */
        for (int r = 0; r < d->size; r++)
            d->out[r].n = 0;
        int64_t gmin = all[DES_NEXT], end = all[DES_BOUND];
        if (all[DES_FAILED] || gmin == DSEND_TIME_INF || gmin >= until)
            break;
        d->windows++;
        if (end > until)
            end = until;
        des_class *c;
        const des_key *top;
        while ((lrc = first_class(d, &c, &top)) == 0 && c && top->ts < end) {
            des_key k;
            des_queue_pop(&c->q, &k);
            /* a copy: the callback may send events, which may move the pool */
            dsend_event ev;
            const des_slot *sl = &d->pool[k.slot];
            ev.ts = k.ts;
            ev.src_lp = (uint32_t)(k.ord >> DES_SEQ_BITS);
            ev.seq = k.ord & ((1ull << DES_SEQ_BITS) - 1);
            ev.dst_lp = k.lp;
            ev.type = sl->type;
            ev.pad_ = 0;
            memcpy(ev.payload, sl->payload, sizeof ev.payload);
            ev.reach = reach_of(d, &ev);
            d->free_slots[d->nfree++] = k.slot;
            d->now = ev.ts;
            d->promise = ev.reach;
            dsend_lp *lp = &d->lps[ev.dst_lp - d->lp_lo];
            /* the next event and its LP are fetched while this one runs
             * (the cost of an event at scale is mostly cache misses) */
            const des_key *nx;
            if (des_queue_top(&c->q, &nx) == 0 && nx) {
                __builtin_prefetch(&d->pool[nx->slot]);
                __builtin_prefetch(&d->lps[nx->lp - d->lp_lo]);
                if (d->prefetch)
                    d->prefetch(nx->lp, d->prefetch_arg);
            }
            d->events++;
            if ((lrc = lp->type->event(lp, d, &ev)) != 0)
                break;
        }
        if (lrc)
            d->failed = 1;
        if (!d->failed && end != DSEND_TIME_INF)
            d->now = end;
        if (progress && d->rank == 0 && (d->windows & 15) == 0) {
            double t = MPI_Wtime();
            if (t - last >= 1.0) {
                progress(parg, d->now, d->events);
                last = t;
            }
        }
    }
    if (lrc == 0)
        lrc = d->fail_rc;
    d->run_s += MPI_Wtime() - t_run;
    for (uint32_t i = 0; i < d->lp_span && lrc == 0; i++)
        if (d->lps[i].type)
            lrc = d->lps[i].type->final(&d->lps[i], d);
    return dsend_mpi_agree(d->comm, lrc);
}

void dsend_des_prefetch(dsend_des *d, dsend_prefetch_fn fn, const void *arg)
{
    d->prefetch = fn;
    d->prefetch_arg = arg;
}

int64_t dsend_des_now(const dsend_des *d) { return d->now; }
uint64_t dsend_des_events(const dsend_des *d) { return d->events; }
uint64_t dsend_des_windows(const dsend_des *d) { return d->windows; }
double dsend_des_sync_seconds(const dsend_des *d) { return d->sync_s; }
double dsend_des_run_seconds(const dsend_des *d) { return d->run_s; }
const char *dsend_des_exchange_name(const dsend_des *d) { return d->xo->name; }

void dsend_des_node(const dsend_des *d, int *ranks, int *cores)
{
    *ranks = d->node_ranks > 0 ? d->node_ranks : 1;
    *cores = d->cores > 0 ? d->cores : 1;
}

void dsend_des_free(dsend_des *d)
{
    if (!d)
        return;
    if (d->xo)
        d->xo->close(d->xctx);
    free(d->lps);
    if (d->out)
        for (int r = 0; r < d->size; r++)
            free(d->out[r].v);
    free(d->out);
    free(d->pool);
    free(d->free_slots);
    for (int i = 0; i < d->ncls; i++)
        des_queue_free(&d->cls[i].q);
    free(d);
}

dsend_lp *dsend_des_lp(dsend_des *d, uint32_t id)
{
    return id >= d->lp_lo && id - d->lp_lo < d->lp_span && d->lps[id - d->lp_lo].type
               ? &d->lps[id - d->lp_lo]
               : NULL;
}
