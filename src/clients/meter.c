/* The client meter (include/dsend/meter.h): one code for virtual and real
 * clients.  A packet in order (the next offset of the stream, the plan of
 * the last one) costs no division: its index follows the last one's, and
 * the media clocks of the stream and of playout move by one packet's time. */
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
    m->rate = (double)a->bitrate_bps / 8e9; /* bytes per ns */
    dsend_media_cursor_init(&m->media, a->bitrate_bps);
    dsend_media_cursor_init(&m->play, a->bitrate_bps);
    m->next_off = UINT64_MAX;
    st->startup_ns = -1;
}

/* ---- which packets arrived ---- */

static uint32_t chunk_len(const dsend_meter_plan *p, uint64_t c)
{
    uint64_t left = p->n - (c << DSEND_SEEN_SHIFT);
    return (uint32_t)(left < DSEND_SEEN_CHUNK ? left : DSEND_SEEN_CHUNK);
}

static int seen_test(const dsend_meter_plan *p, uint64_t i)
{
    const dsend_seen_chunk *c = &p->seen[i >> DSEND_SEEN_SHIFT];
    if (!c->bits)
        return c->count != 0;
    uint64_t b = i & (DSEND_SEEN_CHUNK - 1);
    return (int)(c->bits[b / 64] >> (b % 64) & 1);
}

/* Mark packet i seen (it was not); 0, or -1 out of memory. */
static int seen_set(dsend_meter_plan *p, uint64_t i)
{
    uint64_t ci = i >> DSEND_SEEN_SHIFT, b = i & (DSEND_SEEN_CHUNK - 1);
    dsend_seen_chunk *c = &p->seen[ci];
    uint32_t len = chunk_len(p, ci);
    if (c->count + 1 == len) { /* complete: no bits needed */
        free(c->bits);
        c->bits = NULL;
        c->count = len;
        return 0;
    }
    if (!c->bits && !(c->bits = calloc(DSEND_SEEN_CHUNK / 64, sizeof *c->bits)))
        return -1;
    c->bits[b / 64] |= 1ull << (b % 64);
    c->count++;
    return 0;
}

/* Mark packets [i, i + n) seen (none was); 0, or -1 out of memory. */
static int seen_set_range(dsend_meter_plan *p, uint64_t i, uint64_t n)
{
    while (n) {
        uint64_t ci = i >> DSEND_SEEN_SHIFT, b = i & (DSEND_SEEN_CHUNK - 1);
        dsend_seen_chunk *c = &p->seen[ci];
        uint32_t len = chunk_len(p, ci);
        uint64_t take = len - b < n ? len - b : n;
        if (c->count + take == len) { /* complete: no bits needed */
            free(c->bits);
            c->bits = NULL;
            c->count = len;
        } else {
            if (!c->bits && !(c->bits = calloc(DSEND_SEEN_CHUNK / 64, sizeof *c->bits)))
                return -1;
            for (uint64_t x = b; x < b + take;) {
                uint64_t span = 64 - x % 64;
                if (span > b + take - x)
                    span = b + take - x;
                c->bits[x / 64] |= (span < 64 ? (1ull << span) - 1 : ~0ull) << (x % 64);
                x += span;
            }
            c->count += (uint32_t)take;
        }
        i += take;
        n -= take;
    }
    return 0;
}

/* Forget packet i (it was seen); 0, or -1 out of memory. */
static int seen_clear(dsend_meter_plan *p, uint64_t i)
{
    uint64_t ci = i >> DSEND_SEEN_SHIFT, b = i & (DSEND_SEEN_CHUNK - 1);
    dsend_seen_chunk *c = &p->seen[ci];
    if (!c->bits) { /* complete: every bit of the chunk set */
        if (!(c->bits = malloc(DSEND_SEEN_CHUNK / 8)))
            return -1;
        memset(c->bits, 0xff, DSEND_SEEN_CHUNK / 8);
    }
    c->bits[b / 64] &= ~(1ull << (b % 64));
    if (--c->count == 0) {
        free(c->bits);
        c->bits = NULL;
    }
    return 0;
}

