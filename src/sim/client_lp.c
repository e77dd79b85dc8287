/* A virtual client as a logical process: its part of the workload, its
 * access link, and the meter every client uses (dsend/meter.h). */
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "sim/sim_internal.h"
#include "util/heap.h"

#include <stdlib.h>
#include <string.h>

double sim_unit(uint64_t seed, uint64_t a, uint64_t b)
{
    return (double)(dsend_mix64(seed ^ dsend_mix64(a ^ dsend_mix64(b))) >> 11) * 0x1p-53;
}

int sim_self_event(dsend_des *des, dsend_lp *lp, int64_t ts, uint32_t type)
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
    int rc = sim_self_event(des, lp, c->plan.request_at, EV_CLIENT_ARRIVE);
    if (rc == 0 && c->plan.pause_at >= 0)
        rc = sim_self_event(des, lp, c->plan.pause_at, EV_CLIENT_PAUSE);
    if (rc == 0 && c->plan.seek_at >= 0)
        rc = sim_self_event(des, lp, c->plan.seek_at, EV_CLIENT_SEEK);
    return rc;
}

static int send_ctrl(sim_client *c, dsend_des *des, dsend_lp *lp, uint32_t kind, int64_t now)
{
    dsend_event out;
    memset(&out, 0, sizeof out);
    out.ts = now + c->w->cfg->ctrl_latency;
    out.dst_lp = c->st.scheduler;
    out.type = kind;
    ev_ctrl m = {.client = c->st.client, .kind = kind, .offset = c->plan.seek_to};
    memcpy(out.payload, &m, sizeof m);
    c->awaiting = kind;
    return dsend_des_send(des, lp, &out);
}

