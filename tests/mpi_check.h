/* Assertions for the MPI scenario programs: a failed check names the rank
 * and the condition and aborts the whole job (no rank is left waiting). */
#ifndef DSEND_TESTS_MPI_CHECK_H
#define DSEND_TESTS_MPI_CHECK_H

#include <mpi.h>
#include <stdio.h>

static int world_rank;

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "rank %d: check failed: %s: ", world_rank, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
            MPI_Abort(MPI_COMM_WORLD, 1);                                         \
        }                                                                         \
    } while (0)

#endif
