/* The HDF5 media library: open/validate and write (doc/library-format.md). */
#include "config.h"
#include "dsend/library.h"
#include "util/check.h"
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic.h"

/* Row of the /synthetic table as stored on disk. */
typedef struct synthetic_row {
    char name[DSEND_NAME_MAX + 1];
    uint64_t bitrate_bps;
    int64_t duration_ns;
    uint64_t block_size;
    uint64_t seed;
} synthetic_row;

static hid_t synthetic_type(void)
{
    hid_t str = H5Tcopy(H5T_C_S1);
    if (str < 0)
        return -1;
    H5Tset_size(str, DSEND_NAME_MAX + 1);
    H5Tset_strpad(str, H5T_STR_NULLTERM);
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(synthetic_row));
    if (t >= 0) {
        H5Tinsert(t, "name", HOFFSET(synthetic_row, name), str);
        H5Tinsert(t, "bitrate_bps", HOFFSET(synthetic_row, bitrate_bps), H5T_NATIVE_UINT64);
        H5Tinsert(t, "duration_ns", HOFFSET(synthetic_row, duration_ns), H5T_NATIVE_INT64);
        H5Tinsert(t, "block_size", HOFFSET(synthetic_row, block_size), H5T_NATIVE_UINT64);
        H5Tinsert(t, "seed", HOFFSET(synthetic_row, seed), H5T_NATIVE_UINT64);
    }
    H5Tclose(str);
    return t;
}

int dsend_asset_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > DSEND_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static uint64_t blocks_of(uint64_t size, uint64_t block_size)
{
    return size / block_size + (size % block_size != 0);
}

/* Synthetic assets have no bytes on disk: their size follows from rate and
 * duration. */
static uint64_t synthetic_size(uint64_t bitrate_bps, int64_t duration_ns)
{
    return (uint64_t)((unsigned __int128)bitrate_bps * (uint64_t)duration_ns / 8u /
                      (uint64_t)DSEND_NS_PER_S);
}

/* ------------------------------------------------------------------ open */

static int read_attr_u64(hid_t obj, const char *where, const char *name, uint64_t *v)
{
    if (H5Aexists(obj, name) <= 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: missing attribute '%s'", where, name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    int ok = t >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Aget_storage_size(a) <= 8 &&
             H5Aread(a, H5T_NATIVE_UINT64, v) >= 0;
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    if (!ok)
        return dsend_seterr(DSEND_EFORMAT, "%s: attribute '%s' is not an integer", where, name);
    return 0;
}

static int read_attr_str(hid_t obj, const char *where, const char *name, char *buf, size_t n)
{
    if (H5Aexists(obj, name) <= 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: missing attribute '%s'", where, name);
    int rc = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t mt = -1;
    if (t < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) > 0 ||
        H5Tget_size(t) >= n) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: attribute '%s' is not a short string", where, name);
        goto out;
    }
    mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, n);
    H5Tset_strpad(mt, H5T_STR_NULLTERM);
    memset(buf, 0, n);
    if (H5Aread(a, mt, buf) < 0)
        rc = dsend_seterr(DSEND_EFORMAT, "%s: attribute '%s' cannot be read", where, name);
    buf[n - 1] = '\0';
out:
    if (mt >= 0)
        H5Tclose(mt);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

struct name_list {
    char (*names)[DSEND_NAME_MAX + 1];
    size_t n, cap;
    int rc;
    const char *path;
};

static herr_t collect_name(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    (void)g;
    (void)info;
    struct name_list *l = data;
    if (!dsend_asset_name_valid(name)) {
        l->rc = dsend_seterr(DSEND_EFORMAT, "%s: invalid asset name '%.80s'", l->path, name);
        return 1;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        void *p = realloc(l->names, cap * sizeof *l->names);
        if (!p) {
            l->rc = dsend_seterr(DSEND_ENOMEM, "out of memory listing assets");
            return 1;
        }
        l->names = p;
        l->cap = cap;
    }
    snprintf(l->names[l->n++], DSEND_NAME_MAX + 1, "%s", name);
    return 0;
}

