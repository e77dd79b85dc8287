/* What every asset of a library satisfies: checked where a library is
 * written (ingest, gen) and wherever one is opened (every command), so a
 * damaged or hand-made file is refused in one line before anything runs on
 * it.  The bounds keep a run's memory, time and output proportional to what
 * a user could mean (doc/library-format.md#bounds). */
#include "dsend/library.h"
#include "dsend/ts.h"
#include "dsend/units.h"

#include <stdarg.h>
#include <stdio.h>

static int why(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return -1;
}

int dsend_asset_check(const dsend_asset *a, char *buf, size_t n)
{
    char r1[32], r2[32], d1[32], d2[32];
    if (!dsend_asset_name_valid(a->name))
        return why(buf, n, "invalid name (1-%d characters of A-Z a-z 0-9 . _ -, not starting "
                           "with '.')", DSEND_NAME_MAX);
    if (a->bitrate_bps < DSEND_ASSET_MIN_BITRATE || a->bitrate_bps > DSEND_ASSET_MAX_BITRATE)
        return why(buf, n, "bitrate %s outside %s to %s",
                   dsend_format_rate(a->bitrate_bps, r1, sizeof r1),
                   dsend_format_rate(DSEND_ASSET_MIN_BITRATE, r2, sizeof r2),
                   dsend_format_rate(DSEND_ASSET_MAX_BITRATE, d1, sizeof d1));
    if (a->duration_ns <= 0 || a->duration_ns > DSEND_ASSET_MAX_DURATION)
        return why(buf, n, "duration %s outside 1ns to %s",
                   dsend_format_duration(a->duration_ns, d1, sizeof d1),
                   dsend_format_duration(DSEND_ASSET_MAX_DURATION, d2, sizeof d2));
    if (a->size == 0)
        return why(buf, n, "no bytes (size 0)");
    if (a->block_size < DSEND_TS_RTP_PAYLOAD || a->block_size > DSEND_ASSET_MAX_BLOCK ||
        (a->kind == DSEND_ASSET_MPEGTS && a->block_size % DSEND_TS_RTP_PAYLOAD != 0))
        return why(buf, n, "block size %llu B: %sfrom %u B to %s", (unsigned long long)a->block_size,
                   a->kind == DSEND_ASSET_MPEGTS ? "a multiple of 1316 B (7 TS packets, one RTP "
                                                   "payload) "
                                                 : "",
                   DSEND_TS_RTP_PAYLOAD, dsend_format_size(DSEND_ASSET_MAX_BLOCK, r1, sizeof r1));
    uint64_t blocks = a->size / a->block_size + (a->size % a->block_size != 0);
    if (a->blocks != blocks)
        return why(buf, n, "'blocks' is %llu but size/block_size gives %llu",
                   (unsigned long long)a->blocks, (unsigned long long)blocks);
    if (blocks > DSEND_ASSET_MAX_BLOCKS)
        return why(buf, n, "%llu blocks: at most %u per asset (a larger block size)",
                   (unsigned long long)blocks, DSEND_ASSET_MAX_BLOCKS);
    /* the duration is what the bytes last at the bitrate (ingest derives
     * one from the other): within a second or 1% */
    int64_t lasts = (int64_t)((unsigned __int128)a->size * 8u * (uint64_t)DSEND_NS_PER_S /
                              a->bitrate_bps);
    int64_t slack = a->duration_ns / 100 > DSEND_NS_PER_S ? a->duration_ns / 100 : DSEND_NS_PER_S;
    if (lasts - a->duration_ns > slack || a->duration_ns - lasts > slack)
        return why(buf, n, "duration %s, but %llu bytes at %s last %s",
                   dsend_format_duration(a->duration_ns / 1000000 * 1000000, d1, sizeof d1),
                   (unsigned long long)a->size, dsend_format_rate(a->bitrate_bps, r1, sizeof r1),
                   dsend_format_duration(lasts / 1000000 * 1000000, d2, sizeof d2));
    if (a->npes > DSEND_TS_MAX_PES)
        return why(buf, n, "%u PES PIDs: at most %u", a->npes, DSEND_TS_MAX_PES);
    for (uint32_t i = 0; i < a->npes; i++)
        if ((a->pes[i] & 0xffff) > 0x1fff || (a->pes[i] >> 16) > 15)
            return why(buf, n, "pes_pids entry %u (0x%x) is not a PID below 8192 with a "
                               "continuity counter below 16",
                       i, a->pes[i]);
    /* the random-access index: where seeks start (doc/library-format.md) */
    if (a->nrap && a->kind != DSEND_ASSET_MPEGTS)
        return why(buf, n, "a random-access index, but only MPEG-TS assets have one");
    for (uint64_t i = 0; i < a->nrap; i++)
        if (a->rap[i] % DSEND_TS_PACKET != 0 || a->rap[i] >= a->size ||
            (i > 0 && a->rap[i] <= a->rap[i - 1]))
            return why(buf, n, "random_access entry %llu (%llu) is not %s", (unsigned long long)i,
                       (unsigned long long)a->rap[i],
                       a->rap[i] % DSEND_TS_PACKET ? "on a 188-byte packet"
                       : a->rap[i] >= a->size      ? "within the asset's bytes"
                                                   : "after the entry before it (the index "
                                                     "increases strictly)");
    return 0;
}
