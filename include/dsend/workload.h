/* The workload: who asks for what, when, and when they pause and seek.
 * Every choice is a function of (seed, client id), so `dsend sim` and
 * `dsend clients` given the same options play the same schedule, and a
 * client's schedule does not depend on which rank or process runs it. */
#ifndef DSEND_WORKLOAD_H
#define DSEND_WORKLOAD_H

#include <stdint.h>

#include "dsend/library.h"

enum dsend_arrival { DSEND_ARRIVAL_ALL, DSEND_ARRIVAL_STAGGERED, DSEND_ARRIVAL_POISSON };

typedef struct dsend_workload_config {
    int64_t clients;             /* C */
    const char *asset;           /* NULL: Zipf over every asset */
    double zipf;                 /* 0: uniform */
    enum dsend_arrival arrival;
    int64_t arrival_window;      /* staggered: arrivals spread over this, ns */
    double arrival_rate;         /* poisson: clients per second */
    int64_t session_min, session_max; /* ns of media; 0: whole asset */
    double pause_prob;           /* a client pauses once, with this probability */
    int64_t pause_min, pause_max; /* ns the pause lasts, uniform */
    double seek_prob;            /* a client seeks once, with this probability */
    int64_t play_delay;          /* ns from a request to playout, for placing pauses and seeks */
    uint64_t seed;
} dsend_workload_config;

/* One client's part. */
typedef struct dsend_client_plan {
    uint32_t client, asset;
    uint64_t from, to;           /* bytes of the session */
    int64_t request_at;          /* ns from the start of the run */
    int64_t pause_at, pause_len; /* -1: no pause */
    int64_t seek_at;             /* -1: no seek */
    uint64_t seek_to;
} dsend_client_plan;

typedef struct dsend_workload {
    dsend_workload_config cfg;
    const dsend_library *lib;
    int64_t *arrival_at;         /* per client */
    double *zipf_cdf;            /* per asset */
    int64_t forced_asset;        /* -1: Zipf */
} dsend_workload;

/* Validates the configuration (one line naming the option). */
int dsend_workload_init(dsend_workload *w, const dsend_workload_config *cfg,
                        const dsend_library *lib);
void dsend_workload_client(const dsend_workload *w, uint32_t client, dsend_client_plan *out);
/* The scheduler a client's session belongs to: clients are dealt over the
 * devices in arrival order (sim's virtual clients, serve's front). */
static inline uint32_t dsend_workload_scheduler(uint64_t arrival_index, uint32_t devices)
{
    return (uint32_t)(arrival_index % devices);
}
/* When the last session's media ends (for progress lines). */
int64_t dsend_workload_end(const dsend_workload *w);
void dsend_workload_free(dsend_workload *w);

#endif
