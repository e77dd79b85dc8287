/* dsend report: the figures, drawn by gnuplot as a subprocess.  Text is
 * noenhanced (file names carry '_'); run i has linetype i in every figure,
 * so one colour per run throughout; a run that did not measure a metric is
 * left out of its figure and named in a note. */
#include "util/check.h"
#include "dsend/error.h"
#include "report_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *gnuplot_cmd(void)
{
    const char *g = getenv("DSEND_GNUPLOT");
    return g && *g ? g : "gnuplot";
}

/* Is the gnuplot command there?  One clear line if not. */
int rpt_check_gnuplot(void)
{
    const char *g = gnuplot_cmd();
    if (strchr(g, '/'))
        return access(g, X_OK) == 0 ? 0
                                    : dsend_seterr(DSEND_ENOENT, "gnuplot not found at %s: install "
                                                                 "gnuplot-nox (scripts/install-deps.sh)", g);
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, g);
        if (access(buf, X_OK) == 0)
            return 0;
        p += n + (p[n] == ':');
    }
    return dsend_seterr(DSEND_ENOENT, "gnuplot not found on the PATH: install gnuplot-nox "
                                      "(scripts/install-deps.sh)");
}

static int run_gnuplot(const char *dir, const char *script)
{
    pid_t pid = fork();
    if (pid < 0)
        return dsend_seterr(DSEND_EIO, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (chdir(dir) != 0)
            _exit(127);
        /* gnuplot's warnings go to the report's gnuplot.log, not the terminal */
        FILE *l = fopen("gnuplot.log", "a");
        if (l)
            dup2(fileno(l), 2);
        execlp(gnuplot_cmd(), gnuplot_cmd(), script, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return dsend_seterr(DSEND_EIO, "gnuplot failed on %s (exit %d; its messages: gnuplot.log)", script,
                            WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}

static FILE *open_in(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return fopen(p, "w");
}

/* s as the inside of a gnuplot single-quoted string ('' is a quote). */
static const char *gq(const char *s, char *b, size_t n)
{
    size_t k = 0;
    for (; *s && k + 3 < n; s++) {
        if (*s == '\'')
            b[k++] = '\'';
        b[k++] = *s;
    }
    b[k] = '\0';
    return b;
}

/* One figure: a gnuplot script drawing PNG then SVG. */
static int figure(const char *dir, const char *name, const char *setup, const char *plot)
{
    static const char *colour[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};
    char sn[128];
    snprintf(sn, sizeof sn, "%s.gp", name);
    FILE *f = open_in(dir, sn);
    if (!f)
        return dsend_seterr(DSEND_EIO, "%s/%s: %s", dir, sn, strerror(errno));
    for (int i = 0; i < 8; i++)
        fprintf(f, "set linetype %d lc rgb '%s' lw 2\n", i + 1, colour[i]);
    /* quiet about degenerate ranges (e.g. no loss at all: every MLR is 0) */
    fprintf(f, "set linetype cycle 8\nset datafile missing '?'\nset key bottom right noenhanced\n"
               "set grid\nset offsets 0, 0, 0.05, 0.05\nset autoscale xfixmin\nset autoscale xfixmax\n"
               "%s\n", setup);
    fprintf(f, "set terminal pngcairo size 900,540 noenhanced\nset output '%s.png'\n%s\n", name, plot);
    fprintf(f, "set terminal svg size 900,540 noenhanced\nset output '%s.svg'\n%s\n", name, plot);
    fclose(f);
    return run_gnuplot(dir, sn);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A CDF as data: sorted values and their cumulative fraction. */
static int write_cdf(const char *dir, const char *name, double *v, size_t n)
{
    FILE *f = open_in(dir, name);
    if (!f)
        return dsend_seterr(DSEND_EIO, "%s/%s: %s", dir, name, strerror(errno));
    qsort(v, n, sizeof *v, cmp_d);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.6f %.6f\n", v[i], (double)(i + 1) / (double)n);
    if (n == 0)
        fprintf(f, "? ?\n");
    fclose(f);
    return 0;
}

/* CDFs of one quantity, a line per run: vals[i] has cnt[i] values, cnt[i] < 0
 * when run i did not measure it.  No figure when no run has a value.  The x
 * axis is logarithmic when the positive values span more than two decades
 * and none is negative; zeros are then drawn at the axis' floor, and the
 * label says so. */
static int cdf_figure(const char *dir, const char *fig, const rpt_run *runs, int nruns, double **vals,
                      const long *cnt, const char *title, const char *xlabel, const char *ylabel)
{
    int rc = 0, neg = 0, zero = 0, any = 0;
    double minpos = INFINITY, maxv = -INFINITY;
    char setup[2048], plot[8192], name[128], q[600], missing[1024] = "";
    for (int i = 0; i < nruns; i++) {
        if (cnt[i] <= 0) {
            char t[300];
            snprintf(t, sizeof t, "%s%s: %s", missing[0] ? "; " : "", runs[i].label,
                     cnt[i] < 0 ? "not measured" : "no values");
            strncat(missing, t, sizeof missing - strlen(missing) - 1);
            continue;
        }
        any = 1;
        for (long k = 0; k < cnt[i]; k++) {
            double x = vals[i][k];
            neg |= x < 0;
            zero |= x == 0;
            if (x > 0 && x < minpos)
                minpos = x;
            if (x > maxv)
                maxv = x;
        }
    }
    if (!any)
        return 0;
    int logx = !neg && isfinite(minpos) && maxv / minpos > 100;
    double lo = logx ? pow(10, floor(log10(minpos))) : 0;
    int n = snprintf(setup, sizeof setup, "set title '%s' noenhanced\n", gq(title, q, sizeof q));
    n += snprintf(setup + n, sizeof setup - (size_t)n, "set ylabel '%s'\nset yrange [0:1]\n", ylabel);
    if (logx && zero)
        n += snprintf(setup + n, sizeof setup - (size_t)n,
                      "set xlabel '%s, log scale; 0 drawn at %g' noenhanced\n", xlabel, lo);
    else
        n += snprintf(setup + n, sizeof setup - (size_t)n, "set xlabel '%s%s' noenhanced\n", xlabel,
                      logx ? ", log scale" : "");
    if (logx)
        n += snprintf(setup + n, sizeof setup - (size_t)n, /* from the decade: no line on the border */
                      "set logscale x\nset format x '%%g'\nset xrange [%g:*]\n", lo);
    if (missing[0])
        snprintf(setup + n, sizeof setup - (size_t)n,
                 "set label 1 '%s' at graph 0.02, graph 0.96 noenhanced\n", gq(missing, q, sizeof q));
    char x[64] = "1";
    if (logx && zero)
        snprintf(x, sizeof x, "($1 > 0 ? $1 : %g)", lo);
    n = snprintf(plot, sizeof plot, "plot ");
    int first = 1;
    for (int i = 0; i < nruns; i++) {
        if (cnt[i] <= 0)
            continue;
        snprintf(name, sizeof name, "%s_run%d.dat", fig, i + 1);
        TRY(write_cdf(dir, name, vals[i], (size_t)cnt[i]));
        n += snprintf(plot + n, sizeof plot - (size_t)n, "%s'%s' using %s:2 with steps lt %d title '%s'",
                      first ? "" : ", ", name, x, i + 1, gq(runs[i].label, q, sizeof q));
        first = 0;
    }
    rc = figure(dir, fig, setup, plot);
err:
    return rc;
}

/* The count of clients with at least one underrun, a bar per run. */
static int underrun_figure(const char *dir, const rpt_run *runs, int nruns, double **vals, const long *cnt)
{
    char plot[1024], setup[1024];
    double top = 1;
    int any = 0;
    for (int i = 0; i < nruns; i++)
        any |= cnt[i] >= 0;
    if (!any)
        return 0;
    FILE *f = open_in(dir, "underruns.dat");
    if (!f)
        return dsend_seterr(DSEND_EIO, "%s/underruns.dat: %s", dir, strerror(errno));
    for (int i = 0; i < nruns; i++) {
        if (cnt[i] < 0)
            continue;
        long k = 0;
        for (long c = 0; c < cnt[i]; c++)
            k += vals[i][c] > 0;
        top = (double)k > top ? (double)k : top;
        char l[256];
        snprintf(l, sizeof l, "%s", runs[i].label);
        for (char *p = l; *p; p++)
            if (*p == '"')
                *p = '\'';
        fprintf(f, "%d %ld \"%s\"\n", i + 1, k, l);
    }
    fclose(f);
    snprintf(setup, sizeof setup, "set title 'Clients with at least one underrun (runs not shown: not "
                                  "measured)' noenhanced\nset ylabel 'clients'\nset yrange [0:%g]\n"
                                  "set xrange [0.4:%d.6]\nset style fill solid 0.7\nset boxwidth 0.6\n"
                                  "unset key\nset xtics noenhanced",
             top * 1.15, nruns);
    snprintf(plot, sizeof plot, "plot 'underruns.dat' using 1:2:1:xtic(3) with boxes lc variable, "
                                "'' using 1:2:(sprintf('%%d', $2)) with labels offset 0,1");
    return figure(dir, "underruns", setup, plot);
}

static int over_time(const char *dir, const rpt_run *runs, int nruns)
{
    int rc = 0, any = 0;
    char plot[8192], name[64], q[600];
    int n = snprintf(plot, sizeof plot, "plot ");
    for (int i = 0; i < nruns; i++) {
        const rpt_run *r = &runs[i];
        if (!r->nint || !r->late_mean || !r->late_count)
            continue;
        snprintf(name, sizeof name, "time_run%d.dat", i + 1);
        FILE *f = open_in(dir, name);
        if (!f)
            return dsend_seterr(DSEND_EIO, "%s/%s: %s", dir, name, strerror(errno));
        for (uint32_t k = 0; k < r->nint; k++) {
            fprintf(f, "%.3f ", (double)k * (double)r->interval / 1e9);
            if (r->late_count[k]) /* no packet due: no lateness to plot */
                fprintf(f, "%.3f", r->late_mean[k] / 1e6);
            else
                fprintf(f, "?");
            fprintf(f, " %llu\n", (unsigned long long)r->late_count[k]);
        }
        fclose(f);
        gq(r->label, q, sizeof q);
        n += snprintf(plot + n, sizeof plot - (size_t)n,
                      "%s'%s' using 1:2 with lines lt %d title 'mean lateness, %s', '%s' using 1:3 axes "
                      "x1y2 with lines lt %d dt 2 title 'packets due, %s'",
                      any ? ", " : "", name, i + 1, q, name, i + 1, q);
        any = 1;
    }
    if (any)
        rc = figure(dir, "over_time", "set title 'Lateness and load over time'\nset xlabel 'time (s)'\n"
                                      "set ylabel 'mean lateness (ms)'\nset y2label 'packets due per "
                                      "interval'\nset y2tics\nset key top left", plot);
    return rc;
}

/* What the caches did over time (runs whose devices held less than their
 * share): hits among send requests, and bytes read from storage. */
static int cache_over_time(const char *dir, const rpt_run *runs, int nruns)
{
    int any = 0;
    char plot[8192], name[64], q[600];
    int n = snprintf(plot, sizeof plot, "plot ");
    for (int i = 0; i < nruns; i++) {
        const rpt_run *r = &runs[i];
        if (!r->nint || !r->cache_series[RS_HITS] || !r->cache_series[RS_MISSES] ||
            !r->cache_series[RS_READ_BYTES])
            continue;
        snprintf(name, sizeof name, "cache_run%d.dat", i + 1);
        FILE *f = open_in(dir, name);
        if (!f)
            return dsend_seterr(DSEND_EIO, "%s/%s: %s", dir, name, strerror(errno));
        double step = (double)r->interval / 1e9;
        for (uint32_t k = 0; k < r->nint; k++) {
            double h = r->cache_series[RS_HITS][k], m = r->cache_series[RS_MISSES][k];
            fprintf(f, "%.3f ", (double)k * step);
            if (h + m > 0) /* no request came: no hit rate */
                fprintf(f, "%.3f", 100 * h / (h + m));
            else
                fprintf(f, "?");
            fprintf(f, " %.4f\n", r->cache_series[RS_READ_BYTES][k] * 8 / 1e6 / step);
        }
        fclose(f);
        gq(r->label, q, sizeof q);
        n += snprintf(plot + n, sizeof plot - (size_t)n,
                      "%s'%s' using 1:2 with lines lt %d title 'hits, %s', '%s' using 1:3 axes "
                      "x1y2 with lines lt %d dt 2 title 'read from storage, %s'",
                      any ? ", " : "", name, i + 1, q, name, i + 1, q);
        any = 1;
    }
    return any ? figure(dir, "cache", "set title 'Block caches over time (all devices)'\n"
                                      "set xlabel 'time (s)'\nset ylabel 'send requests that hit "
                                      "(%)'\nset yrange [0:105]\nset y2label 'read from storage "
                                      "(Mbit/s)'\nset y2tics\nset key bottom left", plot)
               : 0;
}

/* Link utilization of each run with a series: lines, or a heat map when many. */
static int utilization(const char *dir, const rpt_run *r, int i)
{
    char plot[8192], setup[1024], name[64], fig[64], q[600];
    if (!r->series_devices || !r->nint || !r->util)
        return 0;
    snprintf(name, sizeof name, "utilization_run%d.dat", i + 1);
    FILE *f = open_in(dir, name);
    if (!f)
        return dsend_seterr(DSEND_EIO, "%s/%s: %s", dir, name, strerror(errno));
    for (int d = 0; d < r->series_devices; d++) {
        for (uint32_t k = 0; k < r->nint; k++)
            fprintf(f, "%s%.5f", k ? " " : "", 100 * r->util[(size_t)d * r->nint + k]);
        fputc('\n', f);
    }
    fclose(f);
    snprintf(fig, sizeof fig, "utilization_run%d", i + 1);
    double step = (double)r->interval / 1e9;
    gq(r->label, q, sizeof q);
    if (r->series_devices > 8) {
        snprintf(setup, sizeof setup, "set title 'Link utilization, %s (%%)' noenhanced\nset xlabel 'time (s)'\nset ylabel 'device'\nset cblabel '%%'\nset view map", q);
        snprintf(plot, sizeof plot, "plot '%s' matrix using ($1*%g):2:3 with image notitle", name, step);
    } else {
        snprintf(setup, sizeof setup, "set title 'Link utilization per device, %s' noenhanced\nset xlabel 'time (s)'\nset ylabel 'utilization (%%)'\nset key top right", q);
        int n = snprintf(plot, sizeof plot, "plot ");
        for (int d = 0; d < r->series_devices; d++)
            n += snprintf(plot + n, sizeof plot - (size_t)n, "%s'%s' matrix every :::%d::%d using ($1*%g):3 with lines title 'device %d'",
                          d ? ", " : "", name, d, d, step, d);
    }
    return figure(dir, fig, setup, plot);
}

int rpt_figures(const rpt_run *runs, int nruns, const char *dir)
{
    static const struct {
        const char *fig, *title, *xlabel;
        int m;
    } cdfs[] = {
        {"startup", "Startup latency (per client)", "startup latency (ms)", M_STARTUP},
        {"jitter", "RFC 3550 interarrival jitter (per client)", "jitter (ms)", M_JITTER},
        {"mdi_df", "RFC 4445 MDI delay factor (per client, worst 1 s)", "delay factor (ms)", M_DF},
        {"mdi_mlr", "RFC 4445 media loss rate (per client)", "lost TS packets per second", M_MLR},
        {"lateness", "Worst packet lateness (per client; < 0: early)", "arrival - playout deadline (ms)", M_LATE},
        {"stall", "Playout stall (per client)", "total stall (s)", M_STALL},
    };
    int rc = 0;
    double **vals = calloc((size_t)nruns, sizeof *vals);
    long *cnt = calloc((size_t)nruns, sizeof *cnt);
    if (!vals || !cnt) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    for (int i = 0; i < nruns; i++)
        if (!(vals[i] = malloc((runs[i].nclients + 1) * sizeof **vals))) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
    for (size_t c = 0; c < sizeof cdfs / sizeof cdfs[0]; c++) {
        for (int i = 0; i < nruns; i++)
            cnt[i] = rpt_values(&runs[i], cdfs[c].m, vals[i]);
        TRY(cdf_figure(dir, cdfs[c].fig, runs, nruns, vals, cnt, cdfs[c].title, cdfs[c].xlabel,
                       "fraction of clients"));
    }
    for (int i = 0; i < nruns; i++)
        cnt[i] = rpt_values(&runs[i], M_UNDERRUNS, vals[i]);
    TRY(underrun_figure(dir, runs, nruns, vals, cnt));
    /* packet lateness (--trace runs) */
    for (int i = 0; i < nruns; i++) {
        free(vals[i]);
        vals[i] = runs[i].arr_late_ms;
        cnt[i] = runs[i].narr ? (long)runs[i].narr : -1;
    }
    rc = cdf_figure(dir, "subblock_lateness", runs, nruns, vals, cnt, "Packet lateness (every arrival)",
                    "arrival - playout deadline (ms)", "fraction of packets");
    for (int i = 0; i < nruns; i++)
        vals[i] = NULL; /* the runs' own */
    if (rc)
        goto err;
    TRY(over_time(dir, runs, nruns));
    TRY(cache_over_time(dir, runs, nruns));
    for (int i = 0; i < nruns; i++)
        TRY(utilization(dir, &runs[i], i));
err:
    for (int i = 0; vals && i < nruns; i++)
        free(vals[i]);
    free(vals);
    free(cnt);
    return rc;
}
