/* dsend report: reading results files.  /clients is read field by field, by
 * name, so files from older or newer writers (fields added, or missing)
 * still load; a field missing or listed in the /clients attribute
 * not_measured is "not measured", never 0. */
#include "util/check.h"
#include "dsend/error.h"
#include "report_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const rpt_field_names[CF_N] = {
    "startup_ns", "expected", "received", "lost", "duplicate", "out_of_order", "late",
    "crc_errors", "bytes", "pauses", "seeks", "max_lateness", "underruns", "stall_ns",
    "jitter_ms", "df_ms", "mlr", "max_gap_us"};


/* A numeric root attribute, converted by HDF5 to mem; absent: left as is. */
static void read_num_attr(hid_t obj, const char *name, hid_t mem, void *v)
{
    if (H5Aexists(obj, name) <= 0)
        return;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, mem, v);
        H5Aclose(a);
    }
}

static herr_t config_row(hid_t g, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    rpt_run *r = data;
    char v[512];
    if (dsend_h5_read_attr_str(g, name, v, sizeof v) != 0)
        return 0;
    rpt_kv *p = realloc(r->config, (r->nconfig + 1) * sizeof *p);
    if (!p)
        return -1;
    r->config = p;
    p[r->nconfig].name = strdup(name);
    p[r->nconfig].value = strdup(v);
    if (!p[r->nconfig].name || !p[r->nconfig].value) {
        free(p[r->nconfig].name);
        free(p[r->nconfig].value);
        return -1;
    }
    r->nconfig++;
    return 0;
}

/* Is name in the comma-separated list? */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, ", ");
        if (k == n && strncmp(p, name, n) == 0)
            return 1;
        p += k;
    }
    return 0;
}

/* One member of a compound dataset as doubles; *out NULL if it has none. */
static int read_member(const char *path, hid_t d, hid_t ftype, hsize_t n, const char *name,
                       double **out)
{
    int rc = 0;
    hid_t mt = -1;
    *out = NULL;
    if (H5Tget_member_index(ftype, name) < 0)
        return 0;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    H5_CHECK(mt = H5Tcreate(H5T_COMPOUND, sizeof(double)));
    H5_CHECK(H5Tinsert(mt, name, 0, H5T_NATIVE_DOUBLE));
    if (n && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: field %s is not a number", path, name);
        goto err;
    }
    *out = v;
    v = NULL;
err:
    free(v);
    if (mt >= 0)
        H5Tclose(mt);
    return rc;
}

static int read_clients(const char *path, hid_t f, rpt_run *r)
{
    int rc = 0;
    hid_t d = -1, s = -1, t = -1;
    char nm[1024];
    hsize_t n = 0;
    H5_CHECK(d = H5Dopen2(f, "clients", H5P_DEFAULT));
    H5_CHECK(s = H5Dget_space(d));
    H5_CHECK(t = H5Dget_type(d));
    if (H5Tget_class(t) != H5T_COMPOUND || H5Sget_simple_extent_ndims(s) != 1) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: /clients is not a table of client results", path);
        goto err;
    }
    H5Sget_simple_extent_dims(s, &n, NULL);
    r->nclients = (uint32_t)n;
    dsend_h5_read_attr_str(d, "not_measured", nm, sizeof nm);
    dsend_h5_read_attr_str(d, "units", r->units, sizeof r->units);
    for (int k = 0; k < CF_N; k++) {
        if (listed(nm, rpt_field_names[k]))
            continue;
        TRY(read_member(path, d, t, n, rpt_field_names[k], &r->field[k]));
    }
    /* the report's units: ms, s; startup -1 means nothing arrived */
    for (uint32_t c = 0; c < r->nclients; c++) {
        if (r->field[CF_STARTUP])
            r->field[CF_STARTUP][c] = r->field[CF_STARTUP][c] >= 0 ? r->field[CF_STARTUP][c] / 1e6 : NAN;
        if (r->field[CF_MAXLATE])
            r->field[CF_MAXLATE][c] /= 1e6;
        if (r->field[CF_STALL])
            r->field[CF_STALL][c] /= 1e9;
        if (r->field[CF_GAP])
            r->field[CF_GAP][c] /= 1e3;
    }
err:
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

