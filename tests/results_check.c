/* Every documented column of a results file, present and holding a value
 * that could be right (doc/results-format.md; the tests' other half of the
 * twin check).
 *
 *   results_check DOC.md LIB.h5 KIND RUN.h5 [--devices D]
 *
 * The names come from the page itself: the root attributes, the /clients,
 * /devices and /arrivals tables and the /series datasets.  A documented name
 * missing from the file, a name in the file the page does not document, or
 * a documented name this program has no check for, fails.  Each value is
 * checked against the others and against the run's own /config: counts add
 * up (lost = expected - received, wire bytes = bytes + 40 a packet, the
 * series sum to the devices' totals), metrics have their RFC's meaning
 * (jitter is about a third of a uniform --jitter, the delay factor at least
 * one packet's media time, MLR the loss over the media asked for), and
 * nothing is outside the run.  --devices gives a clients file the server's
 * device count (its scheduler ids and senders are bounded by it).
 * Exit 0 when every check holds; one line and exit 1 otherwise. */
#define _GNU_SOURCE 1 /* strptime, timegm */
#include "dsend/dsend.h"
#include "util/check.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *run_path = "";

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "results_check: %s: ", run_path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail(__VA_ARGS__);                                                                     \
    } while (0)

/* ------------------------------------------------------------ the page */

#define MAX_NAMES 64
typedef struct names {
    int n;
    char v[MAX_NAMES][40];
} names;

static void add_name(names *ns, const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '`')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '`'))
        len--;
    if (!len || len >= sizeof ns->v[0] || ns->n == MAX_NAMES)
        return;
    for (int i = 0; i < ns->n; i++)
        if (strlen(ns->v[i]) == len && memcmp(ns->v[i], s, len) == 0)
            return;
    memcpy(ns->v[ns->n], s, len);
    ns->v[ns->n++][len] = '\0';
}

static int has_name(const names *ns, const char *s)
{
    for (int i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i], s) == 0)
            return 1;
    return 0;
}

static char *doc;

/* The first cell of every row of the table under `heading` ("## /clients"):
 * "a, b, c" names three fields. */
static void doc_table(const char *heading, names *out)
{
    memset(out, 0, sizeof *out);
    char *p = strstr(doc, heading);
    if (!p)
        fail("doc has no section '%s'", heading);
    int rows = 0;
    for (p = strchr(p, '\n'); p && *++p;) {
        char *eol = strchr(p, '\n');
        if (!eol)
            eol = p + strlen(p);
        if (*p != '|') {
            if (rows)
                break;
            if (p[0] == '#')
                fail("section '%s' of the doc has no table", heading);
            p = eol;
            continue;
        }
        if (rows++ >= 2) { /* past the header and the |---| line */
            char *cell = p + 1, *end = memchr(cell, '|', (size_t)(eol - cell));
            for (char *q = cell; end && q < end;) {
                char *comma = memchr(q, ',', (size_t)(end - q));
                char *stop = comma ? comma : end;
                add_name(out, q, (size_t)(stop - q));
                q = stop + 1;
            }
        }
        p = eol;
    }
    if (out->n == 0)
        fail("no fields found under '%s' in the doc", heading);
}

/* The root attributes: the comma-separated list after "attributes:" in
 * the layout block, up to "/config"; (parenthesised) and "quoted" text and
 * "= value" are not names. */
static void doc_root(names *out)
{
    memset(out, 0, sizeof *out);
    char *p = strstr(doc, "attributes:"), *end = p ? strstr(p, "\n/config") : NULL;
    if (!p || !end)
        fail("doc lacks the root attribute list");
    char buf[2048];
    size_t n = 0;
    int depth = 0, quote = 0, value = 0;
    for (p += strlen("attributes:"); p < end && n + 1 < sizeof buf; p++) {
        if (*p == '"')
            quote = !quote;
        else if (!quote && *p == '(')
            depth++;
        else if (!quote && *p == ')')
            depth--;
        else if (!quote && !depth && *p == '=')
            value = 1;
        else if (!quote && !depth && *p == ',') {
            value = 0;
            buf[n++] = ',';
        } else if (!quote && !depth && !value && *p != '\n')
            buf[n++] = *p;
    }
    buf[n] = '\0';
    for (char *q = buf; *q;) {
        size_t len = strcspn(q, ",");
        add_name(out, q, len);
        q += len + (q[len] == ',');
    }
}

/* The /series datasets: names two spaces in, between "/series/" and
 * "/arrivals" in the layout block. */
static void doc_series(names *out)
{
    memset(out, 0, sizeof *out);
    char *p = strstr(doc, "\n/series/"), *end = p ? strstr(p, "\n/arrivals") : NULL;
    if (!p || !end)
        fail("doc lacks the /series layout");
    /* a name, or "a, b, c" naming three, then two spaces or the line's end */
    for (p = strchr(p + 1, '\n'); p && p < end; p = strchr(p + 1, '\n'))
        if (p[1] == ' ' && p[2] == ' ' && p[3] >= 'a' && p[3] <= 'z')
            for (char *q = p + 3;;) {
                size_t n = strspn(q, "abcdefghijklmnopqrstuvwxyz0123456789_");
                add_name(out, q, n);
                if (q[n] != ',')
                    break;
                q += n + 1 + strspn(q + n + 1, " ");
            }
}

/* ------------------------------------------------------------ the file */

typedef struct table {
    size_t n;
    names fields;         /* in the file */
    int64_t *i[MAX_NAMES]; /* by index in `fields`: integers ... */
    double *d[MAX_NAMES];  /* ... and every value as a double */
} table;

static hid_t file = -1;

static int member_names(hid_t d, names *out)
{
    memset(out, 0, sizeof *out);
    hid_t t = H5Dget_type(d);
    if (H5Tget_class(t) != H5T_COMPOUND) {
        H5Tclose(t);
        return -1;
    }
    for (int k = 0; k < H5Tget_nmembers(t); k++) {
        char *m = H5Tget_member_name(t, (unsigned)k);
        add_name(out, m, strlen(m));
        H5free_memory(m);
    }
    H5Tclose(t);
    return 0;
}

