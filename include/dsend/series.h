/* A device's time series (wire bytes and deepest queue per interval, and
 * what its cache did), kept the same way by `sim` and `serve`. */
#ifndef DSEND_SERIES_H
#define DSEND_SERIES_H

#include <mpi.h>
#include <stdint.h>

#include "dsend/cache.h"

/* Intervals a device's series keeps (97 days of 1 s); a simulation whose
 * plan needs more over all its devices is refused before it runs. */
#define DSEND_SERIES_MAX (1u << 23)

typedef struct dsend_series {
    uint64_t *bytes;
    uint32_t *queue;
    uint64_t *cache[DSEND_CC_N]; /* per interval: counts, pinned its highest level;
                                  * allocated on the first note (a cache below its share) */
    uint32_t n;
} dsend_series;

/* Best effort: out of memory loses the sample, never the run. */
void dsend_series_note(dsend_series *s, int64_t at, int64_t interval, uint64_t bytes,
                       uint32_t queue);
/* A cache count at a time (DSEND_CC_*; DSEND_CC_PINNED: the level then). */
void dsend_series_note_cache(dsend_series *s, int64_t at, int64_t interval, int what,
                             uint64_t n);
void dsend_series_free(dsend_series *s);

/* Collective over comm: the cache series of every device into
 * out[what][device x nkeep] on rank 0 (calloc'd; all NULL when no device
 * kept any).  Each rank passes its devices' series and ids; intervals past
 * `nkeep` are dropped. */
int dsend_series_gather_cache(MPI_Comm comm, int devices, uint32_t nkeep,
                              const dsend_series *const *mine, const int *ids, int nmine,
                              uint64_t *out[DSEND_CC_N]);

#endif
