/* stripe: an asset's blocks dealt round-robin over every device from a
 * per-asset start device (Tiger's striping); replica r sits r devices
 * further on, so copies are on distinct devices whenever R <= D. */
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
    for (int r = 0; r < L->replicas; r++)
        devices[r] = (int)(((uint64_t)primary + (uint64_t)r) % D);
}

static void stripe_fini(dsend_layout *L) { L->state = NULL; }

const dsend_layout_policy dsend_layout_stripe = {
    .name = "stripe",
    .summary = "round-robin from a per-asset start device",
    .init = stripe_init,
    .place = stripe_place,
    .fini = stripe_fini,
};
