/* `dsend sim`: the cluster in virtual time.  Devices (the shared device of
 * dsend/device.h) and virtual clients (the shared meter) are logical
 * processes of the discrete-event core; this file sets the world up, runs
 * it and gathers the results on rank 0. */
#define _GNU_SOURCE /* sched_getaffinity */
#include "util/check.h"
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/ts.h"
#include "dsend/units.h"
#include "sim/sim_internal.h"

#include <sched.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int lp_rank(uint32_t lp, const void *arg)
{
    const sim_world *w = arg;
    /* devices dealt over the device ranks, clients over the client ranks */
    return lp < (uint32_t)w->D ? (int)(lp % (uint32_t)w->Dr)
                               : w->Dr + (int)((lp - (uint32_t)w->D) % (uint32_t)w->K);
}

/* dsend_des_prefetch: a client's state from its LP id alone (clients are
 * dealt over the client ranks, so client id / K is its index here) */
static void lp_prefetch(uint32_t lp, const void *arg)
{
    const sim_world *w = arg;
    if (lp >= (uint32_t)w->D && w->clients)
        sim_client_prefetch(&w->clients[(lp - (uint32_t)w->D) / (uint32_t)w->K]);
}

/* ------------------------------------------------------------ memory */

/* Resident bytes now (/proc/self/statm), 0 if unknown. */
static uint64_t rss_now(void)
{
    unsigned long long size, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Peak resident bytes of the process so far. */
static uint64_t rss_peak(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss * 1024 : 0;
}

/* The memory figures of dsend_sim_result, on rank 0: every rank's peak, and
 * its growth over `start` summed by kind of rank. */
static int memory_results(MPI_Comm comm, const sim_world *w, uint64_t start, dsend_sim_result *res)
{
    int rc = 0;
    uint64_t peak = rss_peak();
    uint64_t grown = peak > start ? peak - start : 0;
    int is_device = w->rank < w->Dr;
    unsigned long long mine[3] = {peak, is_device ? grown : 0, is_device ? 0 : grown}, sum[3];
    unsigned long long mx = peak, max = 0;
    MPI_CHECK(MPI_Reduce(mine, sum, 3, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, comm));
    MPI_CHECK(MPI_Reduce(&mx, &max, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, 0, comm));
    if (w->rank == 0) {
        res->rss_peak = sum[0];
        res->rss_peak_max = max;
        res->mem_per_device = w->D ? sum[1] / (uint64_t)w->D : 0;
        res->mem_per_client = w->cfg->clients ? sum[2] / (uint64_t)w->cfg->clients : 0;
        res->device_lp_bytes = (uint32_t)sizeof(sim_device);
        res->client_lp_bytes = (uint32_t)sizeof(sim_client);
    }
err:
    return rc;
}

/* ------------------------------------------------------------ hint */

/* More ranks than cores on a node: one line on rank 0 saying what helps.
 * The event core's waits sleep (a futex barrier) when oversubscribed, so
 * what remains is mpirun's: it must be allowed to oversubscribe, and must
 * not pin the ranks to fewer cores than the node has. */
static int oversubscribed_hint(MPI_Comm comm, const dsend_des *des, int rank)
{
    int rc = 0, ranks, cores, bound = 0;
    dsend_des_node(des, &ranks, &cores);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        bound = CPU_COUNT(&set) < cores;
    int mine[3] = {ranks > cores, ranks > cores && bound, ranks}, any[3] = {0, 0, 0};
    MPI_CHECK(MPI_Reduce(mine, any, 3, MPI_INT, MPI_MAX, 0, comm));
    if (rank == 0 && any[0])
        fprintf(stderr,
                "dsend sim: %d ranks on %d cores: oversubscribed (the results are the same; "
                "it runs slower)%s; fewer ranks with --devices N run the same model faster\n",
                any[2], cores,
                any[1] ? "; ranks are bound to cores: mpirun --bind-to none lets them share all "
                         "cores"
                       : "");
err:
    return rc;
}

/* ------------------------------------------------------------ set-up */

/* Client ranks: every stored asset's bytes, to check what arrives. */
static int load_stored(sim_world *w)
{
    int rc = 0;
    w->stored = calloc(w->lib.nassets, sizeof *w->stored);
    if (!w->stored)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < w->lib.nassets; i++) {
        const dsend_asset *a = &w->lib.assets[i];
        if (a->kind != DSEND_ASSET_MPEGTS)
            continue;
        hid_t d = -1;
        char path[DSEND_NAME_MAX + 32];
        if (!(w->stored[i] = malloc(a->size)))
            return dsend_seterr(DSEND_ENOMEM, "out of memory for asset '%s'", a->name);
        snprintf(path, sizeof path, "assets/%s/data", a->name);
        H5_CHECK(d = H5Dopen2(w->lib.file, path, H5P_DEFAULT));
        H5_CHECK(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->stored[i]));
        H5Dclose(d);
        continue;
    err:
        if (d >= 0)
            H5Dclose(d);
        return rc;
    }
    return 0;
}

