/* Emit backend `null`: counts sub-blocks and drops them (sender-only
 * measurements, benchmarks of the scheduling core). */
#include "sim/sim_internal.h"

static int null_sub_block(void *ctx, const dsend_sub_block *sb, int64_t wire_ns)
{
    (void)sb;
    (void)wire_ns;
    sim_device *d = ctx;
    d->emitted++;
    return 0;
}

const dsend_emit dsend_emit_null = {
    .name = "null",
    .sub_block = null_sub_block,
};
