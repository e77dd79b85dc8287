/* dsend report: figures and pages from results files.  Loading is in
 * report_load.c, statistics and the comparison in report_compare.c, figures
 * in report_figures.c. */
#include "dsend/error.h"
#include "dsend/report.h"
#include "report_internal.h"
#include "util/atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static FILE *open_in(const char *dir, const char *name)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return fopen(p, "w");
}

static void run_pages(const rpt_run *r, FILE *md, FILE *html)
{
    char *sum = NULL;
    size_t sl = 0;
    FILE *sf = open_memstream(&sum, &sl);
    if (sf) {
        rpt_summary(r, sf);
        fclose(sf);
    }
    fprintf(md, "## Run %s\n\nFile: `%s`\n\n```\n%s```\n\n", r->label, r->files, sum ? sum : "");
    fprintf(html, "<h2>Run ");
    rpt_html_text(html, r->label);
    fprintf(html, "</h2><p>File: <code>");
    rpt_html_text(html, r->files);
    fprintf(html, "</code></p><pre>");
    rpt_html_text(html, sum);
    fprintf(html, "</pre>\n");
    free(sum);
    if (!r->nconfig) {
        fprintf(md, "No configuration recorded.\n\n");
        fprintf(html, "<p>No configuration recorded.</p>\n");
        return;
    }
    fprintf(md, "| option | value |\n|---|---|\n");
    fprintf(html, "<table class='config' border='1' cellpadding='3'><tr><th>option</th><th>value</th></tr>\n");
    for (size_t k = 0; k < r->nconfig; k++) {
        fprintf(md, "| %s | %s |\n", r->config[k].name, r->config[k].value);
        fprintf(html, "<tr><td>");
        rpt_html_text(html, r->config[k].name);
        fprintf(html, "</td><td>");
        rpt_html_text(html, r->config[k].value);
        fprintf(html, "</td></tr>\n");
    }
    fprintf(md, "\n");
    fprintf(html, "</table>\n");
}

static int pages(const rpt_run *runs, int nruns, const char *tmp, FILE *log)
{
    static const char *figs[] = {"startup", "jitter", "mdi_df", "mdi_mlr", "lateness",
                                 "subblock_lateness", "stall", "underruns", "over_time",
                                 "cache"};
    FILE *md = open_in(tmp, "report.md"), *html = open_in(tmp, "index.html");
    if (!md || !html) {
        if (md)
            fclose(md);
        if (html)
            fclose(html);
        return dsend_seterr(DSEND_EIO, "%s: cannot write the report pages", tmp);
    }
    fprintf(md, "# dsend report\n\n");
    fprintf(html, "<!doctype html><html><head><meta charset='utf-8'><title>dsend report</title></head><body>\n<h1>dsend report</h1>\n");
    for (int i = 0; i < nruns; i++)
        run_pages(&runs[i], md, html);
    rpt_compare(runs, nruns, md, html, log);
    fprintf(md, "## Figures\n\n");
    fprintf(html, "<h2>Figures</h2>\n");
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
        char p[4300];
        snprintf(p, sizeof p, "%s/utilization_run%d.png", tmp, i + 1);
        if (access(p, F_OK) != 0)
            continue;
        fprintf(md, "![utilization](utilization_run%d.png)\n\n", i + 1);
        fprintf(html, "<p><img src='utilization_run%d.png' alt='utilization'></p>\n", i + 1);
    }
    fprintf(html, "</body></html>\n");
    int bad = ferror(md) | ferror(html);
    bad |= fclose(md) != 0;
    bad |= fclose(html) != 0;
    return bad ? dsend_seterr(DSEND_EIO, "%s: cannot write the report pages", tmp) : 0;
}

int dsend_report(char *const *files, int nfiles, const char *outdir, int force, FILE *log)
{
    int rc = 0, nruns = 0;
    rpt_run *rd = NULL;
    char tmp[4400] = "", *cmp = NULL;
    size_t ncmp = 0;
    FILE *cmpf = NULL;
    if (nfiles < 1)
        return dsend_seterr(DSEND_EINVAL, "no results file (dsend report RUN.h5... -o DIR)");
    if (!force && access(outdir, F_OK) == 0)
        return dsend_seterr(DSEND_EINVAL, "%s exists (use --force to replace it)", outdir);
    if ((rc = rpt_check_gnuplot()) != 0)
        return rc;
    if ((rc = rpt_load(files, nfiles, &rd, &nruns)) != 0)
        return rc;
    dsend_tmp_sweep(outdir); /* what a killed report left */
    if (dsend_tmp_path(outdir, tmp, sizeof tmp) != 0 || mkdir(tmp, 0755) != 0) {
        rc = dsend_seterr(DSEND_EIO, "%s: %s", tmp, strerror(errno));
        tmp[0] = '\0';
        goto err;
    }
    if ((rc = rpt_figures(rd, nruns, tmp)) != 0)
        goto err;
    /* the comparison reaches log only once the report is in place */
    if (log && !(cmpf = open_memstream(&cmp, &ncmp))) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    rc = pages(rd, nruns, tmp, cmpf);
    if (cmpf)
        fclose(cmpf);
    cmpf = NULL;
    if (rc)
        goto err;
    /* into place: the report appears whole or not at all */
    if (force && access(outdir, F_OK) == 0 && dsend_remove_tree(outdir) != 0) {
        rc = dsend_seterr(DSEND_EIO, "%s: cannot replace it: %s", outdir, strerror(errno));
        goto err;
    }
    if (rename(tmp, outdir) != 0) {
        rc = dsend_seterr(DSEND_EIO, "%s: %s", outdir, strerror(errno));
        goto err;
    }
    tmp[0] = '\0';
    if (log && cmp)
        fputs(cmp, log);
    if (log)
        fprintf(log, "report of %d run%s written to %s/index.html and %s/report.md\n", nruns,
                nruns == 1 ? "" : "s", outdir, outdir);
err:
    if (tmp[0] && dsend_remove_tree(tmp) != 0)
        rc = rc ? rc : DSEND_EIO;
    rpt_free(rd, nruns);
    free(cmp);
    return rc;
}