static void progress_line(void *arg, int64_t now, uint64_t events)
{
    const double *start = arg;
    double wall = MPI_Wtime() - start[0];
    fprintf(stderr, "\rdsend sim: t=%.1f s of %.0f s simulated, %.2f M events on rank 0, %.1f s wall",
            (double)now / 1e9, start[1] / 1e9, (double)events / 1e6, wall);
    if (start[1] > 0 && now > 0)
        fprintf(stderr, ", ETA %.0f s  ", wall * (start[1] - (double)now) / (double)now);
    fflush(stderr);
}

static void world_free(sim_world *w)
{
    if (w->blocks_open)
        dsend_block_file_close(&w->blocks);
    if (w->stored)
        for (uint32_t i = 0; i < w->lib.nassets; i++)
            free(w->stored[i]);
    free(w->stored);
    dsend_workload_free(&w->wl);
    free(w->late_sum);
    free(w->late_n);
    free(w->trace);
    dsend_layout_close(&w->layout);
    if (w->lib.file >= 0 || w->lib.assets)
        dsend_library_close(&w->lib);
}

void dsend_sim_result_free(dsend_sim_result *r)
{
    free(r->clients);
    free(r->devs);
    free(r->series_bytes);
    free(r->series_queue);
    free(r->late_mean_ns);
    free(r->late_count);
    free(r->arrivals);
    for (int k = 0; k < DSEND_CC_N; k++)
        free(r->series_cache[k]);
    memset(r, 0, sizeof *r);
}

