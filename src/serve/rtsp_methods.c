/* The RTSP methods a device's own port answers, one handler each (RFC
 * 2326), dispatched by a table.  A session obeys only the connection that
 * set it up (or, once that closed, the first from the same address naming
 * its whole id); media goes only to that address. */
#include "dsend/error.h"
#include "serve/serve_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const char public_methods[] =
    "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n";

typedef struct req_ctx {
    serve_world *w;
    conn *c;
    const dsend_rtsp_request *r;
    session *s;            /* the session the request names, if it is the caller's */
    char h[1024];          /* Session: header of s */
} req_ctx;

static int64_t asset_of_url(serve_world *w, const char *url)
{
    char name[DSEND_NAME_MAX + 2];
    return dsend_rtsp_url_asset(url, name, sizeof name) == 0 ? dsend_library_find(&w->lib, name)
                                                              : -1;
}

static void on_options(req_ctx *q) { serve_reply(q->c, 200, q->r->cseq, public_methods, NULL); }

static void on_describe(req_ctx *q)
{
    serve_world *w = q->w;
    int64_t id = asset_of_url(w, q->r->url);
    if (id < 0) {
        serve_reply(q->c, 404, q->r->cseq, NULL, NULL);
        return;
    }
    const dsend_asset *a = &w->lib.assets[id];
    char sdp[1024], h[1024], hb[64];
    const char *host = serve_url_host(w, q->c, hb, sizeof hb);
    /* SDP names an IPv6 address without the URL's brackets (RFC 4566) */
    int v6 = q->c->peer.family == AF_INET6, bare = v6 && host[0] == '[';
    snprintf(sdp, sizeof sdp,
             "v=0\r\no=- %u 1 IN %s %.*s\r\ns=%s\r\nc=IN %s\r\nt=0 0\r\n"
             "a=control:*\r\na=range:npt=0-%.3f\r\nm=video 0 RTP/AVP 33\r\n"
             "a=rtpmap:33 MP2T/90000\r\na=control:trackID=0\r\n",
             (unsigned)id, v6 ? "IP6" : "IP4", (int)strlen(host) - 2 * bare, host + bare, a->name,
             v6 ? "IP6 ::" : "IP4 0.0.0.0", (double)a->duration_ns / 1e9);
    snprintf(h, sizeof h, "Content-Type: application/sdp\r\nContent-Base: rtsp://%s:%d/%s/\r\n",
             host, w->cfg->port + 1 + w->rank, a->name);
    serve_reply(q->c, 200, q->r->cseq, h, sdp);
}

static void on_setup(req_ctx *q)
{
    serve_world *w = q->w;
    const dsend_rtsp_request *r = q->r;
    int64_t id = asset_of_url(w, r->url);
    if (id < 0) {
        serve_reply(q->c, 404, r->cseq, NULL, NULL);
        return;
    }
    if (r->session[0]) { /* one track per session; another's is not found */
        serve_reply(q->c, q->s ? 459 : 454, r->cseq, NULL, NULL);
        return;
    }
    dsend_rtsp_transport t;
    if (dsend_rtsp_parse_transport(r->transport, &t) != 0 || t.tcp || !t.udp_unicast ||
        t.client_port[0] < 0) {
        /* TCP-interleaved would route media through this (the scheduler's) device */
        serve_reply(q->c, 461, r->cseq, NULL, NULL);
        return;
    }
    if (t.destination[0]) {
        dsend_netaddr d;
        if (dsend_netaddr_parse(t.destination, &d) != 0 || d.port ||
            !dsend_netaddr_same_host(&d, &q->c->peer)) {
            serve_reply(q->c, 403, r->cseq, NULL, NULL); /* media only to the peer that asked */
            return;
        }
    }
    int status = 0;
    session *s = serve_session_new(w, q->c, (uint32_t)id, &status);
    if (!s) {
        serve_reply(q->c, status, r->cseq, NULL, NULL);
        return;
    }
    s->peer.rtp_port = htons((uint16_t)t.client_port[0]);
    s->peer.rtcp_port = htons((uint16_t)t.client_port[1]);
    struct sockaddr_storage u;
    socklen_t ul = sizeof u;
    dsend_netaddr src = {0};
    if (getsockname(w->udp_fd, (struct sockaddr *)&u, &ul) == 0)
        dsend_netaddr_from_sockaddr((struct sockaddr *)&u, ul, &src);
    char h[1024];
    snprintf(h, sizeof h,
             "Session: %s;timeout=%lld\r\nTransport: RTP/AVP/UDP;unicast;client_port=%d-%d;"
             "server_port=%d-%d;ssrc=%08X\r\n",
             s->id, (long long)(w->cfg->session_timeout / 1000000000), t.client_port[0],
             t.client_port[1], src.port, src.port + 1, s->peer.ssrc);
    serve_reply(q->c, 200, r->cseq, h, NULL);
}

