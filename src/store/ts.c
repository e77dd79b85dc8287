/* MPEG-TS scanning for ingest (see include/dsend/ts.h). */
#include "dsend/ts.h"
#include "dsend/error.h"

#include <stdlib.h>
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

/* Where a packet's payload starts (DSEND_TS_PACKET: none). */
static size_t payload_start(const uint8_t *p)
{
    unsigned afc = (p[3] >> 4) & 3;
    if (!(afc & 1))
        return DSEND_TS_PACKET;
    return afc == 3 ? 5u + p[4] : 4u;
}

/* Stream types of video in a PMT (ISO/IEC 13818-1 table 2-34 and the
 * registrations in use): MPEG-1/2, MPEG-4 part 2, H.264, SVC/MVC, HEVC,
 * AVS, Dirac, VC-1. */
static int video_type(unsigned t)
{
    return t == 0x01 || t == 0x02 || t == 0x10 || t == 0x1b || t == 0x1f || t == 0x20 ||
           t == 0x24 || t == 0x42 || t == 0xd1 || t == 0xea;
}

/* What the random-access index needs from PSI and PES headers: the PMT's
 * PID (from the PAT), the PMT's first video PID, and the first PID whose
 * PES stream_id says video.  Sections are read when they start in one
 * packet and fit it (as muxers write PAT and PMT); others are ignored. */
typedef struct psi_state {
    int pmt_pid, pmt_video, pes_video;
} psi_state;

static void note_psi(psi_state *ps, const uint8_t *p)
{
    size_t start = payload_start(p);
    if (!(p[1] & 0x40) || start >= DSEND_TS_PACKET)
        return; /* no unit start here */
    int pid = pid_of(p);
    if (pid != 0 && pid == ps->pmt_pid && ps->pmt_video < 0) {
        size_t sec = start + 1 + p[start];
        if (sec + 12 > DSEND_TS_PACKET || p[sec] != 0x02)
            return;
        size_t end = sec + 3 + (((size_t)p[sec + 1] & 0x0f) << 8 | p[sec + 2]) - 4;
        size_t i = sec + 12 + (((size_t)p[sec + 10] & 0x0f) << 8 | p[sec + 11]);
        if (end > DSEND_TS_PACKET)
            end = DSEND_TS_PACKET;
        for (; i + 5 <= end; i += 5 + (((size_t)p[i + 3] & 0x0f) << 8 | p[i + 4]))
            if (video_type(p[i])) {
                ps->pmt_video = (p[i + 1] & 0x1f) << 8 | p[i + 2];
                return;
            }
    } else if (pid == 0 && ps->pmt_pid < 0) {
        size_t sec = start + 1 + p[start];
        if (sec + 8 > DSEND_TS_PACKET || p[sec] != 0x00)
            return;
        size_t end = sec + 3 + (((size_t)p[sec + 1] & 0x0f) << 8 | p[sec + 2]) - 4;
        if (end > DSEND_TS_PACKET)
            end = DSEND_TS_PACKET;
        for (size_t i = sec + 8; i + 4 <= end; i += 4)
            if ((p[i] << 8 | p[i + 1]) != 0) { /* program 0 names the network PID */
                ps->pmt_pid = (p[i + 2] & 0x1f) << 8 | p[i + 3];
                return;
            }
    } else if (ps->pes_video < 0 && start + 4 <= DSEND_TS_PACKET && p[start] == 0 &&
               p[start + 1] == 0 && p[start + 2] == 1 && (p[start + 3] & 0xf0) == 0xe0) {
        ps->pes_video = pid;
    }
}

/* A packet whose adaptation field sets random_access_indicator. */
static int random_access(const uint8_t *p)
{
    return ((p[3] >> 4) & 2) && p[4] > 0 && (p[5] & 0x40);
}

/* Keep the random-access points of the video PID (pids[i] is rap[i]'s). */
static void keep_video(dsend_ts_info *info, const uint16_t *pids, const psi_state *ps)
{
    info->video_pid = ps->pmt_video >= 0 ? ps->pmt_video : ps->pes_video;
    uint64_t n = 0;
    for (uint64_t i = 0; i < info->nrap; i++)
        if (pids[i] == info->video_pid)
            info->rap[n++] = info->rap[i];
    info->nrap = n;
    if (n == 0) {
        free(info->rap);
        info->rap = NULL;
    }
}

int dsend_ts_scan(const char *name, const uint8_t *buf, size_t len, dsend_ts_info *info)
{
    memset(info, 0, sizeof *info);
    info->pcr_pid = info->video_pid = -1;
    if (len == 0)
        return dsend_seterr(DSEND_EFORMAT, "%s: not an MPEG-TS stream: empty file at byte offset 0",
                            name);
    /* bytes and 27 MHz ticks summed over continuous PCR segments */
    uint64_t seg_bytes = 0, seg_ticks = 0;
    uint64_t last_pcr = 0, last_off = 0;
    int have_last = 0, rc = 0;
    size_t whole = len - len % DSEND_TS_PACKET;
    /* random-access points of every PID (which is video is known later) */
    psi_state ps = {-1, -1, -1};
    uint16_t *pids = NULL;
    uint64_t cap = 0;
    for (size_t off = 0; off < whole; off += DSEND_TS_PACKET) {
        const uint8_t *p = buf + off;
        if (p[0] != DSEND_TS_SYNC) {
            rc = dsend_seterr(DSEND_EFORMAT,
                              "%s: not an MPEG-TS stream: sync byte 0x47 missing (found 0x%02x) "
                              "at byte offset %zu",
                              name, p[0], off);
            goto err;
        }
        uint64_t pcr;
        int r = dsend_ts_packet_pcr(p, &pcr);
        if (r < 0) {
            rc = dsend_seterr(DSEND_EFORMAT,
                              "%s: not an MPEG-TS stream: adaptation field length %u out of "
                              "range at byte offset %zu",
                              name, p[4], off);
            goto err;
        }
        note_pes(info, p);
        note_psi(&ps, p);
        if (random_access(p)) {
            if (info->nrap == cap) {
                uint64_t ncap = cap ? 2 * cap : 256;
                uint64_t *nr = realloc(info->rap, ncap * sizeof *nr);
                if (nr)
                    info->rap = nr;
                uint16_t *np = nr ? realloc(pids, ncap * sizeof *np) : NULL;
                if (!np) {
                    rc = dsend_seterr(DSEND_ENOMEM, "%s: out of memory for the random-access "
                                                    "index", name);
                    goto err;
                }
                pids = np;
                cap = ncap;
            }
            pids[info->nrap] = (uint16_t)pid_of(p);
            info->rap[info->nrap++] = off;
        }
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
    if (whole != len) {
        rc = dsend_seterr(DSEND_EFORMAT,
                          "%s: not an MPEG-TS stream: length %zu is not a multiple of 188 "
                          "(partial packet) at byte offset %zu",
                          name, len, whole);
        goto err;
    }
    keep_video(info, pids, &ps);
    free(pids);
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
err:
    free(pids);
    free(info->rap);
    info->rap = NULL;
    info->nrap = 0;
    return rc;
}
