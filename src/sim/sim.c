/* `dsend sim`: devices and virtual clients as logical processes of the
 * discrete-event core; the scheduler and sender are the shared core. */
#include "util/check.h"
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/mpi_util.h"
#include "dsend/ts.h"
#include "dsend/units.h"
#include "sim/sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct sim_world {
    const dsend_sim_config *cfg;
    int D, K, Dr, rank, size;   /* devices, client ranks, device ranks */
    dsend_library lib;
    dsend_layout layout;
    dsend_store *stores;        /* one per device hosted here */
    int ndev;
    dsend_core_params params;
    int64_t *arrival_at;   /* per client */
    double *zipf_cdf;      /* per asset */
    int64_t forced_asset;  /* -1: Zipf */
    uint32_t **exp_crc;    /* client ranks: per stored asset, per sub-block */
    /* client-rank accumulators */
    double *late_sum;
    uint64_t *late_n;
    uint32_t nlate;
    dsend_arrival_rec *trace;
    uint64_t ntrace, captrace;
} sim_world;

/* One plan of a stream: what its scheduler requests between two control
 * requests.  A pause, resume or seek closes a plan and opens the next; the
 * plan number is the epoch every send request and sub-block carries. */
#define MAX_PLANS 4
typedef struct client_plan {
    uint64_t lo, hi;        /* bytes [lo, hi) */
    uint64_t first_sub, nsubs;
    uint8_t *seen;
    int64_t max_index;
} client_plan;

typedef struct sim_client {
    sim_world *w;
    dsend_client_stats st;
    uint64_t from, to;      /* the session */
    client_plan plan[MAX_PLANS];
    uint32_t nplans;
    int paused;
    int64_t pause_at, pause_len, seek_at; /* workload; -1: none */
    uint64_t seek_to;
    int64_t link_free;
    int64_t first_arrival;
    int64_t shift;          /* playout stall so far */
    double sum_lateness;
    uint64_t nlateness;
    double jitter;          /* ns */
    int have_prev;
    int64_t prev_arrival, prev_media;
    int64_t df_start;       /* current 1 s interval */
    double vb_min, vb_max;
    uint64_t rx_bytes;
} sim_client;

static int lp_rank(uint32_t lp, const void *arg)
{
    const sim_world *w = arg;
    /* devices dealt over the device ranks, clients over the client ranks */
    return lp < (uint32_t)w->D ? (int)(lp % (uint32_t)w->Dr)
                               : w->Dr + (int)((lp - (uint32_t)w->D) % (uint32_t)w->K);
}

/* The least delay from an event to anything it can cause at another LP
 * (directly or through the LP's own follow-up events). */
static int64_t sim_lookahead(uint32_t lp, uint32_t type, const void *arg)
{
    const sim_world *w = arg;
    (void)lp;
    switch (type) {
    case EV_CLIENT_ARRIVE: /* -> start request */
    case EV_CLIENT_PAUSE:  /* -> control request */
    case EV_CLIENT_RESUME:
    case EV_CLIENT_SEEK:
    case EV_START:         /* -> planning round -> send requests */
    case EV_SCHED_TICK:
    case EV_PAUSE:         /* -> reply, planning round */
    case EV_RESUME:
    case EV_SEEK:
        return w->cfg->ctrl_latency;
    case EV_SEND_REQUEST:  /* -> sender -> sub-blocks */
    case EV_SENDER_WAKE:
        return w->cfg->data_latency;
    default:               /* a client receiving causes nothing elsewhere */
        return DSEND_TIME_INF;
    }
}

static double unit(uint64_t seed, uint64_t a, uint64_t b)
{
    return (double)(dsend_mix64(seed ^ dsend_mix64(a ^ dsend_mix64(b))) >> 11) * 0x1p-53;
}

/* Sub-block number of byte `off` within its asset. */
static uint64_t sub_index(const dsend_asset *a, uint64_t off, uint64_t sub)
{
    uint64_t per_block = (a->block_size + sub - 1) / sub;
    return off / a->block_size * per_block + off % a->block_size / sub;
}

/* ------------------------------------------------------------ devices */

static void device_account(void *ctx, int64_t at, uint64_t bytes, uint32_t queue)
{
    sim_device *d = ctx;
    uint64_t i = (uint64_t)(at / d->cfg->interval);
    if (i >= d->nseries) {
        uint32_t n = d->nseries ? d->nseries : 64;
        while (n <= i)
            n *= 2;
        uint64_t *b = realloc(d->series_bytes, n * sizeof *b);
        uint32_t *q = realloc(d->series_queue, n * sizeof *q);
        if (!b || !q) {
            free(b ? b : d->series_bytes);
            free(q ? q : d->series_queue);
            d->series_bytes = NULL;
            d->series_queue = NULL;
            d->nseries = 0;
            return; /* accounting is best effort; the run goes on */
        }
        memset(b + d->nseries, 0, (n - d->nseries) * sizeof *b);
        memset(q + d->nseries, 0, (n - d->nseries) * sizeof *q);
        d->series_bytes = b;
        d->series_queue = q;
        d->nseries = n;
    }
    d->series_bytes[i] += bytes;
    if (queue > d->series_queue[i])
        d->series_queue[i] = queue;
}

