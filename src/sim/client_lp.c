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

/* The client's start request, sent now for its arrival: what it holds is
 * drawn at set-up (the asset, the range, the arrival), and the scheduler it
 * goes to is the first device alive then by the fail schedule, which is
 * known too.  Sending it ahead (its time stays the arrival + the control
 * latency) spares the event core a window at each arrival: an arrival event
 * could only promise the control latency. */
static int send_start(sim_client *c, dsend_des *des, dsend_lp *lp)
{
    /* the front sends a client only to a device it knows alive: one found
     * dead (--detect after its failure) is passed over */
    const sim_world *w = c->w;
    int64_t at = c->plan.request_at, known = at - w->cfg->detect - w->cfg->heartbeat;
    for (int k = 0; k < w->D && sim_device_down(w, (int)c->st.scheduler, at) &&
                    sim_device_down(w, (int)c->st.scheduler, known);
         k++)
        c->st.scheduler = (c->st.scheduler + 1) % (uint32_t)w->D;
    dsend_event out;
    memset(&out, 0, sizeof out);
    out.ts = at + w->cfg->ctrl_latency;
    out.dst_lp = c->st.scheduler;
    out.type = EV_START;
    ev_start s = {.client = c->st.client, .asset = c->st.asset, .from = c->plan.from,
                  .to = c->plan.to};
    memcpy(out.payload, &s, sizeof s);
    return dsend_des_send(des, lp, &out);
}

