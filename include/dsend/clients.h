/* `dsend clients`: a load client for `dsend serve`.  Opens N RTSP sessions
 * (following the front's redirects), receives their RTP/UDP, checks
 * sequence continuity and every payload byte against the library, and
 * measures what a virtual client of `dsend sim` measures, in the same
 * results format. */
#ifndef DSEND_CLIENTS_H
#define DSEND_CLIENTS_H

#include <stdint.h>
#include <stdio.h>

#include "dsend/sim.h"

typedef struct dsend_clients_config {
    const char *url;          /* rtsp://HOST:PORT/ASSET */
    const char *library;      /* the library served, to check payloads */
    int sessions;
    int64_t duration;         /* ns: stop after this long; 0: until every BYE */
    int64_t seek;             /* ns: PLAY Range npt=SEEK- (0: from the start) */
    int64_t pause_at, pause_for; /* ns of receiving before PAUSE, and its length; 0: none */
} dsend_clients_config;

/* Fills r (clients, kind "clients"); prints each session's senders to `log`
 * when non-NULL. */
int dsend_clients_run(const dsend_clients_config *cfg, dsend_sim_result *r, FILE *log);

#endif
