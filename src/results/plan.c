/* dsend plan: the largest client count that meets an SLA, by simulation. */
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/report.h"
#include "dsend/units.h"
#include "util/json.h"
#include "results/report_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int dsend_sla_parse(const char *s, dsend_sla *sla)
{
    sla->underrun_pct = sla->df_ms = sla->startup_ms = sla->ontime_pct = sla->refused_pct = -1;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", s);
    char *save = NULL;
    int any = 0;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *op = strpbrk(tok, "<>");
        if (!op || op[1] != '=')
            return dsend_seterr(DSEND_EINVAL, "--sla '%s': want NAME<=VALUE or ontime>=VALUE",
                                tok);
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(op - tok), tok);
        const char *val = op + 2;
        int ge = op[0] == '>';
        double pct;
        char *end;
        if (strcmp(name, "refused") == 0) {
            pct = strtod(val, &end);
            if (ge || end == val || (*end && strcmp(end, "%") != 0) || pct < 0 || pct > 100)
                return dsend_seterr(DSEND_EINVAL, "--sla refused<=P%%: '%s' is not a percentage",
                                    val);
            sla->refused_pct = pct;
        } else if (strcmp(name, "underrun") == 0 || strcmp(name, "ontime") == 0) {
            pct = strtod(val, &end);
            if (end == val || (*end && strcmp(end, "%") != 0) || pct < 0 || pct > 100)
                return dsend_seterr(DSEND_EINVAL, "--sla %s: '%s' is not a percentage", name, val);
            if ((name[0] == 'u') == ge)
                return dsend_seterr(DSEND_EINVAL, "--sla: underrun takes <=, ontime takes >=");
            *(name[0] == 'u' ? &sla->underrun_pct : &sla->ontime_pct) = pct;
        } else if (strcmp(name, "df") == 0 || strcmp(name, "startup") == 0) {
            int64_t ns;
            if (ge || dsend_parse_duration(val, &ns) != 0)
                return dsend_seterr(DSEND_EINVAL, "--sla %s<=TIME: '%s' is not a duration", name, val);
            *(name[0] == 'd' ? &sla->df_ms : &sla->startup_ms) = (double)ns / 1e6;
        } else {
            return dsend_seterr(DSEND_EINVAL,
                                "--sla: unknown limit '%s' (underrun, df, startup, ontime, refused)",
                                name);
        }
        any = 1;
    }
    return any ? 0 : dsend_seterr(DSEND_EINVAL, "--sla: no limit given");
}

const char *dsend_sla_broken(const dsend_sla *sla, const dsend_sim_figures_t *f)
{
    /* admission refusing streams means the links are full: none is
     * allowed unless the SLA says how many */
    if (sla->refused_pct >= 0 ? f->refused_pct > sla->refused_pct : f->refused > 0)
        return "refused";
    if (f->started + f->refused < f->clients)
        return "streams not started";
    if (sla->underrun_pct >= 0 && f->underrun_pct > sla->underrun_pct)
        return "underrun";
    if (sla->df_ms >= 0 && f->df_p99_ms > sla->df_ms)
        return "df";
    if (sla->startup_ms >= 0 && f->startup_p99_ms > sla->startup_ms)
        return "startup";
    if (sla->ontime_pct >= 0 && f->ontime_pct < sla->ontime_pct)
        return "ontime";
    return NULL;
}

