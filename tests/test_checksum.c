/* CRC32C: known vectors, the folding, instruction and table paths agree,
 * streaming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dsend/checksum.h"

static void vectors(void **state)
{
    (void)state;
    /* RFC 3720 appendix B.4 and the common check value */
    assert_int_equal(dsend_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(dsend_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(dsend_crc32c_sse42(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(dsend_crc32c_avx512(0, "123456789", 9), 0xE3069283u);
    unsigned char z[32] = {0}, o[32], inc[32];
    memset(o, 0xff, sizeof o);
    for (int i = 0; i < 32; i++)
        inc[i] = (unsigned char)i;
    assert_int_equal(dsend_crc32c(0, z, 32), 0x8A9136AAu);
    assert_int_equal(dsend_crc32c(0, o, 32), 0x62A8AB43u);
    assert_int_equal(dsend_crc32c(0, inc, 32), 0x46DD794Eu);
    assert_int_equal(dsend_crc32c(0, "", 0), 0u);
}

static void paths_agree_and_stream(void **state)
{
    (void)state;
    static unsigned char buf[70001];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(dsend_mix64(i) >> 11);
    /* every alignment and length class, against the table path */
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len < 80; len++)
            assert_int_equal(dsend_crc32c(0, buf + off, len), dsend_crc32c_sw(0, buf + off, len));
    /* long enough for the three interleaved streams, at every alignment */
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 3 * 4096 - 9; len < 70001 - 8; len += 3 * 4096 + 13)
            assert_int_equal(dsend_crc32c(7, buf + off, len), dsend_crc32c_sw(7, buf + off, len));
    /* the folding path from its shortest input on: every tail length, the
     * sixteen lanes' reduction, and the instruction path it hands over to */
    for (size_t off = 0; off < 65; off += 13)
        for (size_t len = 1000; len < 70001 - 64; len += len < 1400 ? 1 : 4099) {
            uint32_t want = dsend_crc32c_sw(0xabcdef01u, buf + off, len);
            assert_int_equal(dsend_crc32c_avx512(0xabcdef01u, buf + off, len), want);
            assert_int_equal(dsend_crc32c_sse42(0xabcdef01u, buf + off, len), want);
        }
    uint32_t whole = dsend_crc32c(0, buf, sizeof buf);
    assert_int_equal(whole, dsend_crc32c_sw(0, buf, sizeof buf));
    uint32_t c = 0;
    for (size_t i = 0; i < sizeof buf; i += 1000)
        c = dsend_crc32c(c, buf + i, sizeof buf - i < 1000 ? sizeof buf - i : 1000);
    assert_int_equal(c, whole);
    buf[12345] ^= 1; /* one flipped bit changes it */
    assert_int_not_equal(dsend_crc32c(0, buf, sizeof buf), whole);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vectors),
        cmocka_unit_test(paths_agree_and_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
