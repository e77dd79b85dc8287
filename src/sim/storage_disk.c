/* Storage backend `disk` of the simulation: each device's mass storage
 * answers a read --disk-latency after it was issued (seek, or the way to a
 * storage server: reads in flight overlap), and its bytes then flow at
 * --disk-rate, the reads' bytes one read after another, first come first
 * served; the read's completion is an event of the device LP.  A stored block's bytes are read from the
 * library file (serially, with the loader's checksum check) when the read
 * is issued and become visible at its completion; a synthetic block costs
 * only its time.  The cache in front of it is the one `serve` runs. */
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "sim/sim_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct ev_loaded {
    uint32_t asset, pad_;
    uint64_t block;
} ev_loaded;

static int disk_read(void *ctx, uint32_t asset, uint64_t block, uint8_t *buf, uint64_t len)
{
    sim_device *d = ctx;
    const dsend_sim_config *cfg = d->cfg;
    int64_t now = dsend_des_now(d->des);
    if (buf) {
        /* a bad block stops the run, as it stops the loader */
        int rc = d->blocks ? dsend_block_file_read(d->blocks, (int)d->lp->id, asset, block, buf)
                           : dsend_seterr(DSEND_EINVAL, "device %u: no library file to read",
                                          d->lp->id);
        if (rc)
            return rc;
    }
    int64_t start = now + cfg->disk_latency > d->disk_free ? now + cfg->disk_latency
                                                           : d->disk_free;
    d->disk_free = start + dsend_wire_ns(len, cfg->disk_bps);
    ev_loaded m = {.asset = asset, .block = block};
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = d->disk_free;
    ev.dst_lp = d->lp->id;
    ev.type = EV_STORAGE_DONE;
    memcpy(ev.payload, &m, sizeof m);
    return dsend_des_send(d->des, d->lp, &ev);
}

const dsend_storage sim_storage_disk = {
    .name = "disk",
    .read = disk_read,
};

int sim_storage_done(sim_device *d, const dsend_event *ev)
{
    ev_loaded m;
    memcpy(&m, ev->payload, sizeof m);
    return dsend_device_loaded(&d->dev, m.asset, m.block, 0);
}

int sim_run_sent(sim_device *d, const dsend_event *ev)
{
    ev_run_sent m;
    memcpy(&m, ev->payload, sizeof m);
    if (m.life != d->life)
        return 0; /* held by a cache that is gone */
    dsend_packet_run run = {.hold = dsend_cache_find(&d->dev.cache, m.asset, m.block)};
    return dsend_device_release(&d->dev, &run);
}

void sim_device_cache_account(void *ctx, int64_t at, int what, uint64_t n)
{
    sim_device *d = ctx;
    dsend_series_note_cache(&d->series, at, d->cfg->interval, what, n);
}

int sim_cache_results(MPI_Comm comm, const sim_world *w, const sim_device *devs, int ndev,
                      uint32_t nmax, dsend_sim_result *res)
{
    const dsend_series **mine = malloc((ndev ? (size_t)ndev : 1) * sizeof *mine);
    int *ids = malloc((ndev ? (size_t)ndev : 1) * sizeof *ids);
    int rc = mine && ids ? 0 : dsend_seterr(DSEND_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < ndev; i++) {
        mine[i] = &devs[i].series;
        ids[i] = devs[i].dev.id;
    }
    if ((rc = dsend_mpi_agree(comm, rc)) == 0)
        rc = dsend_series_gather_cache(comm, w->D, nmax, mine, ids, ndev, res->series_cache);
    free(mine);
    free(ids);
    /* devices x nmax into devices x nintervals, as the other series */
    for (int k = 0; rc == 0 && w->rank == 0 && k < DSEND_CC_N && res->series_cache[k]; k++)
        for (int dv = 0; dv < w->D; dv++)
            memmove(res->series_cache[k] + (size_t)dv * res->nintervals,
                    res->series_cache[k] + (size_t)dv * nmax,
                    res->nintervals * sizeof *res->series_cache[k]);
    return rc;
}
