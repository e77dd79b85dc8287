/* dsend error codes and the per-process error message.
 *
 * Library code returns 0 on success or a negative dsend_rc and records one
 * human-readable line with dsend_seterr(); the CLI prints that line.  The
 * message says what is wrong and where (file, byte offset, option name). */
#ifndef DSEND_ERROR_H
#define DSEND_ERROR_H

#include <stddef.h>

enum dsend_rc {
    DSEND_OK = 0,
    DSEND_EINVAL = -1,   /* bad argument or option value */
    DSEND_EIO = -2,      /* read/write/open failure */
    DSEND_EFORMAT = -3,  /* malformed input file (TS, library) */
    DSEND_ENOMEM = -4,
    DSEND_EMPI = -5,     /* an MPI call failed */
    DSEND_EHDF5 = -6,    /* an HDF5 call failed */
    DSEND_ECHECKSUM = -7,/* data does not match its stored checksum */
    DSEND_ENOENT = -8,   /* unknown asset, missing file */
    DSEND_EPEER = -9,    /* another rank failed */
    DSEND_EBUSY = -10,   /* no room: admission refused a stream */
};

#if defined(__GNUC__)
#define DSEND_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define DSEND_PRINTF(a, b)
#endif

/* Record the error message (printf-style) and return rc, so callers can write
 * `return dsend_seterr(DSEND_EINVAL, "...")`. */
int dsend_seterr(int rc, const char *fmt, ...) DSEND_PRINTF(2, 3);
/* The last recorded message ("" if none). */
const char *dsend_errmsg(void);
/* Forget the last message. */
void dsend_clearerr(void);
/* Short name of a code, e.g. "invalid argument". */
const char *dsend_strerror(int rc);

#endif
