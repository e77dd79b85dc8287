/* Internal to `dsend sim`: the LP states the backends work on. */
#ifndef DSEND_SIM_INTERNAL_H
#define DSEND_SIM_INTERNAL_H

#include "dsend/core.h"
#include "dsend/des.h"
#include "dsend/sim.h"

enum sim_event_type {
    EV_CLIENT_ARRIVE = 1, /* a client's session begins (self) */
    EV_START,             /* client -> its scheduler: play asset [from, to) */
    EV_SCHED_TICK,        /* scheduler planning round (self) */
    EV_SEND_REQUEST,      /* scheduler -> sender holding the block */
    EV_SENDER_WAKE,       /* sender's link is free (self) */
    EV_SUB_BLOCK,         /* sender -> client: a sub-block reaches its access link */
    EV_CLIENT_RECEIVE,    /* the sub-block is fully received (self, in arrival order) */
    EV_CLIENT_PAUSE,      /* the viewer pauses (self) */
    EV_CLIENT_RESUME,     /* ... and resumes (self) */
    EV_CLIENT_SEEK,       /* the viewer seeks (self) */
    EV_PAUSE,             /* client -> scheduler */
    EV_RESUME,            /* client -> scheduler */
    EV_SEEK,              /* client -> scheduler: play from an offset */
    EV_CTRL_REPLY,        /* scheduler -> client: where the old plan stopped, the new one */
};

/* Control request and reply of a pause, resume or seek. */
typedef struct ev_ctrl {
    uint32_t client, kind;  /* kind: EV_PAUSE, EV_RESUME or EV_SEEK */
    uint64_t offset;        /* seek target */
    uint64_t planned_to;    /* reply: first byte the old plan never requested */
    uint64_t from;          /* reply: first byte of the new plan */
    uint32_t epoch;         /* reply: the new plan */
    uint32_t pad_;
} ev_ctrl;

typedef struct ev_start {
    uint32_t client, asset;
    uint64_t from, to;
    int64_t request_at;
} ev_start;

/* A device LP: one scheduler and one sender. */
typedef struct sim_device {
    dsend_des *des;
    dsend_lp *lp;
    const dsend_sim_config *cfg;
    uint32_t nclients_lp0;          /* LP id of client 0 */
    dsend_scheduler sched;
    dsend_sender sender;
    uint64_t requests_received;
    /* time series, by interval of send time */
    uint64_t *series_bytes;
    uint32_t *series_queue;
    uint32_t nseries;
    uint64_t emitted;               /* emit_null counts here */
} sim_device;

#endif
