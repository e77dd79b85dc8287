/* See include/dsend/mpi_util.h. */
#include "dsend/mpi_util.h"
#include "util/check.h"
#include "dsend/error.h"

#include <stdio.h>
#include <string.h>

int dsend_mpi_fail(const char *file, int line, const char *what, int mpirc)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(mpirc, msg, &len) != MPI_SUCCESS)
        snprintf(msg, sizeof msg, "MPI error %d", mpirc);
    size_t k = strcspn(what, "(");
    return dsend_seterr(DSEND_EMPI, "%.*s failed: %s [%s:%d]", (int)k, what, msg, file, line);
}

int dsend_mpi_agree(MPI_Comm comm, int rc)
{
    struct { int ok; int rank; } in, out;
    MPI_Comm_rank(comm, &in.rank);
    in.ok = rc == 0;
    /* MPI_MINLOC on (ok, rank): ok == 0 wins, lowest rank among failures */
    if (MPI_Allreduce(&in, &out, 1, MPI_2INT, MPI_MINLOC, comm) != MPI_SUCCESS)
        return dsend_seterr(DSEND_EMPI, "MPI_Allreduce failed while agreeing on status");
    if (out.ok)
        return 0;
    struct { int rc; char msg[1024]; } m;
    if (in.rank == out.rank) {
        m.rc = rc;
        snprintf(m.msg, sizeof m.msg, "%s", dsend_errmsg());
    }
    if (MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, out.rank, comm) != MPI_SUCCESS)
        return dsend_seterr(DSEND_EMPI, "MPI_Bcast failed while agreeing on status");
    m.msg[sizeof m.msg - 1] = '\0';
    return dsend_seterr(m.rc, "%s", m.msg);
}
