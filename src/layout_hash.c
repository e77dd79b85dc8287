/* hash: the block id is hashed into a table of bins; each bin names a
 * primary device and R-1 secondaries (the "media organization" patent of
 * the family).
 *
 *   bin(asset, block) = mix64(mix64(asset ^ salt) ^ block) % nbins
 *   primary(bin)      = bin % D
 *   secondaries(bin)  = the R-1 devices other than the primary with the
 *                       highest rendezvous score mix64((bin << 20) ^ device
 *                       ^ salt), best first; ties (impossible, as mix64 is a
 *                       bijection, but stated) go to the lower device id.
 *
 * Primaries are dealt round-robin and nbins is a multiple of D, so every
 * device is primary of exactly nbins/D bins.  Secondaries are chosen
 * independently per bin, so a device's copies back up every other device
 * (no fixed "buddy" that inherits all of its load when it fails); the price
 * is that the number of bins a device is replica r of (r >= 1) is only
 * balanced statistically, not exactly. */
#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/layout.h"

#include <stdlib.h>

#define HASH_SALT 0x64736e64ull /* "dsnd" */

typedef struct hash_state {
    uint64_t nbins;
    int *bins; /* nbins rows of `replicas` device ids, primary first */
} hash_state;

/* Many bins per device keep each device's share of blocks close to 1/D:
 * 64 per device, at least 1024 bins in all, rounded up to a multiple of D so
 * primaries split exactly evenly (64*D already is one; only D <= 16 rounds). */
static uint64_t bins_for(int devices)
{
    uint64_t D = (uint64_t)devices, n = 64 * D;
    if (n < 1024)
        n = (1024 + D - 1) / D * D;
    return n;
}

/* The rendezvous score of `device` for `bin`.  bin < 2^22 and device < 2^20
 * up to DSEND_MAX_DEVICES, so the key (and, mix64 being a bijection, the
 * score) is distinct for every (bin, device); the salt only decorrelates it
 * from the bin hash. */
static uint64_t score(uint64_t bin, int device)
{
    return dsend_mix64((bin << 20) ^ (uint64_t)device ^ (HASH_SALT << 32));
}

/* Fill row[1..R-1] with the R-1 best-scoring devices other than row[0]. */
static void pick_secondaries(uint64_t bin, int D, int R, int *row)
{
    uint64_t best[DSEND_MAX_REPLICAS]; /* best[1..n] descending, matching row */
    int n = 0;
    for (int dev = 0; dev < D; dev++) {
        if (dev == row[0])
            continue;
        uint64_t s = score(bin, dev);
        /* devices arrive in increasing id, so a strict > keeps the lower id
         * ahead on a tie */
        if (n == R - 1 && s <= best[n])
            continue;
        int i = n < R - 1 ? ++n : n;
        while (i > 1 && s > best[i - 1]) {
            best[i] = best[i - 1];
            row[i] = row[i - 1];
            i--;
        }
        best[i] = s;
        row[i] = dev;
    }
}

static int hash_init(dsend_layout *L)
{
    int R = L->replicas, D = L->devices;
    hash_state *h = malloc(sizeof *h);
    if (!h)
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the hash layout");
    h->nbins = bins_for(D);
    h->bins = malloc(h->nbins * (uint64_t)R * sizeof *h->bins);
    if (!h->bins) {
        free(h);
        return dsend_seterr(DSEND_ENOMEM, "out of memory for the hash layout (%llu bins)",
                            (unsigned long long)bins_for(D));
    }
    /* Precomputed so place() is a table lookup: the scan is O(nbins * D). */
    for (uint64_t b = 0; b < h->nbins; b++) {
        int *row = h->bins + b * (uint64_t)R;
        row[0] = (int)(b % (uint64_t)D);
        if (R > 1)
            pick_secondaries(b, D, R, row);
    }
    L->state = h;
    return 0;
}

static void hash_place(const dsend_layout *L, uint32_t asset, uint64_t block, int *devices)
{
    const hash_state *h = L->state;
    /* mixing the asset first, then the block, keeps consecutive blocks of an
     * asset and the same block of consecutive assets on unrelated bins */
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
    .summary = "blocks hashed into bins, each with a primary and rendezvous-chosen secondaries",
    .init = hash_init,
    .place = hash_place,
    .fini = hash_fini,
};
