/* `dsend sim --like MEASURED.h5[,MORE.h5]`: the scenario of a measured run
 * -- the server's configuration (a `serve --out` file) and the workload of
 * its clients (a `dsend clients --out` file) -- read back through the one
 * option table, so model and measurement run the same work.  Options on
 * the command line win. */
#include "cli/cli.h"
#include "dsend/error.h"
#include "dsend/layout.h"
#include "dsend/units.h"
#include "util/check.h"

#include <stdlib.h>
#include <string.h>

typedef struct like_ctx {
    dsend_cli *c;
    dsend_config *g;
    int serve_file;        /* options of `serve` that mean something else there are skipped */
    char **keep;           /* strings the configuration now points into */
    size_t nkeep;
    int rc;
    int64_t t0_serve, t0_clients; /* wall clock at each run's time 0 (0: unknown) */
} like_ctx;

/* options that describe the measuring run, not the scenario */
static int skipped(const like_ctx *x, const char *name)
{
    static const char *const never[] = {"out", "like", "quiet", "json", "trace", "devices",
                                        "client-ranks", "lookahead", "until", "interval",
                                        "rtsp", "duration", NULL};
    for (int i = 0; never[i]; i++)
        if (strcmp(name, never[i]) == 0)
            return 1;
    /* serve's seed makes session ids, not the workload */
    return x->serve_file && strcmp(name, "seed") == 0;
}

static herr_t one_option(hid_t g, const char *name, const H5A_info_t *info, void *arg)
{
    (void)info;
    like_ctx *x = arg;
    if (skipped(x, name) || dsend_options_given(x->c->cmd, x->c->argc, x->c->argv, name))
        return 0;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT), t = H5Aget_type(a);
    size_t n = t >= 0 && H5Tget_class(t) == H5T_STRING ? H5Tget_size(t) : 0;
    char *v = n > 0 && n < 4096 ? calloc(n + 1, 1) : NULL;
    herr_t e = v ? H5Aread(a, t, v) : -1;
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    if (e < 0) {
        free(v);
        return 0; /* not a string option */
    }
    char **k = realloc(x->keep, (x->nkeep + 1) * sizeof *k);
    if (!k) {
        free(v);
        x->rc = dsend_seterr(DSEND_ENOMEM, "out of memory");
        return -1;
    }
    x->keep = k;
    x->keep[x->nkeep++] = v;
    int rc = dsend_options_set(x->c->cmd, x->g, name, v);
    if (rc == DSEND_ENOENT && strcmp(name, "library") == 0 && x->g->npos == 0)
        x->g->library = v; /* the clients' library is the one to simulate */
    else if (rc && rc != DSEND_ENOENT) {
        x->rc = rc;
        return -1;
    }
    return 0;
}

static int read_one(like_ctx *x, const char *path)
{
    int rc = 0;
    hid_t f = -1, g = -1;
    char kind[32] = "";
    dsend_h5_quiet();
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return dsend_seterr(DSEND_EIO, "--like %s: cannot open it as an HDF5 file", path);
    if (dsend_h5_read_attr_str(f, "kind", kind, sizeof kind) != 0 ||
        (strcmp(kind, "clients") != 0 && strcmp(kind, "serve") != 0 && strcmp(kind, "sim") != 0)) {
        rc = dsend_seterr(DSEND_EINVAL, "--like %s: not a dsend results file", path);
        goto err;
    }
    x->serve_file = strcmp(kind, "serve") == 0;
    if (H5Aexists(f, "t0_unix_ns") > 0) {
        hid_t a = H5Aopen(f, "t0_unix_ns", H5P_DEFAULT);
        if (a >= 0) {
            H5Aread(a, H5T_NATIVE_INT64, x->serve_file ? &x->t0_serve : &x->t0_clients);
            H5Aclose(a);
        }
    }
    if (x->serve_file && !dsend_options_given(x->c->cmd, x->c->argc, x->c->argv, "devices")) {
        int devices = 0;
        hid_t a = H5Aopen(f, "devices", H5P_DEFAULT);
        if (a >= 0) {
            H5Aread(a, H5T_NATIVE_INT, &devices);
            H5Aclose(a);
        }
        x->g->devices = devices; /* the served cluster's size */
    }
    H5_CHECK(g = H5Gopen2(f, "config", H5P_DEFAULT));
    if (H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, NULL, one_option, x) < 0) {
        rc = x->rc ? x->rc : dsend_seterr(DSEND_EIO, "--like %s: cannot read /config", path);
        goto err;
    }
err:
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(f);
    return rc;
}

/* The served run's --fail times are on the service's clock; the model's
 * clock is the clients' (their arrivals): move the failures by the time
 * between the two starts, as both files recorded them. */
static int shift_failures(like_ctx *x)
{
    dsend_config *g = x->g;
    if (!g->fail || !x->t0_serve || !x->t0_clients ||
        dsend_options_given(x->c->cmd, x->c->argc, x->c->argv, "fail"))
        return 0;
    dsend_device_event ev[DSEND_MAX_DEVICE_EVENTS];
    int n = 0, rc = dsend_parse_device_events(g->fail, "fail", DSEND_MAX_DEVICES, ev,
                                              DSEND_MAX_DEVICE_EVENTS, &n);
    if (rc)
        return rc;
    size_t cap = (size_t)n * 48 + 1;
    char *s = calloc(cap, 1), **k = realloc(x->keep, (x->nkeep + 1) * sizeof *k);
    if (k)
        x->keep = k;
    if (!s || !k) {
        free(s);
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    }
    x->keep[x->nkeep++] = s;
    int64_t offset = x->t0_clients - x->t0_serve;
    for (int i = 0; i < n; i++) {
        int64_t at = ev[i].at - offset;
        snprintf(s + strlen(s), cap - strlen(s), "%s%d@%lldns", i ? "," : "", ev[i].device,
                 (long long)(at > 0 ? at : 0));
    }
    g->fail = s;
    return 0;
}

int dsend_cli_like(dsend_cli *c, dsend_config *g, char ***keep, size_t *nkeep)
{
    like_ctx x = {.c = c, .g = g};
    int rc = 0;
    char *list = strdup(g->like);
    if (!list)
        return dsend_seterr(DSEND_ENOMEM, "out of memory");
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p && rc == 0;
         p = strtok_r(NULL, ",", &save))
        rc = read_one(&x, p);
    free(list);
    if (rc == 0)
        rc = shift_failures(&x);
    /* both worlds of a measured run share one host: loopback, not a network */
    if (rc == 0 && !dsend_options_given(c->cmd, c->argc, c->argv, "ctrl-latency"))
        g->ctrl_latency = 100000;
    if (rc == 0 && !dsend_options_given(c->cmd, c->argc, c->argv, "data-latency"))
        g->data_latency = 100000;
    *keep = x.keep;
    *nkeep = x.nkeep;
    return rc;
}
