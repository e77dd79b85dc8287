/* RTSP sessions of this device's scheduler: created by SETUP, bound to
 * the address that set them up, ended by TEARDOWN or a timeout.  (The RTCP
 * BYE goes from the device that sends a plan's last packet, emit_udp.c.) */
#include "dsend/checksum.h"
#include "serve/serve_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

session *serve_session_find(serve_world *w, const char *id)
{
    if (!id[0])
        return NULL;
    for (int i = 0; i < w->cfg->max_sessions; i++)
        if (w->sessions[i].used && strcmp(w->sessions[i].id, id) == 0)
            return &w->sessions[i];
    return NULL;
}

session *serve_session_new(serve_world *w, conn *c, uint32_t asset, int *status)
{
    const dsend_serve_config *cfg = w->cfg;
    int free_slot = -1, from_peer = 0;
    for (int i = 0; i < cfg->max_sessions; i++) {
        if (!w->sessions[i].used && free_slot < 0)
            free_slot = i;
        from_peer += w->sessions[i].used && w->sessions[i].ip == c->ip;
    }
    if (free_slot < 0 || from_peer >= cfg->max_peer_sessions) {
        *status = 453;
        return NULL;
    }
    session *s = &w->sessions[free_slot];
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->state = S_READY;
    s->asset = asset;
    s->ip = c->ip;
    s->last_seen = serve_now(w);
    uint64_t r64 = dsend_mix64(cfg->seed ^ ((uint64_t)w->rank << 40) ^ ++w->sessions_total ^
                               (uint64_t)s->last_seen);
    uint32_t client = ((uint32_t)w->rank << 16) | (uint32_t)free_slot;
    /* the id names the client (so the front finds who holds the session
     * after a failover); its secret part is the stream's SSRC and RTP
     * timestamp base, which every device knows from the announcement */
    snprintf(s->id, sizeof s->id, "%016llx-%x", (unsigned long long)r64, client);
    s->peer = (dsend_peer){
        .client = client,
        .asset = asset,
        .ip = c->ip,
        .ssrc = (uint32_t)(r64 >> 32),
        .seq_base = (uint32_t)(r64 >> 16) & 0xffff,
        .ts_base = (uint32_t)r64,
        .open = 1,
    };
    w->nsessions++;
    return s;
}

int64_t serve_session_client(const char *id)
{
    const char *dash = strchr(id, '-');
    if (!dash || dash - id != 16 || strspn(id, "0123456789abcdef") != 16)
        return -1;
    char *end;
    unsigned long c = strtoul(dash + 1, &end, 16);
    if (end == dash + 1 || *end || c > UINT32_MAX)
        return -1;
    return (int64_t)c;
}

int serve_session_adopt(serve_world *w, const dsend_peer *p)
{
    int slot = -1;
    for (int i = 0; i < w->cfg->max_sessions && slot < 0; i++)
        if (!w->sessions[i].used)
            slot = i;
    if (slot < 0)
        return 0; /* no room for its control: the media goes on regardless */
    session *s = &w->sessions[slot];
    memset(s, 0, sizeof *s);
    s->used = 1;
    const dsend_stream *st = dsend_scheduler_stream(&w->dev.sched, p->client);
    s->state = st && st->paused ? S_PAUSED : S_PLAYING;
    s->asset = p->asset;
    s->ip = p->ip; /* it obeys only the address that set it up, as before */
    s->last_seen = serve_now(w);
    s->peer = *p;
    snprintf(s->id, sizeof s->id, "%016llx-%x",
             (unsigned long long)(((uint64_t)p->ssrc << 32) | p->ts_base), p->client);
    w->nsessions++;
    return 0;
}

void serve_session_end(serve_world *w, session *s)
{
    if (s->state != S_READY)
        dsend_device_stop(&w->dev, s->peer.client);
    s->used = 0;
    w->nsessions--;
}

void serve_sessions_housekeeping(serve_world *w, int64_t now)
{
    if (now < w->next_housekeeping)
        return;
    w->next_housekeeping = now + 100000000; /* every 100 ms */
    for (int i = 0; i < w->cfg->max_sessions && w->nsessions; i++) {
        session *s = &w->sessions[i];
        if (!s->used)
            continue;
        if (now - s->last_seen > w->cfg->session_timeout)
            serve_session_end(w, s); /* a client that vanished */
    }
}
