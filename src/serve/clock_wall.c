/* Wall clock: nanoseconds since a start instant every rank agrees on (rank
 * 0's CLOCK_REALTIME, broadcast), so deadlines made by one device's
 * scheduler mean the same on every sender (clocks synchronised by NTP/PTP
 * across hosts).  A wake-up needs no call back: the serve loop watches the
 * times the scheduler and sender ask for. */
#include "serve/serve_internal.h"

static int64_t wall_now(void *ctx) { return serve_now(ctx); }

static int wall_wake(void *ctx, int who, int64_t at)
{
    (void)ctx;
    (void)who;
    (void)at;
    return 0; /* the loop reads scheduler.next_tick and sender.wake_at */
}

const dsend_clock dsend_clock_wall = {
    .name = "wall",
    .now = wall_now,
    .wake = wall_wake,
};