/* The optional random-access index: a 1-D integer dataset of at most one
 * entry per TS packet (what it holds is dsend_asset_check's). */
static int read_random_access(hid_t g, const char *where, dsend_asset *a)
{
    if (H5Lexists(g, "random_access", H5P_DEFAULT) <= 0)
        return 0; /* written before the index: seeks start at the sub-block */
    int rc = 0;
    hid_t d = H5Dopen2(g, "random_access", H5P_DEFAULT), s = d >= 0 ? H5Dget_space(d) : -1;
    hid_t t = d >= 0 ? H5Dget_type(d) : -1;
    hsize_t n = 0;
    if (s < 0 || t < 0 || H5Tget_class(t) != H5T_INTEGER || H5Tget_size(t) > 8 ||
        H5Sget_simple_extent_ndims(s) != 1 || H5Sget_simple_extent_dims(s, &n, NULL) < 0 ||
        n > a->size / 188 + 1) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: dataset 'random_access' must be 1-D integers, at "
                                         "most one per 188-byte packet", where);
        goto out;
    }
    a->nrap = n;
    if (n && !(a->rap = malloc(n * sizeof *a->rap))) {
        rc = dsend_seterr(DSEND_ENOMEM, "%s: out of memory for the random-access index", where);
        goto out;
    }
    if (n && H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->rap) < 0)
        rc = dsend_seterr(DSEND_EFORMAT, "%s: dataset 'random_access' cannot be read", where);
out:
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

static int open_stored_asset(const char *path, hid_t assets, const char *name, dsend_asset *a)
{
    int rc = 0;
    char where[4200];
    char kind[16];
    hid_t g = -1, d = -1, s = -1;
    uint64_t v;
    snprintf(where, sizeof where, "%s: asset '%s'", path, name);
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    if ((g = H5Gopen2(assets, name, H5P_DEFAULT)) < 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: not a group", where);
        goto err;
    }
    TRY(read_attr_str(g, where, "kind", kind, sizeof kind));
    if (strcmp(kind, "mpegts") != 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: unknown kind '%s' (stored assets are 'mpegts')",
                          where, kind);
        goto err;
    }
    a->kind = DSEND_ASSET_MPEGTS;
    TRY(read_attr_u64(g, where, "bitrate_bps", &a->bitrate_bps));
    TRY(read_attr_u64(g, where, "duration_ns", &v));
    a->duration_ns = (int64_t)v;
    TRY(read_attr_u64(g, where, "block_size", &a->block_size));
    TRY(read_attr_u64(g, where, "size_bytes", &a->size));
    TRY(read_attr_u64(g, where, "blocks", &a->blocks));
    if (H5Aexists(g, "pes_pids") > 0) { /* optional: PES PIDs for end-of-stream markers */
        hid_t pa = H5Aopen(g, "pes_pids", H5P_DEFAULT), ps = pa >= 0 ? H5Aget_space(pa) : -1;
        hssize_t n = ps >= 0 ? H5Sget_simple_extent_npoints(ps) : -1;
        if (n < 1 || n > 8 || H5Aread(pa, H5T_NATIVE_UINT32, a->pes) < 0) {
            if (ps >= 0)
                H5Sclose(ps);
            if (pa >= 0)
                H5Aclose(pa);
            rc = dsend_seterr(DSEND_EFORMAT, "%s: attribute 'pes_pids' must hold 1 to 8 integers",
                              where);
            goto err;
        }
        a->npes = (uint32_t)n;
        H5Sclose(ps);
        H5Aclose(pa);
    }
    TRY(read_random_access(g, where, a));
    char why[256];
    if (dsend_asset_check(a, why, sizeof why) != 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: %s", where, why);
        goto err;
    }
    static const struct { const char *name; uint64_t elem; } sets[] = {
        {"data", 1}, {"block_crc32c", 4}};
    for (int i = 0; i < 2; i++) {
        hsize_t dims[1];
        uint64_t want = i == 0 ? a->size : a->blocks;
        if (H5Lexists(g, sets[i].name, H5P_DEFAULT) <= 0) {
            rc = dsend_seterr(DSEND_EFORMAT, "%s: missing dataset '%s'", where, sets[i].name);
            goto err;
        }
        H5_CHECK(d = H5Dopen2(g, sets[i].name, H5P_DEFAULT));
        H5_CHECK(s = H5Dget_space(d));
        hid_t t = H5Dget_type(d);
        size_t tsize = t >= 0 ? H5Tget_size(t) : 0;
        int tclass = t >= 0 ? H5Tget_class(t) : -1;
        if (t >= 0)
            H5Tclose(t);
        if (H5Sget_simple_extent_ndims(s) != 1 || tclass != H5T_INTEGER ||
            tsize != sets[i].elem) {
            rc = dsend_seterr(DSEND_EFORMAT, "%s: dataset '%s' must be 1-D %s", where,
                              sets[i].name, i == 0 ? "uint8" : "uint32");
            goto err;
        }
        H5Sget_simple_extent_dims(s, dims, NULL);
        if (dims[0] != want) {
            rc = dsend_seterr(DSEND_EFORMAT, "%s: dataset '%s' has %llu elements, expected %llu",
                              where, sets[i].name, (unsigned long long)dims[0],
                              (unsigned long long)want);
            goto err;
        }
        H5Sclose(s);
        s = -1;
        H5Dclose(d);
        d = -1;
    }