static int device_init(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

static int device_event(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    sim_device *d = lp->state;
    switch (ev->type) {
    case EV_START: {
        ev_start s;
        memcpy(&s, ev->payload, sizeof s);
        return dsend_scheduler_start(&d->sched, s.client, s.asset, s.from, s.to);
    }
    case EV_SCHED_TICK:
        /* a round superseded by an earlier one is stale */
        return ev->ts == d->sched.next_tick ? dsend_scheduler_tick(&d->sched) : 0;
    case EV_SEND_REQUEST: {
        dsend_send_request rq;
        memcpy(&rq, ev->payload, sizeof rq);
        d->requests_received++;
        return dsend_sender_submit(&d->sender, &rq);
    }
    case EV_SENDER_WAKE:
        return dsend_sender_run(&d->sender);
    case EV_PAUSE:
    case EV_RESUME:
    case EV_SEEK: {
        ev_ctrl m;
        memcpy(&m, ev->payload, sizeof m);
        int rc = ev->type == EV_PAUSE
                     ? dsend_scheduler_pause(&d->sched, m.client, &m.planned_to)
                 : ev->type == EV_RESUME
                     ? dsend_scheduler_resume(&d->sched, m.client, &m.planned_to, &m.epoch)
                     : dsend_scheduler_seek(&d->sched, m.client, m.offset, &m.planned_to, &m.from,
                                            &m.epoch);
        if (rc)
            return rc;
        dsend_event out;
        memset(&out, 0, sizeof out);
        out.ts = ev->ts + d->cfg->ctrl_latency;
        out.dst_lp = d->nclients_lp0 + m.client;
        out.type = EV_CTRL_REPLY;
        memcpy(out.payload, &m, sizeof m);
        return dsend_des_send(des, lp, &out);
    }
    default:
        return dsend_seterr(DSEND_EINVAL, "device %u: unexpected event type %u", lp->id, ev->type);
    }
}

static int device_final(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

static const dsend_lptype device_lptype = {
    .name = "device",
    .init = device_init,
    .event = device_event,
    .final = device_final,
};

/* ------------------------------------------------------------ clients */

static int plan_open(sim_client *c, uint64_t lo, uint64_t hi)
{
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    uint64_t sub = c->w->cfg->sub_block;
    if (c->nplans == MAX_PLANS)
        return dsend_seterr(DSEND_EINVAL, "client %u: more than %d plans", c->st.client, MAX_PLANS);
    client_plan *p = &c->plan[c->nplans];
    p->lo = lo - lo % sub;
    p->hi = hi;
    p->first_sub = sub_index(a, p->lo, sub);
    p->nsubs = hi > p->lo ? sub_index(a, hi - 1, sub) + 1 - p->first_sub : 0;
    p->max_index = -1;
    p->seen = calloc(p->nsubs / 8 + 1, 1);
    if (!p->seen)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", c->st.client);
    c->nplans++;
    return 0;
}

/* The scheduler says where the current plan stopped: nothing after it. */
static void plan_close(sim_client *c, uint64_t planned_to)
{
    client_plan *p = &c->plan[c->nplans - 1];
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    uint64_t sub = c->w->cfg->sub_block;
    if (planned_to < p->hi) {
        p->hi = planned_to;
        p->nsubs = p->hi > p->lo ? sub_index(a, p->hi - 1, sub) + 1 - p->first_sub : 0;
    }
}

static int self_event(dsend_des *des, dsend_lp *lp, int64_t ts, uint32_t type)
{
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = ts;
    ev.dst_lp = lp->id;
    ev.type = type;
    return dsend_des_send(des, lp, &ev);
}

static int client_init(dsend_lp *lp, dsend_des *des)
{
    sim_client *c = lp->state;
    int rc = self_event(des, lp, c->st.request_at, EV_CLIENT_ARRIVE);
    if (rc == 0 && c->pause_at >= 0)
        rc = self_event(des, lp, c->pause_at, EV_CLIENT_PAUSE);
    if (rc == 0 && c->seek_at >= 0)
        rc = self_event(des, lp, c->seek_at, EV_CLIENT_SEEK);
    return rc;
}

static int send_ctrl(sim_client *c, dsend_des *des, dsend_lp *lp, uint32_t kind, int64_t now)
{
    dsend_event out;
    memset(&out, 0, sizeof out);
    out.ts = now + c->w->cfg->ctrl_latency;
    out.dst_lp = c->st.scheduler;
    out.type = kind;
    ev_ctrl m = {.client = c->st.client, .kind = kind, .offset = c->seek_to};
    memcpy(out.payload, &m, sizeof m);
    return dsend_des_send(des, lp, &out);
}

static int client_reply(sim_client *c, const ev_ctrl *m)
{
    if (m->kind == EV_PAUSE) {
        plan_close(c, m->planned_to);
        return 0;
    }
    plan_close(c, m->planned_to);
    if (m->epoch != c->nplans)
        return dsend_seterr(DSEND_EINVAL, "client %u: plan %u announced, expected %u",
                            c->st.client, m->epoch, c->nplans);
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    uint64_t lo = m->kind == EV_RESUME ? m->planned_to : m->from;
    if (m->kind == EV_SEEK && lo >= c->to)
        c->to = a->size; /* a seek past the session's end plays on, as the scheduler does */
    uint64_t hi = c->to;
    c->paused = 0;
    c->shift = 0; /* a new plan, new deadlines */
    return plan_open(c, lo, hi);
}

static int note_lateness(sim_world *w, int64_t deadline, int64_t lateness)
{
    uint64_t i = deadline < 0 ? 0 : (uint64_t)(deadline / w->cfg->interval);
    if (i >= w->nlate) {
        uint32_t n = w->nlate ? w->nlate : 64;
        while (n <= i)
            n *= 2;
        double *s = realloc(w->late_sum, n * sizeof *s);
        if (s)
            w->late_sum = s;
        uint64_t *k = realloc(w->late_n, n * sizeof *k);
        if (k)
            w->late_n = k;
        if (!s || !k)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for the lateness series");
        memset(w->late_sum + w->nlate, 0, (n - w->nlate) * sizeof *s);
        memset(w->late_n + w->nlate, 0, (n - w->nlate) * sizeof *k);
        w->nlate = n;
    }
    w->late_sum[i] += (double)lateness;
    w->late_n[i]++;
    return 0;
}

/* A sub-block reaches the client's access link: lost, or queued on the
 * link (a FIFO at its rate) plus jitter; the client sees it complete later,
 * as an event of its own, so every measurement runs in arrival order. */
static int client_ingress(sim_client *c, dsend_des *des, dsend_lp *lp, const dsend_event *ev)
{
    const dsend_sim_config *cfg = c->w->cfg;
    dsend_sub_block sb;
    memcpy(&sb, ev->payload, sizeof sb);
    /* random loss on the data network: a function of the sub-block's identity */
    if (cfg->loss > 0 && unit(cfg->seed ^ 0x1055, c->st.client, sb.offset) < cfg->loss)
        return 0;
    int64_t start = ev->ts > c->link_free ? ev->ts : c->link_free;
    c->link_free = start + dsend_wire_ns(sb.len, cfg->client_bps);
    dsend_event rx = *ev;
    rx.ts = c->link_free;
    if (cfg->jitter > 0)
        rx.ts += (int64_t)(unit(cfg->seed ^ 0x717e, c->st.client, sb.offset) * (double)cfg->jitter);
    rx.dst_lp = lp->id;
    rx.type = EV_CLIENT_RECEIVE;
    return dsend_des_send(des, lp, &rx);
}

static int client_sub_block(sim_client *c, const dsend_sub_block *sb, int64_t arrival)
{
    sim_world *w = c->w;
    const dsend_sim_config *cfg = w->cfg;
    const dsend_asset *a = &w->lib.assets[sb->asset];
    client_plan *p = sb->epoch < c->nplans ? &c->plan[sb->epoch] : NULL;
    int64_t idx = p ? (int64_t)sub_index(a, sb->offset, cfg->sub_block) - (int64_t)p->first_sub : -1;
    if (sb->client != c->st.client || sb->asset != c->st.asset || idx < 0 ||
        (uint64_t)idx >= p->nsubs)
        return dsend_seterr(DSEND_EINVAL, "client %u received a sub-block it never asked for "
                                          "(asset %u offset %llu plan %u)",
                            c->st.client, sb->asset, (unsigned long long)sb->offset, sb->epoch);
    if (p->seen[idx / 8] & (1u << (idx % 8))) {
        c->st.duplicate++;
        return 0;
    }
    p->seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
    if (idx < p->max_index)
        c->st.out_of_order++;
    else
        p->max_index = idx;
    /* end-to-end integrity: the checksum the library implies */
    uint32_t want = a->kind == DSEND_ASSET_MPEGTS
                        ? w->exp_crc[sb->asset][sub_index(a, sb->offset, cfg->sub_block)]
                        : dsend_sub_block_crc(a, sb->offset, sb->len, NULL);
    if (want != sb->crc32c)
        c->st.crc_errors++;
    c->st.received++;
    c->st.bytes += sb->len;
    if (c->first_arrival < 0) {
        c->first_arrival = arrival;
        c->st.startup_ns = arrival - c->st.request_at;
        c->df_start = arrival;
        c->vb_min = c->vb_max = 0;
    }
    /* lateness against the scheduler's plan, and the playout buffer; a
     * superseded plan's deadlines mean nothing once the viewer paused or
     * jumped, so only the current plan's sub-blocks count */
    if (sb->epoch + 1 == c->nplans && !c->paused) {
        int64_t late = arrival - sb->deadline;
        c->sum_lateness += (double)late;
        c->nlateness++;
        if (late > 0)
            c->st.late++;
        if (c->nlateness == 1 || late > c->st.max_lateness)
            c->st.max_lateness = late;
        if (late > c->shift) {
            c->st.underruns++;
            c->st.stall_ns += late - c->shift;
            c->shift = late;
        }
        int rc = note_lateness(w, sb->deadline, late);
        if (rc)
            return rc;
    }
    /* RFC 3550 interarrival jitter, media time = playout deadline */
    if (c->have_prev) {
        double D = (double)((arrival - c->prev_arrival) - (sb->deadline - c->prev_media));
        c->jitter += (fabs(D) - c->jitter) / 16.0;
    }
    c->have_prev = 1;
    c->prev_arrival = arrival;
    c->prev_media = sb->deadline;
    /* RFC 4445 delay factor: virtual buffer against a drain at the media
     * rate, max - min over each 1 s interval */
    double rate = (double)a->bitrate_bps / 8e9; /* bytes per ns */
    while (arrival >= c->df_start + 1000000000) {
        double df = (c->vb_max - c->vb_min) / rate / 1e6;
        if (df > c->st.df_ms)
            c->st.df_ms = df;
        c->df_start += 1000000000;
        double vb = (double)c->rx_bytes - rate * (double)(c->df_start - c->first_arrival);
        c->vb_min = c->vb_max = vb;
    }
    double vb = (double)c->rx_bytes - rate * (double)(arrival - c->first_arrival);
    if (vb < c->vb_min)
        c->vb_min = vb;
    vb += sb->len;
    if (vb > c->vb_max)
        c->vb_max = vb;
    c->rx_bytes += sb->len;
    if (cfg->trace) {
        if (w->ntrace == w->captrace) {
            uint64_t cap = w->captrace ? 2 * w->captrace : 4096;
            void *grown = realloc(w->trace, cap * sizeof *w->trace);
            if (!grown)
                return dsend_seterr(DSEND_ENOMEM, "out of memory for the --trace records");
            w->trace = grown;
            w->captrace = cap;
        }
        w->trace[w->ntrace++] = (dsend_arrival_rec){
            .client = sb->client, .asset = sb->asset, .device = sb->device, .len = sb->len,
            .offset = sb->offset, .sent = sb->sent, .arrival = arrival, .deadline = sb->deadline};
    }
    return 0;
}

static int client_event(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    sim_client *c = lp->state;
    switch (ev->type) {
    case EV_CLIENT_ARRIVE: {
        dsend_event out;
        memset(&out, 0, sizeof out);
        out.ts = ev->ts + c->w->cfg->ctrl_latency;
        out.dst_lp = c->st.scheduler;
        out.type = EV_START;
        ev_start s = {.client = c->st.client, .asset = c->st.asset, .from = c->from,
                      .to = c->to, .request_at = ev->ts};
        memcpy(out.payload, &s, sizeof s);
        return dsend_des_send(des, lp, &out);
    }
    case EV_CLIENT_PAUSE: {
        c->paused = 1;
        c->st.pauses++;
        int rc = send_ctrl(c, des, lp, EV_PAUSE, ev->ts);
        return rc ? rc : self_event(des, lp, ev->ts + c->pause_len, EV_CLIENT_RESUME);
    }
    case EV_CLIENT_RESUME:
        return send_ctrl(c, des, lp, EV_RESUME, ev->ts);
    case EV_CLIENT_SEEK:
        c->st.seeks++;
        return send_ctrl(c, des, lp, EV_SEEK, ev->ts);
    case EV_CTRL_REPLY: {
        ev_ctrl m;
        memcpy(&m, ev->payload, sizeof m);
        return client_reply(c, &m);
    }
    case EV_SUB_BLOCK:
        return client_ingress(c, des, lp, ev);
    case EV_CLIENT_RECEIVE: {
        dsend_sub_block sb;
        memcpy(&sb, ev->payload, sizeof sb);
        return client_sub_block(c, &sb, ev->ts);
    }
    default:
        return dsend_seterr(DSEND_EINVAL, "client LP %u: unexpected event type %u", lp->id,
                            ev->type);
    }
}

static int client_final(dsend_lp *lp, dsend_des *des)
{
    (void)des;
    sim_client *c = lp->state;
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    if (c->first_arrival >= 0) {
        double rate = (double)a->bitrate_bps / 8e9;
        double df = (c->vb_max - c->vb_min) / rate / 1e6;
        if (df > c->st.df_ms)
            c->st.df_ms = df;
    }
    uint64_t bytes = 0;
    c->st.expected = 0;
    for (uint32_t i = 0; i < c->nplans; i++) {
        c->st.expected += c->plan[i].nsubs;
        bytes += c->plan[i].hi > c->plan[i].lo ? c->plan[i].hi - c->plan[i].lo : 0;
    }
    c->st.lost = c->st.expected - c->st.received;
    c->st.mean_lateness = c->nlateness ? (int64_t)(c->sum_lateness / (double)c->nlateness) : 0;
    c->st.jitter_ms = c->jitter / 1e6;
    double media_s = (double)bytes * 8.0 / (double)a->bitrate_bps;
    double per_sub = (double)c->w->cfg->sub_block / DSEND_TS_PACKET;
    c->st.mlr = media_s > 0 ? (double)c->st.lost * per_sub / media_s : 0;
    return 0;
}

static const dsend_lptype client_lptype = {
    .name = "client",
    .init = client_init,
    .event = client_event,
    .final = client_final,
};

/* ------------------------------------------------------------ workload */

static int make_workload(sim_world *w)
{
    const dsend_sim_config *cfg = w->cfg;
    uint64_t C = (uint64_t)cfg->clients;
    w->arrival_at = malloc(C * sizeof *w->arrival_at);
    w->zipf_cdf = malloc(w->lib.nassets * sizeof *w->zipf_cdf);
    if (!w->arrival_at || !w->zipf_cdf)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for %llu clients",
                            (unsigned long long)C);
    double t = 0;
    for (uint64_t c = 0; c < C; c++) {
        switch (cfg->arrival) {
        case DSEND_ARRIVAL_ALL:
            w->arrival_at[c] = 0;
            break;
        case DSEND_ARRIVAL_STAGGERED:
            w->arrival_at[c] = (int64_t)((unsigned __int128)c * (uint64_t)cfg->arrival_window / C);
            break;
        case DSEND_ARRIVAL_POISSON:
            t += -log(1.0 - unit(cfg->seed ^ 0xa77, c, 0)) / cfg->arrival_rate * 1e9;
            w->arrival_at[c] = (int64_t)t;
            break;
        }
    }
    double sum = 0;
    for (uint32_t a = 0; a < w->lib.nassets; a++) {
        sum += cfg->zipf > 0 ? pow((double)a + 1, -cfg->zipf) : 1.0;
        w->zipf_cdf[a] = sum;
    }
    for (uint32_t a = 0; a < w->lib.nassets; a++)
        w->zipf_cdf[a] /= sum;
    return 0;
}

static void client_session(const sim_world *w, uint32_t c, uint32_t *asset, uint64_t *from,
                           uint64_t *to)
{
    const dsend_sim_config *cfg = w->cfg;
    if (w->forced_asset >= 0) {
        *asset = (uint32_t)w->forced_asset;
    } else {
        double u = unit(cfg->seed ^ 0x21bf, c, 1);
        uint32_t lo = 0, hi = w->lib.nassets - 1;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (w->zipf_cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        *asset = lo;
    }
    const dsend_asset *a = &w->lib.assets[*asset];
    *from = 0;
    *to = a->size;
    if (cfg->session_max > 0) {
        double u = unit(cfg->seed ^ 0x5e55, c, 2);
        int64_t dur = cfg->session_min + (int64_t)(u * (double)(cfg->session_max - cfg->session_min));
        uint64_t bytes = (uint64_t)((unsigned __int128)(uint64_t)dur * a->bitrate_bps / 8u /
                                    1000000000u);
        if (bytes < cfg->sub_block)
            bytes = cfg->sub_block;
        if (bytes < *to)
            *to = bytes;
    }
}

/* When a client pauses and seeks, if it does: functions of (seed, client). */
static void client_controls(const sim_world *w, sim_client *c)
{
    const dsend_sim_config *cfg = w->cfg;
    const dsend_asset *a = &w->lib.assets[c->st.asset];
    uint32_t id = c->st.client;
    double media = (double)(c->to - c->from) * 8e9 / (double)a->bitrate_bps;
    int64_t play = c->st.request_at + cfg->ctrl_latency + cfg->startup;
    c->pause_at = c->seek_at = -1;
    c->pause_len = 0;
    if (cfg->pause_prob > 0 && unit(cfg->seed ^ 0xa05e, id, 1) < cfg->pause_prob) {
        c->pause_at = play + (int64_t)((0.2 + 0.3 * unit(cfg->seed ^ 0xa05e, id, 2)) * media);
        c->pause_len = cfg->pause_min + (int64_t)(unit(cfg->seed ^ 0xa05e, id, 3) *
                                                  (double)(cfg->pause_max - cfg->pause_min));
        if (c->pause_len < 1)
            c->pause_len = 1;
    }
    if (cfg->seek_prob > 0 && unit(cfg->seed ^ 0x5eec, id, 1) < cfg->seek_prob) {
        c->seek_at = play + c->pause_len +
                     (int64_t)((0.55 + 0.25 * unit(cfg->seed ^ 0x5eec, id, 2)) * media);
        c->seek_to = (uint64_t)(unit(cfg->seed ^ 0x5eec, id, 3) * (double)a->size);
    }
}

/* ------------------------------------------------------------ set-up */

static int check_config(const dsend_sim_config *cfg, int size)
{
    int Dr = size - cfg->client_ranks;
    int D = cfg->devices ? cfg->devices : Dr;
    if (cfg->client_ranks < 1)
        return dsend_seterr(DSEND_EINVAL, "--client-ranks %d: at least one rank hosts the clients",
                            cfg->client_ranks);
    if (cfg->client_ranks >= size)
        return dsend_seterr(DSEND_EINVAL,
                            "no device rank: mpirun -np %d with --client-ranks %d leaves none "
                            "(use -np %d or more)",
                            size, cfg->client_ranks, cfg->client_ranks + 1);
    if (cfg->clients < 1)
        return dsend_seterr(DSEND_EINVAL, "--clients %lld: need at least one client",
                            (long long)cfg->clients);
    if (D < Dr || D > DSEND_MAX_DEVICES)
        return dsend_seterr(DSEND_EINVAL, "--devices %d: must be between the %d device ranks and %d",
                            D, Dr, DSEND_MAX_DEVICES);
    if (cfg->replicas > D)
        return dsend_seterr(DSEND_EINVAL, "--replicas %d: must not exceed the %d devices",
                            cfg->replicas, D);
    if (cfg->ctrl_latency <= 0 || cfg->data_latency <= 0)
        return dsend_seterr(DSEND_EINVAL, "--ctrl-latency and --data-latency must be > 0 (the "
                                          "smaller one is the lookahead)");
    int64_t minlat = cfg->ctrl_latency < cfg->data_latency ? cfg->ctrl_latency : cfg->data_latency;
    if (cfg->lookahead > minlat) {
        char a[32], b[32];
        return dsend_seterr(DSEND_EINVAL,
                            "--lookahead %s is above the smallest modelled latency (%s): "
                            "events would land inside a window",
                            dsend_format_duration(cfg->lookahead, a, sizeof a),
                            dsend_format_duration(minlat, b, sizeof b));
    }
    if (cfg->sub_block < DSEND_TS_PACKET)
        return dsend_seterr(DSEND_EINVAL, "--sub-block %llu: at least %u bytes",
                            (unsigned long long)cfg->sub_block, DSEND_TS_PACKET);
    if (cfg->startup <= 0 || cfg->lead <= 0 || cfg->tick <= 0 || cfg->interval <= 0)
        return dsend_seterr(DSEND_EINVAL, "--startup, --lead, --tick and --interval must be > 0");
    if (cfg->nic_bps == 0 || cfg->client_bps == 0)
        return dsend_seterr(DSEND_EINVAL, "--nic and --client-link must be > 0");
    if (cfg->loss < 0 || cfg->loss >= 1)
        return dsend_seterr(DSEND_EINVAL, "--loss %g: a probability in [0, 1)", cfg->loss);
    if (cfg->arrival == DSEND_ARRIVAL_POISSON && !(cfg->arrival_rate > 0))
        return dsend_seterr(DSEND_EINVAL, "--arrival poisson needs --arrival-rate > 0");
    if (cfg->session_min > cfg->session_max || cfg->pause_min > cfg->pause_max)
        return dsend_seterr(DSEND_EINVAL, "--session and --pause-length: need MIN <= MAX");
    if (cfg->pause_prob < 0 || cfg->pause_prob > 1 || cfg->seek_prob < 0 || cfg->seek_prob > 1)
        return dsend_seterr(DSEND_EINVAL, "--pause and --seek: probabilities in [0, 1]");
    return 0;
}

/* Client ranks: the checksum of every sub-block of every stored asset,
 * from the library's bytes, to check what arrives. */
static int expected_crcs(sim_world *w)
{
    int rc = 0;
    uint64_t sub = w->cfg->sub_block;
    uint8_t *buf = NULL;
    w->exp_crc = calloc(w->lib.nassets, sizeof *w->exp_crc);
    if (!w->exp_crc)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < w->lib.nassets; i++) {
        const dsend_asset *a = &w->lib.assets[i];
        if (a->kind != DSEND_ASSET_MPEGTS)
            continue;
        hid_t d = -1;
        char path[DSEND_NAME_MAX + 32];
        uint64_t n = sub_index(a, a->size - 1, sub) + 1;
        w->exp_crc[i] = calloc(n, sizeof **w->exp_crc);
        buf = malloc(a->size);
        if (!w->exp_crc[i] || !buf) {
            free(buf);
            return dsend_seterr(DSEND_ENOMEM, "out of memory for asset '%s'", a->name);
        }
        snprintf(path, sizeof path, "assets/%s/data", a->name);
        H5_CHECK(d = H5Dopen2(w->lib.file, path, H5P_DEFAULT));
        H5_CHECK(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf));
        H5Dclose(d);
        d = -1;
        for (uint64_t b = 0; b < a->blocks; b++) {
            uint64_t base = b * a->block_size, blen = dsend_asset_block_len(a, b);
            for (uint64_t o = 0; o < blen; o += sub) {
                uint32_t len = (uint32_t)(blen - o < sub ? blen - o : sub);
                w->exp_crc[i][sub_index(a, base + o, sub)] =
                    dsend_sub_block_crc(a, base + o, len, buf + base + o);
            }
        }
        free(buf);
        buf = NULL;
        continue;
    err:
        if (d >= 0)
            H5Dclose(d);
        free(buf);
        return rc;
    }
    return 0;
}

