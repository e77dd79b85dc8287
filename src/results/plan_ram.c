/* dsend plan --find ram: the least RAM per device that meets an SLA for a
 * given load (--clients), by simulation: the devices' whole shares first
 * (the most RAM can do), then bisection over --ram in whole blocks. */
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/report.h"
#include "dsend/units.h"
#include "results/report_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct ram_step {
    uint64_t ram;             /* bytes per device; 0: every device's whole share */
    dsend_sim_figures_t f;
    double hit_pct, storage_per_byte;
    uint64_t share;           /* the largest share of a device */
    const char *broken;
} ram_step;

/* One simulation at `ram` bytes per device: 0 if it meets the SLA, 1 if
 * not, or an error (every rank follows rank 0's verdict). */
static int try_ram(MPI_Comm comm, const dsend_sim_config *base, const dsend_sla *sla,
                   uint64_t ram, ram_step *st, FILE *out)
{
    int rank, pass = 0;
    MPI_Comm_rank(comm, &rank);
    dsend_sim_config c = *base;
    c.ram = ram;
    c.ram_share = 0;
    c.progress = 0;
    c.trace = 0;
    dsend_sim_result r;
    int rc = dsend_sim_run(comm, &c, &r);
    if (rc)
        return rc;
    memset(st, 0, sizeof *st);
    st->ram = ram;
    if (rank == 0) {
        uint64_t hits = 0, misses = 0, read = 0, sent = 0;
        for (int d = 0; d < r.devices; d++) {
            const dsend_device_stats *v = &r.devs[d];
            hits += v->cache_hits;
            misses += v->cache_misses;
            read += v->storage_bytes;
            sent += v->bytes;
            if (v->share > st->share)
                st->share = v->share;
        }
        dsend_sim_figures(&r, &st->f);
        st->broken = dsend_sla_broken(sla, &st->f);
        st->hit_pct = hits + misses ? 100.0 * (double)hits / (double)(hits + misses) : 100;
        st->storage_per_byte = sent ? (double)read / (double)sent : 0;
        pass = st->broken == NULL;
        char h[32];
        fprintf(out, "  %12s per device: hits %6.2f%%, %.3f bytes read per byte sent; on time "
                     "%7.3f%%, underruns in %6.2f%% of clients, startup p99 %8.1f ms -> %s%s\n",
                ram ? dsend_human_size((double)ram, h, sizeof h) : "whole share", st->hit_pct,
                st->storage_per_byte, st->f.ontime_pct, st->f.underrun_pct,
                st->f.startup_p99_ms, pass ? "meets the SLA" : "fails: ",
                pass ? "" : st->broken);
        fflush(out);
        dsend_sim_result_free(&r);
    }
    MPI_Bcast(&pass, 1, MPI_INT, 0, comm);
    MPI_Bcast(&st->share, 1, MPI_UINT64_T, 0, comm);
    return pass ? 0 : 1;
}

/* The largest block of the library: the least RAM a device can work with. */
static int largest_block(MPI_Comm comm, const char *path, uint64_t *out)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    int rc = 0;
    *out = 0;
    if (rank == 0) {
        dsend_library lib;
        if ((rc = dsend_library_open(path, MPI_COMM_NULL, &lib)) == 0) {
            for (uint32_t a = 0; a < lib.nassets; a++)
                if (lib.assets[a].block_size > *out)
                    *out = lib.assets[a].size < lib.assets[a].block_size
                               ? lib.assets[a].size
                               : lib.assets[a].block_size;
            dsend_library_close(&lib);
        }
    }
    MPI_Bcast(out, 1, MPI_UINT64_T, 0, comm);
    return dsend_mpi_agree(comm, rc);
}

