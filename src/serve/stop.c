/* Stopping `dsend serve`: every device says it stops, the devices that
 * live agree on who they are, and their statistics are gathered on rank 0
 * over a communicator of the survivors only (a collective over every rank
 * would wait forever for a dead one; doc/serving.md: failover). */
#include "dsend/error.h"
#include "serve/serve_internal.h"
#include "util/check.h"
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

/* A signal (or a failure) on one device stops them all: tell the others,
 * then drain until every device has said so, so none waits forever. */
void serve_stop_all(serve_world *w)
{
    int one = 1;
    for (int r = 0; r < w->size; r++)
        if (r != w->rank)
            serve_mpi_isend(w, &one, sizeof one, r, TAG_STOP);
    /* every device that lives says so too (a silent one, --fail, as well) */
    for (;;) {
        int waiting = 0;
        for (int r = 0; r < w->size; r++)
            waiting += r != w->rank && !w->stopped[r] && !w->dev.health.dead[r];
        if (!waiting)
            break;
        MPI_Status st;
        int n = 0;
        MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, w->comm, &st);
        MPI_Get_count(&st, MPI_BYTE, &n);
        char *buf = malloc(n ? (size_t)n : 1);
        MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, w->comm, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == TAG_SURVIVORS && n == w->size && !w->survivors) {
            w->survivors = (uint8_t *)buf; /* rank 0 stopped first: kept for serve_gather */
            continue;
        }
        free(buf);
        if (st.MPI_TAG == TAG_STOP)
            w->stopped[st.MPI_SOURCE] = 1;
    }
}

/* The server side of the run, on rank 0: per device statistics and series. */
static int gather(serve_world *w, MPI_Comm comm, const uint8_t *alive, int nalive,
                  dsend_sim_result *res, uint64_t sum[6])
{
    int rc = 0;
    uint64_t *sb = NULL;
    uint32_t *sq = NULL;
    size_t D = (size_t)w->size;
    enum { NDS = sizeof(dsend_device_stats) / sizeof(uint64_t) };
    dsend_device_stats mine = {0};
    dsend_device_stats_add(&mine, &w->dev);
    mine.stale = w->not_sent; /* packets, in serve */
    uint64_t counts[6] = {w->sent_packets, w->sent_bytes, w->send_errors, w->not_sent,
                          w->sessions_total, w->late};
    unsigned long long nl = w->series.n, nmax = 0;
    MPI_CHECK(MPI_Reduce(counts, sum, 6, MPI_UINT64_T, MPI_SUM, 0, comm));
    MPI_CHECK(MPI_Allreduce(&nl, &nmax, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm));
    if (!res)
        return 0;
    sb = calloc(nmax ? nmax : 1, sizeof *sb);
    sq = calloc(nmax ? nmax : 1, sizeof *sq);
    if (!sb || !sq) {
        free(sb);
        free(sq);
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    }
    if (w->series.n) {
        memcpy(sb, w->series.bytes, w->series.n * sizeof *sb);
        memcpy(sq, w->series.queue, w->series.n * sizeof *sq);
    }
    if (w->coordinator) {
        res->kind = "serve";
        res->t0_unix_ns = w->t0_ns;
        res->devices = w->size;
        res->devs = calloc(D, sizeof *res->devs);
        res->series_bytes = calloc(D * (nmax ? nmax : 1), sizeof *res->series_bytes);
        res->series_queue = calloc(D * (nmax ? nmax : 1), sizeof *res->series_queue);
        res->late_mean_ns = calloc(nmax ? nmax : 1, sizeof *res->late_mean_ns);
        res->late_count = calloc(nmax ? nmax : 1, sizeof *res->late_count);
        res->nintervals = (uint32_t)nmax;
        res->sim_end = serve_now(w);
        res->wall_seconds = (double)res->sim_end / 1e9;
        if (!res->devs || !res->series_bytes || !res->series_queue || !res->late_mean_ns ||
            !res->late_count)
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
    }
    /* survivor j's rows land at j (gather is in rank order), then move to
     * its device's row; a lost device's rows stay 0 */
    MPI_CHECK(MPI_Gather(&mine, NDS, MPI_UINT64_T, res->devs, NDS, MPI_UINT64_T, 0, comm));
    MPI_CHECK(MPI_Gather(sb, (int)nmax, MPI_UINT64_T, res->series_bytes, (int)nmax, MPI_UINT64_T, 0,
                         comm));
    MPI_CHECK(MPI_Gather(sq, (int)nmax, MPI_UINT32_T, res->series_queue, (int)nmax, MPI_UINT32_T, 0,
                         comm));
    /* the cache's series: every survivor's row in place, a lost device's 0 */
    const dsend_series *me = &w->series;
    TRY(dsend_series_gather_cache(comm, w->size, (uint32_t)nmax, &me, &w->rank, 1,
                                  w->coordinator ? res->series_cache : (uint64_t *[DSEND_CC_N]){0}));
    if (w->coordinator && nalive < w->size) {
        size_t n = nmax ? nmax : 1;
        int j = nalive - 1;
        for (int r = w->size - 1; r >= 0; r--) {
            if (!alive[r]) {
                memset(&res->devs[r], 0, sizeof res->devs[r]);
                memset(res->series_bytes + (size_t)r * n, 0, n * sizeof *res->series_bytes);
                memset(res->series_queue + (size_t)r * n, 0, n * sizeof *res->series_queue);
                continue;
            }
            if (j != r) {
                res->devs[r] = res->devs[j];
                memcpy(res->series_bytes + (size_t)r * n, res->series_bytes + (size_t)j * n,
                       n * sizeof *res->series_bytes);
                memcpy(res->series_queue + (size_t)r * n, res->series_queue + (size_t)j * n,
                       n * sizeof *res->series_queue);
            }
            j--;
        }
    }
err:
    free(sb);
    free(sq);
    return rc;
}