static int note_lateness(sim_world *w, int64_t deadline, int64_t lateness)
{
    uint64_t i = deadline < 0 ? 0 : (uint64_t)(deadline / w->cfg->interval);
    if (i >= w->nlate) {
        uint32_t n = w->nlate ? w->nlate : 64;
        while (n <= i)
            n *= 2;
        int64_t *s = realloc(w->late_sum, n * sizeof *s);
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
    w->late_sum[i] += lateness;
    w->late_n[i]++;
    return 0;
}

/* One packet fully received: metered, and kept with --trace. */
static int receive(sim_client *c, uint64_t offset, uint32_t len, int64_t arrival,
                   uint32_t device, int64_t sent)
{
    sim_world *w = c->w;
    dsend_meter_packet(&c->meter, offset, len, arrival, device);
    if (c->meter.last_timed) {
        int rc = note_lateness(w, c->meter.last_deadline, c->meter.last_lateness);
        if (rc)
            return rc;
    }
    if (w->cfg->trace) {
        if (w->ntrace == w->captrace) {
            uint64_t cap = w->captrace ? 2 * w->captrace : 4096;
            void *grown = realloc(w->trace, cap * sizeof *w->trace);
            if (!grown)
                return dsend_seterr(DSEND_ENOMEM, "out of memory for the --trace records");
            w->trace = grown;
            w->captrace = cap;
        }
        w->trace[w->ntrace++] = (dsend_arrival_rec){
            .client = c->st.client, .asset = c->st.asset, .device = device, .len = len,
            .offset = offset, .sent = sent, .arrival = arrival,
            .deadline = c->meter.last_timed ? c->meter.last_deadline : INT64_MIN};
    }
    return 0;
}

/* Runs wait in a heap by when their next packet reaches the access link,
 * so packets of overlapping runs (from several devices) pass the link and
 * the meter in the order they reach it. */
static int run_before(const pending_run *x, const pending_run *y)
{
    if (x->next_in != y->next_in)
        return x->next_in < y->next_in;
    if (x->m.device != y->m.device)
        return x->m.device < y->m.device;
    return x->next < y->next;
}

static int arrived_before(const arrived *x, const arrived *y)
{
    if (x->at != y->at)
        return x->at < y->at;
    if (x->device != y->device)
        return x->device < y->device;
    return x->offset < y->offset;
}

/* One packet reaches the access link: lost, or queued on the link (a FIFO
 * at its rate, in wire bytes) plus --jitter, and then waits to be metered
 * in arrival order. */
static int deliver(sim_client *c, const pending_run *r, uint32_t len)
{
    const dsend_sim_config *cfg = c->w->cfg;
    uint64_t o = r->next;
    if (cfg->loss > 0 && sim_unit(cfg->seed ^ 0x1055, c->st.client, o) < cfg->loss)
        return 0; /* lost on the data network */
    if (!r->crc_ok)
        c->st.crc_errors++; /* as a real client: only what arrives is checked */
    int64_t start = r->next_in > c->link_free ? r->next_in : c->link_free;
    c->link_free = start + dsend_wire_ns(len + DSEND_PKT_OVERHEAD, cfg->client_bps);
    int64_t rx = c->link_free;
    if (cfg->jitter > 0)
        rx += (int64_t)(sim_unit(cfg->seed ^ 0x717e, c->st.client, o) * (double)cfg->jitter);
    if (c->nin == c->capin) {
        uint32_t cap = c->capin ? 2 * c->capin : 16;
        void *g = realloc(c->in, cap * sizeof *c->in);
        if (!g)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", c->st.client);
        c->in = g;
        c->capin = cap;
    }
    c->in[c->nin++] = (arrived){.at = rx, .sent = r->next_in - cfg->data_latency, .offset = o,
                                .len = len, .device = r->m.device};
    DSEND_HEAP_UP(arrived, c->in, c->nin, arrived_before);
    return 0;
}

/* Meter every packet that has arrived by `t`. */
static int meter_until(sim_client *c, int64_t t)
{
    while (c->nin && c->in[0].at <= t) {
        arrived p;
        DSEND_HEAP_POP(arrived, c->in, c->nin, &p, arrived_before);
        int rc = receive(c, p.offset, p.len, p.at, p.device, p.sent);
        if (rc)
            return rc;
    }
    return 0;
}

/* Every packet that has reached the access link by `t`, in that order,
 * then the meter for every packet arrived by `t` (a packet arrives after
 * it reached the link, so none is missing). */
static int drain(sim_client *c, int64_t t)
{
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    while (c->nruns && c->runs[0].next_in <= t) {
        pending_run *r = &c->runs[0];
        uint32_t len = dsend_packet_len(a, r->next);
        uint64_t end = r->m.offset + r->m.bytes;
        if (r->next + len > end)
            len = (uint32_t)(end - r->next);
        int rc = deliver(c, r, len);
        if (rc)
            return rc;
        r->next += len;
        if (r->next < end) {
            r->next_in = dsend_media_time(a, r->m.offset, r->m.depart, r->next) +
                         c->w->cfg->data_latency;
            DSEND_HEAP_DOWN(pending_run, c->runs, c->nruns, run_before);
        } else {
            pending_run done;
            DSEND_HEAP_POP(pending_run, c->runs, c->nruns, &done, run_before);
        }
    }
    return meter_until(c, t);
}

/* A run reaches the access link: it waits with the others. */
static int client_packets(sim_client *c, const dsend_event *ev)
{
    sim_world *w = c->w;
    ev_packets m;
    memcpy(&m, ev->payload, sizeof m);
    const dsend_asset *a = &w->lib.assets[m.asset];
    if (m.client != c->st.client || m.asset != c->st.asset)
        return dsend_seterr(DSEND_EINVAL, "client %u received packets of client %u asset %u",
                            c->st.client, m.client, m.asset);
    if (m.flags)
        return 0; /* the end of a plan carries no media */
    if (c->nruns == c->capruns) {
        uint32_t cap = c->capruns ? 2 * c->capruns : 8;
        void *g = realloc(c->runs, cap * sizeof *c->runs);
        if (!g)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", c->st.client);
        c->runs = g;
        c->capruns = cap;
    }
    /* end-to-end integrity: the checksum the library implies */
    uint32_t want = dsend_payload_crc(a, m.offset, m.bytes,
                                      w->stored[m.asset] ? w->stored[m.asset] + m.offset : NULL);
    /* a cancel that overtook the run: its packets from then on never left */
    uint64_t end = m.offset + m.bytes;
    for (uint32_t i = 0; i < c->ncancels; i++) {
        const ev_cancel *x = &c->cancels[i];
        if (x->device != m.device || m.epoch >= x->epoch)
            continue;
        for (uint64_t o = m.offset; o < end; o += dsend_packet_len(a, o))
            if (dsend_media_time(a, m.offset, m.depart, o) >= x->from) {
                end = o;
                break;
            }
    }
    if (end == m.offset)
        return 0;
    int crc_ok = want == m.crc32c;
    m.bytes = (uint32_t)(end - m.offset);
    c->runs[c->nruns++] = (pending_run){.next_in = ev->ts, .next = m.offset, .m = m,
                                        .crc_ok = crc_ok};
    DSEND_HEAP_UP(pending_run, c->runs, c->nruns, run_before);
    /* metered at the client's next event, or at its end: nothing else
     * reads the meter in between */
    return drain(c, ev->ts);
}

/* The pacer of a device will not send what it committed for older plans
 * from `from` on: those packets never come. */
static void client_cancel(sim_client *c, const ev_cancel *m)
{
    /* runs still on their way are cut when they come */
    if (c->ncancels < sizeof c->cancels / sizeof *c->cancels)
        c->cancels[c->ncancels++] = *m;
    else
        c->cancels[c->ncancels - 1] = *m; /* a client controls a few times; keep the latest */
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->nruns; i++) {
        const pending_run *r = &c->runs[i];
        int gone = r->m.device == m->device && r->m.epoch < m->epoch &&
                   r->next_in - c->w->cfg->data_latency >= m->from;
        if (!gone)
            c->runs[k++] = *r;
    }
    c->nruns = k;
    for (uint32_t i = 1; i <= c->nruns; i++) /* heapify again */
        DSEND_HEAP_UP(pending_run, c->runs, i, run_before);
}

