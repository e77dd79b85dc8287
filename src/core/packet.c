/* Packets, media time and the checks shared by every part of the core. */
#include "dsend/checksum.h"
#include "dsend/core.h"
#include "dsend/error.h"
#include "dsend/units.h"

#include <string.h>

static uint64_t per_block(const dsend_asset *a)
{
    return (a->block_size + DSEND_PKT_PAYLOAD - 1) / DSEND_PKT_PAYLOAD;
}

uint64_t dsend_packet_index(const dsend_asset *a, uint64_t off)
{
    return off / a->block_size * per_block(a) + off % a->block_size / DSEND_PKT_PAYLOAD;
}

uint64_t dsend_packet_offset(const dsend_asset *a, uint64_t k)
{
    uint64_t ppb = per_block(a);
    return k / ppb * a->block_size + k % ppb * DSEND_PKT_PAYLOAD;
}

uint64_t dsend_packets_before(const dsend_asset *a, uint64_t off)
{
    if (off > a->size)
        off = a->size;
    uint64_t in = off % a->block_size;
    return off / a->block_size * per_block(a) + (in + DSEND_PKT_PAYLOAD - 1) / DSEND_PKT_PAYLOAD;
}

uint32_t dsend_packet_len(const dsend_asset *a, uint64_t off)
{
    uint64_t block_end = (off / a->block_size + 1) * a->block_size;
    if (block_end > a->size)
        block_end = a->size;
    uint64_t left = block_end > off ? block_end - off : 0;
    return (uint32_t)(left < DSEND_PKT_PAYLOAD ? left : DSEND_PKT_PAYLOAD);
}

uint64_t dsend_stream_start(const dsend_asset *a, uint64_t off, uint64_t sub_block)
{
    if (a->nrap == 0)
        return off - off % sub_block;
    uint64_t lo = 0, hi = a->nrap; /* the first point after `off` */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (a->rap[mid] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? dsend_packet_offset(a, dsend_packet_index(a, a->rap[lo - 1])) : 0;
}

uint32_t dsend_burst_packets(const dsend_asset *a, int64_t pace_burst)
{
    uint64_t k = pace_burst > 0 ? dsend_media_bytes(a, pace_burst) / DSEND_PKT_PAYLOAD : 0;
    uint64_t ppb = per_block(a);
    return (uint32_t)(k < 1 ? 1 : k > ppb ? ppb : k);
}

uint64_t dsend_burst_start(const dsend_asset *a, uint64_t off, uint32_t burst)
{
    uint64_t in = off % a->block_size / DSEND_PKT_PAYLOAD;
    return off - off % a->block_size + in / burst * burst * DSEND_PKT_PAYLOAD;
}

/* bytes x 8e9 / bitrate, exactly: in 64 bits while the product fits (the
 * common case, 2.3 GB), else in 128 (a packet's hot path) */
static uint64_t bytes_ns(uint64_t bytes, uint64_t bps)
{
    if (bytes < UINT64_MAX / 8000000000u)
        return bytes * 8000000000u / bps;
    return (uint64_t)((unsigned __int128)bytes * 8000000000u / bps);
}

int64_t dsend_media_time(const dsend_asset *a, uint64_t from, int64_t start, uint64_t off)
{
    /* bytes -> ns at the asset's bitrate; signed for bytes before `from` */
    if (off >= from)
        return start + (int64_t)bytes_ns(off - from, a->bitrate_bps);
    return start - (int64_t)bytes_ns(from - off, a->bitrate_bps);
}

int64_t dsend_run_depart(const dsend_asset *a, uint64_t run_offset, int64_t depart,
                         uint32_t burst, uint64_t off)
{
    if (burst <= 1)
        return dsend_media_time(a, run_offset, depart, off);
    return dsend_media_time(a, dsend_burst_start(a, run_offset, burst), depart,
                            dsend_burst_start(a, off, burst));
}

uint64_t dsend_media_bytes(const dsend_asset *a, int64_t ns)
{
    if (ns <= 0)
        return 0;
    return (uint64_t)((unsigned __int128)(uint64_t)ns * a->bitrate_bps / 8u / 1000000000u);
}

uint32_t dsend_block_subs(const dsend_asset *a, uint64_t b, uint64_t sub_block)
{
    uint64_t len = dsend_asset_block_len(a, b);
    return (uint32_t)((len + sub_block - 1) / sub_block);
}

uint32_t dsend_payload_crc(const dsend_asset *a, uint64_t offset, uint32_t len,
                           const uint8_t *bytes)
{
    if (bytes)
        return dsend_crc32c(0, bytes, len);
    unsigned char id[24];
    uint64_t v[3] = {a->seed, offset, len};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 8; k++)
            id[8 * i + k] = (unsigned char)(v[i] >> (8 * k));
    return dsend_crc32c(0, id, sizeof id);
}

int dsend_check_clock(const dsend_clock *c)
{
    if (!c || !c->name || !c->now || !c->wake)
        return dsend_seterr(DSEND_EINVAL, "clock backend '%s' lacks a method",
                            c && c->name ? c->name : "(unnamed)");
    return 0;
}