static void progress_line(void *arg, int64_t now, uint64_t events)
{
    const double *start = arg;
    double wall = MPI_Wtime() - start[0];
    fprintf(stderr, "\rdsend sim: t=%.1f s of %.0f s simulated, %.2f M events on rank 0, %.1f s wall",
            (double)now / 1e9, start[1] / 1e9, (double)events / 1e6, wall);
    if (start[1] > 0 && now > 0)
        fprintf(stderr, ", ETA %.0f s  ", wall * (start[1] - (double)now) / (double)now);
    fflush(stderr);
}

static void world_free(sim_world *w)
{
    if (w->exp_crc)
        for (uint32_t i = 0; i < w->lib.nassets; i++)
            free(w->exp_crc[i]);
    free(w->exp_crc);
    free(w->arrival_at);
    free(w->zipf_cdf);
    free(w->late_sum);
    free(w->late_n);
    free(w->trace);
    for (int i = 0; i < w->ndev && w->stores; i++)
        dsend_store_free(&w->stores[i]);
    free(w->stores);
    dsend_layout_close(&w->layout);
    if (w->lib.file >= 0 || w->lib.assets)
        dsend_library_close(&w->lib);
}

void dsend_sim_result_free(dsend_sim_result *r)
{
    free(r->clients);
    free(r->devs);
    free(r->series_bytes);
    free(r->series_queue);
    free(r->late_mean_ns);
    free(r->late_count);
    free(r->arrivals);
    memset(r, 0, sizeof *r);
}

