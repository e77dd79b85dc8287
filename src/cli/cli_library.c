/* dsend ingest | gen | info | load. */
#include "cli/cli.h"
#include "dsend/dsend.h"
#include "util/json.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

static int need_pos(const dsend_cli *c, int n, const char *what)
{
    if (c->cfg->npos < n)
        return dsend_seterr(DSEND_EINVAL, "missing %s (see dsend %s --help)", what, c->name);
    if (n > 0 && c->cfg->npos > n)
        return dsend_seterr(DSEND_EINVAL, "unexpected argument '%.80s' (see dsend %s --help)",
                            c->cfg->pos[n], c->name);
    return 0;
}

int dsend_cmd_ingest(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    if (g->npos < 1)
        return dsend_seterr(DSEND_EINVAL, "missing input FILE.ts (see dsend ingest --help)");
    if (!g->output)
        return dsend_seterr(DSEND_EINVAL, "missing -o LIB.h5 (the library to write)");
    dsend_ingest_opts o = {.block_size = g->block_size, .bitrate_bps = g->bitrate,
                           .force = g->force};
    return dsend_ingest(g->output, g->pos, g->npos, &o, g->quiet ? NULL : c->out);
}

int dsend_cmd_gen(dsend_cli *c)
{
    const dsend_config *g = c->cfg;
    int rc = need_pos(c, 0, "");
    if (g->npos)
        return dsend_seterr(DSEND_EINVAL, "unexpected argument '%.80s' (see dsend gen --help)",
                            g->pos[0]);
    if (rc)
        return rc;
    if (!g->output)
        return dsend_seterr(DSEND_EINVAL, "missing -o LIB.h5 (the library to write)");
    dsend_gen_opts o = {.assets = g->assets, .bitrate_min = g->bitrate_min,
                        .bitrate_max = g->bitrate_max, .duration_min = g->duration_min,
                        .duration_max = g->duration_max, .block_size = g->block_size,
                        .seed = (uint64_t)g->seed, .force = g->force};
    return dsend_gen(g->output, &o, g->quiet ? NULL : c->out);
}

static const char *kind_name(dsend_asset_kind k)
{
    return k == DSEND_ASSET_MPEGTS ? "mpegts" : "synthetic";
}

struct spread {
    double min, max, sum;
};

static void spread_add(struct spread *s, double v)
{
    if (v < s->min)
        s->min = v;
    if (v > s->max)
        s->max = v;
    s->sum += v;
}

static int open_layout(const dsend_cli *c, int devices, dsend_layout *L)
{
    const dsend_layout_policy *p = dsend_layout_find(c->cfg->layout);
    if (!p)
        return dsend_seterr(DSEND_EINVAL, "--layout %s: unknown policy", c->cfg->layout);
    return dsend_layout_open(L, p, devices, (int)c->cfg->replicas);
}

/* Blocks and bytes per device under the chosen layout. */
static int spread_of(dsend_cli *c, const dsend_library *lib, int D, dsend_layout *L,
                     uint64_t **blocks, uint64_t **bytes)
{
    int rc = open_layout(c, D, L);
    if (rc)
        return rc;
    *blocks = calloc((size_t)D, sizeof **blocks);
    *bytes = calloc((size_t)D, sizeof **bytes);
    if (!*blocks || !*bytes) {
        free(*blocks);
        free(*bytes);
        dsend_layout_close(L);
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    }
    int dev[DSEND_MAX_REPLICAS];
    for (uint32_t a = 0; a < lib->nassets; a++)
        for (uint64_t b = 0; b < lib->assets[a].blocks; b++) {
            dsend_layout_place(L, a, b, dev);
            for (int r = 0; r < L->replicas; r++) {
                (*blocks)[dev[r]]++;
                (*bytes)[dev[r]] += dsend_asset_block_len(&lib->assets[a], b);
            }
        }
    return 0;
}

static void spread_json(dsend_json *j, const char *key, const uint64_t *v, int D)
{
    struct spread s = {DBL_MAX, 0, 0};
    for (int d = 0; d < D; d++)
        spread_add(&s, (double)v[d]);
    dsend_json_object(j, key);
    dsend_json_real(j, "min", s.min);
    dsend_json_real(j, "mean", s.sum / D);
    dsend_json_real(j, "max", s.max);
    dsend_json_real(j, "max_over_mean", s.sum ? s.max / (s.sum / D) : 0);
    dsend_json_end(j);
}

