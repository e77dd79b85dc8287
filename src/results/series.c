/* Time series of a device (include/dsend/series.h). */
#include "dsend/series.h"
#include "dsend/error.h"
#include "dsend/mpi_util.h"

#include <stdlib.h>
#include <string.h>

/* Room for interval i in every array kept; 0, or -1 (the sample is lost). */
static int reach(dsend_series *s, uint64_t i)
{
    if (i < s->n)
        return 0;
    uint64_t n = s->n ? s->n : 64;
    while (n <= i)
        n *= 2;
    if (n > DSEND_SERIES_MAX)
        return -1; /* past DSEND_SERIES_MAX intervals: not kept */
    uint64_t *b = realloc(s->bytes, n * sizeof *b);
    if (b)
        s->bytes = b;
    uint32_t *q = realloc(s->queue, n * sizeof *q);
    if (q)
        s->queue = q;
    if (!b || !q)
        return -1;
    for (int k = 0; k < DSEND_CC_N; k++) {
        if (!s->cache[k])
            continue;
        uint64_t *c = realloc(s->cache[k], n * sizeof *c);
        if (!c)
            return -1;
        s->cache[k] = c;
        memset(c + s->n, 0, (n - s->n) * sizeof *c);
    }
    memset(s->bytes + s->n, 0, (n - s->n) * sizeof *b);
    memset(s->queue + s->n, 0, (n - s->n) * sizeof *q);
    s->n = (uint32_t)n;
    return 0;
}

void dsend_series_note(dsend_series *s, int64_t at, int64_t interval, uint64_t bytes,
                       uint32_t queue)
{
    uint64_t i = at < 0 ? 0 : (uint64_t)(at / interval);
    if (reach(s, i))
        return;
    s->bytes[i] += bytes;
    if (queue > s->queue[i])
        s->queue[i] = queue;
}

void dsend_series_note_cache(dsend_series *s, int64_t at, int64_t interval, int what,
                             uint64_t n)
{
    uint64_t i = at < 0 ? 0 : (uint64_t)(at / interval);
    if (!s->cache[0]) {
        for (int k = 0; k < DSEND_CC_N; k++)
            if (!(s->cache[k] = calloc(s->n ? s->n : 1, sizeof *s->cache[k])))
                return;
    }
    if (reach(s, i) || !s->cache[what])
        return;
    if (what == DSEND_CC_PINNED)
        s->cache[what][i] = n > s->cache[what][i] ? n : s->cache[what][i];
    else
        s->cache[what][i] += n;
}

void dsend_series_free(dsend_series *s)
{
    free(s->bytes);
    free(s->queue);
    for (int k = 0; k < DSEND_CC_N; k++)
        free(s->cache[k]);
    memset(s, 0, sizeof *s);
}

int dsend_series_gather_cache(MPI_Comm comm, int devices, uint32_t nkeep,
                              const dsend_series *const *mine, const int *ids, int nmine,
                              uint64_t *out[DSEND_CC_N])
{
    int rank, any = 0, some = 0;
    MPI_Comm_rank(comm, &rank);
    for (int k = 0; k < DSEND_CC_N; k++)
        out[k] = NULL;
    for (int i = 0; i < nmine; i++)
        some |= mine[i]->cache[0] != NULL;
    MPI_Allreduce(&some, &any, 1, MPI_INT, MPI_MAX, comm);
    if (!any || nkeep == 0)
        return 0;
    /* every device's row in a zeroed table, summed: each row is one rank's */
    size_t cells = (size_t)devices * nkeep * DSEND_CC_N;
    uint64_t *v = calloc(cells, sizeof *v), *sum = rank == 0 ? calloc(cells, sizeof *sum) : NULL;
    int rc = v && (rank != 0 || sum) ? 0 : dsend_seterr(DSEND_ENOMEM, "out of memory");
    if ((rc = dsend_mpi_agree(comm, rc))) {
        free(v);
        free(sum);
        return rc;
    }
    for (int i = 0; i < nmine; i++)
        for (int k = 0; mine[i]->cache[0] && k < DSEND_CC_N; k++)
            memcpy(v + ((size_t)k * devices + (size_t)ids[i]) * nkeep, mine[i]->cache[k],
                   (mine[i]->n < nkeep ? mine[i]->n : nkeep) * sizeof *v);
    if (MPI_Reduce(v, sum, (int)cells, MPI_UINT64_T, MPI_SUM, 0, comm) != MPI_SUCCESS)
        rc = dsend_seterr(DSEND_EMPI, "MPI_Reduce of the cache series failed");
    free(v);
    if (rank == 0 && rc == 0)
        for (int k = 0; k < DSEND_CC_N; k++) {
            out[k] = malloc((size_t)devices * nkeep * sizeof *out[k]);
            if (!out[k]) {
                rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
                break;
            }
            memcpy(out[k], sum + (size_t)k * devices * nkeep,
                   (size_t)devices * nkeep * sizeof *out[k]);
        }
    free(sum);
    return rc;
}
