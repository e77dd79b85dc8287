/* The wire side of `dsend clients` (internal). */
#ifndef DSEND_CLIENTS_RTSP_WIRE_H
#define DSEND_CLIENTS_RTSP_WIRE_H

#include <stddef.h>

/* rtsp://HOST:PORT/[ASSET]: host, port and the path after the slash. */
int client_parse_url(const char *url, char *host, size_t hn, int *port, char *path, size_t pn);
/* A blocking TCP connection with 5 s timeouts, or -1. */
int client_tcp_connect(const char *host, int port);
/* One request (CSeq from *cseq, Session if session[0]), one answer (headers
 * and body in resp).  Returns the status, or -1. */
int client_rtsp_call(int fd, int *cseq, const char *session, const char *method,
                     const char *url, const char *extra, char *resp, size_t rn);
/* The value of header `name` ("Location:") in resp, into out; NULL if none. */
const char *client_header(const char *resp, const char *name, char *out, size_t n);
/* An even/odd pair of UDP ports (RTP, RTCP) on the local address of the
 * RTSP connection ctl. */
int client_udp_pair(int ctl, int *rtp, int *rtcp, int *port);

#endif
