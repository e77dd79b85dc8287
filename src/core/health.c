/* Health: which devices live, as one device knows it, and which device
 * backs up (and would take over) a session.  The same code in both worlds;
 * only how heartbeats arrive differs (serve: messages; sim: modelled, told
 * once when they stop).  Which holder a block is asked of is the
 * scheduler's (threshold priorities, src/core/scheduler.c). */
#include "dsend/checksum.h"
#include "dsend/core.h"
#include "dsend/error.h"

#include <stdlib.h>
#include <string.h>

int dsend_health_init(dsend_health *h, int D, int self)
{
    memset(h, 0, sizeof *h);
    h->D = D;
    h->self = self;
    h->heard = calloc((size_t)D, sizeof *h->heard);
    h->alive_until = calloc((size_t)D, sizeof *h->alive_until);
    h->dead = calloc((size_t)D, sizeof *h->dead);
    h->report = calloc((size_t)D, sizeof *h->report);
    if (!h->heard || !h->alive_until || !h->dead || !h->report) {
        dsend_health_free(h);
        return dsend_seterr(DSEND_ENOMEM, "device %d: out of memory for the health of %d devices",
                            self, D);
    }
    for (int d = 0; d < D; d++) {
        h->report[d].device = (uint32_t)d;
        h->report[d].threshold = INT64_MAX; /* room, until it says otherwise */
    }
    return 0;
}

void dsend_health_free(dsend_health *h)
{
    free(h->heard);
    free(h->alive_until);
    free(h->dead);
    free(h->report);
    memset(h, 0, sizeof *h);
}

int dsend_health_deputy(const dsend_health *h, uint32_t client, int owner)
{
    if (h->D < 2)
        return -1;
    /* candidates in an order fixed by the client: a dead device's sessions
     * go to as many deputies as there are survivors (declustered) */
    uint32_t others = (uint32_t)h->D - 1, k = (uint32_t)(dsend_mix64(client) % others);
    for (uint32_t i = 0; i < others; i++) {
        int d = (int)(((uint32_t)owner + 1 + (k + i) % others) % (uint32_t)h->D);
        if (!h->dead[d])
            return d;
    }
    return -1;
}
