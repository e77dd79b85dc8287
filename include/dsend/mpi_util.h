/* Small MPI helpers shared by every multi-rank entry point. */
#ifndef DSEND_MPI_UTIL_H
#define DSEND_MPI_UTIL_H

#include <mpi.h>

/* Collective: every rank passes its own rc.  Returns 0 if all succeeded;
 * otherwise every rank returns the rc and error message of the lowest
 * failing rank, so one rank can print one line on everybody's behalf and
 * nobody hangs waiting for a rank that gave up. */
int dsend_mpi_agree(MPI_Comm comm, int rc);

#endif