static int cmp_arrival(const void *x, const void *y)
{
    const dsend_arrival_rec *a = x, *b = y;
    if (a->client != b->client)
        return a->client < b->client ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
}

/* Gather variable-length byte arrays to rank 0. */
static int gather_bytes(MPI_Comm comm, const void *mine, uint64_t n, void **all, uint64_t *total)
{
    int rc = 0, size, rank;
    MPI_Comm_size(comm, &size);
    MPI_Comm_rank(comm, &rank);
    int *counts = malloc((size_t)size * sizeof *counts), *displs = malloc((size_t)size * sizeof *displs);
    int cnt = (int)n;
    *all = NULL;
    *total = 0;
    if (!counts || !displs) {
        rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        goto err;
    }
    if (n > INT32_MAX) {
        rc = dsend_seterr(DSEND_ENOMEM, "results of rank %d too large to gather", rank);
        goto err;
    }
    MPI_CHECK(MPI_Gather(&cnt, 1, MPI_INT, counts, 1, MPI_INT, 0, comm));
    if (rank == 0) {
        uint64_t t = 0;
        for (int r = 0; r < size; r++) {
            displs[r] = (int)t;
            t += (uint64_t)counts[r];
        }
        if (t > INT32_MAX) {
            rc = dsend_seterr(DSEND_ENOMEM, "results too large to gather (%llu bytes)",
                              (unsigned long long)t);
            /* still take part in the collective below with nothing */
            for (int r = 0; r < size; r++)
                counts[r] = 0;
        }
        *all = malloc(t ? t : 1);
        *total = t;
    }
    MPI_CHECK(MPI_Gatherv(mine, cnt, MPI_BYTE, *all, counts, displs, MPI_BYTE, 0, comm));
err:
    free(counts);
    free(displs);
    return rc;
}