/* The fast path's runs in order are noted as one range of packets seen
 * and go into the bits only when something asks (a packet one by one, a
 * cut): a stream in order completes its chunks without touching them. */
static int seen_flush(dsend_meter_plan *p)
{
    int rc = 0;
    if (p->pend_hi > p->pend_lo)
        rc = seen_set_range(p, p->pend_lo, p->pend_hi - p->pend_lo);
    p->pend_lo = p->pend_hi = 0;
    return rc;
}

static void seen_free(dsend_meter_plan *p)
{
    for (uint32_t c = 0; p->seen && c < p->nchunks; c++)
        free(p->seen[c].bits);
    free(p->seen);
    p->seen = NULL;
    p->nchunks = 0;
}

void dsend_meter_free(dsend_meter *m)
{
    for (uint32_t i = 0; i < m->nplans; i++)
        seen_free(&m->plan[i]);
    m->nplans = 0;
}

void dsend_meter_refused(dsend_meter *m)
{
    dsend_meter_free(m); /* nothing was asked for: nothing is missed */
    m->waiting = 0;
    m->st->refused = 1;
}

static int plan_cut(dsend_meter *m, dsend_meter_plan *p, uint64_t hi)
{
    if (hi >= p->hi)
        return 0;
    p->hi = hi > p->lo ? hi : p->lo;
    uint64_t n = dsend_packets_before(m->a, p->hi) - p->k0;
    /* what it received past the cut comes again in the next plan: those
     * copies were the duplicates */
    for (uint64_t i = n; i < p->n; i++)
        if (seen_test(p, i)) {
            if (seen_clear(p, i))
                return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", m->st->client);
            m->st->received--;
            m->st->bytes -= dsend_packet_len(m->a, dsend_packet_offset(m->a, p->k0 + i));
            m->st->duplicate++;
        }
    if (n < p->n)
        p->n = n;
    return 0;
}

