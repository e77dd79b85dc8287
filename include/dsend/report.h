/* `dsend report` and `dsend plan`: what a capacity planner takes away. */
#ifndef DSEND_REPORT_H
#define DSEND_REPORT_H

#include <mpi.h>
#include <stdio.h>

#include "dsend/sim.h"

/* Figures (PNG and SVG, drawn by gnuplot as a subprocess), index.html and
 * report.md in outdir from one or more results files (dsend sim --out or
 * dsend clients --out, dsend serve --out), several runs overlaid and, with
 * two or more, compared (also as "compare ..." lines on log).  A serve file
 * and a clients file make one measured run.  The report is built in a
 * temporary directory and renamed into place; force replaces an existing
 * outdir.  gnuplot is $DSEND_GNUPLOT, else "gnuplot" on the PATH. */
int dsend_report(char *const *runs, int nruns, const char *outdir, int force, FILE *log);

/* A service-level agreement: limits on what dsend_sim_figures gives. */
typedef struct dsend_sla {
    double underrun_pct;    /* < 0: no limit */
    double df_ms, startup_ms, ontime_pct;
    double refused_pct;     /* < 0: no refusal allowed */
} dsend_sla;

/* "underrun<=0.1%,df<=50ms,startup<=3s,ontime>=99%,refused<=1%". */
int dsend_sla_parse(const char *s, dsend_sla *sla);
/* NULL if the figures meet the SLA, else the name of the first limit broken. */
const char *dsend_sla_broken(const dsend_sla *sla, const dsend_sim_figures_t *f);

/* Collective: the largest client count whose simulation meets the SLA, by
 * doubling then bisection (cfg->clients is the first guess).  Rank 0 prints
 * every step and the answer (with json: one JSON object at the end), and
 * writes outdir/capacity.dat and .png/.svg when outdir is given. */
int dsend_plan(MPI_Comm comm, const dsend_sim_config *cfg, const dsend_sla *sla,
               const char *outdir, FILE *out, int json, int64_t *capacity);
/* Collective: the least RAM per device (in whole blocks of the library's
 * largest) whose simulation of cfg->clients meets the SLA, by bisection
 * over --ram below the devices' whole shares (which must meet it).  Rank 0
 * prints every step and the answer, and writes outdir/ram.dat and
 * .png/.svg when outdir is given. */
int dsend_plan_ram(MPI_Comm comm, const dsend_sim_config *cfg, const dsend_sla *sla,
                   const char *outdir, FILE *out, uint64_t *ram);

#endif
