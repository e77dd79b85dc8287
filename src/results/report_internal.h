/* dsend report, internal: one run as the report sees it, and the pieces
 * (loading, statistics, figures) report.c puts together. */
#ifndef DSEND_REPORT_INTERNAL_H
#define DSEND_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The /clients fields the report uses, read by name (doc/results-format.md). */
enum {
    CF_STARTUP, CF_EXPECTED, CF_RECEIVED, CF_LOST, CF_DUP, CF_OOO, CF_LATE, CF_CRC, CF_BYTES,
    CF_PAUSES, CF_SEEKS, CF_MAXLATE, CF_UNDERRUNS, CF_STALL, CF_JITTER, CF_DF, CF_MLR, CF_GAP, CF_N
};
extern const char *const rpt_field_names[CF_N];

/* The /devices cache fields the report reads, and the /series it draws. */
enum { RC_RAM, RC_SHARE, RC_HITS, RC_MISSES, RC_READ_BYTES, RC_EVICTIONS, RC_MAX_PINNED,
       RC_MISS_LATE, RC_N };
extern const char *const rpt_cache_fields[RC_N];
enum { RS_HITS, RS_MISSES, RS_READ_BYTES, RS_N };

typedef struct rpt_kv {
    char *name, *value;
} rpt_kv;

typedef struct rpt_run {
    char label[320];        /* "1: a.h5 (model)", as legends and tables show it */
    char files[1024];       /* the file(s) it came from */
    char name[256];         /* their base names */
    char kind[16];          /* sim, clients, serve; "measured" for serve + clients */
    int devices, client_ranks;
    int64_t simulated_ns;
    double wall_seconds;
    uint64_t events;
    uint64_t rss_peak, mem_per_device, mem_per_client; /* sim: bytes (0: not recorded) */
    char units[32];         /* /clients attribute units ("" if none) */
    uint32_t nclients;
    /* per client, NULL when not measured; startup and max_lateness in ms
     * (startup NAN when nothing arrived), stall in s, the rest as stored */
    double *field[CF_N];
    uint64_t *dev_bytes;    /* /devices bytes */
    int ndev;
    /* the devices' caches (fields of /devices, summed; max_pinned the largest),
     * when a device held less than its share (cached) */
    int cached;
    double cache[RC_N];
    double *cache_series[RS_N]; /* nint: summed over devices (NULL: none) */
    uint32_t nint;          /* intervals of /series */
    int series_devices;
    int64_t interval;       /* ns */
    double *util;           /* series_devices x nint */
    double *late_mean;      /* nint, ns */
    uint64_t *late_count;   /* nint */
    int has_drops;
    uint64_t drops;         /* /series/drops summed */
    double *arr_late_ms;    /* --trace: every sub-block's lateness */
    uint64_t narr;
    rpt_kv *config;
    size_t nconfig;
} rpt_run;

/* report_load.c: every file, then serve + clients paired into one measured
 * run; *runs is allocated, *nruns <= nfiles. */
int rpt_load(char *const *files, int nfiles, rpt_run **runs, int *nruns);
void rpt_free(rpt_run *runs, int nruns);

/* report_compare.c: per-client metrics and their statistics. */
enum { M_STARTUP, M_JITTER, M_DF, M_MLR, M_LATE, M_ONTIME, M_UNDERRUNS, M_STALL, M_GAP, M_N };
typedef struct rpt_metric {
    const char *key;        /* machine name: compare lines, .dat files */
    const char *title;      /* human name */
} rpt_metric;
extern const rpt_metric rpt_metrics[M_N];
/* The metric's per-client values into v (nclients long; NaN dropped): the
 * count, or -1 when the run did not measure it. */
long rpt_values(const rpt_run *r, int m, double *v);
void rpt_summary(const rpt_run *r, FILE *o);
/* With two or more runs: the comparison as markdown, HTML and one
 * "compare METRIC STAT RUN1 RUNk DIFF REL% k" line each on log. */
void rpt_compare(const rpt_run *runs, int nruns, FILE *md, FILE *html, FILE *log);
void rpt_html_text(FILE *o, const char *s);

/* plan.c: run gnuplot on outdir/NAME.gp (NAME.png, .svg), and say so on out. */
int rpt_plan_draw(const char *outdir, const char *name, FILE *out);

/* report_figures.c */
int rpt_check_gnuplot(void);
int rpt_figures(const rpt_run *runs, int nruns, const char *dir);

#endif