static int print_spread(dsend_cli *c, const dsend_library *lib, int D, dsend_json *j)
{
    dsend_layout L;
    uint64_t *blocks, *bytes;
    int rc = spread_of(c, lib, D, &L, &blocks, &bytes);
    if (rc)
        return rc;
    if (j) {
        dsend_json_object(j, "layout");
        dsend_json_str(j, "policy", L.policy->name);
        dsend_json_int(j, "devices", D);
        dsend_json_int(j, "replicas", L.replicas);
        dsend_json_array(j, "per_device");
        for (int d = 0; d < D; d++) {
            dsend_json_object(j, NULL);
            dsend_json_int(j, "device", d);
            dsend_json_uint(j, "blocks", blocks[d]);
            dsend_json_uint(j, "bytes", bytes[d]);
            dsend_json_end(j);
        }
        dsend_json_end(j);
        spread_json(j, "blocks", blocks, D);
        spread_json(j, "bytes", bytes, D);
        dsend_json_end(j);
        goto out;
    }
    FILE *o = c->out;
    char h1[32], h2[32], h3[32];
    fprintf(o, "\nlayout %s over %d devices, %d replica%s of every block:\n", L.policy->name, D,
            L.replicas, L.replicas == 1 ? "" : "s");
    if (D <= 64) {
        fprintf(o, "  %6s %10s %14s\n", "device", "blocks", "bytes");
        for (int d = 0; d < D; d++)
            fprintf(o, "  %6d %10llu %14s\n", d, (unsigned long long)blocks[d],
                    dsend_human_size((double)bytes[d], h1, sizeof h1));
    }
    struct spread sb = {DBL_MAX, 0, 0}, sy = {DBL_MAX, 0, 0};
    for (int d = 0; d < D; d++) {
        spread_add(&sb, (double)blocks[d]);
        spread_add(&sy, (double)bytes[d]);
    }
    fprintf(o, "  %-16s %14s %14s %14s %9s\n", "per device", "min", "mean", "max", "max/mean");
    fprintf(o, "  %-16s %14.0f %14.2f %14.0f %9.3f\n", "blocks", sb.min, sb.sum / D, sb.max,
            sb.sum ? sb.max / (sb.sum / D) : 0);
    fprintf(o, "  %-16s %14s %14s %14s %9.3f\n", "bytes", dsend_human_size(sy.min, h1, sizeof h1),
            dsend_human_size(sy.sum / D, h2, sizeof h2), dsend_human_size(sy.max, h3, sizeof h3),
            sy.sum ? sy.max / (sy.sum / D) : 0);
out:
    free(blocks);
    free(bytes);
    dsend_layout_close(&L);
    return 0;
}

static void info_json(dsend_json *j, const char *path, const dsend_library *lib)
{
    dsend_json_str(j, "library", path);
    dsend_json_uint(j, "format_version", DSEND_LIBRARY_VERSION);
    dsend_json_array(j, "assets");
    for (uint32_t a = 0; a < lib->nassets; a++) {
        const dsend_asset *as = &lib->assets[a];
        dsend_json_object(j, NULL);
        dsend_json_uint(j, "id", a);
        dsend_json_str(j, "name", as->name);
        dsend_json_str(j, "kind", kind_name(as->kind));
        dsend_json_uint(j, "bitrate_bps", as->bitrate_bps);
        dsend_json_real(j, "duration_s", (double)as->duration_ns / 1e9);
        dsend_json_uint(j, "bytes", as->size);
        dsend_json_uint(j, "blocks", as->blocks);
        dsend_json_uint(j, "block_size", as->block_size);
        dsend_json_uint(j, "random_access_points", as->nrap);
        dsend_json_end(j);
    }
    dsend_json_end(j);
}

