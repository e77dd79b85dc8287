/* dsend ingest: real MPEG-TS files into the library. */
#include "util/atomic.h"
#include "util/check.h"
#include "dsend/error.h"
#include "dsend/library.h"
#include "dsend/ts.h"
#include "dsend/units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest file we read whole into memory; a VOD title is far below it. */
#define INGEST_MAX_FILE (UINT64_C(64) << 30)

static int read_file(const char *path, uint8_t **buf, uint64_t *len)
{
    int rc = 0;
    FILE *f = fopen(path, "rb");
    struct stat st;
    *buf = NULL;
    if (!f)
        return dsend_seterr(errno == ENOENT ? DSEND_ENOENT : DSEND_EIO, "%s: %s", path,
                            strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = dsend_seterr(DSEND_EIO, "%s: not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > INGEST_MAX_FILE) {
        rc = dsend_seterr(DSEND_EINVAL, "%s: larger than 64GiB", path);
        goto out;
    }
    *len = (uint64_t)st.st_size;
    if (!(*buf = malloc(*len ? *len : 1))) {
        rc = dsend_seterr(DSEND_ENOMEM, "%s: out of memory for %llu bytes", path,
                          (unsigned long long)*len);
        goto out;
    }
    if (*len && fread(*buf, 1, *len, f) != *len) {
        rc = dsend_seterr(DSEND_EIO, "%s: short read", path);
        free(*buf);
        *buf = NULL;
    }
out:
    fclose(f);
    return rc;
}

/* "dir/Big Movie.v2.ts" -> "Big Movie.v2" (then validated as a name). */
static void asset_name_of(const char *path, char *name, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(name, n, "%.*s", (int)len, base);
}

int dsend_ingest(const char *out, char *const *files, int nfiles, const dsend_ingest_opts *o,
                 FILE *log)
{
    int rc = 0;
    dsend_library_writer *w = NULL;
    uint8_t *buf = NULL;
    if (nfiles <= 0)
        return dsend_seterr(DSEND_EINVAL, "no input files (dsend ingest FILE.ts... -o LIB.h5)");
    if (o->block_size == 0 || o->block_size % DSEND_TS_RTP_PAYLOAD != 0) {
        uint64_t lo = o->block_size / DSEND_TS_RTP_PAYLOAD * DSEND_TS_RTP_PAYLOAD;
        if (lo == 0)
            lo = DSEND_TS_RTP_PAYLOAD;
        return dsend_seterr(DSEND_EINVAL,
                            "--block-size %llu: a TS asset's block must be a multiple of %u bytes "
                            "(7 TS packets, one RTP payload); try %llu or %llu",
                            (unsigned long long)o->block_size, DSEND_TS_RTP_PAYLOAD,
                            (unsigned long long)lo,
                            (unsigned long long)(lo + DSEND_TS_RTP_PAYLOAD));
    }
    /* names first: a clash is found before any file is read */
    for (int i = 0; i < nfiles; i++) {
        char name[256], other[256];
        asset_name_of(files[i], name, sizeof name);
        if (!dsend_asset_name_valid(name))
            return dsend_seterr(DSEND_EINVAL,
                                "%s: asset name '%s' is invalid: rename the file to 1-%d "
                                "characters of A-Z a-z 0-9 . _ -",
                                files[i], name, DSEND_NAME_MAX);
        for (int k = 0; k < i; k++) {
            asset_name_of(files[k], other, sizeof other);
            if (strcmp(files[i], files[k]) == 0)
                return dsend_seterr(DSEND_EINVAL, "%s: given twice", files[i]);
            if (strcmp(name, other) == 0)
                return dsend_seterr(DSEND_EINVAL, "%s: asset name '%s' is %s's too (one asset per "
                                                  "name)",
                                    files[i], name, files[k]);
        }
    }
    /* what was ingested is said once the library is in place */
    char *said = NULL;
    size_t nsaid = 0;
    FILE *say = log ? open_memstream(&said, &nsaid) : NULL;
    if (log && !say)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    TRY(dsend_library_create(out, o->force, &w));
    for (int i = 0; i < nfiles; i++) {
        char name[256], r1[32], r2[32];
        uint64_t len = 0;
        dsend_ts_info ts;
        asset_name_of(files[i], name, sizeof name);
        TRY(read_file(files[i], &buf, &len));
        TRY(dsend_ts_scan(files[i], buf, len, &ts));
        uint64_t bitrate = o->bitrate_bps ? o->bitrate_bps : ts.bitrate_bps;
        if (bitrate == 0) {
            free(ts.rap);
            rc = dsend_seterr(DSEND_EFORMAT,
                              "%s: fewer than two PCRs, cannot derive the bitrate: give --bitrate",
                              files[i]);
            goto err;
        }
        int64_t duration = (int64_t)((unsigned __int128)len * 8u * (uint64_t)DSEND_NS_PER_S /
                                     bitrate);
        rc = dsend_library_add_mpegts(w, name, buf, len, o->block_size, bitrate, duration, ts.pes,
                                      ts.npes, ts.rap, ts.nrap);
        free(ts.rap);
        if (rc)
            goto err;
        if (say)
            fprintf(say, "ingested %s as '%s': %llu bytes, %s%s, %s, %llu blocks, %llu random-access "
                    "points\n", files[i],
                    name, (unsigned long long)len, dsend_format_rate(bitrate, r1, sizeof r1),
                    o->bitrate_bps ? " (given)" : " (from PCRs)",
                    dsend_format_duration(duration / 1000000 * 1000000, r2, sizeof r2),
                    (unsigned long long)((len + o->block_size - 1) / o->block_size),
                    (unsigned long long)ts.nrap);
        free(buf);
        buf = NULL;
    }
    rc = dsend_library_commit(w);
    w = NULL;
    if (say)
        fclose(say);
    if (rc == 0 && said)
        fputs(said, log);
    free(said);
    return rc == DSEND_EHDF5 ? dsend_not_written(rc, out) : rc;
err:
    free(buf);
    dsend_library_abort(w);
    if (say)
        fclose(say);
    free(said);
    return rc == DSEND_EHDF5 ? dsend_not_written(rc, out) : rc;
}
