/* Values with units: sizes in bytes, rates in bit/s, durations in ns.
 *
 *   size      1316, 256KiB, 4MiB, 10G, 1.5MB       (K/M/G/T = 10^3.., Ki/Mi/Gi/Ti = 2^10..)
 *   rate      4Mbit/s, 10Gbit/s, 25Mbps, 10G, 2MB/s (bits unless B: bytes, x8)
 *   duration  2s, 500ms, 20us, 100ns, 5min, 1h, 1.5s (a bare number is seconds)
 *
 * Parsers return 0, or DSEND_EINVAL with a message "'<text>': <why>"; the
 * caller prefixes the option name.  Formatters print a canonical form that
 * parses back to the same value. */
#ifndef DSEND_UNITS_H
#define DSEND_UNITS_H

#include <stddef.h>
#include <stdint.h>

#define DSEND_NS_PER_S INT64_C(1000000000)

int dsend_parse_size(const char *s, uint64_t *bytes);
int dsend_parse_rate(const char *s, uint64_t *bits_per_s);
int dsend_parse_duration(const char *s, int64_t *ns);
/* Integer with optional SI suffix (k, M, G): "2000", "2k". */
int dsend_parse_count(const char *s, int64_t *v);

char *dsend_format_size(uint64_t bytes, char *buf, size_t n);
char *dsend_format_rate(uint64_t bits_per_s, char *buf, size_t n);
char *dsend_format_duration(int64_t ns, char *buf, size_t n);

/* Human-readable (not parseable back): "3.14 MiB", "1.23 Mbit/s", "20.02 s". */
char *dsend_human_size(double bytes, char *buf, size_t n);
char *dsend_human_rate(double bits_per_s, char *buf, size_t n);
char *dsend_human_duration(int64_t ns, char *buf, size_t n);

/* "DEVICE@TIME[,DEVICE@TIME...]" (--fail, --recover): at most max events,
 * devices below `devices`; errors name the option and the bad item. */
#define DSEND_MAX_DEVICE_EVENTS 64
typedef struct dsend_device_event {
    int device;
    int64_t at;
} dsend_device_event;
int dsend_parse_device_events(const char *list, const char *opt, int devices,
                              dsend_device_event *ev, int max, int *n);

#endif
