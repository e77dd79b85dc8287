/* Parsing and printing of sizes, rates and durations (see units.h). */
#include "dsend/units.h"
#include "dsend/error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *suffix;
    long double scale;
};

/* Split "<number><suffix>" and look the suffix up (case-sensitive first so
 * that "Mb" and "MB" differ for rates, then case-insensitive). */
static int parse_with_units(const char *s, const struct unit *units,
                            int bare_ok, long double *out)
{
    if (s == NULL || *s == '\0')
        return dsend_seterr(DSEND_EINVAL, "empty value");
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '-')
        return dsend_seterr(DSEND_EINVAL, "'%s': must not be negative", s);
    if (!isdigit((unsigned char)*p) && *p != '.')
        return dsend_seterr(DSEND_EINVAL, "'%s': not a number", s);
    errno = 0;
    char *end;
    long double v = strtold(p, &end);
    if (end == p || errno == ERANGE || !isfinite(v))
        return dsend_seterr(DSEND_EINVAL, "'%s': not a number", s);
    /* strtold accepts hex and inf/nan; we only want plain decimals */
    for (const char *q = p; q < end; q++)
        if (!isdigit((unsigned char)*q) && *q != '.' && *q != 'e' && *q != 'E' &&
            *q != '+' && *q != '-')
            return dsend_seterr(DSEND_EINVAL, "'%s': not a number", s);
    while (isspace((unsigned char)*end))
        end++;
    if (*end == '\0') {
        if (!bare_ok)
            return dsend_seterr(DSEND_EINVAL, "'%s': missing unit", s);
        *out = v;
        return 0;
    }
    for (int pass = 0; pass < 2; pass++)
        for (const struct unit *u = units; u->suffix; u++)
            if (pass == 0 ? strcmp(end, u->suffix) == 0
                          : strcasecmp(end, u->suffix) == 0) {
                *out = v * u->scale;
                return 0;
            }
    return dsend_seterr(DSEND_EINVAL, "'%s': unknown unit '%s'", s, end);
}

static int to_u64(const char *s, long double v, int whole, uint64_t *out)
{
    if (v >= 18446744073709551615.0L)
        return dsend_seterr(DSEND_EINVAL, "'%s': too large", s);
    long double r = roundl(v);
    if (whole && fabsl(v - r) > 1e-6L * (r > 1 ? r : 1))
        return dsend_seterr(DSEND_EINVAL, "'%s': not a whole number", s);
    *out = (uint64_t)r;
    return 0;
}

#define K 1e3L
#define M 1e6L
#define G 1e9L
#define T 1e12L
#define KI 1024.0L
#define MI (1024.0L * 1024)
#define GI (1024.0L * 1024 * 1024)
#define TI (1024.0L * 1024 * 1024 * 1024)

int dsend_parse_size(const char *s, uint64_t *bytes)
{
    static const struct unit units[] = {
        {"B", 1},      {"K", K},     {"KB", K},    {"k", K},    {"kB", K},
        {"M", M},      {"MB", M},    {"G", G},     {"GB", G},   {"T", T},
        {"TB", T},     {"KiB", KI},  {"Ki", KI},   {"MiB", MI}, {"Mi", MI},
        {"GiB", GI},   {"Gi", GI},   {"TiB", TI},  {"Ti", TI},  {NULL, 0},
    };
    long double v;
    int rc = parse_with_units(s, units, 1, &v);
    if (rc)
        return rc;
    return to_u64(s, v, 1, bytes);
}

int dsend_parse_rate(const char *s, uint64_t *bps)
{
    static const struct unit units[] = {
        {"bit/s", 1},    {"b/s", 1},      {"bps", 1},      {"B/s", 8},
        {"Bps", 8},      {"k", K},        {"K", K},        {"kbit/s", K},
        {"Kbit/s", K},   {"kb/s", K},     {"kbps", K},     {"kB/s", 8 * K},
        {"KB/s", 8 * K}, {"M", M},        {"Mbit/s", M},   {"Mb/s", M},
        {"Mbps", M},     {"MB/s", 8 * M}, {"G", G},        {"Gbit/s", G},
        {"Gb/s", G},     {"Gbps", G},     {"GB/s", 8 * G}, {"T", T},
        {"Tbit/s", T},   {"Tbps", T},     {"Kibit/s", KI}, {"Mibit/s", MI},
        {"Gibit/s", GI}, {"MiB/s", 8 * MI}, {"GiB/s", 8 * GI}, {NULL, 0},
    };
    long double v;
    int rc = parse_with_units(s, units, 1, &v);
    if (rc)
        return rc;
    return to_u64(s, v, 0, bps);
}

int dsend_parse_duration(const char *s, int64_t *ns)
{
    static const struct unit units[] = {
        {"ns", 1},        {"us", 1e3L},        {"ms", 1e6L},
        {"s", 1e9L},      {"sec", 1e9L},       {"m", 60e9L},
        {"min", 60e9L},   {"h", 3600e9L},      {NULL, 0},
    };
    long double v;
    int rc = parse_with_units(s, units, 1, &v);
    if (rc)
        return rc;
    /* a bare number is seconds */
    const char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    if (e > s && (isdigit((unsigned char)e[-1]) || e[-1] == '.'))
        v *= 1e9L;
    if (v >= 9.2e18L)
        return dsend_seterr(DSEND_EINVAL, "'%s': too large", s);
    uint64_t u = 0;
    rc = to_u64(s, v, 0, &u);
    if (rc)
        return rc;
    *ns = (int64_t)u;
    return 0;
}