int dsend_sim_run(MPI_Comm comm, const dsend_sim_config *cfg, dsend_sim_result *res)
{
    int rc = 0;
    sim_world w;
    memset(&w, 0, sizeof w);
    memset(res, 0, sizeof *res);
    w.cfg = cfg;
    w.lib.file = -1;
    w.forced_asset = -1;
    MPI_Comm devcomm = MPI_COMM_NULL;
    dsend_des *des = NULL;
    sim_device *devs = NULL;
    sim_client *clients = NULL;
    uint32_t nlocal = 0;
    double t_start = MPI_Wtime();

    MPI_Comm_rank(comm, &w.rank);
    MPI_Comm_size(comm, &w.size);
    if ((rc = dsend_mpi_agree(comm, check_config(cfg, w.size))))
        return rc;
    w.K = cfg->client_ranks;
    w.Dr = w.size - w.K;
    w.D = cfg->devices ? cfg->devices : w.Dr;
    int is_device = w.rank < w.Dr;
    /* devices rank, rank + Dr, rank + 2 Dr, ... live here */
    w.ndev = is_device ? (w.D - w.rank + w.Dr - 1) / w.Dr : 0;

    /* the library: devices open it collectively and load their blocks,
     * client ranks read the catalogue (and stored checksums) alone */
    MPI_CHECK(MPI_Comm_split(comm, is_device, w.rank, &devcomm));
    rc = dsend_library_open(cfg->library, is_device ? devcomm : MPI_COMM_NULL, &w.lib);
    if (rc == 0 && cfg->asset) {
        w.forced_asset = dsend_library_find(&w.lib, cfg->asset);
        if (w.forced_asset < 0)
            rc = dsend_seterr(DSEND_ENOENT, "--asset %.80s: unknown asset (dsend info %s lists them)",
                              cfg->asset, cfg->library);
    }
    if (rc == 0)
        for (uint32_t i = 0; i < w.lib.nassets; i++)
            if (w.lib.assets[i].kind == DSEND_ASSET_MPEGTS &&
                cfg->sub_block % DSEND_TS_RTP_PAYLOAD != 0) {
                rc = dsend_seterr(DSEND_EINVAL,
                                  "--sub-block %llu: the library has MPEG-TS assets, so a "
                                  "sub-block must be a multiple of %u bytes (7 TS packets)",
                                  (unsigned long long)cfg->sub_block, DSEND_TS_RTP_PAYLOAD);
                break;
            }
    if (rc == 0) {
        const dsend_layout_policy *pol = dsend_layout_find(cfg->layout);
        rc = pol ? dsend_layout_open(&w.layout, pol, w.D, cfg->replicas)
                 : dsend_seterr(DSEND_EINVAL, "--layout %s: unknown policy", cfg->layout);
    }
    if (rc == 0)
        rc = make_workload(&w);
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;
    if (is_device) {
        /* one collective load per round of devices; a rank with no device
         * in the last round takes part with none */
        int rounds = (w.D + w.Dr - 1) / w.Dr;
        w.stores = calloc((size_t)rounds, sizeof *w.stores);
        rc = w.stores ? 0 : dsend_seterr(DSEND_ENOMEM, "out of memory");
        for (int r = 0; r < rounds && rc == 0; r++) {
            int d = r * w.Dr + w.rank;
            rc = dsend_load_device(devcomm, &w.lib, &w.layout, d < w.D ? d : -1, &w.stores[r]);
        }
    } else {
        rc = expected_crcs(&w);
    }
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;

    w.params = (dsend_core_params){.lib = &w.lib, .layout = &w.layout,
                                   .sub_block = cfg->sub_block, .startup = cfg->startup,
                                   .lead = cfg->lead, .tick = cfg->tick, .nic_bps = cfg->nic_bps};
    uint32_t nlps = (uint32_t)w.D + (uint32_t)cfg->clients;
    TRY(dsend_des_create(comm, nlps, lp_rank, sim_lookahead, &w,
                         cfg->lookahead ? cfg->lookahead : INT64_MAX, &des));
    if (is_device) {
        devs = calloc((size_t)w.ndev, sizeof *devs);
        if (!devs)
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        for (int i = 0; i < w.ndev && rc == 0; i++) {
            sim_device *dev = &devs[i];
            int d = w.rank + i * w.Dr;
            dev->des = des;
            dev->cfg = cfg;
            dev->nclients_lp0 = (uint32_t)w.D;
            rc = dsend_scheduler_init(&dev->sched, d, &w.params, &dsend_clock_virtual, dev,
                                      &dsend_ctrl_des, dev);
            if (rc == 0)
                rc = dsend_sender_init(&dev->sender, d, &w.params, &w.stores[i],
                                       &dsend_clock_virtual, dev, &dsend_emit_mpi, dev);
            dev->sender.account = device_account;
            dev->sender.account_ctx = dev;
            if (rc == 0)
                rc = dsend_des_add_lp(des, (uint32_t)d, &device_lptype, dev);
            if (rc == 0) /* the backends stamp events with the LP */
                dev->lp = dsend_des_lp(des, (uint32_t)d);
        }
    } else {
        uint32_t me = (uint32_t)(w.rank - w.Dr);
        nlocal = (uint32_t)(((uint64_t)cfg->clients + (uint64_t)w.K - 1 - me) / (uint64_t)w.K);
        clients = calloc(nlocal ? nlocal : 1, sizeof *clients);
        if (!clients)
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory for %u clients", nlocal);
        for (uint32_t i = 0; i < nlocal && rc == 0; i++) {
            sim_client *c = &clients[i];
            uint32_t id = me + i * (uint32_t)w.K;
            c->w = &w;
            c->st.client = id;
            c->st.scheduler = id % (uint32_t)w.D; /* one scheduler for the whole session */
            c->st.request_at = w.arrival_at[id];
            c->st.startup_ns = -1;
            c->first_arrival = -1;
            client_session(&w, id, &c->st.asset, &c->from, &c->to);
            c->from -= c->from % cfg->sub_block;
            client_controls(&w, c);
            rc = plan_open(c, c->from, c->to);
            if (rc == 0)
                rc = dsend_des_add_lp(des, (uint32_t)w.D + id, &client_lptype, c);
        }
    }
    if ((rc = dsend_mpi_agree(comm, rc)))
        goto err;

    /* the planned end, for the progress line */
    double prog[2] = {t_start, 0};
    for (int64_t c = 0; c < cfg->clients; c++) {
        uint32_t asset;
        uint64_t from, to;
        client_session(&w, (uint32_t)c, &asset, &from, &to);
        double end = (double)w.arrival_at[c] + (double)cfg->startup +
                     (double)(to - from) * 8e9 / (double)w.lib.assets[asset].bitrate_bps;
        if (end > prog[1])
            prog[1] = end;
    }
    MPI_Barrier(comm);
    rc = dsend_des_run(des, cfg->until > 0 ? cfg->until : DSEND_TIME_INF,
                       cfg->progress ? progress_line : NULL, prog);
    if (cfg->progress && w.rank == 0)
        fprintf(stderr, "\n");
    if (rc)
        goto err;

    /* ---- gather the results on rank 0 ---- */
    {
        dsend_client_stats *mine = malloc((nlocal ? nlocal : 1) * sizeof *mine);
        if (!mine) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
        for (uint32_t i = 0; i < nlocal; i++)
            mine[i] = clients[i].st;
        void *all;
        uint64_t total;
        rc = gather_bytes(comm, mine, nlocal * sizeof *mine, &all, &total);
        free(mine);
        if (rc)
            goto err;
        if (w.rank == 0) {
            res->nclients = (uint32_t)cfg->clients;
            res->clients = calloc(res->nclients, sizeof *res->clients);
            dsend_client_stats *v = all;
            for (uint64_t i = 0; res->clients && i < total / sizeof *v; i++)
                res->clients[v[i].client] = v[i];
        }
        free(all);

        /* per-device results: every rank fills the rows of its devices in a
         * zeroed devices-wide table, and the tables are summed on rank 0 */
        size_t D = (size_t)w.D;
        uint64_t *dsv = calloc(D * 5, sizeof *dsv), *dsum = NULL;
        if (!dsv) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto err;
        }
        unsigned long long nl = w.nlate, nmax = 0;
        for (int i = 0; i < w.ndev; i++) {
            const sim_device *dev = &devs[i];
            size_t d = (size_t)dev->sched.device;
            dsv[d * 5 + 0] = dev->sender.sub_blocks;
            dsv[d * 5 + 1] = dev->sender.bytes;
            dsv[d * 5 + 2] = dev->requests_received;
            dsv[d * 5 + 3] = dev->sched.requests;
            dsv[d * 5 + 4] = dev->sender.max_queue;
            if (dev->nseries > nl)
                nl = dev->nseries;
        }
        if (w.rank == 0)
            dsum = calloc(D * 5, sizeof *dsum);
        MPI_CHECK(MPI_Reduce(dsv, dsum, (int)(D * 5), MPI_UINT64_T, MPI_SUM, 0, comm));
        free(dsv);
        if (w.rank == 0) {
            res->devs = calloc(D, sizeof *res->devs);
            for (size_t d = 0; res->devs && dsum && d < D; d++)
                res->devs[d] = (dsend_device_stats){.sub_blocks = dsum[d * 5],
                                                    .bytes = dsum[d * 5 + 1],
                                                    .requests_received = dsum[d * 5 + 2],
                                                    .requests_sent = dsum[d * 5 + 3],
                                                    .max_queue = dsum[d * 5 + 4]};
            free(dsum);
        }

        /* time series, padded to the longest */
        MPI_CHECK(MPI_Allreduce(&nl, &nmax, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm));
        size_t cells = D * (nmax ? nmax : 1);
        uint64_t *sb = calloc(cells, sizeof *sb);
        uint32_t *sq = calloc(cells, sizeof *sq);
        double *ls = calloc(nmax ? nmax : 1, sizeof *ls), *lsum = NULL;
        uint64_t *ln = calloc(nmax ? nmax : 1, sizeof *ln), *lnsum = NULL;
        if (!sb || !sq || !ls || !ln) {
            rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
            goto series_out;
        }
        for (int i = 0; i < w.ndev; i++) {
            const sim_device *dev = &devs[i];
            size_t d = (size_t)dev->sched.device;
            if (dev->nseries) {
                memcpy(sb + d * nmax, dev->series_bytes, dev->nseries * sizeof *sb);
                memcpy(sq + d * nmax, dev->series_queue, dev->nseries * sizeof *sq);
            }
        }
        if (w.nlate) {
            memcpy(ls, w.late_sum, w.nlate * sizeof *ls);
            memcpy(ln, w.late_n, w.nlate * sizeof *ln);
        }
        if (w.rank == 0) {
            res->series_bytes = calloc(cells, sizeof *sb);
            res->series_queue = calloc(cells, sizeof *sq);
            lsum = calloc(nmax ? nmax : 1, sizeof *lsum);
            lnsum = calloc(nmax ? nmax : 1, sizeof *lnsum);
        }
        MPI_CHECK(MPI_Reduce(sb, res->series_bytes, (int)cells, MPI_UINT64_T, MPI_SUM, 0, comm));
        MPI_CHECK(MPI_Reduce(sq, res->series_queue, (int)cells, MPI_UINT32_T, MPI_MAX, 0, comm));
        MPI_CHECK(MPI_Reduce(ls, lsum, (int)nmax, MPI_DOUBLE, MPI_SUM, 0, comm));
        MPI_CHECK(MPI_Reduce(ln, lnsum, (int)nmax, MPI_UINT64_T, MPI_SUM, 0, comm));
        if (w.rank == 0) {
            res->nintervals = (uint32_t)nmax;
            /* trim trailing empty intervals */
            while (res->nintervals > 0) {
                uint32_t k = res->nintervals - 1;
                int any = lnsum[k] != 0;
                for (int d = 0; d < w.D && !any; d++)
                    any = res->series_bytes[(size_t)d * nmax + k] != 0;
                if (any)
                    break;
                res->nintervals--;
            }
            /* compact devices x nmax into devices x nintervals */
            for (int d = 0; d < w.D; d++)
                for (uint32_t k = 0; k < res->nintervals; k++) {
                    res->series_bytes[(size_t)d * res->nintervals + k] =
                        res->series_bytes[(size_t)d * nmax + k];
                    res->series_queue[(size_t)d * res->nintervals + k] =
                        res->series_queue[(size_t)d * nmax + k];
                }
            res->late_mean_ns = calloc(res->nintervals ? res->nintervals : 1, sizeof(double));
            res->late_count = calloc(res->nintervals ? res->nintervals : 1, sizeof(uint64_t));
            for (uint32_t k = 0; k < res->nintervals; k++) {
                res->late_count[k] = lnsum[k];
                res->late_mean_ns[k] = lnsum[k] ? lsum[k] / (double)lnsum[k] : 0;
            }
        }
    series_out:
        free(sb);
        free(sq);
        free(ls);
        free(ln);
        free(lsum);
        free(lnsum);
        if ((rc = dsend_mpi_agree(comm, rc)))
            goto err;

        if (cfg->trace) {
            rc = gather_bytes(comm, w.trace, w.ntrace * sizeof *w.trace, &all, &total);
            if (rc == 0 && w.rank == 0) {
                res->arrivals = all;
                res->narrivals = total / sizeof *w.trace;
                qsort(res->arrivals, res->narrivals, sizeof *res->arrivals, cmp_arrival);
            } else {
                free(all);
            }
            if ((rc = dsend_mpi_agree(comm, rc)))
                goto err;
        }
        unsigned long long ev[2] = {dsend_des_events(des), 0}, evs[2] = {0, 0};
        MPI_CHECK(MPI_Reduce(ev, evs, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, comm));
        res->events = evs[0];
        res->windows = dsend_des_windows(des);
        res->sim_end = dsend_des_now(des);
        res->devices = w.D;
        res->client_ranks = w.K;
    }
    MPI_Barrier(comm);
    res->wall_seconds = MPI_Wtime() - t_start;
err:
    if (rc && w.rank == 0)
        dsend_sim_result_free(res);
    if (clients)
        for (uint32_t i = 0; i < nlocal; i++)
            for (uint32_t k = 0; k < clients[i].nplans; k++)
                free(clients[i].plan[k].seen);
    free(clients);
    for (int i = 0; devs && i < w.ndev; i++) {
        free(devs[i].series_bytes);
        free(devs[i].series_queue);
        dsend_scheduler_free(&devs[i].sched);
        dsend_sender_free(&devs[i].sender);
    }
    free(devs);
    dsend_des_free(des);
    world_free(&w);
    if (devcomm != MPI_COMM_NULL)
        MPI_Comm_free(&devcomm);
    return rc;
}