/* A compound table read field by field, by name (as readers must). */
static void load_table(const char *path, table *tb)
{
    memset(tb, 0, sizeof *tb);
    hid_t d = H5Dopen2(file, path, H5P_DEFAULT);
    CHECK(d >= 0, "no %s", path);
    CHECK(member_names(d, &tb->fields) == 0, "%s is not a compound table", path);
    hid_t s = H5Dget_space(d);
    tb->n = (size_t)H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    for (int k = 0; k < tb->fields.n; k++) {
        tb->i[k] = calloc(tb->n + 1, sizeof(int64_t));
        tb->d[k] = calloc(tb->n + 1, sizeof(double));
        hid_t mi = H5Tcreate(H5T_COMPOUND, sizeof(int64_t));
        hid_t md = H5Tcreate(H5T_COMPOUND, sizeof(double));
        H5Tinsert(mi, tb->fields.v[k], 0, H5T_NATIVE_INT64);
        H5Tinsert(md, tb->fields.v[k], 0, H5T_NATIVE_DOUBLE);
        CHECK(tb->n == 0 || (H5Dread(d, md, H5S_ALL, H5S_ALL, H5P_DEFAULT, tb->d[k]) >= 0 &&
                             H5Dread(d, mi, H5S_ALL, H5S_ALL, H5P_DEFAULT, tb->i[k]) >= 0),
              "cannot read %s.%s", path, tb->fields.v[k]);
        H5Tclose(mi);
        H5Tclose(md);
    }
    H5Dclose(d);
}

static int field(const table *tb, const char *name)
{
    for (int k = 0; k < tb->fields.n; k++)
        if (strcmp(tb->fields.v[k], name) == 0)
            return k;
    fail("table lacks field %s", name);
    return -1;
}
#define I(tb, name, row) ((tb)->i[field(tb, name)][row])
#define D(tb, name, row) ((tb)->d[field(tb, name)][row])

/* The documented fields, exactly; `unmeasured` may be left out. */
static void same_fields(const char *what, const names *doc_names, const names *file_names,
                        const char *unmeasured)
{
    for (int k = 0; k < doc_names->n; k++) {
        const char *f = doc_names->v[k];
        char pat[64];
        snprintf(pat, sizeof pat, ",%s,", f);
        CHECK(has_name(file_names, f) || (unmeasured && strstr(unmeasured, pat)),
              "%s: documented field '%s' is not in the file", what, f);
    }
    for (int k = 0; k < file_names->n; k++)
        CHECK(has_name(doc_names, file_names->v[k]),
              "%s: field '%s' is not documented in doc/results-format.md", what, file_names->v[k]);
}

/* Every documented name has a check below (they are listed where made). */
static void checked(const char *what, const names *doc_names, const char *const *list)
{
    for (int k = 0; k < doc_names->n; k++) {
        int found = 0;
        for (const char *const *l = list; *l && !found; l++)
            found = strcmp(*l, doc_names->v[k]) == 0;
        CHECK(found, "%s: documented field '%s' has no check in tests/results_check.c", what,
              doc_names->v[k]);
    }
}

static int64_t attr_int(hid_t obj, const char *name)
{
    int64_t v = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &v) >= 0, "attribute %s unreadable as a number",
          name);
    H5Aclose(a);
    return v;
}

static double attr_double(hid_t obj, const char *name)
{
    double v = 0;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    CHECK(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0, "attribute %s unreadable", name);
    H5Aclose(a);
    return v;
}

static void attr_str(hid_t obj, const char *name, char *buf, size_t n)
{
    CHECK(dsend_h5_read_attr_str(obj, name, buf, n) == 0, "attribute %s unreadable as a string",
          name);
}

static herr_t collect_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)obj;
    (void)info;
    add_name(data, name, strlen(name));
    return 0;
}

/* ------------------------------------------------------------ the run */

typedef struct run {
    char kind[16];
    int devices;            /* the root attribute (or --devices for a clients file) */
    int64_t end_ns;         /* the run's length: simulated_ns, or the wall time */
    dsend_library lib;
    /* its /config, read back with the option table's units (0 when unset) */
    int64_t prebuffer, jitter, burst, interval, sub_block;
    double loss, pause, seek;
    uint64_t nic;
    int fails, admission, until;
    names config;
} run;

static int config_str(run *r, const char *name, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!has_name(&r->config, name))
        return -1;
    hid_t g = H5Gopen2(file, "config", H5P_DEFAULT);
    attr_str(g, name, buf, n);
    H5Gclose(g);
    return 0;
}

static int64_t config_duration(run *r, const char *name)
{
    char v[256];
    int64_t ns = 0;
    if (config_str(r, name, v, sizeof v) == 0 && dsend_parse_duration(v, &ns) != 0)
        ns = 0; /* "none", "the smallest latency": unset */
    return ns;
}

static double config_real(run *r, const char *name)
{
    char v[256], *e;
    if (config_str(r, name, v, sizeof v) != 0)
        return 0;
    double x = strtod(v, &e);
    return e == v ? 0 : x;
}

static void read_config(run *r)
{
    hid_t g = H5Gopen2(file, "config", H5P_DEFAULT);
    CHECK(g >= 0, "no /config");
    memset(&r->config, 0, sizeof r->config);
    H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, collect_attr, &r->config);
    H5Gclose(g);
    CHECK(r->config.n >= 5, "/config holds %d options", r->config.n);
    char v[256];
    r->prebuffer = config_duration(r, "prebuffer");
    r->jitter = config_duration(r, "jitter");
    r->burst = config_duration(r, "pace-burst");
    r->interval = config_duration(r, "interval");
    r->until = config_duration(r, "until") > 0;
    r->loss = config_real(r, "loss");
    r->pause = config_real(r, "pause");
    r->seek = config_real(r, "seek");
    uint64_t u = 0;
    if (config_str(r, "sub-block", v, sizeof v) == 0 && dsend_parse_size(v, &u) == 0)
        r->sub_block = (int64_t)u;
    if (config_str(r, "nic", v, sizeof v) == 0 && dsend_parse_rate(v, &u) == 0)
        r->nic = u;
    r->fails = config_str(r, "fail", v, sizeof v) == 0 && strcmp(v, "none") != 0 && v[0];
    r->admission = config_str(r, "admission", v, sizeof v) == 0 && strcmp(v, "on") == 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *const root_checked[] = {
    "dsend_format", "format_version", "kind", "dsend_version", "command_line", "date", "seed",
    "exit_status", "devices", "client_ranks", "simulated_ns", "events", "wall_seconds",
    "t0_unix_ns", "peak_rss_bytes", "peak_rss_max_rank_bytes", "memory_per_device_bytes",
    "memory_per_client_bytes", "device_lp_bytes", "client_lp_bytes", NULL};

