/* HDF5 error reporting: one line from HDF5's own error stack. */
#include "check.h"
#include "dsend/error.h"

#include <stdio.h>
#include <string.h>

struct walk {
    char *buf;
    size_t n;
    int found;
};

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    struct walk *w = data;
    /* walking upward, the first entry is the innermost: where HDF5 noticed */
    if (!w->found && e->desc && e->desc[0]) {
        snprintf(w->buf, w->n, "%s", e->desc);
        w->found = 1;
    }
    return 0;
}

void dsend_h5_last_error(char *buf, size_t n)
{
    struct walk w = {buf, n, 0};
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &w);
}

void dsend_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

int dsend_h5_fail(const char *file, int line, const char *what)
{
    char msg[512];
    char call[64];
    dsend_h5_last_error(msg, sizeof msg);
    /* name the HDF5 function, not the whole expression */
    size_t k = strcspn(what, "(");
    snprintf(call, sizeof call, "%.*s", (int)(k < sizeof call ? k : sizeof call - 1), what);
    const char *c = strrchr(call, ' ');
    return dsend_seterr(DSEND_EHDF5, "%s failed: %s [%s:%d]", c ? c + 1 : call,
                        msg[0] ? msg : "no HDF5 error message", file, line);
}
