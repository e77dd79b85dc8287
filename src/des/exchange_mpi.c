/* The event core's exchange over MPI, for ranks on several nodes: one
 * MPI_Allreduce per window of a vector that sums the events each rank will
 * receive and takes the minimum of the bounds and the maximum of failures
 * (O(ranks) per rank, not the O(ranks^2) of gathering every row), and the
 * events themselves, one message per pair of ranks with any, sent before
 * the agreement so they travel while it is reached. */
#include "des/des_internal.h"
#include "dsend/error.h"
#include "util/check.h"

#include <stdlib.h>

typedef struct mpi_ctx {
    MPI_Op op;
    int64_t *mine, *all;      /* size + 3 */
    MPI_Request *reqs;
    dsend_event *in;
    size_t capin;
    uint64_t round;
} mpi_ctx;

/* counts summed, then min, min, max */
static void agree_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    (void)type;
    const int64_t *a = in;
    int64_t *b = inout;
    int P = *len - 3;
    for (int i = 0; i < P; i++)
        b[i] += a[i];
    for (int i = P; i < P + 2; i++)
        b[i] = a[i] < b[i] ? a[i] : b[i];
    b[P + 2] = a[P + 2] > b[P + 2] ? a[P + 2] : b[P + 2];
}

static void mpi_close(void *vctx)
{
    mpi_ctx *c = vctx;
    if (!c)
        return;
    if (c->op != MPI_OP_NULL)
        MPI_Op_free(&c->op);
    free(c->mine);
    free(c->all);
    free(c->reqs);
    free(c->in);
    free(c);
}

static int mpi_open(dsend_des *d, void **out)
{
    int rc = 0;
    mpi_ctx *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    c->op = MPI_OP_NULL;
    c->mine = calloc((size_t)d->size + 3, sizeof *c->mine);
    c->all = calloc((size_t)d->size + 3, sizeof *c->all);
    c->reqs = calloc((size_t)d->size, sizeof *c->reqs);
    if (!c->mine || !c->all || !c->reqs) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    MPI_CHECK(MPI_Op_create(agree_op, 1, &c->op));
    *out = c;
    return 0;
err:
    mpi_close(c);
    return rc;
}

static int mpi_exchange(void *vctx, dsend_des *d, const int64_t mine[3], int64_t all[3])
{
    mpi_ctx *c = vctx;
    int rc = 0, P = d->size, nreq = 0;
    /* consecutive rounds use different tags: a fast rank's next round never
     * matches a slow rank's receives of this one */
    int tag = 7 + (int)(c->round++ & 1);
    for (int r = 0; r < P; r++) {
        size_t n = d->out[r].n;
        c->mine[r] = (int64_t)n;
        if (!n)
            continue;
        if (n > (size_t)INT32_MAX / sizeof(dsend_event))
            return dsend_seterr(DSEND_ENOMEM, "%zu events for one rank in one window", n);
        MPI_CHECK(MPI_Isend(d->out[r].v, (int)(n * sizeof(dsend_event)), MPI_BYTE, r, tag,
                            d->comm, &c->reqs[nreq++]));
    }
    c->mine[P + DES_NEXT] = mine[DES_NEXT];
    c->mine[P + DES_BOUND] = mine[DES_BOUND];
    c->mine[P + DES_FAILED] = mine[DES_FAILED];
    MPI_CHECK(MPI_Allreduce(c->mine, c->all, P + 3, MPI_INT64_T, c->op, d->comm));
    /* whoever sent to this rank: as many events as the sum says */
    for (int64_t left = c->all[d->rank]; left > 0;) {
        MPI_Message msg;
        MPI_Status st;
        int bytes;
        MPI_CHECK(MPI_Mprobe(MPI_ANY_SOURCE, tag, d->comm, &msg, &st));
        MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &bytes));
        size_t n = (size_t)bytes / sizeof(dsend_event);
        if (n > c->capin) {
            void *p = realloc(c->in, n * sizeof *c->in);
            if (!p)
                return dsend_seterr(DSEND_ENOMEM, "out of memory for %zu events", n);
            c->in = p;
            c->capin = n;
        }
        MPI_CHECK(MPI_Mrecv(c->in, bytes, MPI_BYTE, &msg, MPI_STATUS_IGNORE));
        if ((rc = des_deliver(d, c->in, n)))
            return rc;
        left -= (int64_t)n;
    }
    MPI_CHECK(MPI_Waitall(nreq, c->reqs, MPI_STATUSES_IGNORE));
    all[DES_NEXT] = c->all[P + DES_NEXT];
    all[DES_BOUND] = c->all[P + DES_BOUND];
    all[DES_FAILED] = c->all[P + DES_FAILED];
    return 0;
err:
    return rc;
}

const des_exchange des_exchange_mpi = {
    .name = "mpi",
    .open = mpi_open,
    .exchange = mpi_exchange,
    .close = mpi_close,
};
