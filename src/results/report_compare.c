/* dsend report: per-client metrics, run summaries and the comparison of runs.
 * A metric a run did not measure is "not measured", never a 0. */
#include "dsend/units.h"
#include "report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const rpt_metric rpt_metrics[M_N] = {
    {"startup_ms", "startup (ms)"},
    {"jitter_ms", "RFC 3550 jitter (ms)"},
    {"df_ms", "MDI delay factor (ms)"},
    {"mlr", "MDI media loss rate (pkt/s)"},
    {"max_lateness_ms", "worst lateness (ms)"},
    {"ontime_pct", "on time (% of received)"},
    {"underruns", "underruns"},
    {"stall_s", "stall (s)"},
    {"max_gap_ms", "longest gap (ms)"},
};

static const int metric_field[M_N] = {CF_STARTUP, CF_JITTER, CF_DF, CF_MLR, CF_MAXLATE, -1,
                                      CF_UNDERRUNS, CF_STALL, CF_GAP};

long rpt_values(const rpt_run *r, int m, double *v)
{
    long k = 0;
    if (m == M_ONTIME) { /* per client: (received - late) / received */
        const double *rec = r->field[CF_RECEIVED], *late = r->field[CF_LATE];
        if (!rec || !late)
            return -1;
        for (uint32_t c = 0; c < r->nclients; c++)
            if (rec[c] > 0)
                v[k++] = 100.0 * (rec[c] - late[c]) / rec[c];
        return k;
    }
    const double *f = r->field[metric_field[m]];
    if (!f)
        return -1;
    for (uint32_t c = 0; c < r->nclients; c++)
        if (!isnan(f[c]))
            v[k++] = f[c];
    return k;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One statistic of a run's metric: st 0 p50, 1 p99, 2 max, 3 the metric's
 * extra (extra_name).  State: 0 not measured, 1 value, 2 no values. */
static const char *extra_name(int m)
{
    return m == M_ONTIME ? "total" : m == M_UNDERRUNS ? "clients" : m == M_STALL ? "total" : NULL;
}

static int stat_of(const rpt_run *r, int m, int st, double *buf, double *out)
{
    long n = rpt_values(r, m, buf);
    if (n < 0)
        return 0;
    if (st == 3) {
        double a = 0, b = 0;
        if (m == M_ONTIME) {
            for (uint32_t c = 0; c < r->nclients; c++)
                a += r->field[CF_RECEIVED][c], b += r->field[CF_LATE][c];
            if (a <= 0)
                return 2;
            *out = 100.0 * (a - b) / a;
            return 1;
        }
        for (long k = 0; k < n; k++)
            a += m == M_UNDERRUNS ? buf[k] > 0 : buf[k];
        *out = a;
        return 1;
    }
    if (n == 0)
        return 2;
    qsort(buf, (size_t)n, sizeof *buf, cmp_d);
    /* the same percentiles as dsend sim's summary */
    *out = st == 0 ? buf[(n - 1) / 2] : st == 1 ? buf[(size_t)((double)(n - 1) * 0.99)] : buf[n - 1];
    return 1;
}

static double *scratch(const rpt_run *runs, int nruns)
{
    uint32_t n = 1;
    for (int i = 0; i < nruns; i++)
        n = runs[i].nclients > n ? runs[i].nclients : n;
    return malloc(n * sizeof(double));
}

static const char *cell(int state, double v, char *b, size_t n)
{
    if (state == 1)
        snprintf(b, n, "%.6g", v);
    else
        snprintf(b, n, "%s", state ? "none" : "not measured");
    return b;
}

/* The sum of a field, or "not measured". */
static const char *sum(const rpt_run *r, int f, char *b, size_t n)
{
    if (!r->field[f])
        return snprintf(b, n, "not measured"), b;
    double s = 0;
    for (uint32_t c = 0; c < r->nclients; c++)
        s += r->field[f][c];
    snprintf(b, n, "%.0f", s);
    return b;
}

void rpt_summary(const rpt_run *r, FILE *o)
{
    char a[7][32];
    double *buf = scratch(r, 1);
    if (!buf)
        return;
    const char *u = r->units[0] ? r->units : "packets";
    int clients = !strcmp(r->kind, "clients"), served = !strcmp(r->kind, "serve") || !strcmp(r->kind, "measured");
    if (clients)
        fprintf(o, "dsend clients: %u sessions measured over %.2f s wall, %s %s received\n",
                r->nclients, r->wall_seconds, sum(r, CF_RECEIVED, a[0], sizeof a[0]), u);
    else if (served)
        fprintf(o, "dsend serve: %d devices, %s served in %.2f s wall; %u client sessions measured\n",
                r->devices, dsend_human_duration(r->simulated_ns, a[0], sizeof a[0]), r->wall_seconds,
                r->nclients);
    else
        fprintf(o, "dsend sim: %d devices, %d client rank%s, %u clients, %.1f s simulated in %.2f s "
                   "wall, %llu events\n",
                r->devices, r->client_ranks, r->client_ranks == 1 ? "" : "s", r->nclients,
                (double)r->simulated_ns / 1e9, r->wall_seconds, (unsigned long long)r->events);
    if (r->rss_peak)
        fprintf(o, "  memory        %s peak resident over all ranks; %s per device, %s per client\n",
                dsend_human_size((double)r->rss_peak, a[0], sizeof a[0]),
                dsend_human_size((double)r->mem_per_device, a[1], sizeof a[1]),
                dsend_human_size((double)r->mem_per_client, a[2], sizeof a[2]));
    int any = 0;
    for (int k = 0; k < CF_N; k++)
        any |= r->field[k] != NULL;
    if (!any) /* dsend serve alone: its clients are in a dsend clients file */
        fprintf(o, "  clients       not measured (no /clients: report it with the dsend clients file)\n");
    if (any && r->units[0])
        fprintf(o, "  units         %s (the /clients counts)\n", r->units);
    if (!any)
        goto devices;
    long started = rpt_values(r, M_STARTUP, buf);
    fprintf(o, "  streams       %s started of %u; %s pauses, %s seeks\n",
            started < 0 ? "not measured" : (snprintf(a[0], sizeof a[0], "%ld", started), a[0]),
            r->nclients, sum(r, CF_PAUSES, a[1], sizeof a[1]), sum(r, CF_SEEKS, a[2], sizeof a[2]));
    fprintf(o, "  %-13s %s expected, %s received, %s lost, %s duplicate, %s out of order, %s checksum "
               "errors\n", u,
            sum(r, CF_EXPECTED, a[0], 32), sum(r, CF_RECEIVED, a[1], 32), sum(r, CF_LOST, a[2], 32),
            sum(r, CF_DUP, a[3], 32), sum(r, CF_OOO, a[4], 32), sum(r, CF_CRC, a[5], 32));
    double v;
    int st = stat_of(r, M_ONTIME, 3, buf, &v);
    fprintf(o, "  on time       %s%s of received %s\n", cell(st, v, a[0], 32), st == 1 ? "%" : "", u);
    st = stat_of(r, M_UNDERRUNS, 3, buf, &v);
    cell(st, v, a[1], 32);
    st = stat_of(r, M_STALL, 3, buf, &v);
    fprintf(o, "  underruns     %s, in %s clients, %s s stalled\n", sum(r, CF_UNDERRUNS, a[0], 32), a[1],
            cell(st, v, a[2], 32));
    fprintf(o, "  %-28s %12s %12s %12s\n", "per client", "p50", "p99", "max");
    for (int m = 0; m < M_N; m++) {
        double x[3];
        int s[3];
        for (int k = 0; k < 3; k++)
            s[k] = stat_of(r, m, k, buf, &x[k]);
        fprintf(o, "  %-28s %12s %12s %12s\n", rpt_metrics[m].title, cell(s[0], x[0], a[0], 32),
                cell(s[1], x[1], a[1], 32), cell(s[2], x[2], a[2], 32));
    }
devices:
    if (r->ndev > 0) {
        uint64_t mn = UINT64_MAX, mx = 0;
        double mean = 0;
        for (int d = 0; d < r->ndev; d++) {
            mn = r->dev_bytes[d] < mn ? r->dev_bytes[d] : mn;
            mx = r->dev_bytes[d] > mx ? r->dev_bytes[d] : mx;
            mean += (double)r->dev_bytes[d] / r->ndev;
        }
        fprintf(o, "  device load   %s min, %s mean, %s max sent (max/mean %.3f)\n",
                dsend_human_size((double)mn, a[0], 32), dsend_human_size(mean, a[1], 32),
                dsend_human_size((double)mx, a[2], 32), mean > 0 ? (double)mx / mean : 0);
    } else {
        fprintf(o, "  device load   not measured\n");
    }
    if (r->cached) {
        const double *c = r->cache;
        double n = c[RC_HITS] + c[RC_MISSES], sent = 0;
        for (int d = 0; d < r->ndev; d++)
            sent += (double)r->dev_bytes[d];
        fprintf(o, "  cache         %s of %s in RAM; %.2f%% of %.0f send requests hit; %s read "
                   "(%.3f per byte sent); %.0f evicted; at most %.0f blocks pinned; %.0f packets "
                   "late by a miss\n",
                dsend_human_size(c[RC_RAM], a[0], 32), dsend_human_size(c[RC_SHARE], a[1], 32),
                n > 0 ? 100 * c[RC_HITS] / n : 100, n, dsend_human_size(c[RC_READ_BYTES], a[2], 32),
                sent > 0 ? c[RC_READ_BYTES] / sent : 0, c[RC_EVICTIONS], c[RC_MAX_PINNED],
                c[RC_MISS_LATE]);
    }
    if (r->has_drops)
        fprintf(o, "  drops         %llu\n", (unsigned long long)r->drops);
    free(buf);
}

void rpt_html_text(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '&': fputs("&amp;", o); break;
        case '\'': fputs("&#39;", o); break;
        case '"': fputs("&quot;", o); break;
        default: fputc(*s, o);
        }
    }
}