static int client_init(dsend_lp *lp, dsend_des *des)
{
    sim_client *c = lp->state;
    int rc = send_start(c, des, lp);
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

/* The meter's lateness by interval of deadline, summed over the rank's
 * clients (exactly: any order of clients gives the same sums). */
void sim_late_sink(void *ctx, uint64_t i, int64_t sum, uint64_t n)
{
    sim_world *w = ctx;
    if (i >= w->nlate) {
        uint64_t cap = w->nlate ? w->nlate : 64;
        while (cap <= i)
            cap *= 2;
        int64_t *s = cap <= UINT32_MAX ? realloc(w->late_sum, cap * sizeof *s) : NULL;
        if (s)
            w->late_sum = s;
        uint64_t *k = s ? realloc(w->late_n, cap * sizeof *k) : NULL;
        if (k)
            w->late_n = k;
        if (!s || !k) {
            w->late_oom = 1; /* reported when the run ends */
            return;
        }
        memset(w->late_sum + w->nlate, 0, (cap - w->nlate) * sizeof *s);
        memset(w->late_n + w->nlate, 0, (cap - w->nlate) * sizeof *k);
        w->nlate = (uint32_t)cap;
    }
    w->late_sum[i] += sum;
    w->late_n[i] += n;
}

/* One packet fully received: metered, and kept with --trace. */
static int receive(sim_client *c, const arrived *p)
{
    sim_world *w = c->w;
    dsend_meter_packets(&c->meter, &p->p, 1);
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
            .client = c->st.client, .asset = c->st.asset, .device = p->p.sender,
            .len = p->p.len, .offset = p->p.offset, .sent = p->sent, .arrival = p->p.arrival,
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
    if (x->p.arrival != y->p.arrival)
        return x->p.arrival < y->p.arrival;
    if (x->p.sender != y->p.sender)
        return x->p.sender < y->p.sender;
    return x->p.offset < y->p.offset;
}

static int grow_in(sim_client *c)
{
    uint32_t cap = c->capin ? 2 * c->capin : 16;
    void *g = realloc(c->in, cap * sizeof *c->in);
    if (!g)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", c->st.client);
    c->in = g;
    c->capin = cap;
    return 0;
}

/* Packets through the link: with --jitter or --trace every packet waits
 * in a heap by arrival (jitter may reorder them) until the client looks;
 * else the link's own order is their arrival order, a packet passes the
 * link only once it has arrived by the time the client looks (until then
 * it waits in its run, see drain), and they go to the meter in batches. */
typedef struct batch {
    dsend_meter_pkt v[64];
    uint32_t n;
} batch;

static void batch_flush(sim_client *c, batch *b)
{
    if (b->n)
        dsend_meter_packets(&c->meter, b->v, b->n);
    b->n = 0;
}

static int lost(const sim_client *c, uint64_t o)
{
    const dsend_sim_config *cfg = c->w->cfg;
    return cfg->loss > 0 && sim_unit(cfg->seed ^ 0x1055, c->st.client, o) < cfg->loss;
}

/* When the top run's next packet arrives: it starts on the access link (a
 * FIFO at its rate, in wire bytes) once it reached it and the link is free. */
static int64_t link_arrival(const sim_client *c, const pending_run *r, uint32_t len)
{
    int64_t start = r->next_in > c->link_free ? r->next_in : c->link_free;
    return start + (len == DSEND_PKT_PAYLOAD
                        ? c->wire_pkt
                        : dsend_wire_ns(len + DSEND_PKT_OVERHEAD, c->w->cfg->client_bps));
}

/* One packet reaches the access link: lost, or through the link plus
 * --jitter into the heap by arrival, or (arrived) to the meter. */
static int deliver(sim_client *c, const pending_run *r, uint32_t len, batch *b)
{
    const dsend_sim_config *cfg = c->w->cfg;
    uint64_t o = r->next;
    if (lost(c, o))
        return 0; /* lost on the data network */
    if (!r->crc_ok)
        c->st.crc_errors++; /* as a real client: only what arrives is checked */
    c->link_free = link_arrival(c, r, len);
    dsend_meter_pkt p = {.offset = o, .len = len, .sender = r->m.device, .arrival = c->link_free};
    if (!c->queued) {
        b->v[b->n++] = p;
        if (b->n == sizeof b->v / sizeof *b->v)
            batch_flush(c, b);
        return 0;
    }
    if (cfg->jitter > 0)
        p.arrival += (int64_t)(sim_unit(cfg->seed ^ 0x717e, c->st.client, o) * (double)cfg->jitter);
    if (c->nin == c->capin && grow_in(c))
        return DSEND_ENOMEM;
    c->in[c->nin++] = (arrived){.p = p, .sent = r->next_in - cfg->data_latency};
    DSEND_HEAP_UP(arrived, c->in, c->nin, arrived_before);
    return 0;
}

/* Meter every packet in the heap that has arrived by `t`. */
static int meter_until(sim_client *c, int64_t t)
{
    while (c->nin && c->in[0].p.arrival <= t) {
        arrived p;
        DSEND_HEAP_POP(arrived, c->in, c->nin, &p, arrived_before);
        int rc = receive(c, &p);
        if (rc)
            return rc;
    }
    return 0;
}

/* The run whose packet reaches the link next after the top run's. */
static const pending_run *second(const sim_client *c)
{
    const pending_run *b = NULL;
    for (uint32_t i = 1; i <= 2 && i < c->nruns; i++)
        if (!b || run_before(&c->runs[i], b))
            b = &c->runs[i];
    return b;
}

/* The top run's packets in one go where nothing can come between them:
 * no loss, no jitter, nothing waiting to be metered, and no other run's
 * packet reaching the link before them (the link is a FIFO: what reaches
 * it later cannot delay them).  Returns how many. */
static size_t smooth(sim_client *c, pending_run *r, int64_t t)
{
    const dsend_sim_config *cfg = c->w->cfg;
    if (cfg->loss > 0 || c->queued)
        return 0;
    uint64_t end = r->m.offset + r->m.bytes;
    uint32_t last = (uint32_t)((end - r->next) % DSEND_PKT_PAYLOAD);
    int64_t delay_last = last ? dsend_wire_ns(last + DSEND_PKT_OVERHEAD, cfg->client_bps)
                              : c->wire_pkt;
    dsend_meter_smooth sm = {.base = r->m.offset, .end = end,
                             .t0 = r->m.depart + cfg->data_latency, .delay = c->wire_pkt,
                             .delay_last = delay_last, .reach_before = INT64_MAX,
                             .sender = r->m.device, .burst = r->m.burst > 1 ? r->m.burst : 1};
    const pending_run *o = second(c);
    if (o) { /* (ties pass as run_before orders them: the whole run first?) */
        sm.reach_before = o->next_in;
        sm.tie_first = r->m.device < o->m.device || (r->m.device == o->m.device && end <= o->next);
    }
    size_t n = dsend_meter_run(&c->meter, &sm, &r->next, &r->at, t, &c->link_free);
    if (n && !r->crc_ok)
        c->st.crc_errors += n; /* as a real client: only what arrives is checked */
    return n;
}

/* Every packet that has arrived by `t` (with --jitter or --trace: reached
 * the access link by `t`), in the link's order, then the meter for every
 * packet in the heap arrived by `t` (a packet arrives after it reached the
 * link, so none is missing). */
static int drain(sim_client *c, int64_t t)
{
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    int64_t latency = c->w->cfg->data_latency;
    batch b;
    b.n = 0;
    /* in the link's order, what waited and has arrived comes first (with
     * jitter a packet reaching the link later may arrive sooner) */
    int rc = meter_until(c, t);
    while (rc == 0 && c->nruns && c->runs[0].next_in <= t) {
        pending_run *r = &c->runs[0];
        uint64_t end = r->m.offset + r->m.bytes;
        uint32_t len = r->next + DSEND_PKT_PAYLOAD < end ? DSEND_PKT_PAYLOAD
                                                        : dsend_packet_len(a, r->next);
        if (r->next + len > end)
            len = (uint32_t)(end - r->next);
        /* not arrived yet: it waits in its run, and so does every packet
         * after it on the link (asked before the run's smooth path, which
         * would find the same and give up after setting itself up: at
         * scale most drains end here) */
        if (!c->queued && !lost(c, r->next) && link_arrival(c, r, len) > t)
            break;
        batch_flush(c, &b); /* (in order before the run's) */
        if (smooth(c, r, t) == 0) {
            rc = deliver(c, r, len, &b);
            r->next += len;
        }
        if (r->next < end) {
            /* the next packet's departure: its burst's, or one packet's
             * media time on (the pacer's runs are exact: dsend_packet_run) */
            r->next_in = r->m.burst > 1
                             ? dsend_run_depart(a, r->m.offset, r->m.depart, r->m.burst, r->next) +
                                   latency
                             : r->m.depart +
                                   (int64_t)dsend_media_cursor_ns(&r->at, r->next - r->m.offset) +
                                   latency;
            DSEND_HEAP_DOWN(pending_run, c->runs, c->nruns, run_before);
        } else {
            pending_run done;
            DSEND_HEAP_POP(pending_run, c->runs, c->nruns, &done, run_before);
        }
    }
    batch_flush(c, &b);
    return rc ? rc : meter_until(c, t);
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
        uint32_t cap = 2 * c->capruns;
        int moved = c->runs != c->run_space;
        pending_run *g = realloc(moved ? c->runs : NULL, cap * sizeof *c->runs);
        if (!g)
            return dsend_seterr(DSEND_ENOMEM, "out of memory for client %u", c->st.client);
        if (!moved)
            memcpy(g, c->run_space, sizeof c->run_space);
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
            if (dsend_run_depart(a, m.offset, m.depart, m.burst, o) >= x->from) {
                end = o;
                break;
            }
    }
    if (end == m.offset)
        return 0;
    int crc_ok = want == m.crc32c;
    m.bytes = (uint32_t)(end - m.offset);
    pending_run *r = &c->runs[c->nruns++];
    *r = (pending_run){.next_in = ev->ts, .next = m.offset, .m = m, .crc_ok = crc_ok};
    dsend_media_cursor_init(&r->at, a->bitrate_bps);
    DSEND_HEAP_UP(pending_run, c->runs, c->nruns, run_before);
    /* metered at the client's next event, or at its end: nothing else
     * reads the meter in between */
    return drain(c, ev->ts);
}

