/* RTSP 1.0 (RFC 2326) request parsing and response building: pure,
 * bounded, no I/O.  Nothing from the network becomes a path: the URL's last
 * segment is only ever looked up in the catalogue. */
#ifndef DSEND_RTSP_H
#define DSEND_RTSP_H

#include <stddef.h>
#include <stdint.h>

#define DSEND_RTSP_MAX_REQUEST 8192 /* whole header block; more is 413/431 */
#define DSEND_RTSP_MAX_HEADERS 32

typedef struct dsend_rtsp_request {
    char method[16];
    char url[512];
    int cseq;                /* -1 if absent */
    char session[32];        /* "" if absent */
    char transport[256];
    char range[64];
    char accept[64];
    size_t length;           /* bytes consumed, header block and any body */
} dsend_rtsp_request;

/* Parse one request from buf[0..len).
 * Returns 1 and fills *r when a whole request is there, 0 if more bytes are
 * needed, or a negative RTSP status for a malformed one (-400 bad request,
 * -431 header too large, -505 version not supported). */
int dsend_rtsp_parse(const char *buf, size_t len, dsend_rtsp_request *r);

/* The asset name a URL names: the path's first segment, "rtsp://h:p/NAME"
 * or "rtsp://h:p/NAME/trackID=0" -> NAME.  Returns 0, or -1 if the URL has
 * no such segment or it is too long. */
int dsend_rtsp_url_asset(const char *url, char *name, size_t n);

typedef struct dsend_rtsp_transport {
    int udp_unicast;         /* RTP/AVP[/UDP];unicast */
    int tcp;                 /* RTP/AVP/TCP or interleaved=: refused (461) */
    int multicast;
    int client_port[2];      /* -1 if absent */
    char destination[64];    /* "" if absent */
} dsend_rtsp_transport;

/* Parse the first transport spec of a Transport header. 0 or -1. */
int dsend_rtsp_parse_transport(const char *h, dsend_rtsp_transport *t);

/* Range: npt=START- or npt=START-END (seconds, "now" as 0).  Returns 0 and
 * the start and end in ns (end -1 if open), 1 if there is no npt range, -1
 * if malformed (or END <= START). */
int dsend_rtsp_parse_range(const char *h, int64_t *start_ns, int64_t *end_ns);

/* Status line reason. */
const char *dsend_rtsp_reason(int status);

#endif