int dsend_cmd_info(dsend_cli *c)
{
    int rc = need_pos(c, 1, "LIB.h5");
    if (rc)
        return rc;
    const dsend_config *g = c->cfg;
    if (g->devices && g->replicas > g->devices)
        return dsend_seterr(DSEND_EINVAL, "--replicas %lld: must not exceed --devices %lld",
                            (long long)g->replicas, (long long)g->devices);
    dsend_library lib;
    rc = dsend_library_open(g->pos[0], MPI_COMM_NULL, &lib);
    if (rc)
        return rc;
    uint64_t stored = 0, total = 0, blocks = 0, nts = 0;
    int64_t media = 0;
    for (uint32_t a = 0; a < lib.nassets; a++) {
        const dsend_asset *as = &lib.assets[a];
        total += as->size;
        blocks += as->blocks;
        media += as->duration_ns;
        if (as->kind == DSEND_ASSET_MPEGTS) {
            stored += as->size;
            nts++;
        }
    }
    FILE *o = c->out;
    if (g->json) {
        dsend_json j;
        dsend_json_begin(&j, o);
        info_json(&j, g->pos[0], &lib);
        dsend_json_object(&j, "totals");
        dsend_json_uint(&j, "assets", lib.nassets);
        dsend_json_uint(&j, "mpegts", nts);
        dsend_json_uint(&j, "synthetic", lib.nassets - nts);
        dsend_json_real(&j, "media_s", (double)media / 1e9);
        dsend_json_uint(&j, "bytes", total);
        dsend_json_uint(&j, "stored_bytes", stored);
        dsend_json_uint(&j, "blocks", blocks);
        dsend_json_end(&j);
        if (g->devices)
            rc = print_spread(c, &lib, (int)g->devices, &j);
        dsend_json_finish(&j);
        dsend_library_close(&lib);
        return rc;
    }
    char h1[32], h2[32], h3[32];
    fprintf(o, "library %s: format version %u, %u assets (%llu mpegts, %llu synthetic)\n",
            g->pos[0], DSEND_LIBRARY_VERSION, lib.nassets, (unsigned long long)nts,
            (unsigned long long)(lib.nassets - nts));
    fprintf(o, "  %s of media, %s in %llu blocks (%s stored in the file)\n",
            dsend_human_duration(media, h1, sizeof h1), dsend_human_size((double)total, h2, sizeof h2),
            (unsigned long long)blocks, dsend_human_size((double)stored, h3, sizeof h3));
    fprintf(o, "\n  %6s  %-20s %-9s %12s %10s %11s %8s %10s %9s\n", "id", "name", "kind",
            "bitrate", "duration", "size", "blocks", "block", "keyframes");
    uint32_t shown = lib.nassets;
    if (!g->all && shown > 25)
        shown = 20;
    for (uint32_t a = 0; a < shown; a++) {
        const dsend_asset *as = &lib.assets[a];
        char r[32], d[32], s[32], b[32], k[24] = "-"; /* no index: seeks start at sub-blocks */
        if (as->nrap)
            snprintf(k, sizeof k, "%llu", (unsigned long long)as->nrap);
        fprintf(o, "  %6u  %-20s %-9s %12s %10s %11s %8llu %10s %9s\n", a, as->name,
                kind_name(as->kind), dsend_human_rate((double)as->bitrate_bps, r, sizeof r),
                dsend_human_duration(as->duration_ns, d, sizeof d),
                dsend_human_size((double)as->size, s, sizeof s), (unsigned long long)as->blocks,
                dsend_format_size(as->block_size, b, sizeof b), k);
    }
    if (shown < lib.nassets)
        fprintf(o, "  ... %u more (--all lists every asset)\n", lib.nassets - shown);
    if (g->devices)
        rc = print_spread(c, &lib, (int)g->devices, NULL);
    dsend_library_close(&lib);
    return rc;
}