static int client_event(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    sim_client *c = lp->state;
    /* what arrived before this event is metered first */
    int rc = drain(c, ev->ts);
    if (rc)
        return rc;
    switch (ev->type) {
    case EV_CLIENT_ARRIVE: {
        /* the front sends a client only to a device it knows alive: one
         * found dead (--detect after its failure) is passed over */
        const sim_world *w = c->w;
        int64_t known = ev->ts - w->cfg->detect - w->cfg->heartbeat;
        for (int k = 0; k < w->D && sim_device_down(w, (int)c->st.scheduler, ev->ts) &&
                            sim_device_down(w, (int)c->st.scheduler, known);
             k++)
            c->st.scheduler = (c->st.scheduler + 1) % (uint32_t)w->D;
        dsend_event out;
        memset(&out, 0, sizeof out);
        out.ts = ev->ts + c->w->cfg->ctrl_latency;
        out.dst_lp = c->st.scheduler;
        out.type = EV_START;
        ev_start s = {.client = c->st.client, .asset = c->st.asset, .from = c->plan.from,
                      .to = c->plan.to};
        memcpy(out.payload, &s, sizeof s);
        return dsend_des_send(des, lp, &out);
    }
    case EV_CLIENT_PAUSE:
        dsend_meter_pause(&c->meter, ev->ts);
        rc = send_ctrl(c, des, lp, EV_PAUSE, ev->ts);
        return rc ? rc : sim_self_event(des, lp, ev->ts + c->plan.pause_len, EV_CLIENT_RESUME);
    case EV_CLIENT_RESUME:
        dsend_meter_resume(&c->meter, ev->ts);
        return send_ctrl(c, des, lp, EV_RESUME, ev->ts);
    case EV_CLIENT_SEEK:
        dsend_meter_seek(&c->meter, ev->ts);
        return send_ctrl(c, des, lp, EV_SEEK, ev->ts);
    case EV_CTRL_REPLY: {
        ev_ctrl m;
        memcpy(&m, ev->payload, sizeof m);
        if (m.kind == SIM_REFUSED) {
            dsend_meter_refused(&c->meter);
            return 0;
        }
        c->awaiting = 0;
        if (m.kind == EV_PAUSE)
            return 0; /* the plan ends where the resume says it goes on */
        const dsend_asset *a = &c->w->lib.assets[c->st.asset];
        if (m.kind == EV_SEEK && m.from >= c->plan.to)
            c->plan.to = a->size; /* a seek past the session's end plays on, as the scheduler does */
        return dsend_meter_plan_begin(&c->meter, m.from, c->plan.to, m.kind == EV_SEEK);
    }
    case EV_PACKETS:
        return client_packets(c, ev);
    case EV_TAKEOVER: {
        /* its scheduler died and a deputy holds the session now; a control
         * request the dead one never answered goes again */
        uint32_t device;
        memcpy(&device, ev->payload, sizeof device);
        c->st.scheduler = device;
        return c->awaiting ? send_ctrl(c, des, lp, c->awaiting, ev->ts) : 0;
    }
    case EV_CANCEL: {
        ev_cancel m;
        memcpy(&m, ev->payload, sizeof m);
        client_cancel(c, &m);
        return 0;
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
    /* the last packets arrive after the last event (up to --until) */
    int rc = drain(c, c->w->cfg->until > 0 ? c->w->cfg->until : INT64_MAX);
    dsend_meter_final(&c->meter);
    return rc;
}

const dsend_lptype sim_client_lptype = {
    .name = "client",
    .init = client_init,
    .event = client_event,
    .final = client_final,
};
