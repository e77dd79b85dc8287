/* `dsend clients`: real clients for `dsend serve`, playing the same
 * workload as the virtual clients of `dsend sim` (dsend/workload.h: the
 * same options and seed give every client the same asset, byte range,
 * arrival, pause and seek) and measured by the same meter (dsend/meter.h).
 * Each session follows the front's redirect, receives RTP/UDP, and every
 * payload byte is checked against the library.  Results go in the sim's
 * format, kind "clients". */
#ifndef DSEND_CLIENTS_H
#define DSEND_CLIENTS_H

#include <stdint.h>
#include <stdio.h>

#include "dsend/sim.h"
#include "dsend/workload.h"

typedef struct dsend_clients_config {
    const char *url;          /* rtsp://HOST:PORT/ or rtsp://HOST:PORT/ASSET (every client plays it) */
    const char *library;      /* the library served, to check payloads */
    dsend_workload_config wl; /* clients, assets, arrivals, sessions, pauses, seeks, seed */
    int64_t prebuffer;        /* ns: the meter's */
    int64_t start_at;         /* ns: every plan starts at this media time */
    int64_t duration;         /* ns: stop after this long; 0: until every session ends */
    int64_t give_up;          /* ns: nothing received this long past a session's end: it is over */
} dsend_clients_config;

/* Fills r (clients, kind "clients"); prints one line per session to `log`
 * when non-NULL. */
int dsend_clients_run(const dsend_clients_config *cfg, dsend_sim_result *r, FILE *log);

#endif
