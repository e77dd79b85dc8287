/* MPEG transport stream (ISO/IEC 13818-1) scanning for ingest.
 *
 * We only need what a VOD server needs to know about a TS file: that it is
 * framed (a 0x47 sync byte every 188 bytes), and its mean bitrate and
 * duration, which come from the PCRs (27 MHz program clock references). */
#ifndef DSEND_TS_H
#define DSEND_TS_H

#include <stddef.h>
#include <stdint.h>

#define DSEND_TS_PACKET 188u
#define DSEND_TS_SYNC 0x47u
/* TS packets per RTP packet (RFC 2250 practice: 7 * 188 = 1316 bytes fits an
 * Ethernet MTU); blocks of TS assets are multiples of this payload. */
#define DSEND_TS_PER_RTP 7u
#define DSEND_TS_RTP_PAYLOAD (DSEND_TS_PACKET * DSEND_TS_PER_RTP)
#define DSEND_TS_MAX_PES 8

typedef struct dsend_ts_info {
    uint64_t packets;      /* number of 188-byte packets */
    int pcr_pid;           /* PID whose PCRs were used, -1 if none found */
    uint64_t pcr_count;    /* PCRs seen on pcr_pid */
    uint64_t bitrate_bps;  /* mean bitrate from PCRs; 0 if < 2 usable PCRs */
    int64_t duration_ns;   /* packets*188*8/bitrate; 0 if bitrate is 0 */
    /* PIDs carrying PES (a payload starting 00 00 01 after a unit start),
     * each as pid | (continuity counter its next packet would carry) << 16:
     * what an end-of-stream marker needs (see doc/serving.md) */
    uint32_t npes;
    uint32_t pes[DSEND_TS_MAX_PES];
    /* Random-access points: byte offsets of the packets of the video PID
     * whose adaptation field sets random_access_indicator (a keyframe
     * starts there), increasing.  The video PID is the one the PMT names
     * with a video stream type; without a PMT, the first PID whose PES
     * stream_id is video (0xE0-0xEF).  Allocated by dsend_ts_scan (NULL if
     * none): free() it. */
    int video_pid;         /* -1 if none found */
    uint64_t nrap;
    uint64_t *rap;
} dsend_ts_info;

/* Scan a whole TS file held in memory.
 * Returns 0 and fills *info, or DSEND_EFORMAT with dsend_seterr() set to
 * "<name>: not an MPEG-TS stream: <what> at byte offset <N>".
 * Checks: len > 0; len is a multiple of 188; every packet starts with 0x47;
 * adaptation field lengths are in range.  The PCR PID is the first PID that
 * carries a PCR.  Bitrate = bytes between the first and last PCR packet on
 * that PID * 8 * 27e6 / (PCR_last - PCR_first), with 33-bit base wrap-around
 * handled; a backwards jump (discontinuity) restarts the measurement segment
 * and segments are summed.  Fewer than 2 PCRs -> bitrate_bps = 0 (the caller
 * then needs --bitrate).  On error info->rap is NULL. */
int dsend_ts_scan(const char *name, const uint8_t *buf, size_t len,
                  dsend_ts_info *info);

/* Extract the 27 MHz PCR from one 188-byte packet. Returns 1 and sets *pcr
 * if the packet carries a PCR, 0 if not, -1 if the packet is malformed. */
int dsend_ts_packet_pcr(const uint8_t *pkt, uint64_t *pcr27);

#endif