int dsend_check_ctrl(const dsend_ctrl *c)
{
    if (!c || !c->name || !c->send_request || !c->announce || !c->backup || !c->heartbeat ||
        !c->adopted)
        return dsend_seterr(DSEND_EINVAL, "control backend '%s' lacks a method",
                            c && c->name ? c->name : "(unnamed)");
    return 0;
}

int dsend_check_emit(const dsend_emit *e)
{
    if (!e || !e->name || !e->packets || !e->cancel || !e->transmit)
        return dsend_seterr(DSEND_EINVAL, "emit backend '%s' lacks a method",
                            e && e->name ? e->name : "(unnamed)");
    return 0;
}

/* "--OPT VALUE: must be between LO and HI", as the option table says it. */
static int duration_range(const char *opt, int64_t v, int64_t lo, int64_t hi)
{
    if (v >= lo && v <= hi)
        return 0;
    char a[32], b[32], c[32];
    return dsend_seterr(DSEND_EINVAL, "--%s %s: must be between %s and %s", opt,
                        dsend_format_duration(v, a, sizeof a), dsend_format_duration(lo, b, sizeof b),
                        dsend_format_duration(hi, c, sizeof c));
}

int dsend_core_params_check(const dsend_core_params *p)
{
    char a[32], b[32];
    int rc;
    if (p->sub_block == 0 || p->sub_block % DSEND_PKT_PAYLOAD != 0)
        return dsend_seterr(DSEND_EINVAL,
                            "--sub-block %llu: a positive multiple of %u bytes (one RTP packet "
                            "of 7 TS packets)",
                            (unsigned long long)p->sub_block, DSEND_PKT_PAYLOAD);
    if (p->sub_block > (uint64_t)DSEND_SUB_BLOCK_MAX)
        return dsend_seterr(DSEND_EINVAL, "--sub-block %llu: at most 64 MiB",
                            (unsigned long long)p->sub_block);
    if (p->nic_bps < (uint64_t)DSEND_LINK_MIN_BPS)
        return dsend_seterr(DSEND_EINVAL, "--nic %s: too slow to send one packet a second",
                            dsend_format_rate(p->nic_bps, a, sizeof a));
    if (p->nic_bps > (uint64_t)DSEND_LINK_MAX_BPS)
        return dsend_seterr(DSEND_EINVAL, "--nic %s: at most %s",
                            dsend_format_rate(p->nic_bps, a, sizeof a),
                            dsend_format_rate((uint64_t)DSEND_LINK_MAX_BPS, b, sizeof b));
    if ((rc = duration_range("startup", p->startup, DSEND_STARTUP_MIN, DSEND_STARTUP_MAX)) ||
        (rc = duration_range("lead", p->lead, DSEND_LEAD_MIN, DSEND_LEAD_MAX)) ||
        (rc = duration_range("tick", p->tick, DSEND_TICK_MIN, DSEND_TICK_MAX)) ||
        (rc = duration_range("pace-lead", p->pace_lead, 0, DSEND_PACE_LEAD_MAX)) ||
        (rc = duration_range("pace-batch", p->pace_batch, DSEND_PACE_BATCH_MIN,
                             DSEND_PACE_BATCH_MAX)) ||
        (rc = duration_range("pace-burst", p->pace_burst, 0, DSEND_PACE_BURST_MAX)) ||
        (rc = duration_range("heartbeat", p->heartbeat, DSEND_HEARTBEAT_MIN,
                             DSEND_HEARTBEAT_MAX)) ||
        (rc = duration_range("detect", p->detect, 0, DSEND_DETECT_MAX)))
        return rc;
    if (p->pace_lead > p->send_ahead)
        return dsend_seterr(DSEND_EINVAL,
                            "--pace-lead %s is above --lead %s: packets would be due before "
                            "their sub-block reaches the pacer",
                            dsend_format_duration(p->pace_lead, a, sizeof a),
                            dsend_format_duration(p->send_ahead, b, sizeof b));
    if (p->detect < 2 * p->heartbeat)
        return dsend_seterr(DSEND_EINVAL,
                            "--detect %s must be at least twice --heartbeat %s (> 0): one late "
                            "heartbeat is not a death",
                            dsend_format_duration(p->detect, a, sizeof a),
                            dsend_format_duration(p->heartbeat, b, sizeof b));
    if (p->look_ahead && p->look_ahead < p->lead)
        return dsend_seterr(DSEND_EINVAL,
                            "--look-ahead %s is below --lead %s: the send request would come "
                            "first (0 turns look-ahead off)",
                            dsend_format_duration(p->look_ahead, a, sizeof a),
                            dsend_format_duration(p->lead, b, sizeof b));
    if (p->admission && !(p->admit_load > 0 && p->admit_load <= 1))
        return dsend_seterr(DSEND_EINVAL, "--admit-load %g: a fraction in (0, 1]", p->admit_load);
    return 0;
}
