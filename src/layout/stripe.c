/* stripe: an asset's blocks dealt round-robin over every device from a
 * per-asset start device (Tiger's striping).  Secondary copies are
 * declustered, as Tiger's mirrors were: the secondaries of one device's
 * blocks sit at offsets from the primary that rotate with every round of D
 * blocks, so when a device dies its load spreads over all the others, not
 * onto one neighbour.  Copies are on distinct devices whenever R <= D. */
#include "dsend/layout.h"

#include <stddef.h>

static int stripe_init(dsend_layout *L)
{
    L->state = NULL;
    return 0;
}

static void stripe_place(const dsend_layout *L, uint32_t asset, uint64_t block, int *devices)
{
    uint64_t D = (uint64_t)L->devices;
    /* start device = asset % D spreads the first blocks (the hot ones at
     * session start) of consecutive assets over different devices */
    int primary = (int)((asset % D + block % D) % D);
    devices[0] = primary;
    /* offsets 1 + (k + r - 1) mod (D - 1): distinct, never 0, rotating with
     * the round (k) so each device's blocks have every other device as
     * secondary equally often */
    uint64_t k = D > 1 ? (block / D + asset) % (D - 1) : 0;
    for (int r = 1; r < L->replicas; r++)
        devices[r] = (int)(((uint64_t)primary + 1 + (k + (uint64_t)r - 1) % (D - 1)) % D);
}

static void stripe_fini(dsend_layout *L) { L->state = NULL; }

const dsend_layout_policy dsend_layout_stripe = {
    .name = "stripe",
    .summary = "round-robin from a per-asset start device",
    .init = stripe_init,
    .place = stripe_place,
    .fini = stripe_fini,
};
