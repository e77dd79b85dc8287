/* The client meter (include/dsend/meter.h): one code for virtual and real
 * clients. */
#include "dsend/meter.h"
#include "dsend/core.h"
#include "dsend/error.h"
#include "dsend/ts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dsend_meter_init(dsend_meter *m, const dsend_asset *a, int64_t prebuffer,
                      dsend_client_stats *st)
{
    memset(m, 0, sizeof *m);
    m->a = a;
    m->prebuffer = prebuffer;
    m->st = st;
    m->first_arrival = -1;
    m->gap_prev = -1;
    st->startup_ns = -1;
}

void dsend_meter_free(dsend_meter *m)
{
    for (uint32_t i = 0; i < m->nplans; i++)
        free(m->plan[i].seen);
    m->nplans = 0;
}

void dsend_meter_refused(dsend_meter *m)
{
    dsend_meter_free(m); /* nothing was asked for: nothing is missed */
    m->waiting = 0;
    m->st->refused = 1;
}

static void plan_cut(dsend_meter *m, dsend_meter_plan *p, uint64_t hi)
{
    if (hi >= p->hi)
        return;
    p->hi = hi > p->lo ? hi : p->lo;
    uint64_t n = dsend_packets_before(m->a, p->hi) - p->k0;
    /* what it received past the cut comes again in the next plan: those
     * copies were the duplicates */
    for (uint64_t i = n; i < p->n; i++)
        if (p->seen[i / 8] & (1u << (i % 8))) {
            p->seen[i / 8] &= (uint8_t) ~(1u << (i % 8));
            m->st->received--;
            m->st->bytes -= dsend_packet_len(m->a, dsend_packet_offset(m->a, p->k0 + i));
            m->st->duplicate++;
        }
    if (n < p->n)
        p->n = n;
}

int dsend_meter_plan_begin(dsend_meter *m, uint64_t from, uint64_t to, int afresh)
{
    m->gap_prev = -1; /* a new plan's first packet waits for its start, not a gap */
    if (m->nplans) {
        dsend_meter_plan *prev = &m->plan[m->nplans - 1];
        if (afresh) /* cut short by a seek: after what it had sent */
            plan_cut(m, prev, prev->max_k < 0 ? prev->lo
                                              : dsend_packet_offset(m->a, (uint64_t)prev->max_k) +
                                                    dsend_packet_len(m->a, dsend_packet_offset(
                                                        m->a, (uint64_t)prev->max_k)));
        else
            plan_cut(m, prev, from);
    }
    if (m->nplans == DSEND_METER_PLANS)
        return dsend_seterr(DSEND_EINVAL, "client %u: more than %d plans", m->st->client,
                            DSEND_METER_PLANS);
    if (to > m->a->size)
        to = m->a->size;
    dsend_meter_plan *p = &m->plan[m->nplans];
    memset(p, 0, sizeof *p);
    p->lo = from;
    p->hi = to > from ? to : from;
    p->k0 = dsend_packets_before(m->a, from);
    p->n = dsend_packets_before(m->a, p->hi) - p->k0;
    p->max_k = -1;
    p->afresh = afresh;
    p->seen = calloc(p->n / 8 + 1, 1);
    if (!p->seen)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", m->st->client);
    m->nplans++;
    if (afresh) {
        m->waiting = 1;
        m->shift = 0;
    }
    return 0;
}

/* The byte playing at `now`, and how long playout still waits to start. */
static uint64_t playing(const dsend_meter *m, int64_t now, int64_t *wait)
{
    int64_t t = m->anchor_t + m->shift;
    *wait = t > now ? t - now : 0;
    return m->anchor_off + (now > t ? dsend_media_bytes(m->a, now - t) : 0);
}

void dsend_meter_pause(dsend_meter *m, int64_t now)
{
    if (m->paused)
        return;
    m->paused = 1;
    m->gap_prev = -1;
    m->st->pauses++;
    if (!m->waiting)
        m->paused_off = playing(m, now, &m->paused_wait);
}

void dsend_meter_resume(dsend_meter *m, int64_t now)
{
    if (!m->paused)
        return;
    m->paused = 0;
    if (!m->waiting) {
        m->anchor_t = now + m->paused_wait;
        m->anchor_off = m->paused_off;
        m->shift = 0;
    }
}

void dsend_meter_seek(dsend_meter *m, int64_t now)
{
    (void)now;
    m->st->seeks++;
    m->paused = 0;
    m->gap_prev = -1;
    m->waiting = 1; /* playout stops until the new plan's prebuffer */
}

