/* Control channel of `serve`: send requests to other devices as MPI
 * messages, batched per destination device per loop turn, and session
 * announcements to every device.  Requests for this device's own sender
 * skip MPI. */
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "serve/serve_internal.h"
#include "util/check.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int serve_mpi_isend(serve_world *w, const void *data, size_t len, int dest, int tag)
{
    int rc = 0;
    if (w->npend == w->cappend) {
        size_t cap = w->cappend ? 2 * w->cappend : 64;
        void *p = realloc(w->pend, cap * sizeof *w->pend);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        w->pend = p;
        w->cappend = cap;
    }
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    memcpy(copy, data, len);
    pending_send *ps = &w->pend[w->npend];
    MPI_CHECK(MPI_Isend(copy, (int)len, MPI_BYTE, dest, tag, w->comm, &ps->req));
    ps->buf = copy;
    w->npend++;
    return 0;
err:
    free(copy);
    return rc;
}

void serve_mpi_reap(serve_world *w)
{
    for (size_t i = 0; i < w->npend;) {
        int done = 0;
        MPI_Test(&w->pend[i].req, &done, MPI_STATUS_IGNORE);
        if (done) {
            free(w->pend[i].buf);
            w->pend[i] = w->pend[--w->npend];
        } else {
            i++;
        }
    }
}

int serve_queue_request(serve_world *w, int device, const dsend_send_request *rq)
{
    outbuf *b = device == w->rank ? &w->local : &w->out[device];
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        void *p = realloc(b->v, cap * sizeof *b->v);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        b->v = p;
        b->cap = cap;
    }
    b->v[b->n++] = *rq;
    return 0;
}

/* one message per destination device per loop turn */
int serve_mpi_flush(serve_world *w)
{
    int rc = 0;
    for (int r = 0; r < w->size && rc == 0; r++)
        if (w->out[r].n && w->dev.health.dead[r]) {
            w->out[r].n = 0; /* asked before its death was known: rerouted since */
        } else if (w->out[r].n) {
            rc = serve_mpi_isend(w, w->out[r].v, w->out[r].n * sizeof *w->out[r].v, r,
                                 TAG_REQUESTS);
            w->out[r].n = 0;
        }
    for (size_t i = 0; i < w->local.n && rc == 0; i++)
        rc = dsend_device_request(&w->dev, &w->local.v[i]);
    w->local.n = 0;
    return rc;
}

static void note_stop(serve_world *w, int tag, int source, int *stop)
{
    if (tag != TAG_STOP)
        return;
    w->stopped[source] = 1;
    *stop = 1; /* another device stopped: so do we */
}

/* One message from another device (a silent device, --fail, hears nothing
 * but the stop). */
static int handle(serve_world *w, int tag, int source, const char *buf, int n, int *stop)
{
    /* any message is a sign of life */
    int rc = dsend_device_heard(&w->dev, source, serve_now(w));
    if (rc)
        return rc;
    note_stop(w, tag, source, stop);
    if (tag == TAG_HEARTBEAT && (size_t)n == sizeof(dsend_load_report))
        return dsend_device_report(&w->dev, (const dsend_load_report *)buf);
    if (tag == TAG_BACKUP && (size_t)n == sizeof(dsend_session_plan))
        return dsend_device_backup(&w->dev, (const dsend_session_plan *)buf);
    if (tag == TAG_OPS) {
        serve_ops_row_in(w, source, buf, (size_t)n);
        return 0;
    }
    if (tag == TAG_PEER && (size_t)n == sizeof(dsend_peer))
        return dsend_device_peer(&w->dev, (const dsend_peer *)buf);
    if (tag == TAG_REQUESTS && n % (int)sizeof(dsend_send_request) == 0) {
        const dsend_send_request *rq = (const dsend_send_request *)buf;
        for (int i = 0; i < n / (int)sizeof *rq && rc == 0; i++)
            rc = dsend_device_request(&w->dev, &rq[i]);
    }
    return rc;
}

int serve_mpi_receive(serve_world *w, int *stop)
{
    int rc = 0;
    for (int k = 0; k < 256; k++) {
        int flag = 0;
        MPI_Status st;
        MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, w->comm, &flag, &st));
        if (!flag)
            break;
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        char *buf = malloc(n ? (size_t)n : 1);
        if (!buf)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        rc = MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, w->comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            free(buf);
            return dsend_mpi_fail(__FILE__, __LINE__, "MPI_Recv", rc);
        }
        rc = w->silent ? (note_stop(w, st.MPI_TAG, st.MPI_SOURCE, stop), 0)
                       : handle(w, st.MPI_TAG, st.MPI_SOURCE, buf, n, stop);
        free(buf);
        if (rc)
            return rc;
        if (*stop)
            break; /* what follows the stop is the stopping's (serve_stop_all) */
    }
    return 0;
err:
    return rc;
}

static int mpi_send_request(void *ctx, int device, const dsend_send_request *rq)
{
    return serve_queue_request(ctx, device, rq);
}

/* to every other device not taken for dead */
static int to_live(serve_world *w, const void *data, size_t len, int tag)
{
    for (int r = 0; r < w->size; r++)
        if (r != w->rank && !w->dev.health.dead[r]) {
            int rc = serve_mpi_isend(w, data, len, r, tag);
            if (rc)
                return rc;
        }
    return 0;
}

static int mpi_announce(void *ctx, const dsend_peer *p)
{
    return to_live(ctx, p, sizeof *p, TAG_PEER);
}

static int mpi_backup(void *ctx, int device, const dsend_session_plan *plan)
{
    return serve_mpi_isend(ctx, plan, sizeof *plan, device, TAG_BACKUP);
}

static int mpi_heartbeat(void *ctx, const dsend_load_report *r)
{
    return to_live(ctx, r, sizeof *r, TAG_HEARTBEAT);
}

/* The RTP goes on from here, and the session's RTSP control: the client
 * finds it through the front (doc/serving.md: failover). */
static int mpi_adopted(void *ctx, const dsend_peer *p)
{
    return serve_session_adopt(ctx, p);
}

const dsend_ctrl dsend_ctrl_mpi = {
    .name = "mpi",
    .send_request = mpi_send_request,
    .announce = mpi_announce,
    .backup = mpi_backup,
    .heartbeat = mpi_heartbeat,
    .adopted = mpi_adopted,
};
