/* Time series of a device (include/dsend/series.h). */
#include "dsend/series.h"

#include <stdlib.h>
#include <string.h>

void dsend_series_note(dsend_series *s, int64_t at, int64_t interval, uint64_t bytes,
                       uint32_t queue)
{
    uint64_t i = at < 0 ? 0 : (uint64_t)(at / interval);
    if (i >= s->n) {
        uint64_t n = s->n ? s->n : 64;
        while (n <= i)
            n *= 2;
        if (n > DSEND_SERIES_MAX)
            return; /* past DSEND_SERIES_MAX intervals: not kept */
        uint64_t *b = realloc(s->bytes, n * sizeof *b);
        if (b)
            s->bytes = b;
        uint32_t *q = realloc(s->queue, n * sizeof *q);
        if (q)
            s->queue = q;
        if (!b || !q)
            return;
        memset(s->bytes + s->n, 0, (n - s->n) * sizeof *b);
        memset(s->queue + s->n, 0, (n - s->n) * sizeof *q);
        s->n = (uint32_t)n;
    }
    s->bytes[i] += bytes;
    if (queue > s->queue[i])
        s->queue[i] = queue;
}

void dsend_series_free(dsend_series *s)
{
    free(s->bytes);
    free(s->queue);
    memset(s, 0, sizeof *s);
}