int dsend_parse_count(const char *s, int64_t *v)
{
    static const struct unit units[] = {
        {"k", K}, {"K", K}, {"M", M}, {"G", G}, {NULL, 0},
    };
    long double x;
    int rc = parse_with_units(s, units, 1, &x);
    if (rc)
        return rc;
    if (x > 9.2e18L)
        return dsend_seterr(DSEND_EINVAL, "'%s': too large", s);
    uint64_t u = 0;
    rc = to_u64(s, x, 1, &u);
    if (rc)
        return rc;
    *v = (int64_t)u;
    return 0;
}

char *dsend_format_size(uint64_t b, char *buf, size_t n)
{
    static const struct { const char *u; uint64_t s; } bin[] = {
        {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20},
        {"KiB", 1ull << 10}, {"TB", 1000000000000ull}, {"GB", 1000000000ull},
        {"MB", 1000000ull},  {"KB", 1000ull},
    };
    for (size_t i = 0; b && i < sizeof bin / sizeof bin[0]; i++)
        if (b % bin[i].s == 0) {
            snprintf(buf, n, "%llu%s", (unsigned long long)(b / bin[i].s), bin[i].u);
            return buf;
        }
    snprintf(buf, n, "%lluB", (unsigned long long)b);
    return buf;
}

char *dsend_format_rate(uint64_t r, char *buf, size_t n)
{
    static const struct { const char *u; uint64_t s; } si[] = {
        {"Tbit/s", 1000000000000ull}, {"Gbit/s", 1000000000ull},
        {"Mbit/s", 1000000ull}, {"kbit/s", 1000ull},
    };
    for (size_t i = 0; r && i < sizeof si / sizeof si[0]; i++)
        if (r % si[i].s == 0) {
            snprintf(buf, n, "%llu%s", (unsigned long long)(r / si[i].s), si[i].u);
            return buf;
        }
    snprintf(buf, n, "%llubit/s", (unsigned long long)r);
    return buf;
}

char *dsend_format_duration(int64_t ns, char *buf, size_t n)
{
    static const struct { const char *u; int64_t s; } d[] = {
        {"h", INT64_C(3600000000000)}, {"min", INT64_C(60000000000)},
        {"s", INT64_C(1000000000)},     {"ms", INT64_C(1000000)},
        {"us", INT64_C(1000)},
    };
    for (size_t i = 0; ns && i < sizeof d / sizeof d[0]; i++)
        if (ns % d[i].s == 0) {
            snprintf(buf, n, "%lld%s", (long long)(ns / d[i].s), d[i].u);
            return buf;
        }
    snprintf(buf, n, "%lldns", (long long)ns);
    return buf;
}

char *dsend_human_size(double b, char *buf, size_t n)
{
    static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.2f %s" : "%.0f %s", b, u[i]);
    return buf;
}

char *dsend_human_rate(double r, char *buf, size_t n)
{
    static const char *u[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    int i = 0;
    while (r >= 1000 && i < 4) {
        r /= 1000;
        i++;
    }
    snprintf(buf, n, "%.2f %s", r, u[i]);
    return buf;
}

char *dsend_human_duration(int64_t ns, char *buf, size_t n)
{
    double s = (double)ns / 1e9;
    if (s < 120)
        snprintf(buf, n, "%.2f s", s);
    else if (s < 7200)
        snprintf(buf, n, "%.1f min", s / 60);
    else
        snprintf(buf, n, "%.2f h", s / 3600);
    return buf;
}

int dsend_parse_device_events(const char *list, const char *opt, int devices,
                              dsend_device_event *ev, int max, int *n)
{
    *n = 0;
    if (!list || !*list)
        return 0;
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        char item[64];
        size_t len = (size_t)(end - p);
        if (len == 0 || len >= sizeof item)
            return dsend_seterr(DSEND_EINVAL, "--%s '%s': expected DEVICE@TIME items", opt, list);
        memcpy(item, p, len);
        item[len] = '\0';
        char *at = strchr(item, '@'), *stop;
        if (!at)
            return dsend_seterr(DSEND_EINVAL, "--%s %s: expected DEVICE@TIME (e.g. 2@30s)", opt,
                                item);
        *at = '\0';
        long d = strtol(item, &stop, 10);
        if (stop == item || *stop || d < 0 || d >= devices)
            return dsend_seterr(DSEND_EINVAL, "--%s %s@%s: no device %s (devices are 0 to %d)",
                                opt, item, at + 1, item, devices - 1);
        int64_t t;
        if (dsend_parse_duration(at + 1, &t) || t < 0)
            return dsend_seterr(DSEND_EINVAL, "--%s %s@%s: bad time '%s'", opt, item, at + 1,
                                at + 1);
        if (*n == max)
            return dsend_seterr(DSEND_EINVAL, "--%s: at most %d events", opt, max);
        ev[(*n)++] = (dsend_device_event){(int)d, t};
        p = comma ? comma + 1 : end;
    }
    return 0;
}
