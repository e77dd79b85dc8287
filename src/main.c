/* dsend: a thin main over libdsend. */
#include "dsend/dsend.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int status = dsend_main(argc, argv, MPI_COMM_WORLD, stdout);
    MPI_Finalize();
    return status;
}
