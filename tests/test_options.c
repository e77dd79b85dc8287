/* The option table: defaults, parsing, errors, help and printed configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsend/error.h"
#include "dsend/options.h"

static int parse(unsigned cmd, dsend_config *cfg, int argc, const char **argv)
{
    return dsend_options_parse(cmd, "test", argc, (char **)argv, cfg);
}

static void defaults_and_values(void **state)
{
    (void)state;
    dsend_config c;
    const char *a0[] = {"gen"};
    assert_int_equal(parse(DSEND_CMD_GEN, &c, 1, a0), 0);
    assert_true(c.block_size == 1048576);
    assert_true(c.bitrate_min == 4000000 && c.bitrate_max == 4000000);
    assert_true(c.assets == 100 && c.seed == 1);
    dsend_options_free(&c);

    const char *a1[] = {"gen", "-o", "x.h5", "--bitrate=2M:8Mbit/s", "--duration", "20min:2h",
                        "--assets", "10k", "--seed", "42", "-f"};
    assert_int_equal(parse(DSEND_CMD_GEN, &c, 11, a1), 0);
    assert_string_equal(c.output, "x.h5");
    assert_true(c.bitrate_min == 2000000 && c.bitrate_max == 8000000);
    assert_true(c.duration_min == 1200000000000 && c.duration_max == 7200000000000);
    assert_true(c.assets == 10000 && c.seed == 42 && c.force == 1);
    dsend_options_free(&c);

    /* ingest's --block-size default differs; positionals kept in order */
    const char *a2[] = {"ingest", "a.ts", "-oout.h5", "b.ts", "--", "-c.ts"};
    assert_int_equal(parse(DSEND_CMD_INGEST, &c, 6, a2), 0);
    assert_true(c.block_size == 263200);
    assert_true(c.bitrate == 0);
    assert_int_equal(c.npos, 3);
    assert_string_equal(c.pos[0], "a.ts");
    assert_string_equal(c.pos[2], "-c.ts");
    assert_string_equal(c.output, "out.h5");
    dsend_options_free(&c);
}

static void errors(void **state)
{
    (void)state;
    dsend_config c;
    struct { unsigned cmd; int argc; const char *argv[4]; const char *msg; } bad[] = {
        {DSEND_CMD_GEN, 2, {"gen", "--nope"}, "unknown option '--nope' (see dsend test --help)"},
        {DSEND_CMD_INFO, 3, {"info", "--assets", "3"}, "--assets is not an option of 'dsend test'"},
        {DSEND_CMD_GEN, 2, {"gen", "--seed"}, "--seed needs a value (S)"},
        {DSEND_CMD_GEN, 3, {"gen", "--block-size", "12x"}, "--block-size '12x': unknown unit 'x'"},
        {DSEND_CMD_INFO, 3, {"info", "--replicas", "17"}, "--replicas 17: must be between 1 and 16"},
        {DSEND_CMD_INFO, 3, {"info", "--layout", "ring"}, "--layout ring: must be one of stripe, hash"},
        {DSEND_CMD_GEN, 2, {"gen", "--force=yes"}, "--force takes no value"},
        {DSEND_CMD_GEN, 3, {"gen", "--bitrate", "8M:2M"}, "--bitrate '8M:2M': need 0 < MIN <= MAX"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(bad[i].cmd, &c, bad[i].argc, bad[i].argv), DSEND_EINVAL);
        if (strstr(dsend_errmsg(), bad[i].msg) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, dsend_errmsg(), bad[i].msg);
        dsend_options_free(&c);
    }
}

/* --help shows every option of the command and no other; the printed
 * configuration has one line per valued option and parses back. */
static void help_and_print(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    dsend_options_help(DSEND_CMD_GEN, f);
    fclose(f);
    for (const dsend_option *o = dsend_options; o->name; o++) {
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", o->name);
        if (o->commands & DSEND_CMD_GEN)
            assert_non_null(strstr(buf, flag));
    }
    assert_null(strstr(buf, "--layout"));
    free(buf);

    dsend_config c;
    const char *a[] = {"gen", "--bitrate", "2Mbit/s:8Mbit/s", "--duration", "90s", "--block-size",
                       "256KiB"};
    assert_int_equal(parse(DSEND_CMD_GEN, &c, 7, a), 0);
    f = open_memstream(&buf, &len);
    dsend_options_print(DSEND_CMD_GEN, &c, f, "# ");
    fclose(f);
    assert_non_null(strstr(buf, "# bitrate      = 2Mbit/s:8Mbit/s\n"));
    assert_non_null(strstr(buf, "# duration     = 90s\n"));
    assert_non_null(strstr(buf, "# block-size   = 256KiB\n"));
    free(buf);
    dsend_options_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_and_values),
        cmocka_unit_test(errors),
        cmocka_unit_test(help_and_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