static void check_root(run *r, const names *documented, const char *kind)
{
    names present = {0};
    H5Aiterate2(file, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, collect_attr, &present);
    int measured = strcmp(kind, "sim") != 0;
    /* t0_unix_ns belongs to measured runs only */
    names want = *documented;
    /* ... and the memory figures to sim */
    for (int k = 0; k < want.n; k++)
        if (measured ? strstr(want.v[k], "rss") || strstr(want.v[k], "memory_") ||
                           strstr(want.v[k], "_lp_bytes")
                     : strcmp(want.v[k], "t0_unix_ns") == 0)
            memmove(want.v[k--], want.v[--want.n], sizeof want.v[0]);
    same_fields("root attributes", &want, &present, NULL);
    checked("root attributes", documented, root_checked);

    char s[8192];
    attr_str(file, "dsend_format", s, sizeof s);
    CHECK(strcmp(s, "dsend-results") == 0, "dsend_format '%s'", s);
    CHECK(attr_int(file, "format_version") == 1, "format_version %lld",
          (long long)attr_int(file, "format_version"));
    attr_str(file, "kind", r->kind, sizeof r->kind);
    CHECK(strcmp(r->kind, kind) == 0, "kind '%s', want '%s'", r->kind, kind);
    attr_str(file, "dsend_version", s, sizeof s);
    CHECK(strncmp(s, "dsend ", 6) == 0 && s[6] >= '0' && s[6] <= '9', "dsend_version '%s'", s);
    attr_str(file, "command_line", s, sizeof s);
    char word[32];
    snprintf(word, sizeof word, " %s", strcmp(kind, "clients") == 0 ? "clients" : kind);
    CHECK(strstr(s, "dsend") && strstr(s, word), "command_line '%s' is not a dsend%s line", s,
          word);
    attr_str(file, "date", s, sizeof s);
    struct tm tm = {0};
    char *e = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    CHECK(e && !*e, "date '%s' is not ISO 8601 UTC", s);
    int64_t age = now_ns() / 1000000000 - (int64_t)timegm(&tm);
    CHECK(age >= -60 && age < 86400, "date '%s' is not today's", s);
    char seed[64];
    CHECK(config_str(r, "seed", seed, sizeof seed) == 0, "/config has no seed");
    CHECK(attr_int(file, "seed") == strtoll(seed, NULL, 10), "seed %lld, /config says %s",
          (long long)attr_int(file, "seed"), seed);
    CHECK(attr_int(file, "exit_status") == 0, "exit_status %lld",
          (long long)attr_int(file, "exit_status"));
    int devices = (int)attr_int(file, "devices");
    if (strcmp(kind, "clients") == 0)
        CHECK(devices == 0, "a clients file names %d devices", devices);
    else
        CHECK(devices >= 1 && devices <= 65536, "devices %d", devices);
    if (devices)
        r->devices = devices;
    int64_t ranks = attr_int(file, "client_ranks");
    CHECK(strcmp(kind, "sim") == 0 ? ranks >= 1 && ranks <= 65536 : ranks == 0,
          "client_ranks %lld", (long long)ranks);
    double wall = attr_double(file, "wall_seconds");
    CHECK(wall > 0 && wall < 86400, "wall_seconds %g", wall);
    r->end_ns = attr_int(file, "simulated_ns");
    CHECK(r->end_ns > 0, "simulated_ns %lld", (long long)r->end_ns);
    if (measured) /* the wall time served or measured */
        CHECK(fabs((double)r->end_ns / 1e9 - wall) < 1.0, "simulated_ns %lld of a %.1f s run",
              (long long)r->end_ns, wall);
    int64_t events = attr_int(file, "events");
    CHECK(strcmp(kind, "sim") == 0 ? events > 0 : events >= 0, "events %lld", (long long)events);
    if (!measured) {
        /* memory: a peak at least the sum of what the devices and clients
         * grew by, and at least one LP's size each; below 1 TiB */
        int64_t peak = attr_int(file, "peak_rss_bytes"), pmax = attr_int(file, "peak_rss_max_rank_bytes");
        int64_t pd = attr_int(file, "memory_per_device_bytes");
        int64_t pc = attr_int(file, "memory_per_client_bytes");
        int64_t dl = attr_int(file, "device_lp_bytes"), cl = attr_int(file, "client_lp_bytes");
        char v[64];
        CHECK(config_str(r, "clients", v, sizeof v) == 0, "/config has no clients");
        int64_t nc = strtoll(v, NULL, 10);
        CHECK(pmax > 0 && pmax <= peak && peak < (1LL << 40), "peak_rss_bytes %lld, largest rank %lld",
              (long long)peak, (long long)pmax);
        CHECK(dl > 0 && dl < (1 << 20) && cl > 0 && cl < (1 << 20), "LP sizes %lld, %lld",
              (long long)dl, (long long)cl);
        CHECK(pd >= 0 && pc >= 0 && pd * devices + pc * nc <= peak,
              "memory per device %lld x %d + per client %lld x %lld above the peak %lld",
              (long long)pd, devices, (long long)pc, (long long)nc, (long long)peak);
    }
    if (measured) {
        int64_t t0 = attr_int(file, "t0_unix_ns");
        CHECK(t0 <= now_ns() && now_ns() - t0 < 86400LL * 1000000000, "t0_unix_ns %lld",
              (long long)t0);
    }
}

/* Packets of an asset shorter than a full one (a block's last, or the
 * asset's), which bound what `bytes` can be. */
static uint64_t short_packets(const dsend_asset *a)
{
    return a->block_size % DSEND_PKT_PAYLOAD ? a->blocks : 1;
}

static const char *const clients_checked[] = {
    "client", "asset", "scheduler", "request_at", "startup_ns", "expected", "received", "lost",
    "duplicate", "out_of_order", "late", "unexpected", "crc_errors", "bytes", "pauses", "seeks",
    "senders", "max_gap_us", "max_lateness", "mean_lateness", "underruns", "refused", "stall_ns",
    "jitter_ms", "df_ms", "mlr", NULL};