static int write_curve(const char *outdir, ram_step *steps, int n, uint64_t good, FILE *out)
{
    char p[4200];
    mkdir(outdir, 0755);
    snprintf(p, sizeof p, "%s/ram.dat", outdir);
    FILE *f = fopen(p, "w");
    if (!f)
        return dsend_seterr(DSEND_EIO, "%s: cannot write", p);
    /* by RAM, the whole share last */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            uint64_t ri = steps[i].ram ? steps[i].ram : UINT64_MAX;
            uint64_t rj = steps[j].ram ? steps[j].ram : UINT64_MAX;
            if (rj < ri) {
                ram_step t = steps[i];
                steps[i] = steps[j];
                steps[j] = t;
            }
        }
    fprintf(f, "# ram_mib hit_pct storage_per_sent_byte ontime_pct underrun_pct startup_p99_ms "
               "meets_sla\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%.4f %.4f %.6f %.4f %.3f %.3f %d\n",
                (double)(steps[i].ram ? steps[i].ram : steps[i].share) / 1048576.0,
                steps[i].hit_pct, steps[i].storage_per_byte, steps[i].f.ontime_pct,
                steps[i].f.underrun_pct, steps[i].f.startup_p99_ms, steps[i].broken == NULL);
    fclose(f);
    snprintf(p, sizeof p, "%s/ram.gp", outdir);
    if (!(f = fopen(p, "w")))
        return dsend_seterr(DSEND_EIO, "%s: cannot write", p);
    const char *plot =
        "plot 'ram.dat' using 1:2 with linespoints lw 2 title 'cache hits (%)', "
        "'' using 1:5 with linespoints lw 2 title 'clients with underruns (%)', "
        "'' using 1:3 axes x1y2 with linespoints dt 2 title 'bytes read per byte sent (right)'";
    fprintf(f, "set title 'RAM per device'\nset xlabel 'RAM per device (MiB)'\nset ylabel '%%'\n"
               "set y2label 'bytes read per byte sent'\nset y2tics\nset grid\nset key center right\n"
               "set arrow from %.4f, graph 0 to %.4f, graph 1 nohead dt 3\n"
               "set terminal pngcairo size 900,540\nset output 'ram.png'\n%s\n"
               "set terminal svg size 900,540\nset output 'ram.svg'\n%s\n",
            (double)good / 1048576.0, (double)good / 1048576.0, plot, plot);
    fclose(f);
    return rpt_plan_draw(outdir, "ram", out);
}

int dsend_plan_ram(MPI_Comm comm, const dsend_sim_config *cfg, const dsend_sla *sla,
                   const char *outdir, FILE *out, uint64_t *ram)
{
    int rank, rc, n = 0;
    MPI_Comm_rank(comm, &rank);
    ram_step steps[64];
    uint64_t block;
    *ram = 0;
    if ((rc = largest_block(comm, cfg->library, &block)))
        return rc;
    /* the most RAM can do: every block in RAM */
    int r = try_ram(comm, cfg, sla, 0, &steps[n++], out);
    if (r < 0)
        return r;
    if (r == 1)
        return dsend_seterr(DSEND_EINVAL, "even with its whole share in RAM (%s), %lld clients "
                                          "break the SLA: plan the clients first (dsend plan)",
                            rank == 0 && steps[0].broken ? steps[0].broken : "see above",
                            (long long)cfg->clients);
    /* whole blocks of RAM: `good` meets the SLA, `bad` does not */
    uint64_t good = (steps[0].share + block - 1) / block, bad = 0;
    const char *why = NULL;
    while (good - bad > 1 && n < 64) {
        uint64_t mid = bad + (good - bad) / 2;
        if (mid == 0)
            mid = 1;
        r = try_ram(comm, cfg, sla, mid * block, &steps[n], out);
        if (r < 0)
            return r;
        if (r == 0) {
            good = mid;
        } else {
            bad = mid;
            why = rank == 0 ? steps[n].broken : NULL;
        }
        n++;
    }
    *ram = good * block;
    rc = 0;
    if (rank == 0) {
        char h1[32], h2[32], h3[32];
        fprintf(out, "ram: %s per device meets the SLA (%.1f%% of the largest share, %s)",
                dsend_human_size((double)*ram, h1, sizeof h1),
                steps[0].share ? 100.0 * (double)*ram / (double)steps[0].share : 100,
                dsend_human_size((double)steps[0].share, h2, sizeof h2));
        if (bad)
            fprintf(out, "; %s does not (binding constraint: %s)",
                    dsend_human_size((double)(bad * block), h3, sizeof h3), why ? why : "?");
        else
            fprintf(out, "; one block of RAM is enough");
        fputc('\n', out);
        if (outdir)
            rc = write_curve(outdir, steps, n, *ram, out);
    }
    return dsend_mpi_agree(comm, rc);
}