/* Range and RTP-Info of a plan starting at `offset`. */
static void play_headers(req_ctx *q, uint64_t offset)
{
    serve_world *w = q->w;
    session *s = q->s;
    const dsend_asset *a = &w->lib.assets[s->asset];
    const dsend_stream *st = dsend_scheduler_stream(&w->dev.sched, s->peer.client);
    uint64_t to = st ? st->to : a->size;
    uint32_t seq = (s->peer.seq_base + (uint32_t)dsend_packet_index(a, offset)) & 0xffff;
    uint32_t ts = s->peer.ts_base +
                  (uint32_t)((unsigned __int128)offset * 8u * 90000u / a->bitrate_bps);
    /* a plan to the asset's end answers an open range (RFC 2326 12.29): a
     * player clips its segment at a closed range's end in its own clock,
     * which started at the answer, so the last moments (how long the first
     * packet took) would be cut (GStreamer's rtspsrc does) */
    char end[32] = "";
    if (to < a->size)
        snprintf(end, sizeof end, "%.9f", (double)to * 8 / (double)a->bitrate_bps);
    snprintf(q->h, sizeof q->h,
             "Session: %s;timeout=%lld\r\nRange: npt=%.9f-%s\r\nRTP-Info: url=%s;seq=%u;"
             "rtptime=%u\r\n",
             s->id, (long long)(w->cfg->session_timeout / 1000000000),
             (double)offset * 8 / (double)a->bitrate_bps, end, q->r->url, seq, ts);
}

/* PLAY: a start, a seek (Range), or a resume after PAUSE. */
static void on_play(req_ctx *q)
{
    serve_world *w = q->w;
    session *s = q->s;
    const dsend_asset *a = &w->lib.assets[s->asset];
    int64_t start_ns = 0, end_ns = -1;
    int has_range = q->r->range[0] ? dsend_rtsp_parse_range(q->r->range, &start_ns, &end_ns) : 1;
    uint64_t offset = has_range == 0 ? dsend_media_bytes(a, start_ns) : 0;
    uint64_t to = end_ns > 0 ? dsend_media_bytes(a, end_ns) : a->size;
    if (to > a->size)
        to = a->size;
    /* past the end, or not one byte long, or within the duration but past
     * the bytes (its rounding): the client's error, not ours */
    if (has_range < 0 || start_ns >= a->duration_ns || to <= offset || offset >= a->size) {
        serve_reply(q->c, 457, q->r->cseq, q->h, NULL);
        return;
    }
    int rc = 0;
    if (s->state == S_READY) {
        rc = dsend_device_play(&w->dev, &s->peer, &offset, to);
        const dsend_peer *p = dsend_peers_find(&w->dev.peers, s->peer.client);
        if (p)
            s->peer = *p;
    } else if (has_range != 0 && s->state == S_PAUSED) {
        rc = dsend_device_resume(&w->dev, s->peer.client, &offset);
    } else if (has_range != 0) {
        const dsend_stream *st = dsend_scheduler_stream(&w->dev.sched, s->peer.client);
        offset = st ? st->from : 0; /* already playing: nothing changes */
    } else {
        rc = dsend_device_seek(&w->dev, s->peer.client, offset, &offset);
    }
    if (rc) {
        /* admission: the links are full (the session stays ready: the
         * client may try again, or tear it down) */
        serve_reply(q->c, rc == DSEND_EBUSY ? 453 : 500, q->r->cseq, q->h, NULL);
        return;
    }
    serve_session_played(w, s, has_range == 0);
    s->state = S_PLAYING;
    play_headers(q, offset);
    serve_reply(q->c, 200, q->r->cseq, q->h, NULL);
}