static void check_clients(run *r, const names *documented, table *c)
{
    char unmeasured[512] = ",";
    hid_t d = H5Dopen2(file, "clients", H5P_DEFAULT);
    CHECK(d >= 0, "no /clients");
    char units[32];
    attr_str(d, "units", units, sizeof units);
    CHECK(strcmp(units, "packets") == 0, "/clients units '%s'", units);
    if (H5Aexists(d, "not_measured") > 0) {
        attr_str(d, "not_measured", unmeasured + 1, sizeof unmeasured - 2);
        strcat(unmeasured, ",");
    }
    H5Dclose(d);
    load_table("clients", c);
    same_fields("/clients", documented, &c->fields, unmeasured);
    checked("/clients", documented, clients_checked);
    CHECK(c->n > 0, "/clients is empty");
    uint64_t jittered = 0;
    double jitter_sum = 0;
    uint64_t sum_lost = 0, sum_expected = 0;
    for (size_t k = 0; k < c->n; k++) {
#define V(f) I(c, f, k)
        CHECK(V("client") == (int64_t)k, "row %zu holds client %lld", k, (long long)V("client"));
        CHECK(V("asset") >= 0 && V("asset") < r->lib.nassets, "client %zu: asset %lld", k,
              (long long)V("asset"));
        const dsend_asset *a = &r->lib.assets[V("asset")];
        if (!strstr(unmeasured, ",scheduler,"))
            CHECK(V("scheduler") >= 0 && V("scheduler") < r->devices,
                  "client %zu: scheduler %lld of %d devices", k, (long long)V("scheduler"),
                  r->devices);
        CHECK(V("request_at") >= 0 && V("request_at") < r->end_ns,
              "client %zu: request_at %lld outside the run", k, (long long)V("request_at"));
        int64_t plans = 1 + V("pauses") + V("seeks");
        int64_t exp = V("expected"), rec = V("received");
        if (V("refused")) {
            CHECK(V("refused") == 1 && exp == 0 && rec == 0 && V("lost") == 0 &&
                      V("startup_ns") == -1,
                  "client %zu: refused, yet %lld expected, %lld received, startup %lld", k,
                  (long long)exp, (long long)rec, (long long)V("startup_ns"));
        } else {
            CHECK(V("refused") == 0, "client %zu: refused %lld", k, (long long)V("refused"));
            uint64_t whole = dsend_packets_before(a, a->size);
            CHECK(exp > 0 && (uint64_t)exp <= whole * (uint64_t)plans,
                  "client %zu: expected %lld, its asset has %llu packets, %lld plans", k,
                  (long long)exp, (unsigned long long)whole, (long long)plans);
        }
        CHECK(rec >= 0 && rec <= exp, "client %zu: received %lld of %lld", k, (long long)rec,
              (long long)exp);
        CHECK(V("lost") == exp - rec, "client %zu: lost %lld, expected %lld - received %lld", k,
              (long long)V("lost"), (long long)exp, (long long)rec);
        sum_lost += (uint64_t)V("lost");
        sum_expected += (uint64_t)exp;
        CHECK(V("duplicate") >= 0 && V("duplicate") <= rec, "client %zu: %lld duplicates", k,
              (long long)V("duplicate"));
        CHECK(V("out_of_order") >= 0 && V("out_of_order") <= rec, "client %zu: %lld out of order",
              k, (long long)V("out_of_order"));
        CHECK(V("unexpected") >= 0 && V("unexpected") <= exp, "client %zu: %lld unexpected", k,
              (long long)V("unexpected"));
        CHECK(V("crc_errors") == 0, "client %zu: %lld payload errors", k,
              (long long)V("crc_errors"));
        uint64_t bytes = (uint64_t)V("bytes"), full = DSEND_PKT_PAYLOAD;
        uint64_t shorts = short_packets(a) * (uint64_t)plans;
        CHECK(bytes <= (uint64_t)rec * full &&
                  bytes + (shorts < (uint64_t)rec ? shorts : (uint64_t)rec) * full >=
                      (uint64_t)rec * full &&
                  bytes >= (uint64_t)rec,
              "client %zu: %llu bytes in %lld packets", k, (unsigned long long)bytes,
              (long long)rec);
        CHECK(V("pauses") >= 0 && V("pauses") <= (r->pause > 0) && V("seeks") >= 0 &&
                  V("seeks") <= (r->seek > 0),
              "client %zu: %lld pauses, %lld seeks (--pause %g, --seek %g)", k,
              (long long)V("pauses"), (long long)V("seeks"), r->pause, r->seek);
        if (r->pause >= 1 && !V("refused") && rec > 0)
            CHECK(V("pauses") == 1, "client %zu did not pause (--pause 1)", k);
        CHECK(rec > 0 ? V("senders") >= 1 && V("senders") <= r->devices : V("senders") == 0,
              "client %zu: %lld senders of %d devices, %lld packets", k, (long long)V("senders"),
              r->devices, (long long)rec);
        CHECK(V("max_gap_us") >= 0 && V("max_gap_us") * 1000 <= r->end_ns &&
                  (rec < 10 || V("max_gap_us") > 0),
              "client %zu: max_gap_us %lld", k, (long long)V("max_gap_us"));
        if (rec > 0) {
            /* playout starts a prebuffer after the first packet, which came
             * after the request */
            CHECK(V("startup_ns") >= r->prebuffer && V("startup_ns") < r->end_ns,
                  "client %zu: startup %lld ns, prebuffer %lld", k, (long long)V("startup_ns"),
                  (long long)r->prebuffer);
            /* a deadline is at least minus an asset's duration (playout is
             * anchored at the first packet received, which under overload
             * may be a later one than the first sent) */
            int64_t longest = 0;
            for (uint32_t x = 0; x < r->lib.nassets; x++)
                if (r->lib.assets[x].duration_ns > longest)
                    longest = r->lib.assets[x].duration_ns;
            CHECK(V("max_lateness") >= V("mean_lateness") && V("mean_lateness") > -r->end_ns &&
                      V("max_lateness") < r->end_ns + longest,
                  "client %zu: lateness max %lld mean %lld ns in a run of %lld ns", k,
                  (long long)V("max_lateness"), (long long)V("mean_lateness"),
                  (long long)r->end_ns);
        } else {
            CHECK(V("startup_ns") == -1, "client %zu: startup %lld without a packet", k,
                  (long long)V("startup_ns"));
        }
        /* a packet after its playout time is a stall, and only that */
        CHECK(V("late") == V("underruns"), "client %zu: %lld late, %lld underruns", k,
              (long long)V("late"), (long long)V("underruns"));
        CHECK((V("underruns") > 0) == (V("max_lateness") > 0) &&
                  (V("underruns") > 0) == (V("stall_ns") > 0),
              "client %zu: %lld underruns, max lateness %lld, stall %lld ns", k,
              (long long)V("underruns"), (long long)V("max_lateness"), (long long)V("stall_ns"));
        /* a plan's stalls add up to its last shift, at most its max lateness */
        CHECK(V("stall_ns") <= plans * (V("max_lateness") > 0 ? V("max_lateness") : 0),
              "client %zu: stalled %lld ns, max lateness %lld ns", k, (long long)V("stall_ns"),
              (long long)V("max_lateness"));
        double jit = D(c, "jitter_ms", k), df = D(c, "df_ms", k), mlr = D(c, "mlr", k);
        CHECK(isfinite(jit) && jit >= 0 && jit < 1000, "client %zu: jitter %g ms", k, jit);
        /* paced one by one, packets keep their media spacing; a burst of
         * --pace-burst leaves at once, so transit times differ by at most a
         * burst's media time, and so does RFC 3550's estimate of it */
        if (strcmp(r->kind, "sim") == 0 && r->jitter == 0 && r->burst == 0)
            CHECK(jit < 0.05, "client %zu: jitter %g ms with no --jitter (paced packets)", k, jit);
        if (strcmp(r->kind, "sim") == 0 && r->jitter == 0 && r->burst > 0)
            CHECK(jit <= (double)r->burst / 1e6, "client %zu: jitter %g ms with no --jitter, "
                  "bursts of %g ms", k, jit, (double)r->burst / 1e6);
        if (rec >= 100) {
            jitter_sum += jit;
            jittered++;
        }
        /* the buffer swings by at least one packet: its media time */
        double pkt_ms = (double)(a->block_size < full ? a->block_size : full) * 8e3 /
                        (double)a->bitrate_bps;
        CHECK(isfinite(df) && (rec == 0 ? df == 0 : df >= 0.999 * pkt_ms) &&
                  df * 1e6 <= (double)r->end_ns,
              "client %zu: DF %g ms (a packet is %g ms)", k, df, pkt_ms);
        /* lost TS packets over the media asked for, which is between
         * `expected` full packets and that less the short ones and the cut
         * of each plan's last packet */
        double lo_media = (double)(exp - (int64_t)shorts - plans) * (double)full * 8 /
                          (double)a->bitrate_bps,
               hi_media = (double)exp * (double)full * 8 / (double)a->bitrate_bps;
        double mlr_lo = (double)V("lost") * DSEND_TS_PER_RTP / hi_media,
               mlr_hi = lo_media > 0 ? (double)V("lost") * DSEND_TS_PER_RTP / lo_media : INFINITY;
        CHECK(isfinite(mlr) && (V("lost") == 0 ? mlr == 0
                                               : mlr >= mlr_lo * (1 - 1e-9) && mlr <= mlr_hi * (1 + 1e-9)),
              "client %zu: MLR %g for %lld lost of %lld (want %g..%g)", k, mlr,
              (long long)V("lost"), (long long)exp, mlr_lo, mlr_hi);
#undef V
    }
    if (strcmp(r->kind, "sim") == 0 && r->jitter > 0 && r->burst > 0) {
        double mean = jittered ? jitter_sum / (double)jittered : 0;
        double most = (double)(r->jitter + r->burst) / 1e6;
        CHECK(jittered > 0 && mean > 0 && mean <= most,
              "mean jitter %g ms over %llu clients, want at most --jitter + --pace-burst = %g ms",
              mean, (unsigned long long)jittered, most);
    }
    if (strcmp(r->kind, "sim") == 0 && r->jitter > 0 && r->burst == 0) {
        /* RFC 3550's J estimates E|D|: for a uniform extra delay in [0, X]
         * the difference of two is triangular, E|D| = X / 3 */
        double mean = jittered ? jitter_sum / (double)jittered : 0, x = (double)r->jitter / 1e6;
        CHECK(jittered > 0 && mean > 0.25 * x && mean < 0.42 * x,
              "mean jitter %g ms over %llu clients, want about --jitter / 3 = %g ms", mean,
              (unsigned long long)jittered, x / 3);
        printf("results_check: mean RFC 3550 jitter %.3f ms for --jitter %.1f ms (X/3 = %.3f)\n",
               mean, x, x / 3);
    }
    if (strcmp(r->kind, "sim") == 0 && r->loss > 0) {
        double got = (double)sum_lost / (double)sum_expected;
        CHECK(got > 0.5 * r->loss && got < 1.5 * r->loss, "lost %.4f%% of packets, --loss %g",
              100 * got, r->loss);
    } else if (strcmp(r->kind, "sim") == 0 && !r->fails && !r->until) {
        CHECK(sum_lost == 0, "a model run without --loss, --fail or --until lost %llu packets",
              (unsigned long long)sum_lost);
    }
}

