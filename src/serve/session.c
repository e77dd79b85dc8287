/* RTSP sessions of this device's scheduler: created by SETUP, owned by the
 * connection that set them up (from its address, with an id holding 128
 * random bits), ended by TEARDOWN or a timeout.  (The RTCP
 * BYE goes from the device that sends a plan's last packet, emit_udp.c.) */
#include "dsend/error.h"
#include "serve/serve_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Equal ids, in a time that tells nothing of how much of a guess was right. */
static int same_id(const char *a, const char *b, size_t blen)
{
    size_t alen = strlen(a);
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < alen && i < blen; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

session *serve_session_find(serve_world *w, const char *id)
{
    if (!id[0])
        return NULL;
    size_t n = strlen(id);
    for (int i = 0; i < w->cfg->max_sessions; i++)
        if (w->sessions[i].used && same_id(w->sessions[i].id, id, n))
            return &w->sessions[i];
    return NULL;
}

/* Bytes from the system's random source (getrandom, else /dev/urandom). */
static int random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(p + got, n - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    if (got == n)
        return 0;
    FILE *f = fopen("/dev/urandom", "rb");
    int ok = f && fread(p, 1, n, f) == n;
    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

static const char id_digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
#define SECRET_DIGITS 22 /* 62^22 > 2^128 */

/* "SECRET-CLIENT": the 128-bit secret in 22 base-62 digits, then the
 * client id in hex (the front reads which device holds it from that). */
static void format_id(char *id, size_t n, const uint32_t secret[4], uint32_t client)
{
    unsigned __int128 v = ((unsigned __int128)secret[0] << 96) |
                          ((unsigned __int128)secret[1] << 64) |
                          ((unsigned __int128)secret[2] << 32) | secret[3];
    char digits[SECRET_DIGITS + 1];
    for (int i = 0; i < SECRET_DIGITS; i++) {
        digits[i] = id_digits[(int)(v % 62)];
        v /= 62;
    }
    digits[SECRET_DIGITS] = '\0';
    snprintf(id, n, "%s-%x", digits, client);
}

session *serve_session_new(serve_world *w, conn *c, uint32_t asset, int *status)
{
    const dsend_serve_config *cfg = w->cfg;
    int free_slot = -1, from_peer = 0;
    for (int i = 0; i < cfg->max_sessions; i++) {
        if (!w->sessions[i].used && free_slot < 0)
            free_slot = i;
        from_peer += w->sessions[i].used && dsend_netaddr_same_host(&w->sessions[i].addr, &c->peer);
    }
    if (free_slot < 0 || from_peer >= cfg->max_peer_sessions) {
        *status = 453;
        return NULL;
    }
    /* the secret, the SSRC and the RTP bases: drawn apart, nothing of the
     * secret is ever on the wire but in the answers to its owner */
    struct {
        uint32_t secret[4], ssrc, seq, ts;
    } r;
    if (random_bytes(&r, sizeof r) != 0) {
        *status = 500;
        return NULL;
    }
    session *s = &w->sessions[free_slot];
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->state = S_READY;
    s->asset = asset;
    s->addr = c->peer;
    s->addr.port = 0;
    s->owner = c;
    c->nsessions++;
    s->last_seen = serve_now(w);
    w->sessions_total++;
    uint32_t client = ((uint32_t)w->rank << 16) | (uint32_t)free_slot;
    format_id(s->id, sizeof s->id, r.secret, client);
    s->peer = (dsend_peer){
        .client = client,
        .asset = asset,
        .ssrc = r.ssrc,
        .seq_base = r.seq & 0xffff,
        .ts_base = r.ts,
        .open = 1,
    };
    memcpy(s->peer.secret, r.secret, sizeof r.secret);
    memcpy(s->peer.addr, c->peer.addr, sizeof s->peer.addr);
    w->nsessions++;
    return s;
}

int64_t serve_session_client(const char *id)
{
    const char *dash = strchr(id, '-');
    if (!dash || dash - id != SECRET_DIGITS || strspn(id, id_digits) != SECRET_DIGITS)
        return -1;
    char *end;
    unsigned long c = strtoul(dash + 1, &end, 16);
    if (end == dash + 1 || *end || c > UINT32_MAX || !isxdigit((unsigned char)dash[1]))
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
    dsend_netaddr_from_bytes(p->addr, 0, &s->addr); /* it obeys only the address that set it up, as before, */
    s->owner = NULL; /* on the first connection from there that names its id */
    s->last_seen = serve_now(w);
    s->peer = *p;
    format_id(s->id, sizeof s->id, p->secret, p->client);
    w->nsessions++;
    serve_session_log(w, s, "takeover", NULL);
    return 0;
}

void serve_session_end(serve_world *w, session *s, const char *reason)
{
    if (s->state != S_READY)
        serve_session_log(w, s, "end", reason);
    if (s->owner)
        s->owner->nsessions--;
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
            serve_session_end(w, s, "timeout"); /* a client that vanished */
    }
}

int serve_session_log_open(serve_world *w)
{
    const char *f = w->cfg->session_log;
    w->session_log_fd = -1;
    if (!f || strcmp(f, "off") == 0)
        return 0;
    if (strcmp(f, "-") == 0) {
        w->session_log_fd = STDERR_FILENO;
        return 0;
    }
    /* every device appends its own lines, each in one write */
    w->session_log_fd = open(f, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (w->session_log_fd < 0)
        return dsend_seterr(DSEND_EIO, "--session-log %s: %s", f, strerror(errno));
    return 0;
}

void serve_session_log(serve_world *w, const session *s, const char *event, const char *reason)
{
    if (w->session_log_fd < 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[32], client[DSEND_NETADDR_STRLEN], line[512];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    dsend_netaddr to = s->addr;
    to.port = ntohs(s->peer.rtp_port);
    dsend_netaddr_format(&to, client, sizeof client);
    const dsend_asset *as = &w->lib.assets[s->asset];
    /* the client id (the front routes by it), never the secret before it */
    int n = snprintf(line, sizeof line,
                     "dsend serve: session event=%s time=%s.%03ldZ id=%x client=%s asset=%s device=%d",
                     event, when, ts.tv_nsec / 1000000, s->peer.client, client, as->name, w->rank);
    const dsend_stream *st = dsend_scheduler_stream(&w->dev.sched, s->peer.client);
    int ranged = !strcmp(event, "start") || !strcmp(event, "seek") || !strcmp(event, "resume") ||
                 !strcmp(event, "takeover");
    if (st && ranged && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " range=%.3f-%.3f",
                      (double)st->from * 8 / (double)as->bitrate_bps,
                      (double)st->to * 8 / (double)as->bitrate_bps);
    if (reason && n < (int)sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, " reason=%s", reason);
    if (n >= (int)sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t k = write(w->session_log_fd, line, (size_t)n);
    (void)k; /* a log that cannot be written stops nothing */
}

void serve_session_played(serve_world *w, const session *s, int ranged)
{
    if (s->state == S_READY)
        serve_session_log(w, s, "start", NULL);
    else if (ranged)
        serve_session_log(w, s, "seek", NULL);
    else if (s->state == S_PAUSED)
        serve_session_log(w, s, "resume", NULL);
}

void serve_sessions_stop(serve_world *w)
{
    for (int i = 0; w->sessions && i < w->cfg->max_sessions && w->nsessions; i++)
        if (w->sessions[i].used && w->sessions[i].state != S_READY)
            serve_session_log(w, &w->sessions[i], "end", "stop");
    if (w->session_log_fd > STDERR_FILENO)
        close(w->session_log_fd);
    w->session_log_fd = -1;
}