/* Rank 0 (the front), or the lowest rank alive if it died, coordinates:
 * it says who survived (the devices it did not take for dead; everyone
 * else, dead in its view or not, hears the list), gathers their statistics
 * and writes the results. */
int serve_gather(serve_world *w, dsend_sim_result *res, uint64_t sum[6], int *lost)
{
    int rc = 0, nalive = 0;
    uint8_t *alive = calloc((size_t)w->size, 1);
    int *ranks = calloc((size_t)w->size, sizeof *ranks);
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Group all = MPI_GROUP_NULL, some = MPI_GROUP_NULL;
    if (!alive || !ranks) {
        free(alive);
        free(ranks);
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    }
    /* the coordinator: rank 0, or the lowest rank that lives if it died */
    int coord = 0;
    while (coord < w->size - 1 &&
           (coord == w->rank ? w->silent : w->dev.health.dead[coord]))
        coord++; /* (a silent device, --fail, is dead to the others) */
    w->coordinator = coord == w->rank;
    if (w->coordinator) {
        for (int r = 0; r < w->size; r++)
            alive[r] = r == w->rank || !w->dev.health.dead[r];
        for (int r = 0; r < w->size && rc == 0; r++)
            if (r != w->rank)
                rc = serve_mpi_isend(w, alive, (size_t)w->size, r, TAG_SURVIVORS);
    } else if (w->survivors) {
        memcpy(alive, w->survivors, (size_t)w->size);
    } else {
        MPI_CHECK(MPI_Recv(alive, w->size, MPI_BYTE, coord, TAG_SURVIVORS, w->comm,
                           MPI_STATUS_IGNORE));
    }
    for (int r = 0; r < w->size; r++)
        if (alive[r])
            ranks[nalive++] = r;
    *lost = w->size - nalive;
    if (!alive[w->rank])
        goto out; /* taken for dead (a silent device, --fail): no statistics */
    if (nalive == w->size) {
        comm = w->comm;
    } else {
        MPI_CHECK(MPI_Comm_group(w->comm, &all));
        MPI_CHECK(MPI_Group_incl(all, nalive, ranks, &some));
        MPI_CHECK(MPI_Comm_create_group(w->comm, some, TAG_SURVIVORS, &comm));
    }
    rc = gather(w, comm, alive, nalive, res, sum);
err:
out:
    if (comm != MPI_COMM_NULL && comm != w->comm)
        MPI_Comm_free(&comm);
    if (some != MPI_GROUP_NULL)
        MPI_Group_free(&some);
    if (all != MPI_GROUP_NULL)
        MPI_Group_free(&all);
    free(alive);
    free(ranks);
    return rc;
}

