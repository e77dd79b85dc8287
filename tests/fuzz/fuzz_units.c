/* The unit parsers every option value goes through (sizes, rates,
 * durations, counts, DEVICE@TIME lists).  What one accepts, its formatter
 * prints in a form that parses back to the same value. */
#include "dsend/error.h"
#include "dsend/units.h"
#include "fuzz.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[256], buf[64];
    fuzz_cstr(data, size, s, sizeof s);
    uint64_t u, u2;
    int64_t v, v2;
    if (dsend_parse_size(s, &u) == 0) {
        dsend_format_size(u, buf, sizeof buf);
        FUZZ_ASSERT(dsend_parse_size(buf, &u2) == 0 && u2 == u);
    }
    if (dsend_parse_rate(s, &u) == 0) {
        dsend_format_rate(u, buf, sizeof buf);
        FUZZ_ASSERT(dsend_parse_rate(buf, &u2) == 0 && u2 == u);
    }
    if (dsend_parse_duration(s, &v) == 0) {
        FUZZ_ASSERT(v >= 0);
        dsend_format_duration(v, buf, sizeof buf);
        FUZZ_ASSERT(dsend_parse_duration(buf, &v2) == 0 && v2 == v);
    }
    if (dsend_parse_count(s, &v) == 0)
        FUZZ_ASSERT(v >= 0);
    dsend_device_event ev[DSEND_MAX_DEVICE_EVENTS];
    int n = -1;
    if (dsend_parse_device_events(s, "fail", 8, ev, DSEND_MAX_DEVICE_EVENTS, &n) == 0)
        for (int i = 0; i < n; i++)
            FUZZ_ASSERT(ev[i].device >= 0 && ev[i].device < 8 && ev[i].at >= 0);
    /* every error is one line */
    FUZZ_ASSERT(!strchr(dsend_errmsg(), '\n'));
    return 0;
}
