/* Layout: which devices hold a block.
 *
 * A pure function (asset, block) -> devices[0..R-1] for D devices and R
 * replicas (1 <= R <= D).  devices[0] is the primary copy; the others are
 * replicas, always on distinct devices.  Deterministic: it depends only on
 * (policy, D, R, asset, block).
 *
 * Policies are backends behind one small interface (one per file):
 *   stripe  round-robin from a per-asset start device, as Tiger striped files
 *           over every disk: primary = (asset % D + block) % D, replica r on
 *           (primary + 1 + (k + r - 1) % (D - 1)) % D with k = (block / D +
 *           asset) % (D - 1): declustered, so a dead device's blocks have
 *           every other device as secondary equally often.  Balanced to
 *           within one block per device per asset.
 *   hash    the block id is hashed into a table of bins; each bin names a
 *           primary and R-1 secondary devices (the "media organization"
 *           patent of the family).  Bins are dealt round-robin to primaries
 *           so primaries balance; secondaries sit at distinct offsets from
 *           the primary, rotated by a hash per round of D bins, so every
 *           device is replica r of equally many bins. */
#ifndef DSEND_LAYOUT_H
#define DSEND_LAYOUT_H

#include <stdint.h>

#define DSEND_MAX_DEVICES 65536
#define DSEND_MAX_REPLICAS 16

typedef struct dsend_layout dsend_layout;

typedef struct dsend_layout_policy {
    const char *name;
    const char *summary; /* one line for --help */
    /* Build policy state for L->devices and L->replicas in L->state. */
    int (*init)(dsend_layout *L);
    /* Fill devices[0..L->replicas-1]. */
    void (*place)(const dsend_layout *L, uint32_t asset, uint64_t block,
                  int *devices);
    void (*fini)(dsend_layout *L);
} dsend_layout_policy;

struct dsend_layout {
    const dsend_layout_policy *policy;
    int devices;
    int replicas;
    void *state;
};

extern const dsend_layout_policy dsend_layout_stripe;
extern const dsend_layout_policy dsend_layout_hash;

/* NULL-terminated list of all policies (for --help and lookup). */
extern const dsend_layout_policy *const dsend_layout_policies[];

/* Find a policy by name; NULL if unknown. */
const dsend_layout_policy *dsend_layout_find(const char *name);

/* Validate the policy (every method present), D (1..DSEND_MAX_DEVICES) and
 * R (1..min(D, DSEND_MAX_REPLICAS)) and initialise L.  Errors -> DSEND_EINVAL
 * with a message naming the bad value. */
int dsend_layout_open(dsend_layout *L, const dsend_layout_policy *policy,
                      int devices, int replicas);
void dsend_layout_close(dsend_layout *L);

static inline void dsend_layout_place(const dsend_layout *L, uint32_t asset,
                                      uint64_t block, int *devices)
{
    L->policy->place(L, asset, block, devices);
}

/* 1 if `device` holds any replica of (asset, block); sets *replica to its
 * index (0 = primary) when non-NULL. */
int dsend_layout_holds(const dsend_layout *L, uint32_t asset, uint64_t block,
                       int device, int *replica);

#endif
