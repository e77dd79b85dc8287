/* dsend: serve video on demand from a cluster, the "distributed sending of
 * media data" way, and simulate such clusters.  Everything is in libdsend;
 * the dsend program is one call to dsend_main(). */
#ifndef DSEND_DSEND_H
#define DSEND_DSEND_H

#include <mpi.h>
#include <stdio.h>

#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/layout.h"
#include "dsend/library.h"
#include "dsend/loader.h"
#include "dsend/mpi_util.h"
#include "dsend/options.h"
#include "dsend/ts.h"
#include "dsend/units.h"
#include "dsend/sim.h"
#include "dsend/core.h"
#include "dsend/des.h"

/* Run one dsend command line on comm (one rank = one device).  MPI must be
 * initialised.  Results go to `out` (rank 0 only), errors to stderr as one
 * line, printed once.  Returns the process exit status: 0 success, 1 the
 * command failed, 2 bad usage. */
int dsend_main(int argc, char **argv, MPI_Comm comm, FILE *out);

#endif
