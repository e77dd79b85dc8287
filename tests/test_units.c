/* Unit parsing and printing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dsend/error.h"
#include "dsend/units.h"

static void sizes(void **state)
{
    (void)state;
    struct { const char *s; uint64_t v; } ok[] = {
        {"1316", 1316},       {"256KiB", 262144},      {"4MiB", 4194304},
        {"10G", 10000000000}, {"1.5KiB", 1536},        {"2kB", 2000},
        {"1GiB", 1073741824}, {"7B", 7},               {"3 MB", 3000000},
        {"1TiB", 1099511627776ull}, {"0", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 12345;
        assert_int_equal(dsend_parse_size(ok[i].s, &v), 0);
        assert_true(v == ok[i].v);
    }
    const char *bad[] = {"", "x", "-1", "12x", "1.3B", "KiB", "1e400", "0x10", "nan", "inf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        assert_int_equal(dsend_parse_size(bad[i], &v), DSEND_EINVAL);
        assert_true(strlen(dsend_errmsg()) > 0);
    }
    uint64_t v;
    assert_int_equal(dsend_parse_size("12x", &v), DSEND_EINVAL);
    assert_string_equal(dsend_errmsg(), "'12x': unknown unit 'x'");
}

static void rates(void **state)
{
    (void)state;
    struct { const char *s; uint64_t v; } ok[] = {
        {"4Mbit/s", 4000000},    {"10Gbit/s", 10000000000ull}, {"25Mbps", 25000000},
        {"10G", 10000000000ull}, {"2MB/s", 16000000},          {"2.5Mbit/s", 2500000},
        {"500kbit/s", 500000},   {"1000", 1000},               {"1Mb/s", 1000000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 0;
        assert_int_equal(dsend_parse_rate(ok[i].s, &v), 0);
        assert_true(v == ok[i].v);
    }
    uint64_t v;
    assert_int_equal(dsend_parse_rate("4Mbit/h", &v), DSEND_EINVAL);
    assert_int_equal(dsend_parse_rate("-4M", &v), DSEND_EINVAL);
}

static void durations(void **state)
{
    (void)state;
    struct { const char *s; int64_t v; } ok[] = {
        {"2s", 2000000000},      {"500ms", 500000000}, {"20us", 20000},
        {"100ns", 100},          {"5min", 300000000000}, {"1h", 3600000000000},
        {"1.5s", 1500000000},    {"3", 3000000000},    {"0.25", 250000000},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = 0;
        assert_int_equal(dsend_parse_duration(ok[i].s, &v), 0);
        assert_true(v == ok[i].v);
    }
    int64_t v;
    assert_int_equal(dsend_parse_duration("soon", &v), DSEND_EINVAL);
    assert_int_equal(dsend_parse_duration("5 parsecs", &v), DSEND_EINVAL);
    assert_int_equal(dsend_parse_duration("1e30h", &v), DSEND_EINVAL);
}

static void counts(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(dsend_parse_count("2k", &v), 0);
    assert_true(v == 2000);
    assert_int_equal(dsend_parse_count("17", &v), 0);
    assert_true(v == 17);
    assert_int_equal(dsend_parse_count("1.5", &v), DSEND_EINVAL);
}

/* The printed form parses back to the same value. */
static void round_trip(void **state)
{
    (void)state;
    char buf[64];
    uint64_t sz[] = {1, 1316, 263200, 1048576, 1000000, 10000000000ull, 3 * 1024, 123456789};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++) {
        uint64_t back;
        assert_int_equal(dsend_parse_size(dsend_format_size(sz[i], buf, sizeof buf), &back), 0);
        assert_true(back == sz[i]);
    }
    assert_string_equal(dsend_format_size(1048576, buf, sizeof buf), "1MiB");
    uint64_t rt[] = {4000000, 2500000, 10000000000ull, 1234567, 1};
    for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
        uint64_t back;
        assert_int_equal(dsend_parse_rate(dsend_format_rate(rt[i], buf, sizeof buf), &back), 0);
        assert_true(back == rt[i]);
    }
    assert_string_equal(dsend_format_rate(4000000, buf, sizeof buf), "4Mbit/s");
    int64_t du[] = {2000000000, 500000000, 1800000000000, 1500000000, 7, 20000};
    for (size_t i = 0; i < sizeof du / sizeof du[0]; i++) {
        int64_t back;
        assert_int_equal(dsend_parse_duration(dsend_format_duration(du[i], buf, sizeof buf), &back), 0);
        assert_true(back == du[i]);
    }
    assert_string_equal(dsend_format_duration(1800000000000, buf, sizeof buf), "30min");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes),     cmocka_unit_test(rates),      cmocka_unit_test(durations),
        cmocka_unit_test(counts),    cmocka_unit_test(round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
