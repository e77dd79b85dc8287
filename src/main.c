/* dsend: a thin main over libdsend. */
#include "dsend/dsend.h"

int main(int argc, char **argv)
{
    /* one thread calls MPI; serve's reader thread reads blocks, never MPI */
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int status = dsend_main(argc, argv, MPI_COMM_WORLD, stdout);
    MPI_Finalize();
    return status;
}