static const char *const devices_checked[] = {
    "sub_blocks", "bytes", "requests_received", "requests_sent", "max_queue", "packets",
    "wire_bytes", "stale", "delayed", "admitted", "refused", "failovers", "takeovers",
    "rerouted", "ram", "share", "lookaheads", "cache_hits", "cache_misses", "storage_reads",
    "storage_bytes", "evictions", "max_pinned", "pinned", "miss_waits", "miss_delayed",
    "miss_late", "storage_errors", NULL};

static void check_devices(run *r, const names *documented, table *dv, const table *c)
{
    load_table("devices", dv);
    same_fields("/devices", documented, &dv->fields, NULL);
    checked("/devices", documented, devices_checked);
    if (strcmp(r->kind, "clients") == 0) {
        CHECK(dv->n == 0, "a clients file has %zu device rows", dv->n);
        return;
    }
    CHECK((int)dv->n == r->devices, "%zu device rows, %d devices", dv->n, r->devices);
    int64_t sent = 0, received = 0, admitted = 0, refused = 0, takeovers = 0, failovers = 0,
            bytes = 0;
    for (size_t k = 0; k < dv->n; k++) {
#define V(f) I(dv, f, k)
        int64_t pk = V("packets"), sb = V("sub_blocks");
        CHECK(V("wire_bytes") == V("bytes") + 40 * pk, "device %zu: %lld wire bytes for %lld bytes "
              "in %lld packets", k, (long long)V("wire_bytes"), (long long)V("bytes"), (long long)pk);
        CHECK(V("bytes") <= pk * (int64_t)DSEND_PKT_PAYLOAD && V("bytes") >= pk &&
                  V("bytes") + sb * (int64_t)DSEND_PKT_PAYLOAD >= pk * (int64_t)DSEND_PKT_PAYLOAD,
              "device %zu: %lld bytes in %lld packets of %lld sub-blocks", k,
              (long long)V("bytes"), (long long)pk, (long long)sb);
        CHECK(sb <= pk && (r->sub_block == 0 || V("bytes") <= sb * r->sub_block),
              "device %zu: %lld sub-blocks of %lld bytes for %lld packets, %lld bytes", k,
              (long long)sb, (long long)r->sub_block, (long long)pk, (long long)V("bytes"));
        CHECK(V("max_queue") <= V("requests_received") &&
                  (V("requests_received") == 0 || V("max_queue") >= 1),
              "device %zu: max queue %lld of %lld requests", k, (long long)V("max_queue"),
              (long long)V("requests_received"));
        CHECK(sb == 0 || V("requests_received") > 0, "device %zu sent %lld sub-blocks unasked", k,
              (long long)sb);
        CHECK(V("delayed") >= 0 && V("delayed") <= pk, "device %zu: %lld of %lld packets delayed",
              k, (long long)V("delayed"), (long long)pk);
        /* (a server does not know its clients' workload) */
        CHECK(V("stale") >= 0 && (strcmp(r->kind, "serve") == 0 || r->pause > 0 || r->seek > 0 ||
                                  r->fails || V("stale") == 0),
              "device %zu: %lld stale without pauses, seeks or failures", k, (long long)V("stale"));
        CHECK(V("failovers") >= 0 && V("failovers") < r->devices &&
                  (r->fails || V("failovers") == 0),
              "device %zu: %lld failovers (--fail %s)", k, (long long)V("failovers"),
              r->fails ? "given" : "none");
        CHECK(r->fails || (V("takeovers") == 0 && V("rerouted") == 0),
              "device %zu: %lld takeovers, %lld rerouted without a failure", k,
              (long long)V("takeovers"), (long long)V("rerouted"));
        CHECK(V("admitted") >= V("takeovers") && (r->admission || V("refused") == 0),
              "device %zu: %lld admitted, %lld refused, %lld takeovers (admission %s)", k,
              (long long)V("admitted"), (long long)V("refused"), (long long)V("takeovers"),
              r->admission ? "on" : "off");
        /* RAM and mass storage: a device holding its whole share has hits only */
        CHECK(V("ram") >= 0 && V("share") >= 0 &&
                  (V("ram") < V("share") ||
                   (V("cache_misses") == 0 && V("storage_reads") == 0 && V("evictions") == 0 &&
                    V("miss_waits") == 0 && V("storage_errors") == 0)),
              "device %zu: %lld misses, %lld reads, %lld evictions with %lld bytes of RAM for a "
              "share of %lld", k, (long long)V("cache_misses"), (long long)V("storage_reads"),
              (long long)V("evictions"), (long long)V("ram"), (long long)V("share"));
        CHECK(V("cache_hits") >= 0 && V("cache_misses") >= 0 && V("lookaheads") >= 0 &&
                  V("cache_hits") + V("cache_misses") <= V("requests_received") + V("lookaheads"),
              "device %zu: %lld hits and %lld misses for %lld requests and %lld look-aheads", k,
              (long long)V("cache_hits"), (long long)V("cache_misses"),
              (long long)V("requests_received"), (long long)V("lookaheads"));
        CHECK(V("storage_reads") >= 0 && V("storage_bytes") >= V("storage_reads") &&
                  (V("storage_reads") > 0 || V("storage_bytes") == 0) &&
                  V("storage_errors") >= 0 && V("storage_errors") <= V("storage_reads"),
              "device %zu: %lld reads of %lld bytes, %lld failed", k,
              (long long)V("storage_reads"), (long long)V("storage_bytes"),
              (long long)V("storage_errors"));
        CHECK(V("pinned") >= 0 && V("pinned") <= V("max_pinned") && V("evictions") >= 0 &&
                  V("evictions") <= V("storage_reads"),
              "device %zu: %lld pinned at the end, %lld at most, %lld evictions of %lld reads", k,
              (long long)V("pinned"), (long long)V("max_pinned"), (long long)V("evictions"),
              (long long)V("storage_reads"));
        CHECK(V("miss_waits") >= 0 && V("miss_waits") <= V("cache_misses") &&
                  V("miss_late") >= 0 && V("miss_late") <= V("miss_delayed") &&
                  V("miss_delayed") <= pk,
              "device %zu: %lld waits of %lld misses; %lld late of %lld delayed by a miss, %lld "
              "packets", k, (long long)V("miss_waits"), (long long)V("cache_misses"),
              (long long)V("miss_late"), (long long)V("miss_delayed"), (long long)pk);
        sent += V("requests_sent");
        received += V("requests_received");
        admitted += V("admitted") - V("takeovers");
        refused += V("refused");
        takeovers += V("takeovers");
        failovers += V("failovers");
        bytes += V("bytes");
#undef V
    }
    CHECK(failovers || sent == received, "%lld send requests sent, %lld received", (long long)sent,
          (long long)received);
    CHECK(bytes > 0 && sent > 0, "the devices sent %lld bytes on %lld requests", (long long)bytes,
          (long long)sent);
    if (c) { /* a model run: its streams are the devices' */
        int64_t cl_refused = 0, cl_bytes = 0;
        for (size_t k = 0; k < c->n; k++) {
            cl_refused += I(c, "refused", k);
            cl_bytes += I(c, "bytes", k);
        }
        CHECK(refused == cl_refused && admitted == (r->admission ? (int64_t)c->n - cl_refused : 0),
              "devices admitted %lld and refused %lld streams; %zu clients, %lld refused",
              (long long)admitted, (long long)refused, c->n, (long long)cl_refused);
        CHECK(r->loss > 0 || r->until || bytes >= cl_bytes,
              "the devices committed %lld bytes, the clients received %lld", (long long)bytes,
              (long long)cl_bytes);
    }
}

