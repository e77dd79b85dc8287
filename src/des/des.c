/* Conservative parallel discrete-event core (see include/dsend/des.h). */
#include "dsend/des.h"
#include "util/check.h"
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "util/heap.h"

#include <stdlib.h>
#include <string.h>

typedef struct evbuf {
    dsend_event *v;
    size_t n, cap;
} evbuf;

/* Pending events are kept in one min-heap per lookahead value (a model has
 * a handful), so min(ts + lookahead) over all of them is read off the tops. */
#define MAX_CLASSES 8

typedef struct la_class {
    int64_t la;
    evbuf heap;
} la_class;

struct dsend_des {
    MPI_Comm comm;
    int rank, size;
    uint32_t nlps;
    dsend_lp_rank_fn lp_rank;
    dsend_lookahead_fn lookahead;
    const void *arg;
    int64_t max_lookahead;
    int64_t now;
    int64_t promise;    /* ts + lookahead of the event being processed */
    dsend_lp **lps;     /* by id; NULL where hosted elsewhere */
    la_class cls[MAX_CLASSES];
    int ncls;
    evbuf *out;         /* per destination rank, this window */
    int64_t *gather;    /* size x (size + 2) */
    uint64_t events, windows;
    int failed;
};

static int before(const dsend_event *a, const dsend_event *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts;
    if (a->src_lp != b->src_lp)
        return a->src_lp < b->src_lp;
    return a->seq < b->seq;
}

static int buf_push(evbuf *b, const dsend_event *e)
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

static int heap_push(evbuf *h, const dsend_event *e)
{
    int rc = buf_push(h, e);
    if (rc == 0)
        DSEND_HEAP_UP(dsend_event, h->v, h->n, before);
    return rc;
}

static void heap_pop(evbuf *h, dsend_event *out)
{
    DSEND_HEAP_POP(dsend_event, h->v, h->n, out, before);
}

static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* The event's lookahead, capped by max_lookahead. */
static int64_t la_of(const dsend_des *d, const dsend_event *e)
{
    int64_t la = d->lookahead(e->dst_lp, e->type, d->arg);
    return la > d->max_lookahead ? d->max_lookahead : la;
}

static int insert(dsend_des *d, const dsend_event *e)
{
    int64_t la = la_of(d, e);
    if (la < 1)
        return dsend_seterr(DSEND_EINVAL, "event type %u at LP %u: lookahead %lld ns < 1 ns",
                            e->type, e->dst_lp, (long long)la);
    for (int i = 0; i < d->ncls; i++)
        if (d->cls[i].la == la)
            return heap_push(&d->cls[i].heap, e);
    if (d->ncls == MAX_CLASSES)
        return dsend_seterr(DSEND_EINVAL, "more than %d distinct lookaheads", MAX_CLASSES);
    d->cls[d->ncls].la = la;
    return heap_push(&d->cls[d->ncls++].heap, e);
}

/* The class whose top event comes first, or -1. */
static int first_class(const dsend_des *d)
{
    int best = -1;
    for (int i = 0; i < d->ncls; i++)
        if (d->cls[i].heap.n &&
            (best < 0 || before(&d->cls[i].heap.v[0], &d->cls[best].heap.v[0])))
            best = i;
    return best;
}

