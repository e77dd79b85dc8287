/* The per-process error message (see include/dsend/error.h). */
#include "dsend/error.h"

#include <stdarg.h>
#include <stdio.h>

/* per thread: serve's reader thread reports its own (src/serve/reader.c) */
static _Thread_local char errbuf[1024];

int dsend_seterr(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    /* one line, whatever a file name, an option value or a library's own
     * message carried: control characters are shown as '?' */
    for (char *p = errbuf; *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            *p = '?';
    return rc;
}

const char *dsend_errmsg(void) { return errbuf; }

void dsend_clearerr(void) { errbuf[0] = '\0'; }

const char *dsend_strerror(int rc)
{
    switch (rc) {
    case DSEND_OK: return "success";
    case DSEND_EINVAL: return "invalid argument";
    case DSEND_EIO: return "I/O error";
    case DSEND_EFORMAT: return "malformed input";
    case DSEND_ENOMEM: return "out of memory";
    case DSEND_EMPI: return "MPI error";
    case DSEND_EHDF5: return "HDF5 error";
    case DSEND_ECHECKSUM: return "checksum mismatch";
    case DSEND_ENOENT: return "not found";
    case DSEND_EPEER: return "failed on another rank";
    case DSEND_EBUSY: return "not enough bandwidth";
    default: return "unknown error";
    }
}
