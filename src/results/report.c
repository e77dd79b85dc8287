/* dsend report: figures and pages from results files. */
#include "util/check.h"
#include "dsend/error.h"
#include "dsend/report.h"
#include "dsend/units.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct run_data {
    const char *path;
    char label[80];
    char kind[16];
    uint32_t nclients;
    dsend_client_stats *clients;
    int devices;
    uint32_t nint;
    int64_t interval;
    double *util;        /* devices x nint */
    double *late_mean;
    uint64_t *late_count;
    double *arr_late_ms; /* with --trace: every sub-block's lateness */
    uint64_t narr;
    char *config;        /* markdown table rows */
    size_t nconfig;
    char *summary;
} run_data;

static int read_str_attr(hid_t obj, const char *name, char *buf, size_t n)
{
    buf[0] = '\0';
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    herr_t e = a >= 0 ? H5Aread(a, t, buf) : -1;
    H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    buf[n - 1] = '\0';
    return e < 0 ? -1 : 0;
}

static herr_t config_row(hid_t g, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    run_data *r = data;
    char v[256];
    if (read_str_attr(g, name, v, sizeof v) != 0)
        return 0;
    char row[400];
    int n = snprintf(row, sizeof row, "| %s | %s |\n", name, v);
    char *p = realloc(r->config, r->nconfig + (size_t)n + 1);
    if (!p)
        return -1;
    memcpy(p + r->nconfig, row, (size_t)n + 1);
    r->config = p;
    r->nconfig += (size_t)n;
    return 0;
}

static int read_2d(hid_t f, const char *path, hid_t type, void **out, hsize_t dims[2], int rank)
{
    int rc = 0;
    hid_t d = -1, s = -1;
    dims[0] = dims[1] = 1;
    if (H5Lexists(f, "series", H5P_DEFAULT) <= 0 || H5Oexists_by_name(f, path, H5P_DEFAULT) <= 0) {
        dims[0] = 0;
        *out = NULL;
        return 0;
    }
    H5_CHECK(d = H5Dopen2(f, path, H5P_DEFAULT));
    H5_CHECK(s = H5Dget_space(d));
    if (H5Sget_simple_extent_ndims(s) != rank) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s is not %d-D", path, rank);
        goto err;
    }
    H5Sget_simple_extent_dims(s, dims, NULL);
    size_t n = (size_t)dims[0] * (rank == 2 ? (size_t)dims[1] : 1);
    *out = calloc(n ? n : 1, H5Tget_size(type));
    if (!*out) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    if (n)
        H5_CHECK(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out));