static int cmp_arrival(const void *x, const void *y)
{
    const dsend_arrival_rec *a = x, *b = y;
    if (a->client != b->client)
        return a->client < b->client ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

/* Gather variable-length byte arrays to rank 0. */
static int gather_bytes(MPI_Comm comm, const void *mine, uint64_t n, void **all, uint64_t *total)
{
    int rc = 0, size, rank;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    int *counts = malloc((size_t)size * sizeof *counts), *displs = malloc((size_t)size * sizeof *displs);
    int cnt = (int)n;
    *all = NULL;
    *total = 0;
    if (!counts || !displs) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    if (n > INT32_MAX) {
        rc = dsend_seterr(DSEND_ENOMEM, "results of rank %d too large to gather", rank);
        goto err;
    }
    MPI_CHECK(MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
    if (rank == 0) {
        uint64_t t = 0;
        for (int r = 0; r < size; r++) {
            displs[r] = (int)t;
            t += (uint64_t)counts[r];
        }
        if (t > INT32_MAX) {
            rc = dsend_seterr(DSEND_ENOMEM, "results too large to gather (%llu bytes)",
                              (unsigned long long)t);
            /* still take part in the collective below with nothing */
            for (int r = 0; r < size; r++)
                counts[r] = 0;
        }
        *all = malloc(t ? t : 1);
        *total = t;
    }
    MPI_CHECK(MPI_Gatherv(mine, cnt, MPI_BYTE, *all, counts, displs, MPI_BYTE, 0, comm));
err:
    free(counts);
    free(displs);
    return rc;
}

/* The device parameters, the same for every device and for `serve`. */
static dsend_core_params core_params(const sim_world *w)
{
    const dsend_sim_config *cfg = w->cfg;
    return (dsend_core_params){.lib = &w->lib, .layout = &w->layout,
                               .sub_block = cfg->sub_block, .startup = cfg->startup,
                               .lead = cfg->lead, .tick = cfg->tick, .nic_bps = cfg->nic_bps,
                               .send_ahead = cfg->lead, .pace_lead = cfg->pace_lead,
                               .pace_batch = cfg->pace_batch,
                               .pace_burst = cfg->pace_burst, .heartbeat = cfg->heartbeat,
                               .detect = cfg->detect, .admission = cfg->admission,
                               .admit_load = cfg->admit_load,
                               .look_ahead = cfg->ram || cfg->ram_share > 0 ? cfg->look_ahead
                                                                             : 0};
}

dsend_workload_config dsend_sim_workload(const dsend_sim_config *cfg)
{
    return (dsend_workload_config){
        .clients = cfg->clients, .asset = cfg->asset, .zipf = cfg->zipf,
        .arrival = cfg->arrival, .arrival_window = cfg->arrival_window,
        .arrival_rate = cfg->arrival_rate, .session_min = cfg->session_min,
        .session_max = cfg->session_max, .pause_prob = cfg->pause_prob,
        .pause_min = cfg->pause_min, .pause_max = cfg->pause_max, .seek_prob = cfg->seek_prob,
        .play_delay = cfg->startup, .seed = cfg->seed};
}

int dsend_sim_run(MPI_Comm comm, const dsend_sim_config *cfg, dsend_sim_result *res)
{
    int rc = 0;
    sim_world w;
    memset(&w, 0, sizeof w);
    memset(res, 0, sizeof *res);
    w.cfg = cfg;
    w.lib.file = -1;
    MPI_Comm devcomm = MPI_COMM_NULL;
    dsend_des *des = NULL;
    sim_device *devs = NULL;
    sim_client *clients = NULL;
    dsend_store *stores = NULL;
    int ndev = 0;
    uint32_t nlocal = 0;
    double t_start = MPI_Wtime();
    uint64_t rss_start = rss_now();
    dsend_core_params params;

    MPI_Comm_rank(comm, &w.rank);
    MPI_Comm_size(comm, &w.size);
    if ((rc = dsend_mpi_agree(comm, sim_check_config(cfg, w.size))))
        return rc;
    w.K = cfg->client_ranks;
    w.Dr = w.size - w.K;
    w.D = cfg->devices ? cfg->devices : w.Dr;
    int is_device = w.rank < w.Dr;
    /* devices rank, rank + Dr, rank + 2 Dr, ... live here */
    ndev = is_device ? (w.D - w.rank + w.Dr - 1) / w.Dr : 0;

    /* the library: devices open it collectively and load their blocks,
     * client ranks read the catalogue (and stored bytes) alone */
    MPI_CHECK(MPI_Comm_split(comm, is_device, w.rank, &devcomm));
    rc = dsend_library_open(cfg->library, is_device ? devcomm : MPI_COMM_NULL, &w.lib);
    if (rc == 0) {
        const dsend_layout_policy *pol = dsend_layout_find(cfg->layout);
        rc = pol ? dsend_layout_open(&w.layout, pol, w.D, cfg->replicas)
                 : dsend_seterr(DSEND_EINVAL, "--layout %s: unknown policy", cfg->layout);
    }
    params = core_params(&w);
    if (rc == 0)
        rc = dsend_core_params_check(&params);
    if (rc == 0)
        rc = sim_parse_failures(cfg, w.D, &w);
    if (rc == 0) {
        dsend_workload_config wc = dsend_sim_workload(cfg);
        rc = dsend_workload_init(&w.wl, &wc, &w.lib);
    }
    int64_t planned_end = rc == 0 ? dsend_workload_end(&w.wl) : 0;
    if (rc == 0)
        rc = sim_check_run_size(cfg, planned_end, w.D);
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;
    if (is_device) {
        /* one collective load per round of devices; a rank with no device
         * in the last round takes part with none */
        int rounds = (w.D + w.Dr - 1) / w.Dr;
        stores = calloc((size_t)rounds, sizeof *stores);
        rc = stores ? 0 : dsend_seterr(DSEND_ENOMEM, "out of memory");
        for (int r = 0; r < rounds && rc == 0; r++) {
            int d = r * w.Dr + w.rank;
            rc = dsend_load_cached(devcomm, &w.lib, &w.layout, d < w.D ? d : -1,
                                   (dsend_ram){cfg->ram, cfg->ram_share}, &stores[r]);
            /* below its share: its blocks are read from the file as needed */
            if (rc == 0 && d < w.D && !stores[r].resident && !w.blocks_open &&
                (rc = dsend_block_file_open(&w.blocks, &w.lib)) == 0)
                w.blocks_open = 1;
        }
    } else {
        rc = load_stored(&w);
        /* the stored assets' bytes do not grow with the clients */
        rss_start = rss_now();
    }
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;

    w.cached = cfg->ram || cfg->ram_share > 0;
    uint32_t nlps = (uint32_t)w.D + (uint32_t)cfg->clients;
    TRY(dsend_des_create(comm, nlps, lp_rank, sim_lookahead, &w,
                         cfg->lookahead ? cfg->lookahead : INT64_MAX, &des));
    if (cfg->progress)
        TRY(oversubscribed_hint(comm, des, w.rank));
    if (is_device) {
        devs = calloc((size_t)ndev, sizeof *devs);
        if (!devs)
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        w.devs = devs;
        w.ndevs = ndev;
        uint32_t expect = (uint32_t)(cfg->clients / w.D + 1);
        for (int i = 0; i < ndev && rc == 0; i++) {
            sim_device *dev = &devs[i];
            int d = w.rank + i * w.Dr;
            dev->w = &w;
            dev->des = des;
            dev->cfg = cfg;
            dev->store = &stores[i];
            dev->expect = expect;
            dev->params = &params;
            dev->D = w.D;
            dev->nclients_lp0 = (uint32_t)w.D;
            dev->blocks = w.blocks_open ? &w.blocks : NULL;
            rc = sim_device_init(dev, d);
            if (rc == 0)
                rc = dsend_des_add_lp(des, (uint32_t)d, &sim_device_lptype, dev);
            if (rc == 0) /* the backends stamp events with the LP */
                dev->lp = dsend_des_lp(des, (uint32_t)d);
        }
    } else {
        uint32_t me = (uint32_t)(w.rank - w.Dr);
        nlocal = (uint32_t)(((uint64_t)cfg->clients + (uint64_t)w.K - 1 - me) / (uint64_t)w.K);
        clients = calloc(nlocal ? nlocal : 1, sizeof *clients);
        if (!clients)
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %u clients", nlocal);
        for (uint32_t i = 0; i < nlocal && rc == 0; i++) {
            sim_client *c = &clients[i];
            uint32_t id = me + i * (uint32_t)w.K;
            c->w = &w;
            dsend_workload_client(&w.wl, id, &c->plan);
            c->plan.from -= c->plan.from % cfg->sub_block;
            c->st.client = id;
            c->st.asset = c->plan.asset;
            /* one scheduler for the whole session, as serve's front deals them */
            c->st.scheduler = dsend_workload_scheduler(id, (uint32_t)w.D);
            c->st.request_at = c->plan.request_at;
            dsend_meter_init(&c->meter, &w.lib.assets[c->plan.asset], cfg->prebuffer, &c->st);
            dsend_meter_late_to(&c->meter, cfg->interval, sim_late_sink, &w);
            c->queued = cfg->jitter > 0 || cfg->trace;
            c->runs = c->run_space;
            c->capruns = sizeof c->run_space / sizeof *c->run_space;
            c->wire_pkt = dsend_wire_ns(DSEND_PKT_PAYLOAD + DSEND_PKT_OVERHEAD, cfg->client_bps);
            rc = dsend_meter_plan_begin(&c->meter, c->plan.from, c->plan.to, 1);
            if (rc == 0)
                rc = dsend_des_add_lp(des, (uint32_t)w.D + id, &sim_client_lptype, c);
        }
        if (rc == 0) {
            w.clients = clients;
            dsend_des_prefetch(des, lp_prefetch, &w);
        }
    }
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;

    /* the planned end, for the progress line */
    double prog[2] = {t_start, (double)planned_end};
    MPI_Barrier(comm);
    rc = dsend_des_run(des, cfg->until > 0 ? cfg->until : DSEND_TIME_INF,
                       cfg->progress ? progress_line : NULL, prog);
    if (cfg->progress && w.rank == 0)
        fprintf(stderr, "\n");
    if (rc == 0 && w.late_oom)
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory for the lateness series");
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;

    /* ---- gather the results on rank 0 ---- */
    {
        dsend_client_stats *mine = malloc((nlocal ? nlocal : 1) * sizeof *mine);
        if (!mine) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
        for (uint32_t i = 0; i < nlocal; i++)
            mine[i] = clients[i].st;
        void *all;
        uint64_t total;
        rc = gather_bytes(comm, mine, nlocal * sizeof *mine, &all, &total);
        free(mine);
        if (rc)
            goto err;
        if (w.rank == 0) {
            res->nclients = (uint32_t)cfg->clients;
            res->clients = calloc(res->nclients, sizeof *res->clients);
            dsend_client_stats *v = all;
            for (uint64_t i = 0; res->clients && i < total / sizeof *v; i++)
                res->clients[v[i].client] = v[i];
        }
        free(all);

        /* per-device results: every rank fills the rows of its devices in a
         * zeroed devices-wide table, and the tables are summed on rank 0 */
        size_t D = (size_t)w.D;
        enum { NDS = sizeof(dsend_device_stats) / sizeof(uint64_t) };
        uint64_t *dsv = calloc(D * NDS, sizeof *dsv), *dsum = NULL;
        if (!dsv) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
        unsigned long long nl = w.nlate, nmax = 0;
        for (int i = 0; i < ndev; i++) {
            const sim_device *sd = &devs[i];
            const dsend_device *dev = &sd->dev;
            dsend_device_stats ds;
            sim_device_stats(sd, &ds);
            memcpy(dsv + (size_t)dev->id * NDS, &ds, sizeof ds);
            if (sd->series.n > nl)
                nl = sd->series.n;
        }
        if (w.rank == 0)
            dsum = calloc(D * NDS, sizeof *dsum);
        MPI_CHECK(MPI_Reduce(dsv, dsum, (int)(D * NDS), MPI_UINT64_T, MPI_SUM, 0, comm));
        free(dsv);
        if (w.rank == 0) {
            res->devs = calloc(D, sizeof *res->devs);
            if (res->devs && dsum)
                memcpy(res->devs, dsum, D * sizeof *res->devs);
            free(dsum);
        }

        /* time series, padded to the longest */
        MPI_CHECK(MPI_Allreduce(&nl, &nmax, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm));
        size_t cells = D * (nmax ? nmax : 1);
        uint64_t *sb = calloc(cells, sizeof *sb);
        uint32_t *sq = calloc(cells, sizeof *sq);
        int64_t *ls = calloc(nmax ? nmax : 1, sizeof *ls), *lsum = NULL;
        uint64_t *ln = calloc(nmax ? nmax : 1, sizeof *ln), *lnsum = NULL;
        if (!sb || !sq || !ls || !ln) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto series_out;
        }
        for (int i = 0; i < ndev; i++) {
            const sim_device *dev = &devs[i];
            size_t d = (size_t)dev->dev.id;
            if (dev->series.n) {
                memcpy(sb + d * nmax, dev->series.bytes, dev->series.n * sizeof *sb);
                memcpy(sq + d * nmax, dev->series.queue, dev->series.n * sizeof *sq);
            }
        }
        if (w.nlate) {
            memcpy(ls, w.late_sum, w.nlate * sizeof *ls);
            memcpy(ln, w.late_n, w.nlate * sizeof *ln);
        }
        if (w.rank == 0) {
            res->series_bytes = calloc(cells, sizeof *sb);
            res->series_queue = calloc(cells, sizeof *sq);
            lsum = calloc(nmax ? nmax : 1, sizeof *lsum);
            lnsum = calloc(nmax ? nmax : 1, sizeof *lnsum);
        }
        MPI_CHECK(MPI_Reduce(sb, res->series_bytes, (int)cells, MPI_UINT64_T, MPI_SUM, 0, comm));
        MPI_CHECK(MPI_Reduce(sq, res->series_queue, (int)cells, MPI_UINT32_T, MPI_MAX, 0, comm));
        MPI_CHECK(MPI_Reduce(ls, lsum, (int)nmax, MPI_INT64_T, MPI_SUM, 0, comm));
        MPI_CHECK(MPI_Reduce(ln, lnsum, (int)nmax, MPI_UINT64_T, MPI_SUM, 0, comm));
        if (w.rank == 0) {
            res->nintervals = (uint32_t)nmax;
            /* trim trailing empty intervals */
            while (res->nintervals > 0) {
                uint32_t k = res->nintervals - 1;
                int any = lnsum[k] != 0;
                for (int d = 0; d < w.D && !any; d++)
                    any = res->series_bytes[(size_t)d * nmax + k] != 0;
                if (any)
                    break;
                res->nintervals--;
            }
            /* compact devices x nmax into devices x nintervals */
            for (int d = 0; d < w.D; d++)
                for (uint32_t k = 0; k < res->nintervals; k++) {
                    res->series_bytes[(size_t)d * res->nintervals + k] =
                        res->series_bytes[(size_t)d * nmax + k];
                    res->series_queue[(size_t)d * res->nintervals + k] =
                        res->series_queue[(size_t)d * nmax + k];
                }
            res->late_mean_ns = calloc(res->nintervals ? res->nintervals : 1, sizeof(double));
            res->late_count = calloc(res->nintervals ? res->nintervals : 1, sizeof(uint64_t));
            for (uint32_t k = 0; k < res->nintervals; k++) {
                res->late_count[k] = lnsum[k];
                res->late_mean_ns[k] = lnsum[k] ? (double)lsum[k] / (double)lnsum[k] : 0;
            }
        }
    series_out:
        free(sb);
        free(sq);
        free(ls);
        free(ln);
        free(lsum);
        free(lnsum);
        if ((rc = dsend_mpi_agree(comm, rc)))
            goto err;
        if ((rc = sim_cache_results(comm, &w, devs, ndev, (uint32_t)nmax, res)))
            goto err;

        if (cfg->trace) {
            rc = gather_bytes(comm, w.trace, w.ntrace * sizeof *w.trace, &all, &total);
            if (rc == 0 && w.rank == 0) {
                res->arrivals = all;
                res->narrivals = total / sizeof *w.trace;
                qsort(res->arrivals, res->narrivals, sizeof *res->arrivals, cmp_arrival);
            } else {
                free(all);
            }
            if ((rc = dsend_mpi_agree(comm, rc)))
                goto err;
        }
        unsigned long long ev[2] = {dsend_des_events(des), 0}, evs[2] = {0, 0};
        MPI_CHECK(MPI_Reduce(ev, evs, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, comm));
        res->events = evs[0];
        res->windows = dsend_des_windows(des);
        struct { double s; int rank; } wt = {dsend_des_sync_seconds(des), w.rank}, lo, hi;
        MPI_CHECK(MPI_Reduce(&wt, &lo, 1, MPI_DOUBLE_INT, MPI_MINLOC, 0, comm));
        MPI_CHECK(MPI_Reduce(&wt, &hi, 1, MPI_DOUBLE_INT, MPI_MAXLOC, 0, comm));
        res->wait_min_s = lo.s;
        res->wait_max_s = hi.s;
        res->wait_min_rank = lo.rank;
        res->wait_max_rank = hi.rank;
        double run = dsend_des_run_seconds(des);
        MPI_CHECK(MPI_Reduce(&run, &res->run_s, 1, MPI_DOUBLE, MPI_MAX, 0, comm));
        res->sim_end = dsend_des_now(des);
        res->devices = w.D;
        res->client_ranks = w.K;
        if ((rc = memory_results(comm, &w, rss_start, res)))
            goto err;
    }
    MPI_Barrier(comm);
    res->wall_seconds = MPI_Wtime() - t_start;
err:
    if (rc && w.rank == 0)
        dsend_sim_result_free(res);
    if (clients)
        for (uint32_t i = 0; i < nlocal; i++)
        {
            dsend_meter_free(&clients[i].meter);
            if (clients[i].runs != clients[i].run_space)
                free(clients[i].runs);
            free(clients[i].in);
        }
    free(clients);
    for (int i = 0; devs && i < ndev; i++) {
        dsend_series_free(&devs[i].series);
        dsend_device_free(&devs[i].dev);
    }
    free(devs);
    for (int i = 0; stores && i < (w.D + w.Dr - 1) / w.Dr; i++)
        dsend_store_free(&stores[i]);
    free(stores);
    dsend_des_free(des);
    world_free(&w);
    if (devcomm != MPI_COMM_NULL)
        MPI_Comm_free(&devcomm);
    return rc;
}
