/* `dsend sim` output: the human summary, JSON, and the results file
 * (doc/results-format.md). */
#include "config.h"
#include "util/atomic.h"
#include "util/check.h"
#include "dsend/error.h"
#include "dsend/sim.h"
#include "dsend/units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct pct {
    double p50, p99, max;
} pct;

static pct percentiles(double *v, size_t n)
{
    pct p = {0, 0, 0};
    if (!n)
        return p;
    qsort(v, n, sizeof *v, cmp_double);
    p.p50 = v[(n - 1) / 2];
    p.p99 = v[(size_t)((double)(n - 1) * 0.99)];
    p.max = v[n - 1];
    return p;
}

typedef struct summary {
    uint64_t expected, received, lost, late, dup, ooo, crc, bytes;
    uint64_t underruns, clients_underrun, started, pauses, seeks, refused;
    double ontime_pct, stall_s;
    pct startup_ms, jitter_ms, df_ms, mlr, late_ms, gap_ms;
    uint64_t dev_min, dev_max;
    double dev_mean;
    dsend_device_stats cache; /* summed over devices (max_pinned: the largest) */
    int cached;               /* some device held less than its share */
    uint64_t delivered;       /* payload bytes the devices' pacers sent */
} summary;

/* The devices' cache figures, summed. */
static void summarize_cache(const dsend_sim_result *r, summary *s)
{
    dsend_device_stats *c = &s->cache;
    for (int d = 0; d < r->devices; d++) {
        const dsend_device_stats *v = &r->devs[d];
        s->cached |= v->ram < v->share;
        s->delivered += v->bytes;
        c->ram += v->ram;
        c->share += v->share;
        c->cache_hits += v->cache_hits;
        c->cache_misses += v->cache_misses;
        c->storage_reads += v->storage_reads;
        c->storage_bytes += v->storage_bytes;
        c->evictions += v->evictions;
        c->max_pinned = v->max_pinned > c->max_pinned ? v->max_pinned : c->max_pinned;
        c->pinned += v->pinned;
        c->miss_waits += v->miss_waits;
        c->miss_late += v->miss_late;
        c->storage_errors += v->storage_errors;
    }
}

static double hit_rate(const dsend_device_stats *c)
{
    uint64_t n = c->cache_hits + c->cache_misses;
    return n ? 100.0 * (double)c->cache_hits / (double)n : 100.0;
}

