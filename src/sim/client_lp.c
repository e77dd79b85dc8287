/* A virtual client as a logical process: its part of the workload, its
 * access link, and the meter every client uses (dsend/meter.h). */
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "sim/sim_internal.h"

#include <stdlib.h>
#include <string.h>

double sim_unit(uint64_t seed, uint64_t a, uint64_t b)
{
    return (double)(dsend_mix64(seed ^ dsend_mix64(a ^ dsend_mix64(b))) >> 11) * 0x1p-53;
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
    int rc = self_event(des, lp, c->plan.request_at, EV_CLIENT_ARRIVE);
    if (rc == 0 && c->plan.pause_at >= 0)
        rc = self_event(des, lp, c->plan.pause_at, EV_CLIENT_PAUSE);
    if (rc == 0 && c->plan.seek_at >= 0)
        rc = self_event(des, lp, c->plan.seek_at, EV_CLIENT_SEEK);
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
    return dsend_des_send(des, lp, &out);
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

/* A run reaches the access link: every packet is lost, or queued on the
 * link (a FIFO at its rate, in wire bytes) plus jitter, and metered when
 * its last bit arrives -- at once if nothing can overtake it, else as an
 * event of its own so the meter sees packets in arrival order. */
static int client_packets(sim_client *c, dsend_des *des, dsend_lp *lp, const dsend_event *ev)
{
    sim_world *w = c->w;
    const dsend_sim_config *cfg = w->cfg;
    ev_packets m;
    memcpy(&m, ev->payload, sizeof m);
    const dsend_asset *a = &w->lib.assets[m.asset];
    if (m.client != c->st.client || m.asset != c->st.asset)
        return dsend_seterr(DSEND_EINVAL, "client %u received packets of client %u asset %u",
                            c->st.client, m.client, m.asset);
    if (m.flags & DSEND_RUN_END_MARKER)
        return 0; /* the end-of-stream packet carries no media */
    /* end-to-end integrity: the checksum the library implies */
    uint32_t want = dsend_payload_crc(a, m.offset, m.bytes,
                                      w->stored[m.asset] ? w->stored[m.asset] + m.offset : NULL);
    uint64_t end = m.offset + m.bytes;
    for (uint64_t o = m.offset; o < end;) {
        uint32_t len = dsend_packet_len(a, o);
        if (o + len > end)
            len = (uint32_t)(end - o);
        int64_t depart = dsend_media_time(a, m.offset, m.depart, o);
        if (want != m.crc32c)
            c->st.crc_errors++;
        if (cfg->loss > 0 && sim_unit(cfg->seed ^ 0x1055, c->st.client, o) < cfg->loss) {
            o += len;
            continue; /* lost on the data network */
        }
        int64_t in = depart + cfg->data_latency;
        int64_t start = in > c->link_free ? in : c->link_free;
        c->link_free = start + dsend_wire_ns(len + DSEND_PKT_OVERHEAD, cfg->client_bps);
        int64_t rx = c->link_free;
        int rc;
        if (cfg->jitter > 0) {
            rx += (int64_t)(sim_unit(cfg->seed ^ 0x717e, c->st.client, o) * (double)cfg->jitter);
            dsend_event r;
            memset(&r, 0, sizeof r);
            r.ts = rx;
            r.dst_lp = lp->id;
            r.type = EV_CLIENT_RECEIVE;
            ev_receive p = {.offset = o, .len = len, .device = m.device};
            memcpy(r.payload, &p, sizeof p);
            rc = dsend_des_send(des, lp, &r);
        } else {
            rc = receive(c, o, len, rx, m.device, depart);
        }
        if (rc)
            return rc;
        o += len;
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
        ev_start s = {.client = c->st.client, .asset = c->st.asset, .from = c->plan.from,
                      .to = c->plan.to};
        memcpy(out.payload, &s, sizeof s);
        return dsend_des_send(des, lp, &out);
    }
    case EV_CLIENT_PAUSE: {
        dsend_meter_pause(&c->meter, ev->ts);
        int rc = send_ctrl(c, des, lp, EV_PAUSE, ev->ts);
        return rc ? rc : self_event(des, lp, ev->ts + c->plan.pause_len, EV_CLIENT_RESUME);
    }
    case EV_CLIENT_RESUME:
        dsend_meter_resume(&c->meter, ev->ts);
        return send_ctrl(c, des, lp, EV_RESUME, ev->ts);
    case EV_CLIENT_SEEK:
        dsend_meter_seek(&c->meter, ev->ts);
        return send_ctrl(c, des, lp, EV_SEEK, ev->ts);
    case EV_CTRL_REPLY: {
        ev_ctrl m;
        memcpy(&m, ev->payload, sizeof m);
        if (m.kind == EV_PAUSE)
            return 0; /* the plan ends where the resume says it goes on */
        const dsend_asset *a = &c->w->lib.assets[c->st.asset];
        if (m.kind == EV_SEEK && m.from >= c->plan.to)
            c->plan.to = a->size; /* a seek past the session's end plays on, as the scheduler does */
        return dsend_meter_plan_begin(&c->meter, m.from, c->plan.to, m.kind == EV_SEEK);
    }
    case EV_PACKETS:
        return client_packets(c, des, lp, ev);
    case EV_CLIENT_RECEIVE: {
        ev_receive p;
        memcpy(&p, ev->payload, sizeof p);
        return receive(c, p.offset, p.len, ev->ts, p.device, -1);
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
    dsend_meter_final(&c->meter);
    return 0;
}

const dsend_lptype sim_client_lptype = {
    .name = "client",
    .init = client_init,
    .event = client_event,
    .final = client_final,
};