int dsend_cmd_load(dsend_cli *c)
{
    int rc = need_pos(c, 1, "LIB.h5");
    if (rc)
        return rc;
    const dsend_config *g = c->cfg;
    dsend_library lib = {.file = -1};
    dsend_layout L = {0};
    dsend_store s = {0};
    FILE *o = c->out;
    int quiet = g->quiet || c->rank != 0;
    if (g->replicas > c->size) {
        rc = dsend_seterr(DSEND_EINVAL,
                          "--replicas %lld: must not exceed the number of devices (%d MPI ranks)",
                          (long long)g->replicas, c->size);
        goto err;
    }
    if (!quiet && !g->json) {
        fprintf(o, "# dsend load %s on %d device%s\n", g->pos[0], c->size, c->size == 1 ? "" : "s");
        dsend_options_print(c->cmd, g, o, "#   ");
        fflush(o);
    }
    /* the open is collective and its checks are deterministic: every rank
     * gets the same verdict */
    rc = dsend_mpi_agree(c->comm, dsend_library_open(g->pos[0], c->comm, &lib));
    if (rc)
        goto err;
    rc = dsend_mpi_agree(c->comm, open_layout(c, c->size, &L));
    if (rc)
        goto err;
    MPI_Barrier(c->comm);
    double t0 = MPI_Wtime();
    rc = dsend_load(c->comm, &lib, &L, &s);
    double wall = MPI_Wtime() - t0;
    if (rc)
        goto err;

    /* per-device report, gathered on device 0 */
    double mine[6] = {(double)s.nblocks, (double)s.bytes, (double)s.synthetic_blocks,
                      (double)s.synthetic_bytes, s.read_seconds, s.verify_seconds};
    double *all = c->rank == 0 ? malloc(sizeof mine * (size_t)c->size) : NULL;
    MPI_Gather(mine, 6, MPI_DOUBLE, all, 6, MPI_DOUBLE, 0, c->comm);
    if (!quiet && all && g->json) {
        dsend_json j;
        double tbytes = 0, tb = 0, rmax = 0;
        dsend_json_begin(&j, o);
        dsend_json_str(&j, "library", g->pos[0]);
        dsend_json_int(&j, "devices", c->size);
        dsend_json_str(&j, "layout", L.policy->name);
        dsend_json_int(&j, "replicas", L.replicas);
        dsend_json_array(&j, "per_device");
        for (int d = 0; d < c->size; d++) {
            double *m = all + 6 * d;
            dsend_json_object(&j, NULL);
            dsend_json_int(&j, "device", d);
            dsend_json_uint(&j, "blocks", (uint64_t)m[0]);
            dsend_json_uint(&j, "bytes", (uint64_t)m[1]);
            dsend_json_uint(&j, "synthetic_blocks", (uint64_t)m[2]);
            dsend_json_uint(&j, "synthetic_bytes", (uint64_t)m[3]);
            dsend_json_real(&j, "read_s", m[4]);
            dsend_json_real(&j, "verify_s", m[5]);
            dsend_json_end(&j);
            tb += m[0];
            tbytes += m[1];
            if (m[4] > rmax)
                rmax = m[4];
        }
        dsend_json_end(&j);
        dsend_json_uint(&j, "stored_blocks", (uint64_t)tb);
        dsend_json_uint(&j, "stored_bytes", (uint64_t)tbytes);
        dsend_json_real(&j, "read_s", rmax);
        dsend_json_real(&j, "read_bytes_per_s", rmax > 0 ? tbytes / rmax : 0);
        dsend_json_real(&j, "wall_s", wall);
        dsend_json_bool(&j, "verified", 1);
        dsend_json_finish(&j);
    } else if (!quiet && all) {
        char h1[32], h2[32];
        double tb = 0, tbytes = 0, tsyn = 0, tsynb = 0, rmax = 0;
        fprintf(o, "%6s %10s %12s %12s %12s\n", "device", "blocks", "bytes", "synth blocks",
                "synth bytes");
        for (int d = 0; d < c->size; d++) {
            double *m = all + 6 * d;
            fprintf(o, "%6d %10.0f %12s %12.0f %12s\n", d, m[0],
                    dsend_human_size(m[1], h1, sizeof h1), m[2],
                    dsend_human_size(m[3], h2, sizeof h2));
            tb += m[0];
            tbytes += m[1];
            tsyn += m[2];
            tsynb += m[3];
            if (m[4] > rmax)
                rmax = m[4];
        }
        fprintf(o, "total: %.0f stored blocks, %s read with parallel HDF5 in %.3f s (%s/s aggregate)"
                   "; every checksum verified\n",
                tb, dsend_human_size(tbytes, h1, sizeof h1), rmax,
                dsend_human_size(rmax > 0 ? tbytes / rmax : 0, h2, sizeof h2));
        if (tsyn > 0)
            fprintf(o, "synthetic: %.0f blocks, %s accounted in RAM (content generated when sent)\n",
                    tsyn, dsend_human_size(tsynb, h1, sizeof h1));
        fprintf(o, "load wall time %.3f s\n", wall);
    }
    free(all);
err:
    dsend_store_free(&s);
    dsend_layout_close(&L);
    if (lib.file >= 0 || lib.assets)
        dsend_library_close(&lib);
    return rc;
}