static void summarize(const dsend_sim_result *r, summary *s)
{
    memset(s, 0, sizeof *s);
    size_t n = r->nclients;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        const dsend_client_stats *c = &r->clients[i];
        s->expected += c->expected;
        s->received += c->received;
        s->lost += c->lost;
        s->late += c->late;
        s->dup += c->duplicate;
        s->ooo += c->out_of_order;
        s->crc += c->crc_errors;
        s->bytes += c->bytes;
        s->underruns += c->underruns;
        s->pauses += c->pauses;
        s->seeks += c->seeks;
        s->refused += c->refused;
        s->clients_underrun += c->underruns > 0;
        s->stall_s += (double)c->stall_ns / 1e9;
    }
    s->ontime_pct = s->received ? 100.0 * (double)(s->received - s->late) / (double)s->received : 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (r->clients[i].startup_ns >= 0)
            v[k++] = (double)r->clients[i].startup_ns / 1e6;
    s->started = k;
    s->startup_ms = percentiles(v, k);
    for (size_t i = 0; i < n; i++)
        v[i] = r->clients[i].jitter_ms;
    s->jitter_ms = percentiles(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = r->clients[i].df_ms;
    s->df_ms = percentiles(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = r->clients[i].mlr;
    s->mlr = percentiles(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)r->clients[i].max_lateness / 1e6;
    s->late_ms = percentiles(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = (double)r->clients[i].max_gap_us / 1e3;
    s->gap_ms = percentiles(v, n);
    free(v);
    s->dev_min = UINT64_MAX;
    for (int d = 0; d < r->devices; d++) {
        uint64_t b = r->devs[d].bytes;
        s->dev_min = b < s->dev_min ? b : s->dev_min;
        s->dev_max = b > s->dev_max ? b : s->dev_max;
        s->dev_mean += (double)b / r->devices;
    }
    if (r->devices == 0)
        s->dev_min = 0;
    summarize_cache(r, s);
}

void dsend_sim_figures(const dsend_sim_result *r, dsend_sim_figures_t *f)
{
    summary s;
    summarize(r, &s);
    f->clients = r->nclients;
    f->underrun_pct = r->nclients ? 100.0 * (double)s.clients_underrun / r->nclients : 0;
    f->ontime_pct = s.ontime_pct;
    f->startup_p99_ms = s.startup_ms.p99;
    f->df_p99_ms = s.df_ms.p99;
    f->jitter_p99_ms = s.jitter_ms.p99;
    f->lost = s.lost;
    f->started = s.started;
    f->refused = s.refused;
    f->refused_pct = r->nclients ? 100.0 * (double)s.refused / r->nclients : 0;
}

void dsend_sim_summary(const dsend_sim_config *cfg, const dsend_sim_result *r, FILE *o)
{
    summary s;
    char h1[32], h2[32], h3[32], h4[32];
    summarize(r, &s);
    int measured = r->kind && strcmp(r->kind, "clients") == 0;
    if (measured) {
        fprintf(o, "dsend clients: %u sessions measured over %.2f s\n", r->nclients, r->wall_seconds);
    } else {
        fprintf(o, "dsend sim: %d devices, %d client rank%s, %u clients, %.1f s simulated in %.2f s wall\n",
                r->devices, r->client_ranks, r->client_ranks == 1 ? "" : "s", r->nclients,
                (double)r->sim_end / 1e9, r->wall_seconds);
        fprintf(o, "  events        %llu (%.2f M/s), %llu windows\n", (unsigned long long)r->events,
                r->wall_seconds > 0 ? (double)r->events / r->wall_seconds / 1e6 : 0,
                (unsigned long long)r->windows);
        if (r->run_s > 0 && r->windows)
            fprintf(o, "  ranks         the event loop took %.2f s; a rank spent %.0f%% (rank %d) to "
                       "%.0f%% (rank %d) of it agreeing on windows (waiting for the others)\n",
                    r->run_s, 100 * r->wait_min_s / r->run_s, r->wait_min_rank,
                    100 * r->wait_max_s / r->run_s, r->wait_max_rank);
        if (r->rss_peak)
            fprintf(o, "  memory        %s peak resident over all ranks (%s the largest rank); "
                       "%s per device, %s per client\n",
                    dsend_human_size((double)r->rss_peak, h1, sizeof h1),
                    dsend_human_size((double)r->rss_peak_max, h2, sizeof h2),
                    dsend_human_size((double)r->mem_per_device, h3, sizeof h3),
                    dsend_human_size((double)r->mem_per_client, h4, sizeof h4));
    }
    fprintf(o, "  streams       %llu started of %u, %llu refused by admission; %llu pauses, "
               "%llu seeks\n",
            (unsigned long long)s.started, r->nclients, (unsigned long long)s.refused,
            (unsigned long long)s.pauses, (unsigned long long)s.seeks);
    fprintf(o, "  packets       %llu expected, %llu received, %llu lost, %llu duplicate, "
               "%llu out of order, %llu payload errors\n",
            (unsigned long long)s.expected, (unsigned long long)s.received,
            (unsigned long long)s.lost, (unsigned long long)s.dup, (unsigned long long)s.ooo,
            (unsigned long long)s.crc);
    fprintf(o, "  on time       %.3f%% of received packets\n", s.ontime_pct);
    fprintf(o, "  underruns     %llu, in %llu clients, %.2f s stalled\n",
            (unsigned long long)s.underruns, (unsigned long long)s.clients_underrun, s.stall_s);
    fprintf(o, "  %-13s %10s %10s %10s\n", "per client", "p50", "p99", "max");
    fprintf(o, "  %-13s %10.2f %10.2f %10.2f\n", "startup ms", s.startup_ms.p50, s.startup_ms.p99,
            s.startup_ms.max);
    fprintf(o, "  %-13s %10.3f %10.3f %10.3f\n", "jitter ms", s.jitter_ms.p50, s.jitter_ms.p99,
            s.jitter_ms.max);
    fprintf(o, "  %-13s %10.2f %10.2f %10.2f\n", "MDI DF ms", s.df_ms.p50, s.df_ms.p99, s.df_ms.max);
    fprintf(o, "  %-13s %10.3f %10.3f %10.3f\n", "MLR pkt/s", s.mlr.p50, s.mlr.p99, s.mlr.max);
    fprintf(o, "  %-13s %10.2f %10.2f %10.2f\n", "max late ms", s.late_ms.p50, s.late_ms.p99,
            s.late_ms.max);
    fprintf(o, "  %-13s %10.2f %10.2f %10.2f\n", "max gap ms", s.gap_ms.p50, s.gap_ms.p99,
            s.gap_ms.max);
    if (measured)
        return; /* device load is the server's (dsend serve --out) */
    fprintf(o, "  device load   %s min, %s mean, %s max sent (max/mean %.3f)\n",
            dsend_human_size((double)s.dev_min, h1, sizeof h1),
            dsend_human_size(s.dev_mean, h2, sizeof h2),
            dsend_human_size((double)s.dev_max, h3, sizeof h3),
            s.dev_mean > 0 ? (double)s.dev_max / s.dev_mean : 0);
    if (s.cached) {
        const dsend_device_stats *c = &s.cache;
        fprintf(o, "  cache         %s of %s in RAM (all devices); %llu hits, %llu misses (%.2f%% "
                   "hits); %llu blocks read (%s, %.3f per byte sent); %llu evicted; %llu pinned "
                   "at most, %llu at the end\n",
                dsend_human_size((double)c->ram, h1, sizeof h1),
                dsend_human_size((double)c->share, h2, sizeof h2),
                (unsigned long long)c->cache_hits, (unsigned long long)c->cache_misses,
                hit_rate(c), (unsigned long long)c->storage_reads,
                dsend_human_size((double)c->storage_bytes, h3, sizeof h3),
                s.delivered ? (double)c->storage_bytes / (double)s.delivered : 0,
                (unsigned long long)c->evictions, (unsigned long long)c->max_pinned,
                (unsigned long long)c->pinned);
        fprintf(o, "  misses        %llu send requests waited for their block, %llu packets late "
                   "by the plan because of it; %llu reads failed\n",
                (unsigned long long)c->miss_waits, (unsigned long long)c->miss_late,
                (unsigned long long)c->storage_errors);
    }
    (void)cfg;
}

void dsend_sim_json(const dsend_sim_config *cfg, const dsend_sim_result *r, FILE *o)
{
    summary s;
    summarize(r, &s);
    fprintf(o, "{\"devices\": %d, \"client_ranks\": %d, \"clients\": %u, \"seed\": %llu,\n",
            r->devices, r->client_ranks, r->nclients, (unsigned long long)cfg->seed);
    fprintf(o, " \"simulated_s\": %.6f, \"wall_s\": %.3f, \"events\": %llu, \"windows\": %llu,\n",
            (double)r->sim_end / 1e9, r->wall_seconds, (unsigned long long)r->events,
            (unsigned long long)r->windows);
    fprintf(o, " \"pauses\": %llu, \"seeks\": %llu, \"refused\": %llu,\n",
            (unsigned long long)s.pauses, (unsigned long long)s.seeks,
            (unsigned long long)s.refused);
    fprintf(o, " \"streams_started\": %llu, \"units\": \"packets\", \"packets\": {\"expected\": %llu, \"received\": %llu, "
               "\"lost\": %llu, \"duplicate\": %llu, \"out_of_order\": %llu, \"payload_errors\": %llu},\n",
            (unsigned long long)s.started, (unsigned long long)s.expected,
            (unsigned long long)s.received, (unsigned long long)s.lost, (unsigned long long)s.dup,
            (unsigned long long)s.ooo, (unsigned long long)s.crc);
    fprintf(o, " \"bytes\": %llu,", (unsigned long long)s.bytes);
    fprintf(o, " \"on_time_pct\": %.6f, \"underruns\": %llu, \"clients_with_underruns\": %llu, "
               "\"stall_s\": %.6f,\n",
            s.ontime_pct, (unsigned long long)s.underruns, (unsigned long long)s.clients_underrun,
            s.stall_s);
    const struct { const char *name; pct p; } ps[] = {
        {"startup_ms", s.startup_ms}, {"jitter_ms", s.jitter_ms}, {"df_ms", s.df_ms},
        {"mlr", s.mlr}, {"max_lateness_ms", s.late_ms}, {"max_gap_ms", s.gap_ms}};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        fprintf(o, " \"%s\": {\"p50\": %.6f, \"p99\": %.6f, \"max\": %.6f},\n", ps[i].name,
                ps[i].p.p50, ps[i].p.p99, ps[i].p.max);
    fprintf(o, " \"device_bytes\": {\"min\": %llu, \"mean\": %.1f, \"max\": %llu}",
            (unsigned long long)s.dev_min, s.dev_mean, (unsigned long long)s.dev_max);
    const dsend_device_stats *c = &s.cache;
    if (s.cached)
        fprintf(o, ",\n \"cache\": {\"ram\": %llu, \"share\": %llu, \"hits\": %llu, "
                   "\"misses\": %llu, \"hit_rate_pct\": %.4f, \"storage_reads\": %llu, "
                   "\"storage_bytes\": %llu, \"storage_per_sent_byte\": %.6f, \"evictions\": "
                   "%llu, \"max_pinned\": %llu, \"pinned_at_end\": %llu, \"miss_waits\": %llu, "
                   "\"miss_late_packets\": %llu, \"storage_errors\": %llu}",
                (unsigned long long)c->ram, (unsigned long long)c->share,
                (unsigned long long)c->cache_hits, (unsigned long long)c->cache_misses,
                hit_rate(c), (unsigned long long)c->storage_reads,
                (unsigned long long)c->storage_bytes,
                s.delivered ? (double)c->storage_bytes / (double)s.delivered : 0,
                (unsigned long long)c->evictions, (unsigned long long)c->max_pinned,
                (unsigned long long)c->pinned, (unsigned long long)c->miss_waits,
                (unsigned long long)c->miss_late, (unsigned long long)c->storage_errors);
    if (r->rss_peak)
        fprintf(o, ",\n \"memory\": {\"peak_rss_bytes\": %llu, \"peak_rss_max_rank_bytes\": %llu, "
                   "\"per_device_bytes\": %llu, \"per_client_bytes\": %llu, "
                   "\"device_lp_bytes\": %u, \"client_lp_bytes\": %u}",
                (unsigned long long)r->rss_peak, (unsigned long long)r->rss_peak_max,
                (unsigned long long)r->mem_per_device, (unsigned long long)r->mem_per_client,
                r->device_lp_bytes, r->client_lp_bytes);
    if (r->windows)
        fprintf(o, ",\n \"ranks\": {\"event_loop_s\": %.3f, \"wait_min_s\": %.3f, "
                   "\"wait_min_rank\": %d, \"wait_max_s\": %.3f, \"wait_max_rank\": %d}",
                r->run_s, r->wait_min_s, r->wait_min_rank, r->wait_max_s, r->wait_max_rank);
    fprintf(o, "}\n");
}

/* ------------------------------------------------------------ file */

static int dataset(hid_t loc, const char *name, hid_t type, int rank, const hsize_t *dims,
                   const void *data)
{
    int rc = 0;
    hid_t s = -1, d = -1;
    H5_CHECK(s = H5Screate_simple(rank, dims, NULL));
    H5_CHECK(d = H5Dcreate2(loc, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (data)
        H5_CHECK(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
err:
    if (d >= 0)
        H5Dclose(d);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

#define FIELD(T, f, t) H5Tinsert(T, #f, HOFFSET(dsend_client_stats, f), t)

hid_t dsend_results_client_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(dsend_client_stats));
    FIELD(t, client, H5T_NATIVE_UINT32);
    FIELD(t, asset, H5T_NATIVE_UINT32);
    FIELD(t, scheduler, H5T_NATIVE_UINT32);
    FIELD(t, request_at, H5T_NATIVE_INT64);
    FIELD(t, startup_ns, H5T_NATIVE_INT64);
    FIELD(t, expected, H5T_NATIVE_UINT64);
    FIELD(t, received, H5T_NATIVE_UINT64);
    FIELD(t, lost, H5T_NATIVE_UINT64);
    FIELD(t, duplicate, H5T_NATIVE_UINT64);
    FIELD(t, out_of_order, H5T_NATIVE_UINT64);
    FIELD(t, late, H5T_NATIVE_UINT64);
    FIELD(t, crc_errors, H5T_NATIVE_UINT64);
    FIELD(t, bytes, H5T_NATIVE_UINT64);
    FIELD(t, unexpected, H5T_NATIVE_UINT64);
    FIELD(t, pauses, H5T_NATIVE_UINT32);
    FIELD(t, seeks, H5T_NATIVE_UINT32);
    FIELD(t, senders, H5T_NATIVE_UINT32);
    FIELD(t, max_gap_us, H5T_NATIVE_UINT32);
    FIELD(t, max_lateness, H5T_NATIVE_INT64);
    FIELD(t, mean_lateness, H5T_NATIVE_INT64);
    FIELD(t, underruns, H5T_NATIVE_UINT32);
    FIELD(t, refused, H5T_NATIVE_UINT32);
    FIELD(t, stall_ns, H5T_NATIVE_INT64);
    FIELD(t, jitter_ms, H5T_NATIVE_DOUBLE);
    FIELD(t, df_ms, H5T_NATIVE_DOUBLE);
    FIELD(t, mlr, H5T_NATIVE_DOUBLE);
    return t;
}
#undef FIELD

static hid_t device_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(dsend_device_stats));
    H5Tinsert(t, "sub_blocks", HOFFSET(dsend_device_stats, sub_blocks), H5T_NATIVE_UINT64);
    H5Tinsert(t, "bytes", HOFFSET(dsend_device_stats, bytes), H5T_NATIVE_UINT64);
    H5Tinsert(t, "requests_received", HOFFSET(dsend_device_stats, requests_received), H5T_NATIVE_UINT64);
    H5Tinsert(t, "requests_sent", HOFFSET(dsend_device_stats, requests_sent), H5T_NATIVE_UINT64);
    H5Tinsert(t, "max_queue", HOFFSET(dsend_device_stats, max_queue), H5T_NATIVE_UINT64);
    H5Tinsert(t, "packets", HOFFSET(dsend_device_stats, packets), H5T_NATIVE_UINT64);
    H5Tinsert(t, "wire_bytes", HOFFSET(dsend_device_stats, wire_bytes), H5T_NATIVE_UINT64);
    H5Tinsert(t, "stale", HOFFSET(dsend_device_stats, stale), H5T_NATIVE_UINT64);
    H5Tinsert(t, "delayed", HOFFSET(dsend_device_stats, delayed), H5T_NATIVE_UINT64);
    H5Tinsert(t, "admitted", HOFFSET(dsend_device_stats, admitted), H5T_NATIVE_UINT64);
    H5Tinsert(t, "refused", HOFFSET(dsend_device_stats, refused), H5T_NATIVE_UINT64);
    H5Tinsert(t, "failovers", HOFFSET(dsend_device_stats, failovers), H5T_NATIVE_UINT64);
    H5Tinsert(t, "takeovers", HOFFSET(dsend_device_stats, takeovers), H5T_NATIVE_UINT64);
    H5Tinsert(t, "rerouted", HOFFSET(dsend_device_stats, rerouted), H5T_NATIVE_UINT64);
#define DEV_FIELD(f) H5Tinsert(t, #f, HOFFSET(dsend_device_stats, f), H5T_NATIVE_UINT64)
    DEV_FIELD(ram);
    DEV_FIELD(share);
    DEV_FIELD(lookaheads);
    DEV_FIELD(cache_hits);
    DEV_FIELD(cache_misses);
    DEV_FIELD(storage_reads);
    DEV_FIELD(storage_bytes);
    DEV_FIELD(evictions);
    DEV_FIELD(max_pinned);
    DEV_FIELD(pinned);
    DEV_FIELD(miss_waits);
    DEV_FIELD(miss_delayed);
    DEV_FIELD(miss_late);
    DEV_FIELD(storage_errors);
#undef DEV_FIELD
    return t;
}

static hid_t arrival_type(void)
{
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(dsend_arrival_rec));
    H5Tinsert(t, "client", HOFFSET(dsend_arrival_rec, client), H5T_NATIVE_UINT32);
    H5Tinsert(t, "asset", HOFFSET(dsend_arrival_rec, asset), H5T_NATIVE_UINT32);
    H5Tinsert(t, "device", HOFFSET(dsend_arrival_rec, device), H5T_NATIVE_UINT32);
    H5Tinsert(t, "len", HOFFSET(dsend_arrival_rec, len), H5T_NATIVE_UINT32);
    H5Tinsert(t, "offset", HOFFSET(dsend_arrival_rec, offset), H5T_NATIVE_UINT64);
    H5Tinsert(t, "sent", HOFFSET(dsend_arrival_rec, sent), H5T_NATIVE_INT64);
    H5Tinsert(t, "arrival", HOFFSET(dsend_arrival_rec, arrival), H5T_NATIVE_INT64);
    H5Tinsert(t, "deadline", HOFFSET(dsend_arrival_rec, deadline), H5T_NATIVE_INT64);
    return t;
}

int dsend_sim_write(const char *path, const dsend_sim_config *cfg, const dsend_sim_result *r,
                    const char *config_lines, int argc, char **argv, int exit_status)
{
    int rc = 0;
    hid_t f = -1, g = -1, t = -1;
    double *util = NULL;
    char tmp[4400], line[8192] = "", date[64];
    if (dsend_tmp_path(path, tmp, sizeof tmp) != 0)
        return dsend_seterr(DSEND_EINVAL, "%.200s...: path too long", path);
    dsend_h5_quiet();
    dsend_tmp_sweep(path); /* what a killed writer left */
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        return dsend_seterr(DSEND_EIO, "%s: cannot create the results file (%s)", path,
                            strerror(errno));
    for (int i = 0; i < argc; i++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", i ? " " : "", argv[i]);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    uint32_t version = 1;
    TRY(dsend_h5_attr_str(f, "dsend_format", "dsend-results"));
    TRY(dsend_h5_attr_num(f, "format_version", H5T_NATIVE_UINT32, H5T_NATIVE_UINT32, &version));
    TRY(dsend_h5_attr_str(f, "kind", r->kind ? r->kind : "sim"));
    TRY(dsend_h5_attr_str(f, "dsend_version", PACKAGE_STRING));
    TRY(dsend_h5_attr_str(f, "command_line", line));
    TRY(dsend_h5_attr_str(f, "date", date));
    TRY(dsend_h5_attr_num(f, "seed", H5T_NATIVE_UINT64, H5T_NATIVE_UINT64, &cfg->seed));
    TRY(dsend_h5_attr_num(f, "exit_status", H5T_NATIVE_INT, H5T_NATIVE_INT, &exit_status));
    TRY(dsend_h5_attr_num(f, "devices", H5T_NATIVE_INT, H5T_NATIVE_INT, &r->devices));
    TRY(dsend_h5_attr_num(f, "client_ranks", H5T_NATIVE_INT, H5T_NATIVE_INT, &r->client_ranks));
    TRY(dsend_h5_attr_num(f, "simulated_ns", H5T_NATIVE_INT64, H5T_NATIVE_INT64, &r->sim_end));
    TRY(dsend_h5_attr_num(f, "events", H5T_NATIVE_UINT64, H5T_NATIVE_UINT64, &r->events));
    TRY(dsend_h5_attr_num(f, "wall_seconds", H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, &r->wall_seconds));
    if (r->rss_peak) { /* sim: what the run held (not a result of the model) */
        TRY(dsend_h5_attr_num(f, "peak_rss_bytes", H5T_NATIVE_UINT64, H5T_NATIVE_UINT64, &r->rss_peak));
        TRY(dsend_h5_attr_num(f, "peak_rss_max_rank_bytes", H5T_NATIVE_UINT64, H5T_NATIVE_UINT64,
                              &r->rss_peak_max));
        TRY(dsend_h5_attr_num(f, "memory_per_device_bytes", H5T_NATIVE_UINT64, H5T_NATIVE_UINT64,
                              &r->mem_per_device));
        TRY(dsend_h5_attr_num(f, "memory_per_client_bytes", H5T_NATIVE_UINT64, H5T_NATIVE_UINT64,
                              &r->mem_per_client));
        TRY(dsend_h5_attr_num(f, "device_lp_bytes", H5T_NATIVE_UINT32, H5T_NATIVE_UINT32,
                              &r->device_lp_bytes));
        TRY(dsend_h5_attr_num(f, "client_lp_bytes", H5T_NATIVE_UINT32, H5T_NATIVE_UINT32,
                              &r->client_lp_bytes));
    }
    if (r->t0_unix_ns) /* where a measured run's times start, to line two such runs up */
        TRY(dsend_h5_attr_num(f, "t0_unix_ns", H5T_NATIVE_INT64, H5T_NATIVE_INT64, &r->t0_unix_ns));
    H5_CHECK(g = H5Gcreate2(f, "config", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    for (const char *p = config_lines; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char kv[512], *eq;
        snprintf(kv, sizeof kv, "%.*s", (int)(n < 511 ? n : 511), p);
        if ((eq = strstr(kv, " = "))) {
            *eq = '\0';
            char *name = kv;
            while (*name == ' ')
                name++;
            for (char *e = eq - 1; e > name && *e == ' '; e--)
                *e = '\0';
            TRY(dsend_h5_attr_str(g, name, eq + 3));
        }
        p = nl ? nl + 1 : p + n;
    }
    H5Gclose(g);
    g = -1;

    hsize_t dims[2] = {r->nclients, 0};
    if (!(r->kind && strcmp(r->kind, "serve") == 0)) { /* a server measures no client */
        H5_CHECK(t = dsend_results_client_type());
        TRY(dataset(f, "clients", t, 1, dims, r->clients));
        H5Tclose(t);
        t = -1;
        hid_t d = -1;
        H5_CHECK(d = H5Dopen2(f, "clients", H5P_DEFAULT));
        /* the same units in sim and in dsend clients */
        rc = dsend_h5_attr_str(d, "units", "packets");
        if (rc == 0 && r->not_measured)
            rc = dsend_h5_attr_str(d, "not_measured", r->not_measured);
        H5Dclose(d);
        if (rc)
            goto err;
    }
    dims[0] = (hsize_t)r->devices;
    H5_CHECK(t = device_type());
    TRY(dataset(f, "devices", t, 1, dims, r->devs));
    H5Tclose(t);
    t = -1;
    H5_CHECK(g = H5Gcreate2(f, "series", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    TRY(dsend_h5_attr_num(g, "interval_ns", H5T_NATIVE_INT64, H5T_NATIVE_INT64, &cfg->interval));
    dims[0] = (hsize_t)r->devices;
    dims[1] = r->nintervals;
    TRY(dataset(g, "bytes", H5T_NATIVE_UINT64, 2, dims, r->series_bytes));
    TRY(dataset(g, "queue", H5T_NATIVE_UINT32, 2, dims, r->series_queue));
    util = malloc(((size_t)r->devices * r->nintervals + 1) * sizeof *util);
    if (!util) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    for (size_t k = 0; k < (size_t)r->devices * r->nintervals; k++)
        util[k] = (double)r->series_bytes[k] * 8e9 / ((double)cfg->nic_bps * (double)cfg->interval);
    TRY(dataset(g, "utilization", H5T_NATIVE_DOUBLE, 2, dims, util));
    dims[0] = r->nintervals;
    TRY(dataset(g, "lateness_mean_ns", H5T_NATIVE_DOUBLE, 1, dims, r->late_mean_ns));
    TRY(dataset(g, "lateness_count", H5T_NATIVE_UINT64, 1, dims, r->late_count));
    /* what the caches did, when a device held less than its share */
    static const char *const cache_series[DSEND_CC_N] = {
        [DSEND_CC_HITS] = "cache_hits", [DSEND_CC_MISSES] = "cache_misses",
        [DSEND_CC_READS] = "storage_reads", [DSEND_CC_READ_BYTES] = "storage_bytes",
        [DSEND_CC_EVICTIONS] = "evictions", [DSEND_CC_PINNED] = "pinned"};
    dims[0] = (hsize_t)r->devices;
    dims[1] = r->nintervals;
    for (int k = 0; k < DSEND_CC_N; k++)
        if (r->series_cache[k])
            TRY(dataset(g, cache_series[k], H5T_NATIVE_UINT64, 2, dims, r->series_cache[k]));
    H5Gclose(g);
    g = -1;
    if (cfg->trace) {
        dims[0] = r->narrivals;
        H5_CHECK(t = arrival_type());
        TRY(dataset(f, "arrivals", t, 1, dims, r->arrivals));
        H5Tclose(t);
        t = -1;
    }
    free(util);
    util = NULL;
    herr_t cr = H5Fclose(f);
    f = -1;
    if (cr < 0) {
        rc = dsend_h5_fail(__FILE__, __LINE__, "H5Fclose");
        goto err;
    }
    if (dsend_tmp_commit(tmp, path) != 0) {
        rc = dsend_seterr(DSEND_EIO, "%s: %s", path, strerror(errno));
        goto err;
    }
    return 0;
err:
    free(util);
    if (t >= 0)
        H5Tclose(t);
    if (g >= 0)
        H5Gclose(g);
    if (f >= 0)
        H5Fclose(f);
    unlink(tmp);
    return dsend_not_written(rc, path);
}
