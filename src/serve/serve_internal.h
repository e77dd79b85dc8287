/* Internal to `dsend serve`: the per-rank runtime the wall clock, the MPI
 * control channel and the UDP emit backend work on. */
#ifndef DSEND_SERVE_INTERNAL_H
#define DSEND_SERVE_INTERNAL_H

#include <mpi.h>
#include <netinet/in.h>
#include <stdint.h>

#include "dsend/core.h"
#include "dsend/serve.h"

/* What every sender knows of a session: where its packets go.  Broadcast
 * by the session's scheduler when it plays, pauses, seeks or ends. */
typedef struct serve_peer {
    uint32_t client;     /* global client id: scheduler rank << 16 | slot */
    uint32_t asset;
    uint32_t ip;         /* IPv4, network order: the RTSP peer's own address */
    uint16_t rtp_port, rtcp_port; /* network order */
    uint32_t ssrc;
    uint32_t epoch;      /* packets of older plans are dropped */
    uint32_t seq_base, ts_base;
    int32_t open;        /* 0: closed (forget it) */
} serve_peer;

/* A paced RTP packet waiting for its release time. */
typedef struct serve_pkt {
    int64_t release;
    uint32_t client, epoch;
    uint32_t asset, len;
    uint64_t offset;
    uint32_t end_marker;   /* the end-of-stream marker after an asset's last packet */
    uint32_t pad_;
} serve_pkt;

typedef struct serve_world serve_world;

/* wall clock, MPI control channel, UDP emit: contexts are the world */
extern const dsend_clock dsend_clock_wall;
extern const dsend_ctrl dsend_ctrl_mpi;
extern const dsend_emit dsend_emit_udp;

int64_t serve_now(const serve_world *w);
int serve_queue_request(serve_world *w, int device, const dsend_send_request *rq);
int serve_emit(serve_world *w, const dsend_sub_block *sb);

#endif
