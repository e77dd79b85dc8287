/* Control channel of `serve`: send requests to other devices as MPI
 * messages, batched per destination device per loop turn. */
#include "serve/serve_internal.h"

static int mpi_send_request(void *ctx, int device, const dsend_send_request *rq)
{
    return serve_queue_request(ctx, device, rq);
}

const dsend_ctrl dsend_ctrl_mpi = {
    .name = "mpi",
    .send_request = mpi_send_request,
};
