/* Emit backend `udp`: a sub-block becomes RTP packets (RFC 2250: 7 TS
 * packets each) paced at the stream's bitrate and sent from this device's
 * own UDP socket straight to the client's address. */
#include "serve/serve_internal.h"

static int udp_sub_block(void *ctx, const dsend_sub_block *sb, int64_t wire_ns)
{
    (void)wire_ns;
    return serve_emit(ctx, sb);
}

const dsend_emit dsend_emit_udp = {
    .name = "udp",
    .sub_block = udp_sub_block,
};