err:
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Two assets must never share a name (stored and synthetic share one space). */
static int check_unique(const char *path, const dsend_library *lib)
{
    const char **v = malloc((lib->nassets ? lib->nassets : 1) * sizeof *v);
    if (!v)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < lib->nassets; i++)
        v[i] = lib->assets[i].name;
    qsort(v, lib->nassets, sizeof *v, cmp_name);
    int rc = 0;
    for (uint32_t i = 1; i < lib->nassets; i++)
        if (strcmp(v[i - 1], v[i]) == 0) {
            rc = dsend_seterr(DSEND_EFORMAT, "%s: asset name '%s' appears twice", path, v[i]);
            break;
        }
    free(v);
    return rc;
}

int dsend_library_open(const char *path, MPI_Comm comm, dsend_library *lib)
{
    int rc = 0;
    hid_t fapl = -1, assets = -1, syn = -1, st = -1, sp = -1;
    struct name_list names = {0};
    synthetic_row *rows = NULL;
    char fmt[32];
    uint64_t version;

    memset(lib, 0, sizeof *lib);
    lib->file = -1;
    dsend_h5_quiet();
    if (access(path, R_OK) != 0)
        return dsend_seterr(errno == ENOENT ? DSEND_ENOENT : DSEND_EIO, "%s: %s", path,
                            strerror(errno));
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: not an HDF5 file", path);
    H5_CHECK(fapl = H5Pcreate(H5P_FILE_ACCESS));
    if (comm != MPI_COMM_NULL)
        H5_CHECK(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL));
    lib->file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (lib->file < 0) {
        char msg[512];
        dsend_h5_last_error(msg, sizeof msg);
        rc = dsend_seterr(DSEND_EFORMAT, "%s: cannot open HDF5 file: %s", path,
                          msg[0] ? msg : "unknown HDF5 error");
        goto err;
    }
    if (!(lib->path = strdup(path))) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    if (H5Aexists(lib->file, "dsend_format") <= 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: not a dsend library (no 'dsend_format' attribute)",
                          path);
        goto err;
    }
    TRY(read_attr_str(lib->file, path, "dsend_format", fmt, sizeof fmt));
    if (strcmp(fmt, DSEND_LIBRARY_FORMAT) != 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: not a dsend library (dsend_format is '%s')", path,
                          fmt);
        goto err;
    }
    TRY(read_attr_u64(lib->file, path, "format_version", &version));
    if (version != DSEND_LIBRARY_VERSION) {
        rc = dsend_seterr(DSEND_EFORMAT,
                          "%s: unsupported library format version %llu (this dsend reads %u)",
                          path, (unsigned long long)version, DSEND_LIBRARY_VERSION);
        goto err;
    }

    /* stored assets, in name order */
    names.path = path;
    if (H5Lexists(lib->file, "assets", H5P_DEFAULT) > 0) {
        H5_CHECK(assets = H5Gopen2(lib->file, "assets", H5P_DEFAULT));
        hsize_t idx = 0;
        H5_CHECK(H5Literate(assets, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_name, &names));
        TRY(names.rc);
    }
    /* synthetic assets */
    hsize_t nsyn = 0;
    if (H5Lexists(lib->file, "synthetic", H5P_DEFAULT) > 0) {
        H5_CHECK(syn = H5Dopen2(lib->file, "synthetic", H5P_DEFAULT));
        H5_CHECK(sp = H5Dget_space(syn));
        if (H5Sget_simple_extent_ndims(sp) != 1) {
            rc = dsend_seterr(DSEND_EFORMAT, "%s: /synthetic must be a 1-D table", path);
            goto err;
        }
        H5Sget_simple_extent_dims(sp, &nsyn, NULL);
    }
    if (names.n + nsyn > UINT32_MAX - 1) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: too many assets", path);
        goto err;
    }
    lib->nassets = (uint32_t)(names.n + nsyn);
    lib->assets = calloc(lib->nassets ? lib->nassets : 1, sizeof *lib->assets);
    if (!lib->assets) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %u assets", lib->nassets);
        goto err;
    }
    for (size_t i = 0; i < names.n; i++)
        TRY(open_stored_asset(path, assets, names.names[i], &lib->assets[i]));
    if (nsyn) {
        rows = malloc(nsyn * sizeof *rows);
        if (!rows) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %llu synthetic assets",
                              (unsigned long long)nsyn);
            goto err;
        }
        H5_CHECK(st = synthetic_type());
        if (H5Dread(syn, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) {
            rc = dsend_seterr(DSEND_EFORMAT, "%s: /synthetic is not a table of synthetic assets "
                                             "(name, bitrate_bps, duration_ns, block_size, seed)",
                              path);
            goto err;
        }
        for (hsize_t i = 0; i < nsyn; i++) {
            dsend_asset *a = &lib->assets[names.n + i];
            rows[i].name[DSEND_NAME_MAX] = '\0';
            snprintf(a->name, sizeof a->name, "%s", rows[i].name);
            a->kind = DSEND_ASSET_SYNTHETIC;
            a->bitrate_bps = rows[i].bitrate_bps;
            a->duration_ns = rows[i].duration_ns;
            a->block_size = rows[i].block_size;
            a->seed = rows[i].seed;
            a->size = synthetic_size(a->bitrate_bps, a->duration_ns);
            a->blocks = a->block_size ? blocks_of(a->size, a->block_size) : 0;
            char why[256];
            if (dsend_asset_check(a, why, sizeof why) != 0) {
                rc = dsend_seterr(DSEND_EFORMAT, "%s: /synthetic row %llu ('%.64s'): %s", path,
                                  (unsigned long long)i, a->name, why);
                goto err;
            }
        }
    }
    if (lib->nassets == 0) {
        rc = dsend_seterr(DSEND_EFORMAT, "%s: no assets (neither /assets nor /synthetic holds one)",
                          path);
        goto err;
    }
    TRY(check_unique(path, lib));
    goto out;
