/* Emit backend `mpi`: the sub-block goes straight from the sender's device
 * to the rank hosting its client (never through the scheduler's device),
 * reaching the client's access link after its time on the device's link
 * plus the data-network latency. */
#include "sim/sim_internal.h"

#include <string.h>

static int mpi_sub_block(void *ctx, const dsend_sub_block *sb, int64_t wire_ns)
{
    sim_device *d = ctx;
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = dsend_des_now(d->des) + wire_ns + d->cfg->data_latency;
    ev.dst_lp = d->nclients_lp0 + sb->client;
    ev.type = EV_SUB_BLOCK;
    _Static_assert(sizeof *sb <= DSEND_DES_PAYLOAD, "sub-block fits an event");
    memcpy(ev.payload, sb, sizeof *sb);
    return dsend_des_send(d->des, d->lp, &ev);
}

const dsend_emit dsend_emit_mpi = {
    .name = "mpi",
    .sub_block = mpi_sub_block,
};