/* The packet of run r that is the first to reach the access link after
 * `now` (its end: none). */
static uint64_t first_after(const sim_client *c, const pending_run *r, int64_t now)
{
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    uint64_t end = r->m.offset + r->m.bytes, o = r->next;
    int64_t in = r->next_in;
    while (o < end && in <= now) {
        o += o + DSEND_PKT_PAYLOAD < end ? DSEND_PKT_PAYLOAD : dsend_packet_len(a, o);
        in = dsend_run_depart(a, r->m.offset, r->m.depart, r->m.burst, o) +
             c->w->cfg->data_latency;
    }
    return o < end ? o : end;
}

/* The pacer of a device will not send what it committed for older plans
 * from `from` on: those packets never come.  It is known at `now`: what
 * reached the access link by then is on its way (packets that have not
 * arrived wait in their runs, see drain). */
static void client_cancel(sim_client *c, const ev_cancel *m, int64_t now)
{
    /* runs still on their way are cut when they come */
    if (c->ncancels < sizeof c->cancels / sizeof *c->cancels)
        c->cancels[c->ncancels++] = *m;
    else
        c->cancels[c->ncancels - 1] = *m; /* a client controls a few times; keep the latest */
    const dsend_asset *a = &c->w->lib.assets[c->st.asset];
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->nruns; i++) {
        pending_run *r = &c->runs[i];
        if (r->m.device == m->device && r->m.epoch < m->epoch) {
            /* from its first packet not on the link by now, if that one
             * leaves from `from` on (queued: r->next is that packet) */
            uint64_t o = c->queued ? r->next : first_after(c, r, now);
            if (o < r->m.offset + r->m.bytes &&
                dsend_run_depart(a, r->m.offset, r->m.depart, r->m.burst, o) >= m->from) {
                if (o == r->next)
                    continue; /* gone */
                r->m.bytes = (uint32_t)(o - r->m.offset);
            }
        }
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
    if (c->st.refused && (ev->type == EV_CLIENT_PAUSE || ev->type == EV_CLIENT_RESUME ||
                          ev->type == EV_CLIENT_SEEK))
        return 0; /* refused at its start: it has nothing to pause or seek */
    switch (ev->type) {
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
        if (m.kind != EV_SEEK)
            return dsend_meter_plan_begin(&c->meter, m.from, c->plan.to, 0);
        /* a seek plans what the client asked for: from its target (the
         * scheduler may start earlier, at a keyframe or its sub-block), to
         * the session's end, or on to the asset's when it sought past that */
        if (c->plan.seek_to >= c->plan.to)
            c->plan.to = a->size;
        return dsend_meter_plan_begin(&c->meter, m.from < c->plan.seek_to ? m.from : c->plan.seek_to,
                                      c->plan.to, 1);
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
        client_cancel(c, &m, ev->ts);
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

/* The client's lines an event touches, while the event before it runs: at
 * scale a client's event costs its cache misses (the seen-sender list is
 * left out: it is read only when the sender changes). */
void sim_client_prefetch(const sim_client *client)
{
    const char *c = (const char *)client;
    size_t cold = offsetof(sim_client, meter) + offsetof(dsend_meter, senders),
           cold_end = cold + sizeof client->meter.senders;
    for (size_t o = 0; o < offsetof(sim_client, run_space) + 3 * sizeof(pending_run); o += 64)
        if (o + 64 <= cold || o >= cold_end)
            __builtin_prefetch(c + o);
}

const dsend_lptype sim_client_lptype = {
    .name = "client",
    .init = client_init,
    .event = client_event,
    .final = client_final,
};
