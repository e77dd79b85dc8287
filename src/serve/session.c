/* RTSP sessions of this device's scheduler: created by SETUP, bound to
 * the address that set them up, ended by TEARDOWN or a timeout.  (The RTCP
 * BYE goes from the device that sends a plan's last packet, emit_udp.c.) */
#include "dsend/checksum.h"
#include "serve/serve_internal.h"

#include <stdio.h>
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
    snprintf(s->id, sizeof s->id, "%016llx", (unsigned long long)r64);
    s->peer = (dsend_peer){
        .client = ((uint32_t)w->rank << 16) | (uint32_t)free_slot,
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