void serve_stop_report(const serve_world *w, FILE *out, const dsend_sim_result *res,
                       const uint64_t sum[6], int lost, int by_signal)
{
    if (!w->cfg->json) {
        fprintf(out, "dsend serve: stopped%s; %llu sessions, %llu RTP packets (%llu bytes) sent, "
                     "%llu packets of paused, sought or ended plans not sent, %llu send "
                     "errors, %llu packets late (more than --pace-batch after their departure)",
                by_signal ? " by a signal" : "", (unsigned long long)sum[4],
                (unsigned long long)sum[0], (unsigned long long)sum[1],
                (unsigned long long)sum[3], (unsigned long long)sum[2],
                (unsigned long long)sum[5]);
        if (lost)
            fprintf(out, "; %d device%s lost (no statistics from %s)", lost, lost > 1 ? "s" : "",
                    lost > 1 ? "them" : "it");
        fputc('\n', out);
        fflush(out);
        return;
    }
    dsend_json j;
    dsend_json_begin(&j, out);
    dsend_json_int(&j, "devices", w->size);
    dsend_json_int(&j, "devices_lost", lost);
    dsend_json_bool(&j, "stopped_by_signal", by_signal);
    dsend_json_real(&j, "served_s", (double)serve_now(w) / 1e9);
    dsend_json_uint(&j, "sessions", sum[4]);
    dsend_json_uint(&j, "rtp_packets_sent", sum[0]);
    dsend_json_uint(&j, "rtp_bytes_sent", sum[1]);
    dsend_json_uint(&j, "not_sent", sum[3]);
    dsend_json_uint(&j, "send_errors", sum[2]);
    dsend_json_uint(&j, "late", sum[5]);
    if (res && res->devs) {
        dsend_json_array(&j, "per_device"); /* a lost device's figures are zeros */
        for (int d = 0; d < res->devices; d++) {
            const dsend_device_stats *s = &res->devs[d];
            dsend_json_object(&j, NULL);
            dsend_json_int(&j, "device", d);
            dsend_json_uint(&j, "packets", s->packets);
            dsend_json_uint(&j, "wire_bytes", s->wire_bytes);
            dsend_json_uint(&j, "bytes", s->bytes);
            dsend_json_uint(&j, "sub_blocks", s->sub_blocks);
            dsend_json_uint(&j, "requests_received", s->requests_received);
            dsend_json_uint(&j, "requests_sent", s->requests_sent);
            dsend_json_uint(&j, "max_queue", s->max_queue);
            dsend_json_uint(&j, "not_sent", s->stale);
            dsend_json_uint(&j, "delayed", s->delayed);
            dsend_json_uint(&j, "admitted", s->admitted);
            dsend_json_uint(&j, "refused", s->refused);
            dsend_json_uint(&j, "failovers", s->failovers);
            dsend_json_uint(&j, "takeovers", s->takeovers);
            dsend_json_uint(&j, "rerouted", s->rerouted);
            /* RAM and mass storage (--ram; doc/results-format.md) */
            dsend_json_uint(&j, "ram", s->ram);
            dsend_json_uint(&j, "share", s->share);
            dsend_json_uint(&j, "cache_hits", s->cache_hits);
            dsend_json_uint(&j, "cache_misses", s->cache_misses);
            dsend_json_uint(&j, "storage_reads", s->storage_reads);
            dsend_json_uint(&j, "storage_bytes", s->storage_bytes);
            dsend_json_uint(&j, "evictions", s->evictions);
            dsend_json_uint(&j, "max_pinned", s->max_pinned);
            dsend_json_uint(&j, "miss_late", s->miss_late);
            dsend_json_uint(&j, "storage_errors", s->storage_errors);
            dsend_json_end(&j);
        }
        dsend_json_end(&j);
    }
    dsend_json_finish(&j);
    fflush(out);
}