static const char *const series_checked[] = {"bytes", "queue", "utilization", "lateness_mean_ns",
                                             "lateness_count", "cache_hits", "cache_misses",
                                             "storage_reads", "storage_bytes", "evictions",
                                             "pinned", NULL};
/* the cache's series: only when a device held less than its share */
#define CACHE_SERIES ",cache_hits,cache_misses,storage_reads,storage_bytes,evictions,pinned,"

static void read_2d(hid_t g, const char *name, hid_t type, void **out, hsize_t dims[2], int rank)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    CHECK(d >= 0, "no /series/%s", name);
    hid_t s = H5Dget_space(d);
    dims[0] = dims[1] = 1;
    CHECK(H5Sget_simple_extent_ndims(s) == rank, "/series/%s is not %dD", name, rank);
    H5Sget_simple_extent_dims(s, dims, NULL);
    size_t n = (size_t)(dims[0] * (rank == 2 ? dims[1] : 1));
    *out = calloc(n + 1, 8);
    CHECK(n == 0 || H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out) >= 0,
          "cannot read /series/%s", name);
    H5Sclose(s);
    H5Dclose(d);
}

static void check_series(run *r, const names *documented, const table *dv, const table *c)
{
    hid_t g = H5Gopen2(file, "series", H5P_DEFAULT);
    CHECK(g >= 0, "no /series");
    names present = {0};
    H5G_info_t info;
    H5Gget_info(g, &info);
    for (hsize_t k = 0; k < info.nlinks; k++) {
        char name[64];
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_NATIVE, k, name, sizeof name,
                           H5P_DEFAULT);
        add_name(&present, name, strlen(name));
    }
    int serve = strcmp(r->kind, "serve") == 0;
    same_fields("/series", documented, &present, CACHE_SERIES);
    checked("/series", documented, series_checked);
    int64_t interval = attr_int(g, "interval_ns");
    CHECK(interval > 0 && (r->interval == 0 || interval == r->interval),
          "/series interval_ns %lld, --interval %lld", (long long)interval,
          (long long)r->interval);
    hsize_t db[2], dq[2], du[2];
    int64_t *bytes;
    int64_t *queue;
    double *util;
    read_2d(g, "bytes", H5T_NATIVE_INT64, (void **)&bytes, db, 2);
    read_2d(g, "queue", H5T_NATIVE_INT64, (void **)&queue, dq, 2);
    read_2d(g, "utilization", H5T_NATIVE_DOUBLE, (void **)&util, du, 2);
    CHECK(db[0] == dv->n && dq[0] == db[0] && dq[1] == db[1] && du[0] == db[0] && du[1] == db[1],
          "/series shapes %llux%llu, %llux%llu, %llux%llu for %zu devices",
          (unsigned long long)db[0], (unsigned long long)db[1], (unsigned long long)dq[0],
          (unsigned long long)dq[1], (unsigned long long)du[0], (unsigned long long)du[1], dv->n);
    CHECK(dv->n == 0 || (db[1] > 0 && (int64_t)db[1] * interval >= r->end_ns - interval),
          "%llu intervals of %lld ns for a run of %lld ns", (unsigned long long)db[1],
          (long long)interval, (long long)r->end_ns);
    for (size_t d = 0; d < dv->n; d++) {
        int64_t sum = 0, qmax = 0;
        for (hsize_t k = 0; k < db[1]; k++) {
            size_t x = d * db[1] + k;
            sum += bytes[x];
            qmax = queue[x] > qmax ? queue[x] : qmax;
            double u = (double)bytes[x] * 8e9 / ((double)r->nic * (double)interval);
            CHECK(r->nic > 0 && fabs(util[x] - u) <= 1e-9 * (u > 1 ? u : 1),
                  "device %zu interval %llu: utilization %g, bytes say %g", d,
                  (unsigned long long)k, util[x], u);
        }
        CHECK(sum == I(dv, "wire_bytes", d), "device %zu: the series sum to %lld wire bytes, the "
              "device row says %lld", d, (long long)sum, (long long)I(dv, "wire_bytes", d));
        CHECK(qmax <= I(dv, "max_queue", d) && (sum == 0 || qmax >= 1),
              "device %zu: deepest queue %lld in the series, %lld in its row", d, (long long)qmax,
              (long long)I(dv, "max_queue", d));
    }
    /* each cache series sums to its /devices field (pinned: its most at once) */
    static const char *const cache[] = {"cache_hits", "cache_misses", "storage_reads",
                                        "storage_bytes", "evictions", "pinned"};
    for (int f = 0; f < 6; f++) {
        if (!has_name(&present, cache[f]))
            continue;
        hsize_t dcs[2];
        int64_t *v;
        read_2d(g, cache[f], H5T_NATIVE_INT64, (void **)&v, dcs, 2);
        CHECK(dcs[0] == dv->n, "/series/%s has %llu rows for %zu devices", cache[f],
              (unsigned long long)dcs[0], dv->n);
        for (size_t d = 0; d < dv->n; d++) {
            int64_t sum = 0, most = 0;
            for (hsize_t k = 0; k < dcs[1]; k++) {
                int64_t x = v[d * dcs[1] + k];
                CHECK(x >= 0, "/series/%s: device %zu interval %llu holds %lld", cache[f], d,
                      (unsigned long long)k, (long long)x);
                sum += x;
                most = x > most ? x : most;
            }
            if (f == 5)
                CHECK(most <= I(dv, "max_pinned", d), "device %zu: %lld pinned in the series, at "
                      "most %lld in its row", d, (long long)most, (long long)I(dv, "max_pinned", d));
            else
                CHECK(sum == I(dv, cache[f], d), "device %zu: /series/%s sums to %lld, its row "
                      "says %lld", d, cache[f], (long long)sum, (long long)I(dv, cache[f], d));
        }
        free(v);
    }
    {
        hsize_t dm[2], dc[2];
        double *mean;
        int64_t *count;
        read_2d(g, "lateness_mean_ns", H5T_NATIVE_DOUBLE, (void **)&mean, dm, 1);
        read_2d(g, "lateness_count", H5T_NATIVE_INT64, (void **)&count, dc, 1);
        CHECK(dm[0] == dc[0] && (serve || dv->n == 0 || dm[0] == db[1]),
              "lateness series of %llu and %llu intervals", (unsigned long long)dm[0],
              (unsigned long long)dc[0]);
        int64_t timed = 0, received = 0;
        for (hsize_t k = 0; k < dm[0]; k++) {
            /* a server measures no lateness: its series are zeros */
            CHECK(count[k] >= 0 && isfinite(mean[k]) && (count[k] > 0 || mean[k] == 0) &&
                      (!serve || count[k] == 0),
                  "interval %llu: %lld packets, mean lateness %g", (unsigned long long)k,
                  (long long)count[k], mean[k]);
            timed += count[k];
        }
        for (size_t k = 0; c && k < c->n; k++)
            received += I(c, "received", k) + I(c, "duplicate", k);
        CHECK(strcmp(r->kind, "sim") != 0 || (timed > 0 && timed <= received),
              "%lld packets timed in the lateness series, %lld received", (long long)timed,
              (long long)received);
        free(mean);
        free(count);
    }
    free(bytes);
    free(queue);
    free(util);
    H5Gclose(g);
}