int dsend_des_create(MPI_Comm comm, uint32_t nlps, dsend_lp_rank_fn lp_rank,
                     dsend_lookahead_fn lookahead, const void *arg, int64_t max_lookahead,
                     dsend_des **out)
{
    int rc = 0;
    dsend_des *d = calloc(1, sizeof *d);
    *out = NULL;
    if (!d)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    if (max_lookahead <= 0 || !lp_rank || !lookahead) {
        free(d);
        return dsend_seterr(DSEND_EINVAL, "the event core needs lp_rank, lookahead and a "
                                          "max_lookahead > 0");
    }
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
    d->lps = calloc(nlps ? nlps : 1, sizeof *d->lps);
    d->out = calloc((size_t)d->size, sizeof *d->out);
    d->gather = malloc((size_t)d->size * (size_t)(d->size + 3) * sizeof *d->gather);
    if (!d->lps || !d->out || !d->gather) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %u logical processes", nlps);
        dsend_des_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int dsend_des_add_lp(dsend_des *d, uint32_t id, const dsend_lptype *type, void *state)
{
    if (id >= d->nlps || d->lp_rank(id, d->arg) != d->rank || d->lps[id])
        return dsend_seterr(DSEND_EINVAL, "LP %u cannot be added on rank %d", id, d->rank);
    if (!type || !type->name || !type->init || !type->event || !type->final)
        return dsend_seterr(DSEND_EINVAL, "LP type '%s' lacks a callback",
                            type && type->name ? type->name : "(unnamed)");
    dsend_lp *lp = calloc(1, sizeof *lp);
    if (!lp)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    lp->id = id;
    lp->type = type;
    lp->state = state;
    d->lps[id] = lp;
    return 0;
}

int dsend_des_send(dsend_des *d, dsend_lp *from, dsend_event *ev)
{
    if (ev->dst_lp >= d->nlps)
        return dsend_seterr(DSEND_EINVAL, "event to LP %u: no such LP", ev->dst_lp);
    int self = ev->dst_lp == from->id;
    /* what this event may cause elsewhere must not come sooner than what
     * the event being processed promised */
    int64_t reach = self ? add_sat(ev->ts, la_of(d, ev)) : ev->ts;
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

/* One collective: who sends how many events to whom, the earliest pending
 * timestamp anywhere, and whether anybody failed; then the events. */
static int exchange(dsend_des *d, int64_t *gmin, int64_t *wend, int *anyfail)
{
    int rc = 0, P = d->size, W = P + 3;
    int64_t mine[P + 3];
    /* the earliest pending timestamp, and the earliest time anything
     * pending (here or on its way out) can cause elsewhere */
    int64_t next = DSEND_TIME_INF, bound = DSEND_TIME_INF;
    for (int i = 0; i < d->ncls; i++)
        if (d->cls[i].heap.n) {
            int64_t ts = d->cls[i].heap.v[0].ts, b = add_sat(ts, d->cls[i].la);
            next = ts < next ? ts : next;
            bound = b < bound ? b : bound;
        }
    for (int r = 0; r < P; r++) {
        mine[r] = (int64_t)d->out[r].n;
        for (size_t k = 0; k < d->out[r].n; k++) {
            const dsend_event *e = &d->out[r].v[k];
            int64_t b = add_sat(e->ts, la_of(d, e));
            next = e->ts < next ? e->ts : next;
            bound = b < bound ? b : bound;
        }
    }
    mine[P] = next;
    mine[P + 1] = bound;
    mine[P + 2] = d->failed;
    MPI_CHECK(MPI_Allgather(mine, W, MPI_INT64_T, d->gather, W, MPI_INT64_T, d->comm));
    *gmin = *wend = DSEND_TIME_INF;
    *anyfail = 0;
    size_t incoming = 0;
    for (int r = 0; r < P; r++) {
        const int64_t *row = d->gather + (size_t)r * (size_t)W;
        if (row[P] < *gmin)
            *gmin = row[P];
        if (row[P + 1] < *wend)
            *wend = row[P + 1];
        *anyfail |= row[P + 2] != 0;
        incoming += (size_t)row[d->rank];
    }
    if (incoming) {
        MPI_Request reqs[2 * P];
        int nreq = 0;
        evbuf in = {0};
        in.v = malloc(incoming * sizeof *in.v);
        if (!in.v)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for %zu events", incoming);
        size_t off = 0;
        for (int r = 0; r < P; r++) {
            int64_t n = d->gather[(size_t)r * (size_t)W + (size_t)d->rank];
            if (n > 0) {
                MPI_CHECK(MPI_Irecv(in.v + off, (int)(n * (int64_t)sizeof(dsend_event)), MPI_BYTE,
                                    r, 7, d->comm, &reqs[nreq++]));
                off += (size_t)n;
            }
        }
        for (int r = 0; r < P; r++)
            if (d->out[r].n)
                MPI_CHECK(MPI_Isend(d->out[r].v, (int)(d->out[r].n * sizeof(dsend_event)),
                                    MPI_BYTE, r, 7, d->comm, &reqs[nreq++]));
        MPI_CHECK(MPI_Waitall(nreq, reqs, MPI_STATUSES_IGNORE));
        for (size_t k = 0; k < incoming && rc == 0; k++)
            rc = insert(d, &in.v[k]);
        free(in.v);
        if (rc)
            return rc;
    } else {
        MPI_Request reqs[P];
        int nreq = 0;
        for (int r = 0; r < P; r++)
            if (d->out[r].n)
                MPI_CHECK(MPI_Isend(d->out[r].v, (int)(d->out[r].n * sizeof(dsend_event)),
                                    MPI_BYTE, r, 7, d->comm, &reqs[nreq++]));
        MPI_CHECK(MPI_Waitall(nreq, reqs, MPI_STATUSES_IGNORE));
    }
    for (int r = 0; r < P; r++)
        d->out[r].n = 0;
    return 0;
err:
    return rc;
}

int dsend_des_run(dsend_des *d, int64_t until,
                  void (*progress)(void *arg, int64_t now, uint64_t events), void *parg)
{
    int rc = 0, lrc = 0;
    /* init every local LP in id order */
    for (uint32_t i = 0; i < d->nlps && lrc == 0; i++)
        if (d->lps[i])
            lrc = d->lps[i]->type->init(d->lps[i], d);
    if (lrc)
        d->failed = 1;
    double last = MPI_Wtime();
    for (;;) {
        int64_t gmin = DSEND_TIME_INF, end = DSEND_TIME_INF;
        int anyfail = 0;
        rc = exchange(d, &gmin, &end, &anyfail);
        if (rc)
            return rc; /* MPI itself failed: nothing sane to agree on */
        if (anyfail || gmin == DSEND_TIME_INF || gmin >= until)
            break;
        d->windows++;
        if (end > until)
            end = until;
        int c;
        while ((c = first_class(d)) >= 0 && d->cls[c].heap.v[0].ts < end) {
            dsend_event ev;
            heap_pop(&d->cls[c].heap, &ev);
            d->now = ev.ts;
            d->promise = add_sat(ev.ts, d->cls[c].la);
            dsend_lp *lp = d->lps[ev.dst_lp];
            d->events++;
            if ((lrc = lp->type->event(lp, d, &ev)) != 0) {
                d->failed = 1;
                break;
            }
        }
        if (!d->failed && end != DSEND_TIME_INF)
            d->now = end;
        if (progress && d->rank == 0 && (d->windows & 255) == 0) {
            double t = MPI_Wtime();
            if (t - last >= 1.0) {
                progress(parg, d->now, d->events);
                last = t;
            }
        }
    }
    for (uint32_t i = 0; i < d->nlps && lrc == 0; i++)
        if (d->lps[i])
            lrc = d->lps[i]->type->final(d->lps[i], d);
    return dsend_mpi_agree(d->comm, lrc);
}

int64_t dsend_des_now(const dsend_des *d) { return d->now; }
uint64_t dsend_des_events(const dsend_des *d) { return d->events; }
uint64_t dsend_des_windows(const dsend_des *d) { return d->windows; }

void dsend_des_free(dsend_des *d)
{
    if (!d)
        return;
    if (d->lps)
        for (uint32_t i = 0; i < d->nlps; i++)
            free(d->lps[i]);
    free(d->lps);
    if (d->out)
        for (int r = 0; r < d->size; r++)
            free(d->out[r].v);
    free(d->out);
    for (int i = 0; i < d->ncls; i++)
        free(d->cls[i].heap.v);
    free(d->gather);
    free(d);
}

dsend_lp *dsend_des_lp(dsend_des *d, uint32_t id) { return id < d->nlps ? d->lps[id] : NULL; }
