/* hash: the block id is hashed into a table of bins; each bin names a
 * primary device and R-1 secondaries (the "media organization" patent of
 * the family).  Bins are dealt round-robin to primaries, so every device is
 * primary of the same number of bins; secondaries are at distinct offsets
 * 1..D-1 from the primary, rotated by a hash per round of D bins, so every
 * device is also replica r of the same number of bins. */
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/layout.h"

#include <stdlib.h>

#define HASH_SALT 0x64736e64ull /* "dsnd" */

typedef struct hash_state {
    uint64_t nbins;
    int *bins; /* nbins x replicas device ids */
} hash_state;

/* Many bins per device keep the per-device share close to 1/D (the
 * deviation falls as 1/sqrt(bins per device)); 64 per device, and at least
 * 1024, is a few KiB even for hundreds of devices. */
static uint64_t bins_for(int devices)
{
    uint64_t n = 64ull * (uint64_t)devices;
    return n < 1024 ? 1024 : n;
}

static int hash_init(dsend_layout *L)
{
    hash_state *h = malloc(sizeof *h);
    if (!h)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the hash layout");
    h->nbins = bins_for(L->devices);
    h->bins = malloc(h->nbins * (uint64_t)L->replicas * sizeof *h->bins);
    if (!h->bins) {
        free(h);
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the hash layout");
    }
    int R = L->replicas, D = L->devices;
    for (uint64_t b = 0; b < h->nbins; b++) {
        int *row = h->bins + b * (uint64_t)R;
        int primary = (int)(b % (uint64_t)D);
        row[0] = primary;
        if (R < 2)
            continue;
        /* Bins come in rounds of D, one per primary.  Within a round every
         * primary's secondaries sit at the same offsets, so each device is
         * replica r of exactly one bin per round; the offsets are hashed
         * per round so a device's secondaries are not just its neighbours. */
        uint64_t round = b / (uint64_t)D;
        uint64_t rot = dsend_mix64(round ^ (HASH_SALT << 32)) % (uint64_t)(D - 1);
        for (int r = 1; r < R; r++) {
            uint64_t off = 1 + (rot + (uint64_t)r - 1) % (uint64_t)(D - 1);
            row[r] = (int)(((uint64_t)primary + off) % (uint64_t)D);
        }
    }
    L->state = h;
    return 0;
}

static void hash_place(const dsend_layout *L, uint32_t asset, uint64_t block, int *devices)
{
    const hash_state *h = L->state;
    uint64_t bin = dsend_mix64(dsend_mix64((uint64_t)asset ^ HASH_SALT) ^ block) % h->nbins;
    const int *row = h->bins + bin * (uint64_t)L->replicas;
    for (int r = 0; r < L->replicas; r++)
        devices[r] = row[r];
}

static void hash_fini(dsend_layout *L)
{
    hash_state *h = L->state;
    if (h) {
        free(h->bins);
        free(h);
    }
    L->state = NULL;
}

const dsend_layout_policy dsend_layout_hash = {
    .name = "hash",
    .summary = "blocks hashed into bins of a primary and secondary devices",
    .init = hash_init,
    .place = hash_place,
    .fini = hash_fini,
};
