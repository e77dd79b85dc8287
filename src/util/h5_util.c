/* HDF5 error reporting: one line from HDF5's own error stack. */
#include "util/check.h"
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
        /* a failed system call's description is long (time, descriptor,
         * buffer, sizes) and spans lines: the system's own message says it */
        const char *m = strstr(e->desc, "error message = '"), *q = m ? strchr(m + 17, '\'') : NULL;
        const char *colon = strstr(e->desc, ": time = ");
        if (q && colon)
            snprintf(w->buf, w->n, "%.*s: %.*s", (int)(colon - e->desc), e->desc,
                     (int)(q - m - 17), m + 17);
        else
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

int dsend_h5_attr_num(hid_t obj, const char *name, hid_t file_type, hid_t mem_type,
                      const void *v)
{
    int rc = 0;
    hid_t s = -1, a = -1;
    H5_CHECK(s = H5Screate(H5S_SCALAR));
    H5_CHECK(a = H5Acreate2(obj, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT));
    H5_CHECK(H5Awrite(a, mem_type, v));
err:
    if (a >= 0)
        H5Aclose(a);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

int dsend_h5_attr_str(hid_t obj, const char *name, const char *v)
{
    int rc = 0;
    hid_t s = -1, a = -1, t = -1;
    H5_CHECK(t = H5Tcopy(H5T_C_S1));
    H5_CHECK(H5Tset_size(t, strlen(v) + 1));
    H5_CHECK(H5Tset_strpad(t, H5T_STR_NULLTERM));
    H5_CHECK(s = H5Screate(H5S_SCALAR));
    H5_CHECK(a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT));
    H5_CHECK(H5Awrite(a, t, v));
err:
    if (a >= 0)
        H5Aclose(a);
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    return rc;
}

int dsend_h5_read_attr_str(hid_t obj, const char *name, char *buf, size_t n)
{
    buf[0] = '\0';
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, n);
    herr_t e = a >= 0 ? H5Aread(a, t, buf) : -1;
    H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    buf[n - 1] = '\0';
    return e < 0 ? -1 : 0;
}
