/* Check macros for MPI and HDF5 calls (internal).
 *
 * Both assume an `int rc` in scope and an `err:` label that cleans up: the
 * redis ae.c shape.  The message names the call site and the library's own
 * error string, e.g. "H5Dread failed: can't read data [src/loader.c:120]". */
#ifndef DSEND_CHECK_H
#define DSEND_CHECK_H

#include <hdf5.h>
#include <mpi.h>

int dsend_h5_fail(const char *file, int line, const char *what);
int dsend_mpi_fail(const char *file, int line, const char *what, int mpirc);
/* Innermost message of HDF5's current error stack ("" if none). */
void dsend_h5_last_error(char *buf, size_t n);
/* Silence HDF5's automatic error-stack printing (we report one line). */
void dsend_h5_quiet(void);
/* A scalar attribute: a NUL-terminated string, or a number stored as
 * file_type from memory of mem_type. */
int dsend_h5_attr_str(hid_t obj, const char *name, const char *v);
/* A string attribute into buf (truncated to n - 1): 0, or -1 if absent. */
int dsend_h5_read_attr_str(hid_t obj, const char *name, char *buf, size_t n);
int dsend_h5_attr_num(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                      const void *v);

#define H5_CHECK(expr)                                                   \
    do {                                                                 \
        if ((expr) < 0) {                                                \
            rc = dsend_h5_fail(__FILE__, __LINE__, #expr);               \
            goto err;                                                    \
        }                                                                \
    } while (0)

#define MPI_CHECK(expr)                                                  \
    do {                                                                 \
        int mpirc_ = (expr);                                             \
        if (mpirc_ != MPI_SUCCESS) {                                     \
            rc = dsend_mpi_fail(__FILE__, __LINE__, #expr, mpirc_);      \
            goto err;                                                    \
        }                                                                \
    } while (0)

/* Evaluate a dsend call; on failure keep its rc and message. */
#define TRY(expr)                                                        \
    do {                                                                 \
        rc = (expr);                                                     \
        if (rc != 0)                                                     \
            goto err;                                                    \
    } while (0)

/* The compound type of /clients in a results file (src/sim_report.c). */
hid_t dsend_results_client_type(void);

#endif
