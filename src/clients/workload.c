/* The workload generator (include/dsend/workload.h). */
#include "dsend/workload.h"
#include "dsend/checksum.h"
#include "dsend/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double unit(uint64_t seed, uint64_t a, uint64_t b)
{
    return (double)(dsend_mix64(seed ^ dsend_mix64(a ^ dsend_mix64(b))) >> 11) * 0x1p-53;
}

int dsend_workload_init(dsend_workload *w, const dsend_workload_config *cfg,
                        const dsend_library *lib)
{
    memset(w, 0, sizeof *w);
    w->cfg = *cfg;
    w->lib = lib;
    w->forced_asset = -1;
    if (cfg->clients < 1)
        return dsend_seterr(DSEND_EINVAL, "--clients %lld: need at least one client",
                            (long long)cfg->clients);
    if (cfg->arrival == DSEND_ARRIVAL_POISSON && !(cfg->arrival_rate > 0))
        return dsend_seterr(DSEND_EINVAL, "--arrival poisson needs --arrival-rate > 0");
    if (cfg->session_min > cfg->session_max || cfg->pause_min > cfg->pause_max)
        return dsend_seterr(DSEND_EINVAL, "--session and --pause-length: need MIN <= MAX");
    if (cfg->pause_prob < 0 || cfg->pause_prob > 1 || cfg->seek_prob < 0 || cfg->seek_prob > 1)
        return dsend_seterr(DSEND_EINVAL, "--pause and --seek: probabilities in [0, 1]");
    if (lib->nassets == 0)
        return dsend_seterr(DSEND_EINVAL, "the library has no asset to play");
    if (cfg->asset) {
        w->forced_asset = dsend_library_find(lib, cfg->asset);
        if (w->forced_asset < 0)
            return dsend_seterr(DSEND_ENOENT, "--asset %.80s: unknown asset (dsend info lists them)",
                                cfg->asset);
    }
    uint64_t C = (uint64_t)cfg->clients;
    w->arrival_at = malloc(C * sizeof *w->arrival_at);
    w->zipf_cdf = malloc(lib->nassets * sizeof *w->zipf_cdf);
    if (!w->arrival_at || !w->zipf_cdf) {
        dsend_workload_free(w);
        return dsend_seterr(DSEND_ENOMEM, "out of memory for %llu clients", (unsigned long long)C);
    }
    double t = 0;
    for (uint64_t c = 0; c < C; c++) {
        switch (cfg->arrival) {
        case DSEND_ARRIVAL_ALL:
            w->arrival_at[c] = 0;
            break;
        case DSEND_ARRIVAL_STAGGERED:
            w->arrival_at[c] = (int64_t)((unsigned __int128)c * (uint64_t)cfg->arrival_window / C);
            break;
        case DSEND_ARRIVAL_POISSON:
            t += -log(1.0 - unit(cfg->seed ^ 0xa77, c, 0)) / cfg->arrival_rate * 1e9;
            w->arrival_at[c] = (int64_t)t;
            break;
        }
    }
    double sum = 0;
    for (uint32_t a = 0; a < lib->nassets; a++) {
        sum += cfg->zipf > 0 ? pow((double)a + 1, -cfg->zipf) : 1.0;
        w->zipf_cdf[a] = sum;
    }
    for (uint32_t a = 0; a < lib->nassets; a++)
        w->zipf_cdf[a] /= sum;
    return 0;
}

void dsend_workload_free(dsend_workload *w)
{
    free(w->arrival_at);
    free(w->zipf_cdf);
    w->arrival_at = NULL;
    w->zipf_cdf = NULL;
}

void dsend_workload_client(const dsend_workload *w, uint32_t c, dsend_client_plan *out)
{
    const dsend_workload_config *cfg = &w->cfg;
    memset(out, 0, sizeof *out);
    out->client = c;
    out->request_at = w->arrival_at[c];
    if (w->forced_asset >= 0) {
        out->asset = (uint32_t)w->forced_asset;
    } else {
        double u = unit(cfg->seed ^ 0x21bf, c, 1);
        uint32_t lo = 0, hi = w->lib->nassets - 1;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (w->zipf_cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        out->asset = lo;
    }
    const dsend_asset *a = &w->lib->assets[out->asset];
    out->from = 0;
    out->to = a->size;
    if (cfg->session_max > 0) {
        double u = unit(cfg->seed ^ 0x5e55, c, 2);
        int64_t dur = cfg->session_min + (int64_t)(u * (double)(cfg->session_max - cfg->session_min));
        uint64_t bytes = (uint64_t)((unsigned __int128)(uint64_t)dur * a->bitrate_bps / 8u /
                                    1000000000u);
        if (bytes < 1)
            bytes = 1;
        if (bytes < out->to)
            out->to = bytes;
    }
    /* when it pauses and seeks, if it does */
    double media = (double)(out->to - out->from) * 8e9 / (double)a->bitrate_bps;
    int64_t play = out->request_at + cfg->play_delay;
    out->pause_at = out->seek_at = -1;
    if (cfg->pause_prob > 0 && unit(cfg->seed ^ 0xa05e, c, 1) < cfg->pause_prob) {
        out->pause_at = play + (int64_t)((0.2 + 0.3 * unit(cfg->seed ^ 0xa05e, c, 2)) * media);
        out->pause_len = cfg->pause_min + (int64_t)(unit(cfg->seed ^ 0xa05e, c, 3) *
                                                    (double)(cfg->pause_max - cfg->pause_min));
        if (out->pause_len < 1)
            out->pause_len = 1;
    }
    if (cfg->seek_prob > 0 && unit(cfg->seed ^ 0x5eec, c, 1) < cfg->seek_prob) {
        out->seek_at = play + out->pause_len +
                       (int64_t)((0.55 + 0.25 * unit(cfg->seed ^ 0x5eec, c, 2)) * media);
        out->seek_to = (uint64_t)(unit(cfg->seed ^ 0x5eec, c, 3) * (double)a->size);
    }
}

int64_t dsend_workload_end(const dsend_workload *w)
{
    int64_t end = 0;
    for (int64_t c = 0; c < w->cfg.clients; c++) {
        dsend_client_plan p;
        dsend_workload_client(w, (uint32_t)c, &p);
        int64_t e = p.request_at + w->cfg.play_delay + (p.pause_len > 0 ? p.pause_len : 0) +
                    (int64_t)((double)(p.to - p.from) * 8e9 /
                              (double)w->lib->assets[p.asset].bitrate_bps);
        if (e > end)
            end = e;
    }
    return end;
}