/* A 1-D or 2-D dataset, converted to mem; absent: *out NULL, dims 0. */
static int read_nd(const char *path, hid_t f, const char *name, hid_t mem, void **out, hsize_t dims[2])
{
    int rc = 0;
    hid_t d = -1, s = -1;
    dims[0] = dims[1] = 0;
    *out = NULL;
    if (H5Lexists(f, "series", H5P_DEFAULT) <= 0 || H5Lexists(f, name, H5P_DEFAULT) <= 0)
        return 0;
    H5_CHECK(d = H5Dopen2(f, name, H5P_DEFAULT));
    H5_CHECK(s = H5Dget_space(d));
    int rank = H5Sget_simple_extent_ndims(s);
    if (rank < 1 || rank > 2) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: /%s is not 1-D or 2-D", path, name);
        goto err;
    }
    dims[1] = 1;
    H5Sget_simple_extent_dims(s, dims, NULL);
    size_t n = (size_t)dims[0] * (size_t)dims[1];
    if (!(*out = calloc(n ? n : 1, H5Tget_size(mem)))) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    if (n && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) < 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: /%s is not numeric", path, name);
        goto err;
    }
err:
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int read_series(const char *path, hid_t f, rpt_run *r)
{
    int rc = 0;
    hsize_t dims[2];
    void *p = NULL;
    TRY(read_nd(path, f, "series/utilization", H5T_NATIVE_DOUBLE, &p, dims));
    r->util = p;
    r->series_devices = (int)dims[0];
    r->nint = dims[0] ? (uint32_t)dims[1] : 0;
    TRY(read_nd(path, f, "series/lateness_mean_ns", H5T_NATIVE_DOUBLE, &p, dims));
    r->late_mean = p;
    TRY(read_nd(path, f, "series/lateness_count", H5T_NATIVE_UINT64, &p, dims));
    r->late_count = p;
    uint64_t due = 0; /* dsend serve's is all zeros: it meters no client */
    for (size_t k = 0; r->late_count && k < dims[0]; k++)
        due += r->late_count[k];
    if (dims[0] < r->nint || !due) /* no usable lateness series */
        free(r->late_mean), free(r->late_count), r->late_mean = NULL, r->late_count = NULL;
    TRY(read_nd(path, f, "series/drops", H5T_NATIVE_UINT64, &p, dims));
    if (p) {
        r->has_drops = 1;
        for (size_t k = 0; k < (size_t)dims[0] * dims[1]; k++)
            r->drops += ((uint64_t *)p)[k];
        free(p);
    }
    /* the caches' series, summed over devices */
    static const char *const cs[RS_N] = {[RS_HITS] = "series/cache_hits",
                                         [RS_MISSES] = "series/cache_misses",
                                         [RS_READ_BYTES] = "series/storage_bytes"};
    for (int k = 0; k < RS_N; k++) {
        TRY(read_nd(path, f, cs[k], H5T_NATIVE_DOUBLE, &p, dims));
        if (p && dims[1] == r->nint && r->nint) {
            if (!(r->cache_series[k] = calloc(r->nint, sizeof(double)))) {
                free(p);
                rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
                goto err;
            }
            for (size_t d = 0; d < dims[0]; d++)
                for (uint32_t i = 0; i < r->nint; i++)
                    r->cache_series[k][i] += ((double *)p)[d * r->nint + i];
        }
        free(p);
    }
    if (H5Lexists(f, "series", H5P_DEFAULT) > 0) {
        hid_t g = H5Gopen2(f, "series", H5P_DEFAULT);
        if (g >= 0) {
            read_num_attr(g, "interval_ns", H5T_NATIVE_INT64, &r->interval);
            H5Gclose(g);
        }
    }
    if (r->interval <= 0)
        r->interval = 1000000000;
err:
    return rc;
}

const char *const rpt_cache_fields[RC_N] = {
    [RC_RAM] = "ram", [RC_SHARE] = "share", [RC_HITS] = "cache_hits",
    [RC_MISSES] = "cache_misses", [RC_READ_BYTES] = "storage_bytes",
    [RC_EVICTIONS] = "evictions", [RC_MAX_PINNED] = "max_pinned", [RC_MISS_LATE] = "miss_late"};