err:
    dsend_library_close(lib);
out:
    free(rows);
    free(names.names);
    if (st >= 0)
        H5Tclose(st);
    if (sp >= 0)
        H5Sclose(sp);
    if (syn >= 0)
        H5Dclose(syn);
    if (assets >= 0)
        H5Gclose(assets);
    if (fapl >= 0)
        H5Pclose(fapl);
    return rc;
}

void dsend_library_close(dsend_library *lib)
{
    if (lib->file >= 0)
        H5Fclose(lib->file);
    for (uint32_t i = 0; lib->assets && i < lib->nassets; i++)
        free(lib->assets[i].rap);
    free(lib->assets);
    free(lib->path);
    memset(lib, 0, sizeof *lib);
    lib->file = -1;
}

int64_t dsend_library_find(const dsend_library *lib, const char *name)
{
    for (uint32_t i = 0; i < lib->nassets; i++)
        if (strcmp(lib->assets[i].name, name) == 0)
            return i;
    dsend_seterr(DSEND_ENOENT, "unknown asset '%.80s'", name);
    return -1;
}

/* ----------------------------------------------------------------- write */

struct dsend_library_writer {
    char *path;
    char *tmp;
    hid_t file;
    hid_t assets;
    synthetic_row *rows;
    size_t nrows, caprows;
    char (*names)[DSEND_NAME_MAX + 1]; /* every name added, for uniqueness */
    size_t nnames, capnames;
};