err:
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int load_run(const char *path, int index, run_data *r)
{
    int rc = 0;
    hid_t f = -1, d = -1, s = -1, t = -1, g = -1;
    char fmt[32];
    memset(r, 0, sizeof *r);
    r->path = path;
    dsend_h5_quiet();
    if (access(path, R_OK) != 0)
        return dsend_seterr(DSEND_ENOENT, "%s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: not an HDF5 file", path);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: cannot open HDF5 file", path);
    if (read_str_attr(f, "dsend_format", fmt, sizeof fmt) != 0 || strcmp(fmt, "dsend-results") != 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: not a dsend results file (dsend sim --out or dsend "
                                         "clients --out makes one)", path);
        goto err;
    }
    read_str_attr(f, "kind", r->kind, sizeof r->kind);
    const char *base = strrchr(path, '/');
    snprintf(r->label, sizeof r->label, "%d: %s (%s)", index + 1, base ? base + 1 : path,
             r->kind[0] ? r->kind : "sim");
    if (H5Lexists(f, "clients", H5P_DEFAULT) <= 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: no /clients table", path);
        goto err;
    }
    hsize_t n;
    H5_CHECK(d = H5Dopen2(f, "clients", H5P_DEFAULT));
    H5_CHECK(s = H5Dget_space(d));
    H5Sget_simple_extent_dims(s, &n, NULL);
    r->nclients = (uint32_t)n;
    r->clients = calloc(n ? n : 1, sizeof *r->clients);
    H5_CHECK(t = dsend_results_client_type());
    if (!r->clients) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    if (n && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->clients) < 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: /clients is not a table of client results", path);
        goto err;
    }
    hsize_t dims[2];
    void *p;
    TRY(read_2d(f, "series/utilization", H5T_NATIVE_DOUBLE, &p, dims, 2));
    r->util = p;
    r->devices = dims[0] ? (int)dims[0] : 0;
    r->nint = dims[0] ? (uint32_t)dims[1] : 0;
    TRY(read_2d(f, "series/lateness_mean_ns", H5T_NATIVE_DOUBLE, &p, dims, 1));
    r->late_mean = p;
    TRY(read_2d(f, "series/lateness_count", H5T_NATIVE_UINT64, &p, dims, 1));
    r->late_count = p;
    if (H5Lexists(f, "series", H5P_DEFAULT) > 0) {
        hid_t sg = H5Gopen2(f, "series", H5P_DEFAULT);
        if (sg >= 0 && H5Aexists(sg, "interval_ns") > 0) {
            hid_t a = H5Aopen(sg, "interval_ns", H5P_DEFAULT);
            H5Aread(a, H5T_NATIVE_INT64, &r->interval);
            H5Aclose(a);
        }
        if (sg >= 0)
            H5Gclose(sg);
    }
    if (r->interval <= 0)
        r->interval = 1000000000;
    if (H5Lexists(f, "arrivals", H5P_DEFAULT) > 0) {
        hid_t ad = H5Dopen2(f, "arrivals", H5P_DEFAULT), as = H5Dget_space(ad);
        hsize_t na = 0;
        H5Sget_simple_extent_dims(as, &na, NULL);
        hid_t at = H5Tcreate(H5T_COMPOUND, 2 * sizeof(int64_t));
        H5Tinsert(at, "arrival", 0, H5T_NATIVE_INT64);
        H5Tinsert(at, "deadline", sizeof(int64_t), H5T_NATIVE_INT64);
        int64_t *v = malloc((na ? na : 1) * 2 * sizeof *v);
        r->arr_late_ms = malloc((na ? na : 1) * sizeof *r->arr_late_ms);
        if (v && r->arr_late_ms && H5Dread(ad, at, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) {
            for (hsize_t k = 0; k < na; k++)
                r->arr_late_ms[k] = (double)(v[2 * k] - v[2 * k + 1]) / 1e6;
            r->narr = na;
        }
        free(v);
        H5Tclose(at);
        H5Sclose(as);
        H5Dclose(ad);
    }
    if (H5Lexists(f, "config", H5P_DEFAULT) > 0) {
        H5_CHECK(g = H5Gopen2(f, "config", H5P_DEFAULT));
        hsize_t idx = 0;
        H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, config_row, r);
    }
err:
    if (g >= 0)
        H5Gclose(g);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    if (f >= 0)
        H5Fclose(f);
    return rc;
}

static void free_run(run_data *r)
{
    free(r->clients);
    free(r->util);
    free(r->late_mean);
    free(r->late_count);
    free(r->arr_late_ms);
    free(r->config);
    free(r->summary);
}

static const char *gnuplot_cmd(void)
{
    const char *g = getenv("DSEND_GNUPLOT");
    return g && *g ? g : "gnuplot";
}

/* Is the gnuplot command there?  One clear line if not. */
static int check_gnuplot(void)
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