void dsend_meter_packet(dsend_meter *m, uint64_t offset, uint32_t len, int64_t arrival,
                        uint32_t sender)
{
    dsend_client_stats *st = m->st;
    const dsend_asset *a = m->a;
    m->last_timed = 0;
    /* the newest plan asking for it: a real client cannot tell plans apart */
    uint64_t k = dsend_packet_index(a, offset);
    dsend_meter_plan *p = NULL;
    uint32_t pi = m->nplans;
    while (pi-- > 0)
        if (k >= m->plan[pi].k0 && k < m->plan[pi].k0 + m->plan[pi].n) {
            p = &m->plan[pi];
            break;
        }
    if (!p) {
        st->unexpected++;
        return;
    }
    uint64_t i = k - p->k0;
    if (p->seen[i / 8] & (1u << (i % 8))) {
        st->duplicate++;
        return;
    }
    p->seen[i / 8] |= (uint8_t)(1u << (i % 8));
    if ((int64_t)k < p->max_k)
        st->out_of_order++;
    else
        p->max_k = (int64_t)k;
    st->received++;
    st->bytes += len;
    uint32_t s;
    for (s = 0; s < st->senders && s < 64; s++)
        if (m->senders[s] == sender)
            break;
    if (s == st->senders && s < 64)
        m->senders[st->senders++] = sender;

    int current = pi + 1 == m->nplans;
    if (current && !m->paused) {
        /* the longest silence of a stream going on (a dead sender's gap) */
        if (m->gap_prev >= 0 && arrival - m->gap_prev > (int64_t)st->max_gap_us * 1000) {
            int64_t us = (arrival - m->gap_prev) / 1000;
            st->max_gap_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        }
        m->gap_prev = arrival;
    }
    if (current && m->waiting) {
        /* the first packet of a fresh plan: playout of its first byte starts
         * a prebuffer later */
        m->waiting = 0;
        m->anchor_t = arrival + m->prebuffer;
        m->anchor_off = p->lo;
        m->shift = 0;
        if (m->paused) { /* paused while waiting: it starts when resumed */
            m->paused_off = p->lo;
            m->paused_wait = m->prebuffer;
        }
        if (st->startup_ns < 0)
            st->startup_ns = m->anchor_t - st->request_at;
    }
    if (current && !m->waiting && !m->paused) {
        int64_t deadline = dsend_media_time(a, m->anchor_off, m->anchor_t, offset);
        int64_t late = arrival - deadline;
        m->sum_lateness += (double)late;
        if (m->nlateness++ == 0 || late > st->max_lateness)
            st->max_lateness = late;
        if (late > m->shift) { /* after its (shifted) playout time: a stall */
            st->late++;
            st->underruns++;
            st->stall_ns += late - m->shift;
            m->shift = late;
        }
        m->last_timed = 1;
        m->last_deadline = deadline;
        m->last_lateness = late;
    }
    /* RFC 3550 interarrival jitter; the media clock is the packet's offset */
    int64_t media = dsend_media_time(a, 0, 0, offset);
    if (m->have_prev) {
        double d = (double)((arrival - m->prev_arrival) - (media - m->prev_media));
        m->jitter += (fabs(d) - m->jitter) / 16.0;
    }
    m->have_prev = 1;
    m->prev_arrival = arrival;
    m->prev_media = media;
    /* RFC 4445 delay factor: a virtual buffer drained at the media rate,
     * max - min over each 1 s interval */
    double rate = (double)a->bitrate_bps / 8e9; /* bytes per ns */
    if (m->first_arrival < 0) {
        m->first_arrival = m->df_start = arrival;
        m->vb_min = m->vb_max = 0;
    }
    while (arrival >= m->df_start + 1000000000) {
        double df = (m->vb_max - m->vb_min) / rate / 1e6;
        if (df > st->df_ms)
            st->df_ms = df;
        m->df_start += 1000000000;
        double vb = m->rx_bytes - rate * (double)(m->df_start - m->first_arrival);
        m->vb_min = m->vb_max = vb;
    }
    double vb = m->rx_bytes - rate * (double)(arrival - m->first_arrival);
    if (vb < m->vb_min)
        m->vb_min = vb;
    vb += len;
    if (vb > m->vb_max)
        m->vb_max = vb;
    m->rx_bytes += len;
}

void dsend_meter_final(dsend_meter *m)
{
    dsend_client_stats *st = m->st;
    const dsend_asset *a = m->a;
    if (m->first_arrival >= 0) {
        double rate = (double)a->bitrate_bps / 8e9;
        double df = (m->vb_max - m->vb_min) / rate / 1e6;
        if (df > st->df_ms)
            st->df_ms = df;
    }
    uint64_t bytes = 0;
    st->expected = 0;
    for (uint32_t i = 0; i < m->nplans; i++) {
        st->expected += m->plan[i].n;
        bytes += m->plan[i].hi - m->plan[i].lo;
    }
    st->lost = st->expected > st->received ? st->expected - st->received : 0;
    st->mean_lateness = m->nlateness ? (int64_t)(m->sum_lateness / (double)m->nlateness) : 0;
    st->jitter_ms = m->jitter / 1e6;
    /* TS packets lost per second of media asked for (7 per RTP packet) */
    double media_s = (double)bytes * 8.0 / (double)a->bitrate_bps;
    st->mlr = media_s > 0 ? (double)st->lost * DSEND_TS_PER_RTP / media_s : 0;
}