static int write_attr_u64(hid_t obj, const char *name, uint64_t v)
{
    return dsend_h5_attr_num(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

static int write_attr_i64(hid_t obj, const char *name, int64_t v)
{
    return dsend_h5_attr_num(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

static int add_name(dsend_library_writer *w, const char *name)
{
    if (!dsend_asset_name_valid(name))
        return dsend_seterr(DSEND_EINVAL,
                            "asset name '%.80s' is invalid: use 1-%d characters of "
                            "A-Z a-z 0-9 . _ - not starting with '.'",
                            name, DSEND_NAME_MAX);
    for (size_t i = 0; i < w->nnames; i++)
        if (strcmp(w->names[i], name) == 0)
            return dsend_seterr(DSEND_EINVAL, "asset name '%s' given twice", name);
    if (w->nnames == w->capnames) {
        size_t cap = w->capnames ? 2 * w->capnames : 64;
        void *p = realloc(w->names, cap * sizeof *w->names);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        w->names = p;
        w->capnames = cap;
    }
    snprintf(w->names[w->nnames++], DSEND_NAME_MAX + 1, "%s", name);
    return 0;
}

/* An asset about to be written keeps the bounds every open checks. */
static int check_new(const dsend_asset *a)
{
    char why[256];
    if (dsend_asset_check(a, why, sizeof why) != 0)
        return dsend_seterr(DSEND_EINVAL, "asset '%s': %s", a->name, why);
    return 0;
}

int dsend_library_create(const char *path, int force, dsend_library_writer **out)
{
    int rc = 0;
    dsend_library_writer *w = NULL;
    hid_t fcpl = -1;
    *out = NULL;
    dsend_h5_quiet();
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return dsend_seterr(DSEND_EINVAL, "%s is a directory (name the library file)", path);
    if (!force && access(path, F_OK) == 0)
        return dsend_seterr(DSEND_EINVAL, "%s exists (use --force to replace it)", path);
    dsend_tmp_sweep(path); /* what a killed writer left */
    if (!(w = calloc(1, sizeof *w)))
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    w->file = w->assets = -1;
    size_t n = strlen(path) + 320;
    w->path = strdup(path);
    w->tmp = malloc(n);
    if (!w->path || !w->tmp) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    dsend_tmp_path(path, w->tmp, n);
    /* track creation order so h5dump lists assets as written (cosmetic) */
    H5_CHECK(fcpl = H5Pcreate(H5P_FILE_CREATE));
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    if (w->file < 0) {
        char msg[512];
        dsend_h5_last_error(msg, sizeof msg);
        rc = dsend_seterr(DSEND_EIO, "%s: cannot create: %s (%s)", w->tmp, msg, strerror(errno));
        goto err;
    }
    TRY(dsend_h5_attr_str(w->file, "dsend_format", DSEND_LIBRARY_FORMAT));
    TRY(write_attr_u64(w->file, "format_version", DSEND_LIBRARY_VERSION));
    TRY(dsend_h5_attr_str(w->file, "created_by", PACKAGE_STRING));
    H5_CHECK(w->assets = H5Gcreate2(w->file, "assets", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Pclose(fcpl);
    *out = w;
    return 0;
err:
    if (fcpl >= 0)
        H5Pclose(fcpl);
    dsend_library_abort(w);
    return rc;
}

int dsend_library_add_mpegts(dsend_library_writer *w, const char *name, const uint8_t *data,
                             uint64_t size, uint64_t block_size, uint64_t bitrate_bps,
                             int64_t duration_ns, const uint32_t *pes, uint32_t npes,
                             const uint64_t *rap, uint64_t nrap)
{
    int rc = 0;
    hid_t g = -1, s = -1, dcpl = -1, d = -1;
    uint32_t *crc = NULL;
    dsend_asset a = {.kind = DSEND_ASSET_MPEGTS, .bitrate_bps = bitrate_bps,
                     .duration_ns = duration_ns, .size = size, .block_size = block_size,
                     .blocks = block_size ? blocks_of(size, block_size) : 0,
                     .npes = npes <= 8 ? npes : 0, .nrap = nrap, .rap = (uint64_t *)rap};
    snprintf(a.name, sizeof a.name, "%s", name);
    if (a.npes)
        memcpy(a.pes, pes, npes * sizeof *pes);
    TRY(add_name(w, name));
    TRY(check_new(&a));
    uint64_t blocks = a.blocks;
    H5_CHECK(g = H5Gcreate2(w->assets, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    TRY(dsend_h5_attr_str(g, "kind", "mpegts"));
    TRY(write_attr_u64(g, "bitrate_bps", bitrate_bps));
    TRY(write_attr_i64(g, "duration_ns", duration_ns));
    TRY(write_attr_u64(g, "block_size", block_size));
    TRY(write_attr_u64(g, "size_bytes", size));
    TRY(write_attr_u64(g, "blocks", blocks));
    if (npes > 0 && npes <= 8) {
        hsize_t n[1] = {npes};
        hid_t ps = -1, pa = -1;
        H5_CHECK(ps = H5Screate_simple(1, n, NULL));
        pa = H5Acreate2(g, "pes_pids", H5T_STD_U32LE, ps, H5P_DEFAULT, H5P_DEFAULT);
        herr_t wr = pa >= 0 ? H5Awrite(pa, H5T_NATIVE_UINT32, pes) : -1;
        if (pa >= 0)
            H5Aclose(pa);
        H5Sclose(ps);
        H5_CHECK(wr);
    }
    if (nrap) {
        hsize_t n[1] = {nrap};
        H5_CHECK(s = H5Screate_simple(1, n, NULL));
        H5_CHECK(d = H5Dcreate2(g, "random_access", H5T_STD_U64LE, s, H5P_DEFAULT, H5P_DEFAULT,
                                H5P_DEFAULT));
        H5_CHECK(H5Dwrite(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, rap));
        H5Dclose(d);
        d = -1;
        H5Sclose(s);
        s = -1;
    }

    /* one block = one chunk, so a block read touches exactly one chunk */
    hsize_t dims[1] = {size}, chunk[1] = {block_size < size ? block_size : size};
    H5_CHECK(s = H5Screate_simple(1, dims, NULL));
    H5_CHECK(dcpl = H5Pcreate(H5P_DATASET_CREATE));
    H5_CHECK(H5Pset_chunk(dcpl, 1, chunk));
    H5_CHECK(d = H5Dcreate2(g, "data", H5T_STD_U8LE, s, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5_CHECK(H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
    H5Dclose(d);
    d = -1;
    H5Sclose(s);
    s = -1;

    if (!(crc = malloc(blocks * sizeof *crc))) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    for (uint64_t b = 0; b < blocks; b++) {
        uint64_t off = b * block_size;
        uint64_t len = size - off < block_size ? size - off : block_size;
        crc[b] = dsend_crc32c(0, data + off, len);
    }
    dims[0] = blocks;
    H5_CHECK(s = H5Screate_simple(1, dims, NULL));
    H5_CHECK(d = H5Dcreate2(g, "block_crc32c", H5T_STD_U32LE, s, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT));
    H5_CHECK(H5Dwrite(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, crc));
err:
    free(crc);
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (s >= 0)
        H5Sclose(s);
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

int dsend_library_add_synthetic(dsend_library_writer *w, const dsend_asset *m)
{
    int rc = add_name(w, m->name);
    if (rc)
        return rc;
    dsend_asset a = *m;
    a.kind = DSEND_ASSET_SYNTHETIC;
    a.size = synthetic_size(m->bitrate_bps, m->duration_ns);
    a.blocks = m->block_size ? blocks_of(a.size, m->block_size) : 0;
    if ((rc = check_new(&a)))
        return rc;
    if (w->nrows == w->caprows) {
        size_t cap = w->caprows ? 2 * w->caprows : 256;
        void *p = realloc(w->rows, cap * sizeof *w->rows);
        if (!p)
            return dsend_seterr(DSEND_ENOMEM, "out of memory");
        w->rows = p;
        w->caprows = cap;
    }
    synthetic_row *r = &w->rows[w->nrows++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", m->name);
    r->bitrate_bps = m->bitrate_bps;
    r->duration_ns = m->duration_ns;
    r->block_size = m->block_size;
    r->seed = m->seed;
    return 0;
}

static int write_synthetic(dsend_library_writer *w)
{
    int rc = 0;
    hid_t s = -1, dcpl = -1, d = -1, t = -1;
    hsize_t dims[1] = {w->nrows};
    hsize_t chunk[1] = {w->nrows < 4096 ? w->nrows : 4096};
    H5_CHECK(t = synthetic_type());
    H5_CHECK(s = H5Screate_simple(1, dims, NULL));
    H5_CHECK(dcpl = H5Pcreate(H5P_DATASET_CREATE));
    H5_CHECK(H5Pset_chunk(dcpl, 1, chunk));
    /* names and seeds compress well: keeps 10,000 titles in kilobytes */
    if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
        H5_CHECK(H5Pset_shuffle(dcpl));
        H5_CHECK(H5Pset_deflate(dcpl, 6));
    }
    H5_CHECK(d = H5Dcreate2(w->file, "synthetic", t, s, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5_CHECK(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->rows));
err:
    if (d >= 0)
        H5Dclose(d);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

int dsend_library_commit(dsend_library_writer *w)
{
    int rc = 0;
    if (w->nnames == 0) {
        rc = dsend_seterr(DSEND_EINVAL, "%s: no assets to write", w->path);
        goto err;
    }
    if (w->nrows)
        TRY(write_synthetic(w));
    H5Gclose(w->assets);
    w->assets = -1;
    herr_t cr = H5Fclose(w->file);
    w->file = -1;
    if (cr < 0) {
        rc = dsend_h5_fail(__FILE__, __LINE__, "H5Fclose");
        goto err;
    }
    if (dsend_tmp_commit(w->tmp, w->path) != 0) {
        rc = dsend_seterr(DSEND_EIO, "%s: cannot rename into place: %s", w->path,
                          strerror(errno));
        goto err;
    }
    free(w->tmp);
    w->tmp = NULL; /* nothing left to remove */
    dsend_library_abort(w);
    return 0;
err:
    dsend_library_abort(w);
    return rc;
}

void dsend_library_abort(dsend_library_writer *w)
{
    if (!w)
        return;
    if (w->assets >= 0)
        H5Gclose(w->assets);
    if (w->file >= 0)
        H5Fclose(w->file);
    if (w->tmp)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w->rows);
    free(w->names);
    free(w);
}
