/* A device's time series (wire bytes and deepest queue per interval), kept
 * the same way by `sim` and `serve`. */
#ifndef DSEND_SERIES_H
#define DSEND_SERIES_H

#include <stdint.h>

/* Intervals a device's series keeps (97 days of 1 s); a simulation whose
 * plan needs more over all its devices is refused before it runs. */
#define DSEND_SERIES_MAX (1u << 23)

typedef struct dsend_series {
    uint64_t *bytes;
    uint32_t *queue;
    uint32_t n;
} dsend_series;

/* Best effort: out of memory loses the sample, never the run. */
void dsend_series_note(dsend_series *s, int64_t at, int64_t interval, uint64_t bytes,
                       uint32_t queue);
void dsend_series_free(dsend_series *s);

#endif