static const char *const arrivals_checked[] = {"client", "asset", "device", "len", "offset",
                                               "sent", "arrival", "deadline", NULL};

static void check_arrivals(run *r, const names *documented, const table *c)
{
    table a;
    load_table("arrivals", &a);
    same_fields("/arrivals", documented, &a.fields, NULL);
    checked("/arrivals", documented, arrivals_checked);
    int64_t want = 0;
    for (size_t k = 0; k < c->n; k++)
        want += I(c, "received", k) + I(c, "duplicate", k) + I(c, "unexpected", k);
    CHECK((int64_t)a.n == want, "%zu arrivals, the clients received %lld packets", a.n,
          (long long)want);
    for (size_t k = 0; k < a.n; k++) {
#define V(f) I(&a, f, k)
        int64_t cl = V("client");
        CHECK(cl >= 0 && (size_t)cl < c->n && V("asset") == I(c, "asset", cl),
              "arrival %zu: client %lld, asset %lld", k, (long long)cl, (long long)V("asset"));
        const dsend_asset *as = &r->lib.assets[V("asset")];
        CHECK(k == 0 || cl > I(&a, "client", k - 1) ||
                  (cl == I(&a, "client", k - 1) && V("offset") >= I(&a, "offset", k - 1)),
              "arrival %zu: not in (client, offset) order", k);
        CHECK(V("device") >= 0 && V("device") < r->devices, "arrival %zu: device %lld", k,
              (long long)V("device"));
        CHECK(V("len") == (int64_t)dsend_packet_len(as, (uint64_t)V("offset")) &&
                  V("offset") % (int64_t)as->block_size % DSEND_PKT_PAYLOAD == 0,
              "arrival %zu: %lld bytes at offset %lld are not a packet of asset %s", k,
              (long long)V("len"), (long long)V("offset"), as->name);
        CHECK(V("sent") >= 0 && V("arrival") > V("sent") && V("arrival") <= r->end_ns,
              "arrival %zu: sent %lld, arrived %lld", k, (long long)V("sent"),
              (long long)V("arrival"));
        CHECK(V("deadline") == INT64_MIN ||
                  (V("deadline") > 0 && V("deadline") - V("arrival") <= I(c, "startup_ns", cl) +
                                                                           r->prebuffer + r->end_ns),
              "arrival %zu: deadline %lld", k, (long long)V("deadline"));
#undef V
    }
}

