/* MPEG-TS scanning for ingest (see include/dsend/ts.h). */
#include "dsend/ts.h"
#include "dsend/error.h"

#include <string.h>

#define PCR_HZ 27000000ull
#define PCR_WRAP ((1ull << 33) * 300ull)
/* consecutive PCRs further apart than this are a discontinuity, not rate */
#define PCR_MAX_GAP (10ull * PCR_HZ)

static int pid_of(const uint8_t *p) { return ((p[1] & 0x1f) << 8) | p[2]; }

int dsend_ts_packet_pcr(const uint8_t *p, uint64_t *pcr27)
{
    if (p[0] != DSEND_TS_SYNC)
        return -1;
    unsigned afc = (p[3] >> 4) & 3;
    if (afc < 2)
        return 0; /* no adaptation field */
    unsigned len = p[4];
    /* afc 2: adaptation field only, fills the packet; afc 3: payload follows */
    if ((afc == 2 && len != 183) || (afc == 3 && len > 182))
        return -1;
    if (len < 7 || !(p[5] & 0x10))
        return 0; /* no PCR flag, or too short to carry one */
    uint64_t base = ((uint64_t)p[6] << 25) | ((uint64_t)p[7] << 17) | ((uint64_t)p[8] << 9) |
                    ((uint64_t)p[9] << 1) | (p[10] >> 7);
    uint64_t ext = ((uint64_t)(p[10] & 1) << 8) | p[11];
    *pcr27 = base * 300 + ext;
    return 1;
}

/* Track PES PIDs and the continuity counter each would carry next. */
static void note_pes(dsend_ts_info *info, const uint8_t *p)
{
    unsigned afc = (p[3] >> 4) & 3;
    if (!(afc & 1))
        return; /* no payload: the counter does not advance */
    uint32_t pid = (uint32_t)pid_of(p), next_cc = (p[3] + 1u) & 15u;
    for (uint32_t i = 0; i < info->npes; i++)
        if ((info->pes[i] & 0xffff) == pid) {
            info->pes[i] = pid | next_cc << 16;
            return;
        }
    size_t start = afc == 3 ? 5u + p[4] : 4u;
    if ((p[1] & 0x40) && start + 3 <= DSEND_TS_PACKET && p[start] == 0 && p[start + 1] == 0 &&
        p[start + 2] == 1 && info->npes < DSEND_TS_MAX_PES)
        info->pes[info->npes++] = pid | next_cc << 16;
}

int dsend_ts_scan(const char *name, const uint8_t *buf, size_t len, dsend_ts_info *info)
{
    memset(info, 0, sizeof *info);
    info->pcr_pid = -1;
    if (len == 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: not an MPEG-TS stream: empty file at byte offset 0",
                            name);
    /* bytes and 27 MHz ticks summed over continuous PCR segments */
    uint64_t seg_bytes = 0, seg_ticks = 0;
    uint64_t last_pcr = 0, last_off = 0;
    int have_last = 0;
    size_t whole = len - len % DSEND_TS_PACKET;
    for (size_t off = 0; off < whole; off += DSEND_TS_PACKET) {
        const uint8_t *p = buf + off;
        if (p[0] != DSEND_TS_SYNC)
            return dsend_seterr(DSEND_EFORMAT,
                                "%s: not an MPEG-TS stream: sync byte 0x47 missing (found 0x%02x) "
                                "at byte offset %zu",
                                name, p[0], off);
        uint64_t pcr;
        int r = dsend_ts_packet_pcr(p, &pcr);
        if (r < 0)
            return dsend_seterr(DSEND_EFORMAT,
                                "%s: not an MPEG-TS stream: adaptation field length %u out of "
                                "range at byte offset %zu",
                                name, p[4], off);
        note_pes(info, p);
        if (r == 0)
            continue;
        int pid = pid_of(p);
        if (info->pcr_pid < 0)
            info->pcr_pid = pid;
        if (pid != info->pcr_pid)
            continue;
        info->pcr_count++;
        if (have_last) {
            uint64_t dt;
            if (pcr >= last_pcr)
                dt = pcr - last_pcr;
            else if (last_pcr - pcr > PCR_WRAP / 2)
                dt = pcr + PCR_WRAP - last_pcr; /* 33-bit base wrapped */
            else
                dt = PCR_MAX_GAP + 1; /* backwards jump: discontinuity */
            if (dt > 0 && dt <= PCR_MAX_GAP) {
                seg_ticks += dt;
                seg_bytes += off - last_off;
            }
        }
        last_pcr = pcr;
        last_off = off;
        have_last = 1;
    }
    if (whole != len)
        return dsend_seterr(DSEND_EFORMAT,
                            "%s: not an MPEG-TS stream: length %zu is not a multiple of 188 "
                            "(partial packet) at byte offset %zu",
                            name, len, whole);
    info->packets = len / DSEND_TS_PACKET;
    if (seg_ticks > 0) {
        /* bytes * 8 bits / (ticks / 27 MHz), rounded */
        unsigned __int128 num = (unsigned __int128)seg_bytes * 8u * PCR_HZ;
        info->bitrate_bps = (uint64_t)((num + seg_ticks / 2) / seg_ticks);
    }
    if (info->bitrate_bps)
        info->duration_ns = (int64_t)((unsigned __int128)len * 8u * 1000000000u /
                                      info->bitrate_bps);
    return 0;
}