static void on_pause(req_ctx *q)
{
    if (q->s->state == S_READY) {
        serve_reply(q->c, 455, q->r->cseq, q->h, NULL);
        return;
    }
    uint64_t resume_at;
    if (q->s->state == S_PLAYING &&
        dsend_device_pause(&q->w->dev, q->s->peer.client, &resume_at) != 0) {
        serve_reply(q->c, 500, q->r->cseq, q->h, NULL);
        return;
    }
    if (q->s->state == S_PLAYING)
        serve_session_log(q->w, q->s, "pause", NULL);
    q->s->state = S_PAUSED;
    serve_reply(q->c, 200, q->r->cseq, q->h, NULL);
}

static void on_teardown(req_ctx *q)
{
    serve_session_end(q->w, q->s, "teardown");
    serve_reply(q->c, 200, q->r->cseq, NULL, NULL);
}

static void on_get_parameter(req_ctx *q) { serve_reply(q->c, 200, q->r->cseq, q->h, NULL); }

static void on_not_allowed(req_ctx *q)
{
    serve_reply(q->c, 405, q->r->cseq,
                "Allow: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER\r\n", NULL);
}

static const struct method {
    const char *name;
    int needs_session;     /* the caller's own session, else 454 */
    void (*handle)(req_ctx *q);
} methods[] = {
    {"OPTIONS", 0, on_options},
    {"DESCRIBE", 0, on_describe},
    {"SETUP", 0, on_setup},
    {"PLAY", 1, on_play},
    {"PAUSE", 1, on_pause},
    {"TEARDOWN", 1, on_teardown},
    {"GET_PARAMETER", 1, on_get_parameter},
    {"ANNOUNCE", 0, on_not_allowed},
    {"RECORD", 0, on_not_allowed},
    {"SET_PARAMETER", 0, on_not_allowed},
    {"REDIRECT", 0, on_not_allowed},
};

/* The session a request names, if it is the caller's: set up by this
 * connection, or -- its owner's connection closed, or its device died and
 * this one took it over -- claimed now by a connection from the address
 * that set it up, naming its whole id (128 random bits).  Another
 * connection's session is not found (454), from any address. */
static session *callers_session(serve_world *w, conn *c, const char *id)
{
    session *s = serve_session_find(w, id);
    if (!s || !dsend_netaddr_same_host(&s->addr, &c->peer) || (s->owner && s->owner != c))
        return NULL;
    if (!s->owner) {
        s->owner = c;
        c->nsessions++;
        if (s->state != S_READY)
            serve_session_log(w, s, "attach", NULL);
    }
    return s;
}

void serve_handle_device(serve_world *w, conn *c, const dsend_rtsp_request *r)
{
    req_ctx q = {.w = w, .c = c, .r = r, .s = callers_session(w, c, r->session)};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (strcmp(r->method, methods[i].name) != 0)
            continue;
        if (methods[i].needs_session) {
            if (!q.s) {
                serve_reply(c, 454, r->cseq, NULL, NULL);
                return;
            }
            q.s->last_seen = serve_now(w);
            snprintf(q.h, sizeof q.h, "Session: %s;timeout=%lld\r\n", q.s->id,
                     (long long)(w->cfg->session_timeout / 1000000000));
        }
        methods[i].handle(&q);
        return;
    }
    serve_reply(c, 501, r->cseq, NULL, NULL);
}
