/* `dsend sim`'s configuration checks, one line per mistake, before any
 * rank does work: the ranks and devices, the latencies against the
 * lookahead and the heartbeat, and the --fail / --recover schedule. */
#include "dsend/error.h"
#include "dsend/series.h"
#include "dsend/units.h"
#include "sim/sim_internal.h"

/* --fail and --recover: parsed into the world; a recovery follows its
 * failure's detection (the device has been replaced by then). */
int sim_parse_failures(const dsend_sim_config *cfg, int D, sim_world *w)
{
    int rc = dsend_parse_device_events(cfg->fail, "fail", D, w->fails, DSEND_MAX_DEVICE_EVENTS,
                                       &w->nfails);
    if (rc == 0)
        rc = dsend_parse_device_events(cfg->recover, "recover", D, w->recovers,
                                       DSEND_MAX_DEVICE_EVENTS, &w->nrecovers);
    for (int i = 0; i < w->nrecovers && rc == 0; i++) {
        const dsend_device_event *r = &w->recovers[i];
        int64_t failed = -1;
        for (int k = 0; k < w->nfails; k++)
            if (w->fails[k].device == r->device && w->fails[k].at <= r->at &&
                w->fails[k].at > failed)
                failed = w->fails[k].at;
        if (failed < 0)
            rc = dsend_seterr(DSEND_EINVAL, "--recover %d@%.3fs: device %d has not failed by then",
                              r->device, (double)r->at / 1e9, r->device);
        else if (r->at < failed + cfg->detect + 2 * cfg->heartbeat)
            rc = dsend_seterr(DSEND_EINVAL,
                              "--recover %d@%.3fs: before its failure at %.3fs is detected "
                              "(--detect plus two heartbeats later)",
                              r->device, (double)r->at / 1e9, (double)failed / 1e9);
    }
    return rc;
}

int sim_check_run_size(const dsend_sim_config *cfg, int64_t planned_end, int D)
{
    int64_t span = planned_end + cfg->lead + cfg->prebuffer;
    if (cfg->until > 0 && cfg->until < span)
        span = cfg->until;
    uint64_t per_device = (uint64_t)(span / cfg->interval) + 1;
    if (per_device * (uint64_t)D <= DSEND_SERIES_MAX)
        return 0;
    char a[32], b[32];
    return dsend_seterr(DSEND_EINVAL,
                        "--interval %s: the run's plan spans %s, %llu intervals for each of %d "
                        "devices; at most %u in all (a longer --interval, or --until)",
                        dsend_format_duration(cfg->interval, a, sizeof a),
                        dsend_human_duration(span, b, sizeof b), (unsigned long long)per_device, D,
                        DSEND_SERIES_MAX);
}

int sim_check_config(const dsend_sim_config *cfg, int size)
{
    int Dr = size - cfg->client_ranks;
    int D = cfg->devices ? cfg->devices : Dr;
    if (cfg->client_ranks < 1)
        return dsend_seterr(DSEND_EINVAL, "--client-ranks %d: at least one rank hosts the clients",
                            cfg->client_ranks);
    if (cfg->client_ranks >= size)
        return dsend_seterr(DSEND_EINVAL,
                            "no device rank: mpirun -np %d with --client-ranks %d leaves none "
                            "(use -np %d or more)",
                            size, cfg->client_ranks, cfg->client_ranks + 1);
    if (D < Dr || D > DSEND_MAX_DEVICES)
        return dsend_seterr(DSEND_EINVAL, "--devices %d: must be between the %d device ranks and %d",
                            D, Dr, DSEND_MAX_DEVICES);
    if (cfg->replicas > D)
        return dsend_seterr(DSEND_EINVAL, "--replicas %d: must not exceed the %d devices",
                            cfg->replicas, D);
    if (cfg->ctrl_latency <= 0 || cfg->data_latency <= 0)
        return dsend_seterr(DSEND_EINVAL, "--ctrl-latency and --data-latency must be > 0 (the "
                                          "smaller one is the lookahead)");
    int64_t minlat = cfg->ctrl_latency < cfg->data_latency ? cfg->ctrl_latency : cfg->data_latency;
    if (cfg->lookahead > minlat) {
        char a[32], b[32];
        return dsend_seterr(DSEND_EINVAL,
                            "--lookahead %s is above the smallest modelled latency (%s): "
                            "events would land inside a window",
                            dsend_format_duration(cfg->lookahead, a, sizeof a),
                            dsend_format_duration(minlat, b, sizeof b));
    }
    if (cfg->interval <= 0)
        return dsend_seterr(DSEND_EINVAL, "--interval must be > 0");
    if (cfg->heartbeat < cfg->ctrl_latency || cfg->heartbeat < cfg->data_latency)
        return dsend_seterr(DSEND_EINVAL, "--heartbeat must not be shorter than a modelled latency "
                                          "(--ctrl-latency, --data-latency)");
    if (cfg->client_bps < 8u * (DSEND_PKT_PAYLOAD + DSEND_PKT_OVERHEAD))
        return dsend_seterr(DSEND_EINVAL, "--client-link: too slow to receive one packet a second");
    if (cfg->prebuffer < 0)
        return dsend_seterr(DSEND_EINVAL, "--prebuffer must be >= 0");
    if (cfg->loss < 0 || cfg->loss >= 1)
        return dsend_seterr(DSEND_EINVAL, "--loss %g: a probability in [0, 1)", cfg->loss);
    return 0;
}