int dsend_meter_plan_begin(dsend_meter *m, uint64_t from, uint64_t to, int afresh)
{
    m->gap_prev = -1; /* a new plan's first packet waits for its start, not a gap */
    m->next_off = UINT64_MAX; /* the newest plan decides now */
    if (m->nplans) {
        dsend_meter_plan *prev = &m->plan[m->nplans - 1];
        if (seen_flush(prev))
            return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", m->st->client);
        int rc = afresh /* cut short by a seek: after what it had sent */
                     ? plan_cut(m, prev,
                                prev->max_k < 0
                                    ? prev->lo
                                    : dsend_packet_offset(m->a, (uint64_t)prev->max_k) +
                                          dsend_packet_len(m->a, dsend_packet_offset(
                                                                     m->a, (uint64_t)prev->max_k)))
                     : plan_cut(m, prev, from);
        if (rc)
            return rc;
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
    p->nchunks = (uint32_t)((p->n + DSEND_SEEN_CHUNK - 1) >> DSEND_SEEN_SHIFT);
    p->seen = calloc(p->nchunks ? p->nchunks : 1, sizeof *p->seen);
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
        m->play.valid = 0;
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

void dsend_meter_late_to(dsend_meter *m, int64_t interval, dsend_meter_late_sink sink, void *ctx)
{
    m->late_sink = sink;
    m->late_ctx = ctx;
    m->late_interval = interval;
    m->late_lo = m->late_hi = 0;
    m->late_n = 0;
}

static void late_flush(dsend_meter *m)
{
    if (m->late_n)
        m->late_sink(m->late_ctx, m->late_i, m->late_sum, m->late_n);
    m->late_n = 0;
    m->late_sum = 0;
}

/* A packet with a deadline, into its interval of deadline. */
static void late_note(dsend_meter *m, int64_t deadline, int64_t late)
{
    if (deadline < m->late_lo || deadline >= m->late_hi || !m->late_n) {
        late_flush(m);
        uint64_t i = deadline < 0 ? 0 : (uint64_t)(deadline / m->late_interval);
        m->late_i = i;
        /* every deadline before 0 counts in interval 0, as does [0, interval) */
        m->late_lo = i == 0 ? INT64_MIN : (int64_t)i * m->late_interval;
        m->late_hi = ((int64_t)i + 1) * m->late_interval;
    }
    m->late_sum += late;
    m->late_n++;
}

/* The plan a packet of index k belongs to: the newest asking for it (a
 * real client cannot tell plans apart); nplans if none. */
static uint32_t plan_of(const dsend_meter *m, uint64_t k)
{
    uint32_t pi = m->nplans;
    while (pi-- > 0)
        if (k >= m->plan[pi].k0 && k < m->plan[pi].k0 + m->plan[pi].n)
            return pi;
    return m->nplans;
}

void dsend_meter_packets(dsend_meter *m, const dsend_meter_pkt *pkts, size_t count)
{
    dsend_client_stats *st = m->st;
    const dsend_asset *a = m->a;
    if (m->nplans && seen_flush(&m->plan[m->nplans - 1]))
        m->oom = 1; /* its bits are lost: the caller reports it */
    for (size_t j = 0; j < count; j++) {
        uint64_t offset = pkts[j].offset;
        uint32_t len = pkts[j].len, sender = pkts[j].sender;
        int64_t arrival = pkts[j].arrival;
        m->last_timed = 0;
        /* the next packet in order has the next index; else it is found */
        uint64_t k = offset == m->next_off ? m->next_k : dsend_packet_index(a, offset);
        /* (a payload longer than a packet is no packet of ours) */
        m->next_off = len <= DSEND_PKT_PAYLOAD ? offset + len : UINT64_MAX;
        m->next_k = k + 1;
        uint32_t pi = plan_of(m, k);
        if (pi == m->nplans) {
            st->unexpected++;
            continue;
        }
        dsend_meter_plan *p = &m->plan[pi];
        uint64_t i = k - p->k0;
        if (seen_test(p, i)) {
            st->duplicate++;
            continue;
        }
        if (seen_set(p, i))
            m->oom = 1; /* its bits are lost: the caller reports it */
        if ((int64_t)k < p->max_k)
            st->out_of_order++;
        else
            p->max_k = (int64_t)k;
        st->received++;
        st->bytes += len;
        if (sender != m->last_sender || st->senders == 0) {
            uint32_t s;
            for (s = 0; s < st->senders && s < 64; s++)
                if (m->senders[s] == sender)
                    break;
            if (s == st->senders && s < 64)
                m->senders[st->senders++] = sender;
            m->last_sender = sender;
        }

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
            /* the first packet of a fresh plan: playout of its first byte
             * starts a prebuffer later */
            m->waiting = 0;
            m->anchor_t = arrival + m->prebuffer;
            m->anchor_off = p->lo;
            m->shift = 0;
            m->play.valid = 0;
            if (m->paused) { /* paused while waiting: it starts when resumed */
                m->paused_off = p->lo;
                m->paused_wait = m->prebuffer;
            }
            if (st->startup_ns < 0)
                st->startup_ns = m->anchor_t - st->request_at;
        }
        if (current && !m->waiting && !m->paused) {
            int64_t deadline = offset >= m->anchor_off
                                   ? m->anchor_t + (int64_t)dsend_media_cursor_ns(&m->play, offset - m->anchor_off)
                                   : dsend_media_time(a, m->anchor_off, m->anchor_t, offset);
            int64_t late = arrival - deadline;
            m->sum_lateness += late;
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
            if (m->late_sink)
                late_note(m, deadline, late);
        }
        /* RFC 3550 interarrival jitter; the media clock is the packet's offset */
        int64_t media = (int64_t)dsend_media_cursor_ns(&m->media, offset);
        if (m->have_prev) {
            double d = (double)((arrival - m->prev_arrival) - (media - m->prev_media));
            m->jitter += (fabs(d) - m->jitter) / 16.0;
        }
        m->have_prev = 1;
        m->prev_arrival = arrival;
        m->prev_media = media;
        /* RFC 4445 delay factor: a virtual buffer drained at the media rate,
         * max - min over each 1 s interval */
        double rate = m->rate;
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
}

/* When a smooth run's packets reach the link: its bursts' media times
 * after base's burst, stepped a burst at a time (no division a packet). */
typedef struct run_clock {
    uint64_t ns, rem;   /* the burst's media time: x x 8e9 = bps x ns + rem */
    uint64_t q, r;      /* a burst's: bps x q + r = burst x 1316 x 8e9 */
    uint32_t left;      /* packets of the burst from the next one on */
} run_clock;

static void run_clock_init(run_clock *c, const dsend_asset *a, const dsend_meter_smooth *r,
                           uint64_t o)
{
    uint64_t x = o - r->base;
    c->left = 1;
    if (r->burst > 1) { /* (the bursts of the packet run: dsend_run_depart) */
        x = dsend_burst_start(a, o, r->burst) - dsend_burst_start(a, r->base, r->burst);
        c->left = r->burst - (uint32_t)(o % a->block_size / DSEND_PKT_PAYLOAD % r->burst);
    }
    unsigned __int128 p = (unsigned __int128)x * 8000000000u,
                      s = (unsigned __int128)r->burst * DSEND_PKT_PAYLOAD * 8000000000u;
    c->ns = (uint64_t)(p / a->bitrate_bps);
    c->rem = (uint64_t)(p % a->bitrate_bps);
    c->q = (uint64_t)(s / a->bitrate_bps);
    c->r = (uint64_t)(s % a->bitrate_bps);
}

size_t dsend_meter_run(dsend_meter *m, const dsend_meter_smooth *r, uint64_t *next,
                       dsend_media_cursor *at, int64_t limit, int64_t *link)
{
    dsend_client_stats *st = m->st;
    const dsend_asset *a = m->a;
    uint64_t o = *next;
    /* (a block's end cuts a packet short: packet by packet there) */
    if (o >= r->end || !m->nplans || r->burst < 1 ||
        o / a->block_size != (r->end - 1) / a->block_size)
        return 0;
    run_clock ck;
    run_clock_init(&ck, a, r, o);
    int64_t reach = r->t0 + (int64_t)ck.ns;
    if (reach > r->reach_before || (reach == r->reach_before && !r->tie_first))
        return 0;
    int64_t start = reach > *link ? reach : *link; /* on the link: a FIFO */
    if (m->waiting) {
        /* its first packet starts playout: one by one, then the rest */
        uint32_t len = r->end - o < DSEND_PKT_PAYLOAD ? (uint32_t)(r->end - o) : DSEND_PKT_PAYLOAD;
        int64_t t = start + (len == DSEND_PKT_PAYLOAD ? r->delay : r->delay_last);
        if (t > limit)
            return 0;
        dsend_meter_pkt one = {.offset = o, .len = len, .sender = r->sender, .arrival = t};
        dsend_meter_packets(m, &one, 1);
        *next = o + len;
        *link = t;
        return 1 + dsend_meter_run(m, r, next, at, limit, link);
    }
    /* the whole rest of the run: in order, in the newest plan, unseen */
    uint32_t pi = m->nplans - 1;
    dsend_meter_plan *p = &m->plan[pi];
    uint64_t k = o == m->next_off ? m->next_k : dsend_packet_index(a, o);
    uint64_t cnt = (r->end - o + DSEND_PKT_PAYLOAD - 1) / DSEND_PKT_PAYLOAD;
    /* (none after the highest packet received can have been seen) */
    if (k < p->k0 || k + cnt > p->k0 + p->n || (int64_t)k <= p->max_k)
        return 0;
    if (r->sender != m->last_sender || st->senders == 0) {
        uint32_t s;
        for (s = 0; s < st->senders && s < 64; s++)
            if (m->senders[s] == r->sender)
                break;
        if (s == st->senders && s < 64)
            m->senders[st->senders++] = r->sender;
        m->last_sender = r->sender;
    }
    int playing = !m->paused;
    if (playing && o < m->anchor_off)
        return 0; /* before the playout anchor: one by one */
    /* the state a packet changes, in registers for the run; the stream's
     * and playout's media clocks move one packet's time a packet, the
     * link's clock a burst's time a burst */
    uint64_t bps = a->bitrate_bps, q = m->media.q, qr = m->media.r;
    uint64_t md_ns = dsend_media_cursor_ns(&m->media, o), md_rem = m->media.rem;
    uint64_t pl_ns = 0, pl_rem = 0;
    if (playing) {
        pl_ns = dsend_media_cursor_ns(&m->play, o - m->anchor_off);
        pl_rem = m->play.rem;
    }
    int64_t gap_prev = m->gap_prev, max_gap = (int64_t)st->max_gap_us * 1000;
    int64_t shift = m->shift, max_late = st->max_lateness, anchor_t = m->anchor_t;
    int64_t sum_late = 0; /* this run's (added to the exact total after it) */
    uint64_t nlate = m->nlateness, late_pkts = 0;
    int64_t stall = 0, deadline = 0, late = 0;
    int64_t lb_lo = m->late_lo, lb_hi = m->late_hi, lb_sum = m->late_sum;
    uint64_t lb_n = m->late_n;
    double jitter = m->jitter, vb_min = m->vb_min, vb_max = m->vb_max, rx = m->rx_bytes;
    double rate = m->rate, df_ms = st->df_ms;
    int have_prev = m->have_prev;
    int64_t prev_arrival = m->prev_arrival, prev_media = m->prev_media;
    int64_t first = m->first_arrival, df_start = m->df_start;
    int64_t df_end = first < 0 ? INT64_MIN : df_start + 1000000000;
    uint64_t n = 0, bytes = 0, cur = o; /* the clocks stand at cur */
    for (;;) {
        uint32_t len = r->end - o < DSEND_PKT_PAYLOAD ? (uint32_t)(r->end - o) : DSEND_PKT_PAYLOAD;
        int64_t arrival = start + (len == DSEND_PKT_PAYLOAD ? r->delay : r->delay_last);
        if (arrival > limit)
            break;
        if (playing) {
            if (gap_prev >= 0 && arrival - gap_prev > max_gap) {
                max_gap = (arrival - gap_prev) / 1000 * 1000;
                if (max_gap > (int64_t)UINT32_MAX * 1000)
                    max_gap = (int64_t)UINT32_MAX * 1000;
            }
            gap_prev = arrival;
            deadline = anchor_t + (int64_t)pl_ns;
            late = arrival - deadline;
            sum_late += late;
            if (nlate++ == 0 || late > max_late)
                max_late = late;
            if (late > shift) { /* after its (shifted) playout time: a stall */
                late_pkts++;
                stall += late - shift;
                shift = late;
            }
            if (m->late_sink) {
                if (deadline < lb_lo || deadline >= lb_hi || !lb_n) {
                    m->late_sum = lb_sum;
                    m->late_n = lb_n;
                    late_note(m, deadline, late);
                    lb_lo = m->late_lo;
                    lb_hi = m->late_hi;
                    lb_sum = m->late_sum;
                    lb_n = m->late_n;
                } else {
                    lb_sum += late;
                    lb_n++;
                }
            }
        }
        /* RFC 3550 jitter and RFC 4445 delay factor, as dsend_meter_packets */
        int64_t media = (int64_t)md_ns;
        if (have_prev) {
            double d = (double)((arrival - prev_arrival) - (media - prev_media));
            jitter += (fabs(d) - jitter) / 16.0;
        }
        have_prev = 1;
        prev_arrival = arrival;
        prev_media = media;
        if (arrival >= df_end) {
            if (first < 0) {
                first = df_start = arrival;
                vb_min = vb_max = 0;
            }
            while (arrival >= df_start + 1000000000) {
                double df = (vb_max - vb_min) / rate / 1e6;
                if (df > df_ms)
                    df_ms = df;
                df_start += 1000000000;
                double vb = rx - rate * (double)(df_start - first);
                vb_min = vb_max = vb;
            }
            df_end = df_start + 1000000000;
        }
        double vb = rx - rate * (double)(arrival - first);
        if (vb < vb_min)
            vb_min = vb;
        vb += len;
        if (vb > vb_max)
            vb_max = vb;
        rx += len;
        bytes += len;
        n++;
        o += len;
        if (o >= r->end || len != DSEND_PKT_PAYLOAD)
            break;
        /* the next packet: one packet's media time on the stream's and
         * playout's clocks; on the link, the next of its burst, or the
         * next burst's first */
        md_ns += q;
        pl_ns += q;
        md_rem += qr;
        pl_rem += qr;
        if (md_rem >= bps) {
            md_rem -= bps;
            md_ns++;
        }
        if (pl_rem >= bps) {
            pl_rem -= bps;
            pl_ns++;
        }
        cur = o;
        start = arrival;
        if (--ck.left == 0) {
            ck.left = r->burst;
            ck.ns += ck.q;
            ck.rem += ck.r;
            if (ck.rem >= bps) {
                ck.rem -= bps;
                ck.ns++;
            }
            reach = r->t0 + (int64_t)ck.ns;
            if (reach > r->reach_before || (reach == r->reach_before && !r->tie_first))
                break;
            if (reach > start)
                start = reach;
        }
    }
    if (!n)
        return 0;
    if (r->burst == 1 && at) /* (at: the next packet's media time, kept for the caller) */
        *at = (dsend_media_cursor){.bps = bps, .q = q, .r = qr, .x = cur - r->base,
                                   .ns = ck.ns, .rem = ck.rem, .valid = 1};
    m->media.x = cur;
    m->media.ns = md_ns;
    m->media.rem = md_rem;
    m->media.valid = 1;
    if (playing) {
        m->play.x = cur - m->anchor_off;
        m->play.ns = pl_ns;
        m->play.rem = pl_rem;
        m->play.valid = 1;
    }
    m->late_sum = lb_sum;
    m->late_n = lb_n;
    if (p->pend_hi == p->pend_lo || p->pend_hi != k - p->k0) {
        if (seen_flush(p))
            m->oom = 1;
        p->pend_lo = p->pend_hi = k - p->k0;
    }
    p->pend_hi += n;
    p->max_k = (int64_t)(k + n - 1);
    st->received += n;
    st->bytes += bytes;
    if (playing) {
        m->gap_prev = gap_prev;
        uint64_t us = (uint64_t)max_gap / 1000;
        st->max_gap_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
        m->shift = shift;
        st->max_lateness = max_late;
        m->sum_lateness += sum_late;
        m->nlateness = nlate;
        st->late += late_pkts;
        st->underruns += (uint32_t)late_pkts;
        st->stall_ns += stall;
    }
    m->last_timed = playing;
    m->last_deadline = deadline;
    m->last_lateness = late;
    m->jitter = jitter;
    m->have_prev = have_prev;
    m->prev_arrival = prev_arrival;
    m->prev_media = prev_media;
    m->first_arrival = first;
    m->df_start = df_start;
    m->vb_min = vb_min;
    m->vb_max = vb_max;
    m->rx_bytes = rx;
    st->df_ms = df_ms;
    m->next_off = o;
    m->next_k = k + n;
    *next = o;
    *link = prev_arrival;
    return n;
}

void dsend_meter_packet(dsend_meter *m, uint64_t offset, uint32_t len, int64_t arrival,
                        uint32_t sender)
{
    dsend_meter_pkt p = {.offset = offset, .len = len, .sender = sender, .arrival = arrival};
    dsend_meter_packets(m, &p, 1);
}

void dsend_meter_final(dsend_meter *m)
{
    dsend_client_stats *st = m->st;
    const dsend_asset *a = m->a;
    if (m->late_sink)
        late_flush(m);
    if (m->first_arrival >= 0) {
        double df = (m->vb_max - m->vb_min) / m->rate / 1e6;
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
    st->mean_lateness = m->nlateness ? (int64_t)((double)m->sum_lateness / (double)m->nlateness) : 0;
    st->jitter_ms = m->jitter / 1e6;
    /* TS packets lost per second of media asked for (7 per RTP packet) */
    double media_s = (double)bytes * 8.0 / (double)a->bitrate_bps;
    st->mlr = media_s > 0 ? (double)st->lost * DSEND_TS_PER_RTP / media_s : 0;
}
