/* RTSP request parsing (see include/dsend/rtsp.h). */
#include "dsend/rtsp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void copy_trim(char *dst, size_t n, const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

int dsend_rtsp_parse(const char *buf, size_t len, dsend_rtsp_request *r)
{
    memset(r, 0, sizeof *r);
    r->cseq = -1;
    /* the header block ends at the first empty line */
    const char *end = NULL;
    for (size_t i = 0; i + 3 < len; i++)
        if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
            end = buf + i;
            break;
        }
    if (!end)
        return len >= DSEND_RTSP_MAX_REQUEST ? -431 : 0;
    if ((size_t)(end - buf) + 4 > DSEND_RTSP_MAX_REQUEST)
        return -431;
    /* request line: METHOD SP URL SP RTSP/1.0 */
    const char *p = buf, *eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || (size_t)(sp1 - p) >= sizeof r->method ||
        (size_t)(sp2 - sp1 - 1) >= sizeof r->url || sp2 == sp1 + 1)
        return -400;
    for (const char *q = p; q < sp1; q++)
        if (!isupper((unsigned char)*q) && *q != '_')
            return -400;
    memcpy(r->method, p, (size_t)(sp1 - p));
    memcpy(r->url, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    for (const char *q = r->url; *q; q++)
        if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 127)
            return -400;
    if ((size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "RTSP/", 5) != 0)
        return -400;
    if (memcmp(sp2 + 1, "RTSP/1.0", 8) != 0)
        return -505;
    size_t content_length = 0;
    int headers = 0;
    p = eol + 2;
    while (p < end + 2) {
        eol = memchr(p, '\r', (size_t)(end + 2 - p));
        if (!eol || eol[1] != '\n')
            return -400;
        if (eol == p)
            break;
        if (++headers > DSEND_RTSP_MAX_HEADERS)
            return -431;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return -400;
        size_t nl = (size_t)(colon - p);
        const char *v = colon + 1;
        size_t vl = (size_t)(eol - v);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
        if (IS("CSeq")) {
            char tmp[16];
            copy_trim(tmp, sizeof tmp, v, vl);
            char *e;
            long c = strtol(tmp, &e, 10);
            if (*e || e == tmp || c < 0 || c > 1000000000)
                return -400;
            r->cseq = (int)c;
        } else if (IS("Session")) {
            copy_trim(r->session, sizeof r->session, v, vl);
            char *semi = strchr(r->session, ';');
            if (semi)
                *semi = '\0';
        } else if (IS("Transport")) {
            copy_trim(r->transport, sizeof r->transport, v, vl);
        } else if (IS("Range")) {
            copy_trim(r->range, sizeof r->range, v, vl);
        } else if (IS("Accept")) {
            copy_trim(r->accept, sizeof r->accept, v, vl);
        } else if (IS("Content-Length")) {
            char tmp[16];
            copy_trim(tmp, sizeof tmp, v, vl);
            char *e;
            long c = strtol(tmp, &e, 10);
            if (*e || e == tmp || c < 0 || c > DSEND_RTSP_MAX_REQUEST)
                return c > DSEND_RTSP_MAX_REQUEST ? -413 : -400;
            content_length = (size_t)c;
        }
#undef IS
        p = eol + 2;
    }
    size_t total = (size_t)(end - buf) + 4 + content_length;
    if (total > len)
        return 0; /* the body is still coming (we ignore it) */
    r->length = total;
    return 1;
}

int dsend_rtsp_url_asset(const char *url, char *name, size_t n)
{
    const char *p = url;
    if (strncasecmp(p, "rtsp://", 7) == 0) {
        p = strchr(p + 7, '/');
        if (!p)
            return -1;
    }
    if (*p == '/')
        p++;
    size_t len = strcspn(p, "/?#");
    if (len == 0 || len >= n)
        return -1;
    memcpy(name, p, len);
    name[len] = '\0';
    return 0;
}

/* A port: 1 to 5 decimal digits, 1..65535; -1 otherwise.  Advances *p past
 * the digits (never converts more than fit: no overflow, whatever comes). */
static int port_number(const char **p)
{
    int v = 0, n = 0;
    while (isdigit((unsigned char)**p)) {
        if (++n > 5)
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    return n && v >= 1 && v <= 65535 ? v : -1;
}

int dsend_rtsp_parse_transport(const char *h, dsend_rtsp_transport *t)
{
    memset(t, 0, sizeof *t);
    t->client_port[0] = t->client_port[1] = -1;
    char spec[256];
    size_t len = strcspn(h, ","); /* the first of several alternatives */
    copy_trim(spec, sizeof spec, h, len);
    char *save = NULL;
    int first = 1;
    for (char *tok = strtok_r(spec, ";", &save); tok; tok = strtok_r(NULL, ";", &save), first = 0) {
        while (isspace((unsigned char)*tok))
            tok++;
        if (first) {
            if (strcasecmp(tok, "RTP/AVP") == 0 || strcasecmp(tok, "RTP/AVP/UDP") == 0)
                t->udp_unicast = 1;
            else if (strcasecmp(tok, "RTP/AVP/TCP") == 0)
                t->tcp = 1;
            else
                return -1;
        } else if (strcasecmp(tok, "multicast") == 0) {
            t->multicast = 1;
        } else if (strncasecmp(tok, "interleaved=", 12) == 0) {
            t->tcp = 1;
        } else if (strncasecmp(tok, "client_port=", 12) == 0) {
            const char *e = tok + 12;
            int a = port_number(&e), b = a < 65535 ? a + 1 : -1;
            if (*e == '-') {
                e++;
                b = port_number(&e);
            }
            if (*e || a < 1 || b < 1)
                return -1;
            t->client_port[0] = a;
            t->client_port[1] = b;
        } else if (strncasecmp(tok, "destination=", 12) == 0) {
            snprintf(t->destination, sizeof t->destination, "%s", tok + 12);
        }
    }
    if (t->multicast)
        t->udp_unicast = 0;
    return 0;
}

/* seconds as npt says them; NaN, infinities and absurd values refused */
static int npt_seconds(const char *p, char **end, int64_t *ns)
{
    double s = strtod(p, end);
    if (*end == p || !(s >= 0) || s > 1e9)
        return -1;
    *ns = (int64_t)(s * 1e9);
    return 0;
}

int dsend_rtsp_parse_range(const char *h, int64_t *start_ns, int64_t *end_ns)
{
    const char *p = h;
    *end_ns = -1;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "npt=", 4) != 0)
        return 1;
    p += 4;
    char *e;
    if (strncasecmp(p, "now", 3) == 0) {
        *start_ns = 0;
        e = (char *)p + 3;
    } else if (npt_seconds(p, &e, start_ns) != 0) {
        return -1;
    }
    if (*e == '\0')
        return 0;
    if (*e != '-')
        return -1;
    p = e + 1;
    if (*p == '\0' || isspace((unsigned char)*p))
        return 0;
    if (npt_seconds(p, &e, end_ns) != 0 || (*e != '\0' && !isspace((unsigned char)*e)) ||
        *end_ns <= *start_ns)
        return -1;
    return 0;
}

const char *dsend_rtsp_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 302: return "Moved Temporarily";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 453: return "Not Enough Bandwidth";
    case 454: return "Session Not Found";
    case 455: return "Method Not Valid in This State";
    case 457: return "Invalid Range";
    case 459: return "Aggregate Operation Not Allowed";
    case 461: return "Unsupported Transport";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "RTSP Version Not Supported";
    default: return "Error";
    }
}