/* The difference of run k from run 1, absolute and relative. */
static void diff(int s1, double v1, int sk, double vk, char *d, char *rel, size_t n)
{
    snprintf(d, n, "-");
    snprintf(rel, n, "-");
    if (s1 != 1 || sk != 1)
        return;
    snprintf(d, n, "%+.6g", vk - v1);
    if (v1 != 0)
        snprintf(rel, n, "%+.2f%%", 100.0 * (vk - v1) / fabs(v1));
    else if (vk == 0)
        snprintf(rel, n, "+0.00%%");
}

void rpt_compare(const rpt_run *runs, int nruns, FILE *md, FILE *html, FILE *log)
{
    static const char *stn[] = {"p50", "p99", "max"};
    double *buf = scratch(runs, nruns);
    int *s = calloc((size_t)nruns, sizeof *s);
    double *v = calloc((size_t)nruns, sizeof *v);
    char a[64], d[64], rel[64];
    if (!buf || !s || !v || nruns < 2)
        goto out;
    fprintf(md, "## Comparison (each run against run 1)\n\n");
    fprintf(html, "<h2>Comparison (each run against run 1)</h2>\n");
    if (log) {
        fprintf(log, "# compare METRIC STAT RUN1 RUNk DIFF REL%% k; runs:");
        for (int i = 0; i < nruns; i++)
            fprintf(log, " [%s]", runs[i].label);
        fprintf(log, "\n");
    }
    for (int m = 0; m < M_N; m++) {
        fprintf(md, "### %s\n\n| stat |", rpt_metrics[m].title);
        fprintf(html, "<h3>");
        rpt_html_text(html, rpt_metrics[m].title);
        fprintf(html, "</h3>\n<table border='1' cellpadding='3'><tr><th>stat</th>");
        for (int i = 0; i < nruns; i++) {
            fprintf(md, " %s |", runs[i].label);
            fprintf(html, "<th>");
            rpt_html_text(html, runs[i].label);
            fprintf(html, "</th>");
        }
        for (int i = 1; i < nruns; i++) {
            fprintf(md, " %d - 1 | %d vs 1 |", i + 1, i + 1);
            fprintf(html, "<th>%d - 1</th><th>%d vs 1</th>", i + 1, i + 1);
        }
        fprintf(md, "\n|---|");
        for (int i = 1; i < 3 * nruns - 1; i++)
            fprintf(md, "---|");
        fprintf(md, "\n");
        fprintf(html, "</tr>\n");
        for (int st = 0; st < 4; st++) {
            const char *name = st < 3 ? stn[st] : extra_name(m);
            if (!name)
                continue;
            for (int i = 0; i < nruns; i++)
                s[i] = stat_of(&runs[i], m, st, buf, &v[i]);
            fprintf(md, "| %s |", name);
            fprintf(html, "<tr><td>%s</td>", name);
            for (int i = 0; i < nruns; i++) {
                fprintf(md, " %s |", cell(s[i], v[i], a, sizeof a));
                fprintf(html, "<td>%s</td>", a);
            }
            for (int i = 1; i < nruns; i++) {
                diff(s[0], v[0], s[i], v[i], d, rel, sizeof d);
                fprintf(md, " %s | %s |", d, rel);
                fprintf(html, "<td>%s</td><td>%s</td>", d, rel);
                if (log) {
                    char a1[64], ak[64];
                    fprintf(log, "compare %s %s %s %s %s %s %d\n", rpt_metrics[m].key, name,
                            s[0] == 1 ? cell(1, v[0], a1, sizeof a1) : "-",
                            s[i] == 1 ? cell(1, v[i], ak, sizeof ak) : "-", d, rel, i + 1);
                }
            }
            fprintf(md, "\n");
            fprintf(html, "</tr>\n");
        }
        fprintf(md, "\n");
        fprintf(html, "</table>\n");
    }
out:
    free(buf);
    free(s);
    free(v);
}
