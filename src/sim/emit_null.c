/* Emit backend `null`: counts runs and drops them (sender-only
 * measurements, benchmarks of the scheduling core). */
#include "sim/sim_internal.h"

static int null_packets(void *ctx, const dsend_packet_run *run)
{
    sim_device *d = ctx;
    d->emitted++;
    return dsend_device_release(&d->dev, run); /* nothing kept */
}

static int null_cancel(void *ctx, uint32_t client, uint32_t epoch, uint32_t device, int64_t from)
{
    (void)ctx;
    (void)client;
    (void)epoch;
    (void)device;
    (void)from;
    return 0;
}

static int null_transmit(void *ctx)
{
    (void)ctx;
    return 0;
}

const dsend_emit dsend_emit_null = {
    .name = "null",
    .packets = null_packets,
    .cancel = null_cancel,
    .transmit = null_transmit,
};