/* One figure: a gnuplot script drawing PNG then SVG. */
static int figure(const char *dir, const char *name, const char *setup, const char *plot)
{
    char sn[128];
    snprintf(sn, sizeof sn, "%s.gp", name);
    FILE *f = open_in(dir, sn);
    if (!f)
        return dsend_seterr(DSEND_EIO, "%s/%s: %s", dir, sn, strerror(errno));
    /* quiet about degenerate ranges (e.g. no loss at all: every MLR is 0) */
    fprintf(f, "set datafile missing '?'\nset key bottom right\nset grid\nset offsets 0, 0, 0.05, 0.05\n"
               "set autoscale xfixmin\nset autoscale xfixmax\n%s\n", setup);
    fprintf(f, "set terminal pngcairo size 900,540\nset output '%s.png'\n%s\n", name, plot);
    fprintf(f, "set terminal svg size 900,540\nset output '%s.svg'\n%s\n", name, plot);
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

typedef struct metric {
    const char *name, *title, *xlabel;
} metric;

static double metric_value(const dsend_client_stats *c, int m)
{
    switch (m) {
    case 0: return c->startup_ns >= 0 ? (double)c->startup_ns / 1e6 : NAN;
    case 1: return c->jitter_ms;
    case 2: return c->df_ms;
    case 3: return c->mlr;
    case 4: return (double)c->max_lateness / 1e6;
    default: return (double)c->underruns;
    }
}

int dsend_report(char *const *runs, int nruns, const char *outdir, int force, FILE *log)
{
    int rc = 0;
    run_data *rd = NULL;
    char tmp[4200] = "", cmd[9000];
    if (nruns < 1)
        return dsend_seterr(DSEND_EINVAL, "no results file (dsend report RUN.h5... -o DIR)");
    if (!force && access(outdir, F_OK) == 0)
        return dsend_seterr(DSEND_EINVAL, "%s exists (use --force to replace it)", outdir);
    TRY(check_gnuplot());
    if (!(rd = calloc((size_t)nruns, sizeof *rd)))
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    for (int i = 0; i < nruns; i++)
        TRY(load_run(runs[i], i, &rd[i]));
    snprintf(tmp, sizeof tmp, "%.4000s.tmp.%ld", outdir, (long)getpid());
    if (mkdir(tmp, 0755) != 0) {
        rc = dsend_seterr(DSEND_EIO, "%s: %s", tmp, strerror(errno));
        goto err;
    }
    static const metric ms[] = {
        {"startup", "Startup latency (per client)", "startup latency (ms)"},
        {"jitter", "RFC 3550 interarrival jitter (per client)", "jitter (ms)"},
        {"mdi_df", "RFC 4445 MDI delay factor (per client, worst 1 s)", "delay factor (ms)"},
        {"mdi_mlr", "RFC 4445 media loss rate (per client)", "lost TS packets per second"},
        {"lateness", "Worst sub-block lateness (per client; < 0: early)", "arrival - playout deadline (ms)"},
    };
    size_t maxn = 1;
    for (int i = 0; i < nruns; i++)
        if (rd[i].nclients > maxn)
            maxn = rd[i].nclients;
    double *v = malloc(maxn * sizeof *v);
    if (!v) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    char plot[8192], name[64];
    for (size_t m = 0; m < sizeof ms / sizeof ms[0] && rc == 0; m++) {
        int n = snprintf(plot, sizeof plot, "plot ");
        for (int i = 0; i < nruns && rc == 0; i++) {
            size_t k = 0;
            for (uint32_t c = 0; c < rd[i].nclients; c++) {
                double x = metric_value(&rd[i].clients[c], (int)m);
                if (!isnan(x))
                    v[k++] = x;
            }
            snprintf(name, sizeof name, "%s_run%d.dat", ms[m].name, i + 1);
            rc = write_cdf(tmp, name, v, k);
            n += snprintf(plot + n, sizeof plot - (size_t)n, "%s'%s' using 1:2 with steps lw 2 title '%s'",
                          i ? ", " : "", name, rd[i].label);
        }
        char setup[512];
        snprintf(setup, sizeof setup, "set title '%s'\nset xlabel '%s'\nset ylabel 'fraction of clients'\nset yrange [0:1]",
                 ms[m].title, ms[m].xlabel);
        if (rc == 0)
            rc = figure(tmp, ms[m].name, setup, plot);
    }
    free(v);
    if (rc)
        goto err;
    /* sub-block lateness (--trace runs) */
    int any_trace = 0;
    for (int i = 0; i < nruns; i++)
        any_trace |= rd[i].narr > 0;
    if (any_trace) {
        int n = snprintf(plot, sizeof plot, "plot ");
        for (int i = 0; i < nruns; i++) {
            if (!rd[i].narr)
                continue;
            snprintf(name, sizeof name, "subblock_lateness_run%d.dat", i + 1);
            TRY(write_cdf(tmp, name, rd[i].arr_late_ms, rd[i].narr));
            n += snprintf(plot + n, sizeof plot - (size_t)n, "%s'%s' using 1:2 with steps lw 2 title '%s'",
                          n > 5 ? ", " : "", name, rd[i].label);
        }
        TRY(figure(tmp, "subblock_lateness", "set title 'Sub-block lateness (every arrival)'\nset xlabel 'arrival - playout deadline (ms)'\nset ylabel 'fraction of sub-blocks'\nset yrange [0:1]", plot));
    }
    /* over time: mean lateness and sub-blocks due (the load) per interval */
    {
        int n = snprintf(plot, sizeof plot, "plot ");
        int any = 0;
        for (int i = 0; i < nruns; i++) {
            if (!rd[i].nint)
                continue;
            snprintf(name, sizeof name, "time_run%d.dat", i + 1);
            FILE *f = open_in(tmp, name);
            if (!f) {
                rc = dsend_seterr(DSEND_EIO, "%s/%s: %s", tmp, name, strerror(errno));
                goto err;
            }
            for (uint32_t k = 0; k < rd[i].nint; k++) {
                fprintf(f, "%.3f ", (double)k * (double)rd[i].interval / 1e9);
                if (rd[i].late_count[k]) /* no sub-block due: no lateness to plot */
                    fprintf(f, "%.3f", rd[i].late_mean[k] / 1e6);
                else
                    fprintf(f, "?");
                fprintf(f, " %llu\n", (unsigned long long)rd[i].late_count[k]);
            }
            fclose(f);
            n += snprintf(plot + n, sizeof plot - (size_t)n,
                          "%s'%s' using 1:2 with lines lw 2 title 'mean lateness, %s', '%s' using 1:3 axes x1y2 with lines dt 2 title 'sub-blocks due, %s'",
                          any ? ", " : "", name, rd[i].label, name, rd[i].label);
            any = 1;
        }
        if (any)
            TRY(figure(tmp, "over_time", "set title 'Lateness and load over time'\nset xlabel 'time (s)'\nset ylabel 'mean lateness (ms)'\nset y2label 'sub-blocks due per interval'\nset y2tics\nset key top left", plot));
    }
    /* link utilization of the first run with devices: lines, or a heat map when many */
    for (int i = 0; i < nruns; i++) {
        run_data *r = &rd[i];
        if (!r->devices || !r->nint)
            continue;
        snprintf(name, sizeof name, "utilization_run%d.dat", i + 1);
        FILE *f = open_in(tmp, name);
        if (!f) {
            rc = dsend_seterr(DSEND_EIO, "%s/%s: %s", tmp, name, strerror(errno));
            goto err;
        }
        for (int d = 0; d < r->devices; d++) {
            for (uint32_t k = 0; k < r->nint; k++)
                fprintf(f, "%s%.5f", k ? " " : "", 100 * r->util[(size_t)d * r->nint + k]);
            fputc('\n', f);
        }
        fclose(f);
        char setup[512], fig[64];
        snprintf(fig, sizeof fig, "utilization_run%d", i + 1);
        double step = (double)r->interval / 1e9;
        if (r->devices > 8) {
            snprintf(setup, sizeof setup, "set title 'Link utilization, %s (%%)'\nset xlabel 'time (s)'\nset ylabel 'device'\nset cblabel '%%'\nset view map", r->label);
            snprintf(plot, sizeof plot, "plot '%s' matrix using ($1*%g):2:3 with image notitle", name, step);
        } else {
            snprintf(setup, sizeof setup, "set title 'Link utilization per device, %s'\nset xlabel 'time (s)'\nset ylabel 'utilization (%%)'\nset key top right", r->label);
            int n = snprintf(plot, sizeof plot, "plot ");
            for (int d = 0; d < r->devices; d++)
                n += snprintf(plot + n, sizeof plot - (size_t)n, "%s'%s' matrix every :::%d::%d using ($1*%g):3 with lines title 'device %d'",
                              d ? ", " : "", name, d, d, step, d);
        }
        TRY(figure(tmp, fig, setup, plot));
    }
    /* pages */
    {
        FILE *md = open_in(tmp, "report.md"), *html = open_in(tmp, "index.html");
        if (!md || !html) {
            if (md)
                fclose(md);
            if (html)
                fclose(html);
            rc = dsend_seterr(DSEND_EIO, "%s: cannot write the report pages", tmp);
            goto err;
        }
        fprintf(md, "# dsend report\n\n");
        fprintf(html, "<!doctype html><html><head><meta charset='utf-8'><title>dsend report</title></head><body>\n<h1>dsend report</h1>\n");
        for (int i = 0; i < nruns; i++) {
            dsend_sim_result r = {.nclients = rd[i].nclients, .clients = rd[i].clients,
                                  .kind = rd[i].kind[0] ? rd[i].kind : NULL};
            char *sum = NULL;
            size_t sl = 0;
            FILE *sf = open_memstream(&sum, &sl);
            dsend_sim_config sc = {0};
            if (sf) {
                dsend_sim_summary(&sc, &r, sf);
                fclose(sf);
            }
            fprintf(md, "## Run %s\n\nFile: `%s`\n\n```\n%s```\n\n| option | value |\n|---|---|\n%s\n",
                    rd[i].label, rd[i].path, sum ? sum : "", rd[i].config ? rd[i].config : "");
            fprintf(html, "<h2>Run %s</h2><p>File: <code>%s</code></p><pre>%s</pre>\n", rd[i].label,
                    rd[i].path, sum ? sum : "");
            free(sum);
        }
        static const char *figs[] = {"startup", "jitter", "mdi_df", "mdi_mlr", "lateness",
                                     "subblock_lateness", "over_time"};
        fprintf(md, "## Figures\n\n");
        for (size_t k = 0; k < sizeof figs / sizeof figs[0]; k++) {
            char p[4300];
            snprintf(p, sizeof p, "%s/%s.png", tmp, figs[k]);
            if (access(p, F_OK) != 0)
                continue;
            fprintf(md, "![%s](%s.png)\n\n", figs[k], figs[k]);
            fprintf(html, "<p><img src='%s.png' alt='%s'> <a href='%s.svg'>SVG</a></p>\n", figs[k],
                    figs[k], figs[k]);
        }
        for (int i = 0; i < nruns; i++) {
            if (!rd[i].devices || !rd[i].nint)
                continue;
            fprintf(md, "![utilization](utilization_run%d.png)\n\n", i + 1);
            fprintf(html, "<p><img src='utilization_run%d.png' alt='utilization'></p>\n", i + 1);
        }
        fprintf(html, "</body></html>\n");
        fclose(md);
        fclose(html);
    }
    /* into place: the report appears whole or not at all */
    if (force && access(outdir, F_OK) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", outdir);
        if (strchr(outdir, '\'') || system(cmd) != 0) {
            rc = dsend_seterr(DSEND_EIO, "%s: cannot replace it", outdir);
            goto err;
        }
    }
    if (rename(tmp, outdir) != 0) {
        rc = dsend_seterr(DSEND_EIO, "%s: %s", outdir, strerror(errno));
        goto err;
    }
    tmp[0] = '\0';
    if (log)
        fprintf(log, "report of %d run%s written to %s/index.html and %s/report.md\n", nruns,
                nruns == 1 ? "" : "s", outdir, outdir);
err:
    if (tmp[0] && !strchr(tmp, '\'') && access(tmp, F_OK) == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0)
            rc = rc ? rc : DSEND_EIO;
    }
    if (rd)
        for (int i = 0; i < nruns; i++)
            free_run(&rd[i]);
    free(rd);
    return rc;
}