int rpt_plan_draw(const char *outdir, const char *name, FILE *out)
{
    const char *g = getenv("DSEND_GNUPLOT");
    char script[64];
    snprintf(script, sizeof script, "%s.gp", name);
    pid_t pid = fork();
    if (pid == 0) {
        if (chdir(outdir) == 0)
            execlp(g && *g ? g : "gnuplot", g && *g ? g : "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid > 0)
        waitpid(pid, &st, 0);
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return dsend_seterr(DSEND_EIO, "gnuplot could not draw %s/%s.png: install gnuplot-nox",
                            outdir, name);
    if (out) /* NULL: --json says it in its object */
        fprintf(out, "%s curve: %s/%s.dat, %s/%s.png\n", name, outdir, name, outdir, name);
    return 0;
}

typedef struct step {
    int64_t clients;
    dsend_sim_figures_t f;
    double util;
    const char *broken;
} step;

static int try_clients(MPI_Comm comm, const dsend_sim_config *base, const dsend_sla *sla,
                       int64_t clients, step *st, FILE *out, int json)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    dsend_sim_config c = *base;
    c.clients = clients;
    c.progress = 0;
    c.trace = 0;
    dsend_sim_result r;
    int rc = dsend_sim_run(comm, &c, &r);
    if (rc)
        return rc;
    /* rank 0 judges; everybody follows its verdict */
    int pass = 0;
    memset(st, 0, sizeof *st);
    st->clients = clients;
    if (rank == 0) {
        dsend_sim_figures(&r, &st->f);
        st->broken = dsend_sla_broken(sla, &st->f);
        double sum = 0;
        size_t cells = 0;
        for (int d = 0; d < r.devices; d++)
            for (uint32_t k = 0; k < r.nintervals; k++, cells++)
                sum += (double)r.series_bytes[(size_t)d * r.nintervals + k] * 8e9 /
                       ((double)c.nic_bps * (double)c.interval);
        st->util = cells ? 100 * sum / (double)cells : 0;
        pass = st->broken == NULL;
        if (!json)
            fprintf(out, "  %8lld clients: %llu admitted, %llu refused; on time %7.3f%%, underruns in %6.2f%% of clients, startup p99 %8.1f ms, DF p99 %8.1f ms, mean link use %5.1f%% -> %s%s\n",
                (long long)clients, (unsigned long long)(clients - (int64_t)st->f.refused),
                (unsigned long long)st->f.refused, st->f.ontime_pct, st->f.underrun_pct,
                st->f.startup_p99_ms,
                st->f.df_p99_ms, st->util, pass ? "meets the SLA" : "fails: ",
                pass ? "" : st->broken);
        fflush(out);
        dsend_sim_result_free(&r);
    }
    MPI_Bcast(&pass, 1, MPI_INT, 0, comm);
    return pass ? 0 : 1;
}

static void plan_json(FILE *out, const dsend_sla *sla, const step *steps, int nsteps,
                      int64_t good, int64_t bad, const char *binding)
{
    dsend_json j;
    dsend_json_begin(&j, out);
    dsend_json_object(&j, "sla");
    if (sla->underrun_pct >= 0)
        dsend_json_real(&j, "underrun_pct", sla->underrun_pct);
    if (sla->df_ms >= 0)
        dsend_json_real(&j, "df_p99_ms", sla->df_ms);
    if (sla->startup_ms >= 0)
        dsend_json_real(&j, "startup_p99_ms", sla->startup_ms);
    if (sla->ontime_pct >= 0)
        dsend_json_real(&j, "ontime_pct", sla->ontime_pct);
    dsend_json_real(&j, "refused_pct", sla->refused_pct >= 0 ? sla->refused_pct : 0);
    dsend_json_end(&j);
    dsend_json_array(&j, "steps"); /* in the order they ran */
    for (int i = 0; i < nsteps; i++) {
        const step *st = &steps[i];
        dsend_json_object(&j, NULL);
        dsend_json_int(&j, "clients", st->clients);
        dsend_json_uint(&j, "admitted", (uint64_t)st->clients - st->f.refused);
        dsend_json_uint(&j, "refused", st->f.refused);
        dsend_json_real(&j, "ontime_pct", st->f.ontime_pct);
        dsend_json_real(&j, "underrun_pct", st->f.underrun_pct);
        dsend_json_real(&j, "startup_p99_ms", st->f.startup_p99_ms);
        dsend_json_real(&j, "df_p99_ms", st->f.df_p99_ms);
        dsend_json_real(&j, "link_use_pct", st->util);
        dsend_json_bool(&j, "meets_sla", st->broken == NULL);
        dsend_json_str(&j, "broken", st->broken);
        dsend_json_end(&j);
    }
    dsend_json_end(&j);
    dsend_json_int(&j, "capacity", good);
    dsend_json_int(&j, "first_failing", bad);
    dsend_json_str(&j, "binding", binding);
    dsend_json_int(&j, "margin_clients", bad - good);
    dsend_json_real(&j, "margin_pct", good ? 100.0 * (double)(bad - good) / (double)good : 0);
    dsend_json_finish(&j);
}

/* gnuplot lines marking the capacity and each limit of the SLA */
static void sla_marks(FILE *f, const dsend_sla *sla, int64_t good)
{
    fprintf(f, "set arrow from %lld, graph 0 to %lld, graph 1 nohead dt 3 lw 2\n"
               "set label 'capacity %lld' at %lld, graph 0.96 offset 0.5, 0\n",
            (long long)good, (long long)good, (long long)good, (long long)good);
    if (sla->underrun_pct >= 0)
        fprintf(f, "set arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc rgb '#c0392b'\n"
                   "set label 'SLA underrun <= %g%%' at graph 0.01, first %g offset 0, 0.6 tc rgb '#c0392b'\n",
                sla->underrun_pct, sla->underrun_pct, sla->underrun_pct, sla->underrun_pct);
    if (sla->ontime_pct >= 0)
        fprintf(f, "set arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc rgb '#27ae60'\n"
                   "set label 'SLA on time >= %g%%' at graph 0.01, first %g offset 0, -0.6 tc rgb '#27ae60'\n",
                sla->ontime_pct, sla->ontime_pct, sla->ontime_pct, sla->ontime_pct);
    if (sla->df_ms >= 0)
        fprintf(f, "set arrow from graph 0, second %g to graph 1, second %g nohead dt 4 lc rgb '#8e44ad'\n"
                   "set label 'SLA DF p99 <= %g ms' at graph 0.99, second %g right offset 0, 0.6 tc rgb '#8e44ad'\n",
                sla->df_ms, sla->df_ms, sla->df_ms, sla->df_ms);
    if (sla->startup_ms >= 0)
        fprintf(f, "set arrow from graph 0, second %g to graph 1, second %g nohead dt 4 lc rgb '#d35400'\n"
                   "set label 'SLA startup p99 <= %g ms' at graph 0.99, second %g right offset 0, 0.6 tc rgb '#d35400'\n",
                sla->startup_ms, sla->startup_ms, sla->startup_ms, sla->startup_ms);
}

int dsend_plan(MPI_Comm comm, const dsend_sim_config *cfg, const dsend_sla *sla,
               const char *outdir, FILE *out, int json, int64_t *capacity)
{
    int rank, rc = 0;
    MPI_Comm_rank(comm, &rank);
    step *steps = calloc(64, sizeof *steps);
    int nsteps = 0;
    if (!steps)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    int64_t good = 0, bad = 0, c = cfg->clients > 0 ? cfg->clients : 1;
    const char *why = NULL;
    /* double until the SLA breaks, then bisect */
    while (nsteps < 60) {
        int r = try_clients(comm, cfg, sla, c, &steps[nsteps], out, json);
        if (r < 0) {
            rc = r;
            goto out;
        }
        why = rank == 0 ? steps[nsteps].broken : NULL;
        nsteps++;
        if (r == 0) {
            good = c;
            if (bad == 0) {
                if (c >= 100000000 / 2) {
                    rc = dsend_seterr(DSEND_EINVAL, "the SLA still holds at %lld clients", (long long)c);
                    goto out;
                }
                c *= 2;
                continue;
            }
        } else {
            bad = c;
            if (c == 1) {
                rc = dsend_seterr(DSEND_EINVAL, "even one client breaks the SLA (%s)",
                                  rank == 0 && why ? why : "see above");
                goto out;
            }
        }
        if (bad - good <= 1)
            break;
        c = good + (bad - good) / 2;
    }
    *capacity = good;
    if (rank == 0) {
        const char *binding = "?";
        for (int i = 0; i < nsteps; i++)
            if (steps[i].clients == bad && steps[i].broken)
                binding = steps[i].broken;
        if (json)
            plan_json(out, sla, steps, nsteps, good, bad, binding);
        else
            fprintf(out, "capacity: %lld clients meet the SLA; %lld do not (binding constraint: "
                         "%s); margin to the first failing count: %lld clients (%.1f%%)\n",
                    (long long)good, (long long)bad, binding, (long long)(bad - good),
                    good ? 100.0 * (double)(bad - good) / (double)good : 0);
        if (outdir) {
            mkdir(outdir, 0755);
            char p[4200];
            snprintf(p, sizeof p, "%s/capacity.dat", outdir);
            FILE *f = fopen(p, "w");
            if (!f) {
                rc = dsend_seterr(DSEND_EIO, "%s: cannot write", p);
            } else {
                fprintf(f, "# clients ontime_pct df_p99_ms link_use_pct underrun_pct startup_p99_ms meets_sla\n");
                /* by client count */
                for (int i = 0; i < nsteps; i++)
                    for (int j = i + 1; j < nsteps; j++)
                        if (steps[j].clients < steps[i].clients) {
                            step t = steps[i];
                            steps[i] = steps[j];
                            steps[j] = t;
                        }
                for (int i = 0; i < nsteps; i++)
                    fprintf(f, "%lld %.4f %.3f %.3f %.3f %.3f %d\n", (long long)steps[i].clients,
                            steps[i].f.ontime_pct, steps[i].f.df_p99_ms, steps[i].util,
                            steps[i].f.underrun_pct, steps[i].f.startup_p99_ms,
                            steps[i].broken == NULL);
                fclose(f);
                snprintf(p, sizeof p, "%s/capacity.gp", outdir);
                f = fopen(p, "w");
                if (f) {
                    const char *plot =
                        "plot 'capacity.dat' using 1:2 with linespoints lw 2 title 'on time (%)', "
                        "'' using 1:4 with linespoints lw 2 title 'mean link use (%)', "
                        "'' using 1:5 with linespoints lw 2 title 'clients with underruns (%)', "
                        "'' using 1:3 axes x1y2 with linespoints dt 2 title 'MDI DF p99 (ms, right)', "
                        "'' using 1:6 axes x1y2 with linespoints dt 2 title 'startup p99 (ms, right)'";
                    fprintf(f, "set title 'Capacity curve'\nset xlabel 'clients'\nset ylabel '%%'\nset y2label 'ms'\nset y2tics\nset grid\nset key below maxrows 2 width -2\n");
                    sla_marks(f, sla, good);
                    fprintf(f, "set terminal pngcairo size 900,600\nset output 'capacity.png'\n%s\nset terminal svg size 900,600\nset output 'capacity.svg'\n%s\n",
                            plot, plot);
                    fclose(f);
                    rc = rpt_plan_draw(outdir, "capacity", json ? NULL : out);
                }
            }
        }
    }
out:
    free(steps);
    return dsend_mpi_agree(comm, rc);
}
