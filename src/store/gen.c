/* dsend gen: a synthetic library for experiments. */
#include "dsend/checksum.h"
#include "util/atomic.h"
#include "util/check.h"
#include "dsend/error.h"
#include "dsend/library.h"
#include "dsend/units.h"

#include <stdio.h>

#define GEN_MAX_ASSETS 10000000

/* Uniform in [lo, hi] from a counter-based stream: the i-th draw of a
 * stream depends on (seed, i) only. */
static uint64_t uniform(uint64_t seed, uint64_t i, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = hi - lo + 1;
    return lo + (span ? dsend_mix64(seed ^ dsend_mix64(i)) % span : dsend_mix64(seed ^ i));
}

int dsend_gen(const char *out, const dsend_gen_opts *o, FILE *log)
{
    int rc = 0;
    dsend_library_writer *w = NULL;
    if (o->assets < 1 || o->assets > GEN_MAX_ASSETS)
        return dsend_seterr(DSEND_EINVAL, "--assets %lld: must be between 1 and %d",
                            (long long)o->assets, GEN_MAX_ASSETS);
    if (o->bitrate_min == 0 || o->bitrate_min > o->bitrate_max)
        return dsend_seterr(DSEND_EINVAL, "--bitrate: need 0 < MIN <= MAX");
    if (o->duration_min <= 0 || o->duration_min > o->duration_max)
        return dsend_seterr(DSEND_EINVAL, "--duration: need 0 < MIN <= MAX");
    if (o->block_size == 0)
        return dsend_seterr(DSEND_EINVAL, "--block-size: must be > 0");
    TRY(dsend_library_create(out, o->force, &w));
    uint64_t total = 0;
    for (int64_t i = 0; i < o->assets; i++) {
        dsend_asset a = {0};
        snprintf(a.name, sizeof a.name, "synth-%06lld", (long long)i);
        /* bitrates to the kbit/s, durations to the ms: readable catalogues */
        a.bitrate_bps = uniform(o->seed ^ 0xb17, (uint64_t)i, o->bitrate_min / 1000,
                                o->bitrate_max / 1000) * 1000;
        if (a.bitrate_bps < o->bitrate_min || a.bitrate_bps > o->bitrate_max)
            a.bitrate_bps = o->bitrate_min;
        a.duration_ns = (int64_t)uniform(o->seed ^ 0xd0a, (uint64_t)i,
                                         (uint64_t)o->duration_min / 1000000,
                                         (uint64_t)o->duration_max / 1000000) * 1000000;
        if (a.duration_ns < o->duration_min || a.duration_ns > o->duration_max)
            a.duration_ns = o->duration_min;
        a.block_size = o->block_size;
        a.seed = dsend_mix64(o->seed ^ dsend_mix64((uint64_t)i ^ 0x5eed));
        TRY(dsend_library_add_synthetic(w, &a));
        total += (uint64_t)((unsigned __int128)a.bitrate_bps * (uint64_t)a.duration_ns / 8u /
                            (uint64_t)DSEND_NS_PER_S);
    }
    rc = dsend_library_commit(w);
    w = NULL;
    if (rc == DSEND_EHDF5)
        rc = dsend_not_written(rc, out);
    if (rc == 0 && log) {
        char sz[32];
        fprintf(log, "generated %s: %lld synthetic assets, %s of content (not stored)\n", out,
                (long long)o->assets, dsend_format_size(total, sz, sizeof sz));
    }
    return rc;
err:
    dsend_library_abort(w);
    return rc == DSEND_EHDF5 ? dsend_not_written(rc, out) : rc;
}
