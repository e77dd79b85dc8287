/* Wall clock: nanoseconds since a start instant every rank agrees on (rank
 * 0's CLOCK_REALTIME, broadcast), so deadlines made by one device's
 * scheduler mean the same on every sender (clocks synchronised by NTP/PTP
 * across hosts).  A wake-up arms the component's timer; the loop's poll
 * sleeps until the nearest one and fires it (as redis' ae does). */
#include "serve/serve_internal.h"

#include <time.h>

int64_t serve_now(const serve_world *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - w->t0_ns;
}

static int64_t wall_now(void *ctx) { return serve_now(ctx); }

static int wall_wake(void *ctx, int who, int64_t at)
{
    serve_world *w = ctx;
    w->timer[who] = at; /* one timer per component: the newest request wins */
    return 0;
}

const dsend_clock dsend_clock_wall = {
    .name = "wall",
    .now = wall_now,
    .wake = wall_wake,
};