int main(int argc, char **argv)
{
    if (argc != 5 && !(argc == 7 && strcmp(argv[5], "--devices") == 0)) {
        fprintf(stderr, "usage: results_check DOC.md LIB.h5 sim|clients|serve RUN.h5 "
                        "[--devices D]\n");
        return 2;
    }
    const char *kind = argv[3];
    run_path = argv[4];
    FILE *f = fopen(argv[1], "r");
    CHECK(f, "cannot read %s", argv[1]);
    doc = calloc(1 << 20, 1);
    size_t got = fread(doc, 1, (1 << 20) - 1, f);
    fclose(f);
    CHECK(got > 0, "%s is empty", argv[1]);
    names root, clients, devices, series, arrivals;
    doc_root(&root);
    doc_table("## /clients", &clients);
    doc_table("## /devices", &devices);
    doc_table("## /arrivals", &arrivals);
    doc_series(&series);

    dsend_h5_quiet();
    run r;
    memset(&r, 0, sizeof r);
    r.lib.file = -1;
    CHECK(dsend_library_open(argv[2], MPI_COMM_NULL, &r.lib) == 0, "%s", dsend_errmsg());
    file = H5Fopen(run_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file >= 0, "cannot open");
    read_config(&r);
    check_root(&r, &root, kind);
    if (argc == 7)
        r.devices = atoi(argv[6]);
    table c, dv;
    int has_clients = H5Lexists(file, "clients", H5P_DEFAULT) > 0;
    CHECK(has_clients == (strcmp(kind, "serve") != 0), "a %s file %s /clients", kind,
          has_clients ? "has" : "lacks");
    if (has_clients) {
        CHECK(r.devices > 0, "a clients file needs --devices D");
        check_clients(&r, &clients, &c);
    }
    check_devices(&r, &devices, &dv, strcmp(kind, "sim") == 0 ? &c : NULL);
    check_series(&r, &series, &dv, has_clients ? &c : NULL);
    int traced = H5Lexists(file, "arrivals", H5P_DEFAULT) > 0;
    if (traced) {
        CHECK(strcmp(kind, "sim") == 0, "a %s file with /arrivals", kind);
        check_arrivals(&r, &arrivals, &c);
    }
    printf("results_check: %s (%s): every documented field present and plausible: %d root "
           "attributes, /clients %d fields x %zu rows, /devices %d x %zu, /series %d%s\n",
           run_path, kind, root.n, has_clients ? clients.n : 0, has_clients ? c.n : 0, devices.n,
           dv.n, series.n, traced ? ", /arrivals" : "");
    H5Fclose(file);
    dsend_library_close(&r.lib);
    return 0;
}
