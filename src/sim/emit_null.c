/* Emit backend `null`: counts runs and drops them (sender-only
 * measurements, benchmarks of the scheduling core). */
#include "sim/sim_internal.h"

static int null_packets(void *ctx, const dsend_packet_run *run)
{
    (void)run;
    sim_device *d = ctx;
    d->emitted++;
    return 0;
}

static int null_flush(void *ctx)
{
    (void)ctx;
    return 0;
}

const dsend_emit dsend_emit_null = {
    .name = "null",
    .packets = null_packets,
    .flush = null_flush,
};