/* The caches' figures, by field name (files from before them have none). */
static int read_cache(const char *path, hid_t d, hid_t t, hsize_t n, rpt_run *r)
{
    int rc = 0;
    double *ram = NULL, *share = NULL;
    TRY(read_member(path, d, t, n, "ram", &ram));
    TRY(read_member(path, d, t, n, "share", &share));
    for (hsize_t k = 0; ram && share && k < n; k++)
        r->cached |= ram[k] < share[k];
    for (int c = 0; r->cached && c < RC_N; c++) {
        double *v;
        TRY(read_member(path, d, t, n, rpt_cache_fields[c], &v));
        for (hsize_t k = 0; v && k < n; k++)
            r->cache[c] = c == RC_MAX_PINNED ? (v[k] > r->cache[c] ? v[k] : r->cache[c])
                                             : r->cache[c] + v[k];
        free(v);
    }
err:
    free(ram);
    free(share);
    return rc;
}

static int read_devices(const char *path, hid_t f, rpt_run *r)
{
    int rc = 0;
    hid_t d = -1, s = -1, t = -1;
    hsize_t n = 0;
    double *b = NULL;
    if (H5Lexists(f, "devices", H5P_DEFAULT) <= 0)
        return 0;
    H5_CHECK(d = H5Dopen2(f, "devices", H5P_DEFAULT));
    H5_CHECK(s = H5Dget_space(d));
    H5_CHECK(t = H5Dget_type(d));
    if (H5Tget_class(t) != H5T_COMPOUND || H5Sget_simple_extent_ndims(s) != 1)
        goto err; /* a placeholder: nothing to read */
    H5Sget_simple_extent_dims(s, &n, NULL);
    TRY(read_member(path, d, t, n, "bytes", &b));
    if (b && n) {
        if (!(r->dev_bytes = malloc(n * sizeof *r->dev_bytes))) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
        for (hsize_t k = 0; k < n; k++)
            r->dev_bytes[k] = (uint64_t)b[k];
        r->ndev = (int)n;
    }
    TRY(read_cache(path, d, t, n, r));
err:
    free(b);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int read_arrivals(hid_t f, rpt_run *r)
{
    if (H5Lexists(f, "arrivals", H5P_DEFAULT) <= 0)
        return 0;
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
    return 0;
}

static const char *base(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

static int load_file(const char *path, rpt_run *r)
{
    int rc = 0;
    hid_t f = -1, g = -1;
    char fmt[32];
    memset(r, 0, sizeof *r);
    snprintf(r->files, sizeof r->files, "%s", path);
    snprintf(r->name, sizeof r->name, "%s", base(path));
    dsend_h5_quiet();
    if (access(path, R_OK) != 0)
        return dsend_seterr(DSEND_ENOENT, "%s: %s", path, strerror(errno));
    if (H5Fis_hdf5(path) <= 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: not an HDF5 file", path);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: cannot open HDF5 file", path);
    if (dsend_h5_read_attr_str(f, "dsend_format", fmt, sizeof fmt) != 0 || strcmp(fmt, "dsend-results") != 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: not a dsend results file (dsend sim --out or dsend "
                                         "clients --out makes one)", path);
        goto err;
    }
    if (dsend_h5_read_attr_str(f, "kind", r->kind, sizeof r->kind) != 0 || !r->kind[0])
        snprintf(r->kind, sizeof r->kind, "sim");
    read_num_attr(f, "devices", H5T_NATIVE_INT, &r->devices);
    read_num_attr(f, "client_ranks", H5T_NATIVE_INT, &r->client_ranks);
    read_num_attr(f, "simulated_ns", H5T_NATIVE_INT64, &r->simulated_ns);
    read_num_attr(f, "wall_seconds", H5T_NATIVE_DOUBLE, &r->wall_seconds);
    read_num_attr(f, "events", H5T_NATIVE_UINT64, &r->events);
    read_num_attr(f, "peak_rss_bytes", H5T_NATIVE_UINT64, &r->rss_peak);
    read_num_attr(f, "memory_per_device_bytes", H5T_NATIVE_UINT64, &r->mem_per_device);
    read_num_attr(f, "memory_per_client_bytes", H5T_NATIVE_UINT64, &r->mem_per_client);
    if (H5Lexists(f, "clients", H5P_DEFAULT) > 0)
        TRY(read_clients(path, f, r));
    else if (strcmp(r->kind, "serve") != 0) { /* only dsend serve measures no client */
        rc = dsend_seterr(DSEND_EFORMAT, "%s: no /clients table", path);
        goto err;
    }
    TRY(read_devices(path, f, r));
    TRY(read_series(path, f, r));
    TRY(read_arrivals(f, r));
    if (H5Lexists(f, "config", H5P_DEFAULT) > 0) {
        H5_CHECK(g = H5Gopen2(f, "config", H5P_DEFAULT));
        hsize_t idx = 0;
        if (H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, config_row, r) < 0) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
    }
err:
    if (g >= 0)
        H5Gclose(g);
    if (f >= 0)
        H5Fclose(f);
    return rc;
}

static void free_one(rpt_run *r)
{
    for (int k = 0; k < CF_N; k++)
        free(r->field[k]);
    free(r->dev_bytes);
    for (int k = 0; k < RS_N; k++)
        free(r->cache_series[k]);
    free(r->util);
    free(r->late_mean);
    free(r->late_count);
    free(r->arr_late_ms);
    for (size_t k = 0; k < r->nconfig; k++) {
        free(r->config[k].name);
        free(r->config[k].value);
    }
    free(r->config);
    memset(r, 0, sizeof *r);
}

void rpt_free(rpt_run *runs, int nruns)
{
    for (int i = 0; runs && i < nruns; i++)
        free_one(&runs[i]);
    free(runs);
}

/* serve (devices, series, config) + clients (the sessions) -> one measured
 * run in *sv; the clients' options follow the server's as "clients: NAME". */
static int pair(rpt_run *sv, rpt_run *cl)
{
    char files[1024];
    snprintf(files, sizeof files, "%.500s + %.500s", sv->files, cl->files);
    memcpy(sv->files, files, sizeof files);
    char name[256];
    snprintf(name, sizeof name, "%.120s + %.120s", sv->name, cl->name);
    memcpy(sv->name, name, sizeof name);
    snprintf(sv->kind, sizeof sv->kind, "measured");
    memcpy(sv->field, cl->field, sizeof sv->field);
    memset(cl->field, 0, sizeof cl->field);
    sv->nclients = cl->nclients;
    memcpy(sv->units, cl->units, sizeof sv->units);
    if (sv->wall_seconds <= 0)
        sv->wall_seconds = cl->wall_seconds;
    rpt_kv *p = realloc(sv->config, (sv->nconfig + cl->nconfig + 1) * sizeof *p);
    if (!p)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    sv->config = p;
    for (size_t k = 0; k < cl->nconfig; k++) {
        char *n = malloc(strlen(cl->config[k].name) + 10);
        if (!n)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        sprintf(n, "clients: %s", cl->config[k].name);
        p[sv->nconfig].name = n;
        p[sv->nconfig++].value = cl->config[k].value;
        cl->config[k].value = NULL;
    }
    free_one(cl);
    return 0;
}

int rpt_load(char *const *files, int nfiles, rpt_run **runs, int *nruns)
{
    int rc = 0, n = 0;
    rpt_run *f = calloc((size_t)nfiles, sizeof *f);
    int *used = calloc((size_t)nfiles, sizeof *used);
    if (!f || !used) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    for (int i = 0; i < nfiles; i++)
        TRY(load_file(files[i], &f[i]));
    /* a serve file and a clients file are one measured run, in either order;
     * runs keep the order of their first file */
    for (int i = 0; i < nfiles; i++) {
        if (used[i])
            continue;
        used[i] = 1;
        int sv = !strcmp(f[i].kind, "serve"), cl = !strcmp(f[i].kind, "clients");
        for (int j = i + 1; j < nfiles && (sv || cl); j++) {
            if (used[j] || strcmp(f[j].kind, sv ? "clients" : "serve") != 0)
                continue;
            used[j] = 1;
            TRY(pair(sv ? &f[i] : &f[j], sv ? &f[j] : &f[i]));
            if (cl) /* the merged run lives in the serve file's slot */
                f[i] = f[j], memset(&f[j], 0, sizeof f[j]);
            break;
        }
        rpt_run *r = &f[i];
        const char *role = !strcmp(r->kind, "sim") ? "model"
                         : !strcmp(r->kind, "clients") ? "measured" : r->kind;
        if (!strcmp(r->kind, "measured"))
            snprintf(r->label, sizeof r->label, "%d: measured (%.240s)", n + 1, r->name);
        else
            snprintf(r->label, sizeof r->label, "%d: %.200s (%s)", n + 1, r->name, role);
        if (n != i)
            f[n] = f[i], memset(&f[i], 0, sizeof f[i]);
        n++;
    }
    *runs = f;
    *nruns = n;
    f = NULL;
err:
    rpt_free(f, nfiles);
    free(used);
    return rc;
}
