/* TS framing, PCR extraction and PCR bitrate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/ts.h"

/* A null-payload packet on pid, with a PCR when pcr >= 0. */
static void packet(uint8_t *p, int pid, int64_t pcr)
{
    memset(p, 0xff, 188);
    p[0] = 0x47;
    p[1] = (uint8_t)((pid >> 8) & 0x1f);
    p[2] = (uint8_t)pid;
    if (pcr < 0) {
        p[3] = 0x10; /* payload only */
        return;
    }
    p[3] = 0x30; /* adaptation field + payload */
    p[4] = 7;
    p[5] = 0x10; /* PCR flag */
    uint64_t base = (uint64_t)pcr / 300, ext = (uint64_t)pcr % 300;
    p[6] = (uint8_t)(base >> 25);
    p[7] = (uint8_t)(base >> 17);
    p[8] = (uint8_t)(base >> 9);
    p[9] = (uint8_t)(base >> 1);
    p[10] = (uint8_t)(((base & 1) << 7) | 0x7e | (ext >> 8));
    p[11] = (uint8_t)ext;
}

/* n packets; every `every`-th on pid 0x100 carries a PCR advancing by
 * `ticks`; others on pid 0x101. */
static uint8_t *stream(size_t n, size_t every, uint64_t start, uint64_t ticks)
{
    uint8_t *b = malloc(n * 188);
    uint64_t pcr = start;
    for (size_t i = 0; i < n; i++) {
        if (i % every == 0) {
            packet(b + i * 188, 0x100, (int64_t)(pcr % ((1ull << 33) * 300)));
            pcr += ticks;
        } else {
            packet(b + i * 188, 0x101, -1);
        }
    }
    return b;
}

static void pcr_extraction(void **state)
{
    (void)state;
    uint8_t p[188];
    uint64_t v = 0;
    packet(p, 0x100, 123456789);
    assert_int_equal(dsend_ts_packet_pcr(p, &v), 1);
    assert_true(v == 123456789);
    packet(p, 0x100, (int64_t)((1ull << 33) * 300 - 1));
    assert_int_equal(dsend_ts_packet_pcr(p, &v), 1);
    assert_true(v == (1ull << 33) * 300 - 1);
    packet(p, 0x100, -1);
    assert_int_equal(dsend_ts_packet_pcr(p, &v), 0);
    packet(p, 0x100, 5);
    p[5] = 0; /* PCR flag off */
    assert_int_equal(dsend_ts_packet_pcr(p, &v), 0);
    packet(p, 0x100, 5);
    p[4] = 190; /* beyond the packet */
    assert_int_equal(dsend_ts_packet_pcr(p, &v), -1);
    p[0] = 0x46;
    assert_int_equal(dsend_ts_packet_pcr(p, &v), -1);
}

/* 10 packets between PCRs 27000 ticks (1 ms) apart: 1880 bytes per ms =
 * 15.04 Mbit/s exactly. */
static void exact_bitrate(void **state)
{
    (void)state;
    size_t n = 1000;
    uint8_t *b = stream(n, 10, 1000, 27000);
    dsend_ts_info i;
    assert_int_equal(dsend_ts_scan("t.ts", b, n * 188, &i), 0);
    free(i.rap);
    assert_true(i.packets == n);
    assert_int_equal(i.pcr_pid, 0x100);
    assert_true(i.pcr_count == 100);
    assert_true(i.bitrate_bps == 15040000);
    assert_true(i.duration_ns == 100000000); /* 188000 bytes at 15.04 Mbit/s = 100 ms */
    free(b);
}

static void wrap_and_discontinuity(void **state)
{
    (void)state;
    size_t n = 1000;
    /* starts 20 PCR intervals before the 33-bit wrap */
    uint8_t *b = stream(n, 10, (1ull << 33) * 300 - 20 * 27000, 27000);
    dsend_ts_info i;
    assert_int_equal(dsend_ts_scan("w.ts", b, n * 188, &i), 0);
    free(i.rap);
    assert_true(i.bitrate_bps == 15040000);
    free(b);
    /* a jump back in the middle: the interval across it is not counted */
    b = stream(n, 10, 100000000, 27000);
    packet(b + 500 * 188, 0x100, 5000);
    for (size_t k = 510; k < n; k += 10)
        packet(b + k * 188, 0x100, (int64_t)(5000 + (k - 500) / 10 * 27000));
    assert_int_equal(dsend_ts_scan("d.ts", b, n * 188, &i), 0);
    free(i.rap);
    assert_true(i.bitrate_bps == 15040000);
    free(b);
}

static void too_few_pcrs(void **state)
{
    (void)state;
    uint8_t *b = stream(50, 100, 0, 27000); /* one PCR only */
    dsend_ts_info i;
    assert_int_equal(dsend_ts_scan("one.ts", b, 50 * 188, &i), 0);
    free(i.rap);
    assert_true(i.pcr_count == 1 && i.bitrate_bps == 0 && i.duration_ns == 0);
    free(b);
}

static void malformed(void **state)
{
    (void)state;
    uint8_t *b = stream(10, 5, 0, 27000);
    dsend_ts_info i;
    assert_int_equal(dsend_ts_scan("e.ts", b, 0, &i), DSEND_EFORMAT);
    assert_string_equal(dsend_errmsg(), "e.ts: not an MPEG-TS stream: empty file at byte offset 0");
    assert_int_equal(dsend_ts_scan("p.ts", b, 1000, &i), DSEND_EFORMAT);
    assert_non_null(strstr(dsend_errmsg(), "p.ts: not an MPEG-TS stream: length 1000 is not a multiple of 188"));
    assert_non_null(strstr(dsend_errmsg(), "at byte offset 940"));
    b[3 * 188] = 0x00;
    assert_int_equal(dsend_ts_scan("s.ts", b, 10 * 188, &i), DSEND_EFORMAT);
    assert_string_equal(dsend_errmsg(), "s.ts: not an MPEG-TS stream: sync byte 0x47 missing "
                                        "(found 0x00) at byte offset 564");
    b[3 * 188] = 0x47;
    b[5 * 188 + 4] = 200; /* packet 5 carries a PCR: its adaptation field */
    assert_int_equal(dsend_ts_scan("a.ts", b, 10 * 188, &i), DSEND_EFORMAT);
    assert_non_null(strstr(dsend_errmsg(), "adaptation field length 200 out of range at byte offset 940"));
    free(b);
    /* random bytes, whatever the seed */
    uint8_t r[188 * 20];
    for (uint64_t seed = 1; seed <= 50; seed++) {
        for (size_t k = 0; k < sizeof r; k++)
            r[k] = (uint8_t)dsend_mix64(seed * 100000 + k);
        assert_int_equal(dsend_ts_scan("r.ts", r, sizeof r, &i), DSEND_EFORMAT);
    }
}

/* The bundled sample: ffprobe says bit_rate=1217993, duration=20.021333
 * (ffprobe -v error -show_entries format=bit_rate,duration data/sample.ts). */
static void sample(void **state)
{
    (void)state;
    const char *path = getenv("DSEND_SAMPLE_TS");
    if (!path)
        skip();
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    dsend_ts_info i;
    assert_int_equal(dsend_ts_scan("sample.ts", b, (size_t)n, &i), 0);
    assert_true(i.packets == (uint64_t)n / 188);
    assert_true(i.pcr_count > 100);
    printf("sample: %llu packets, PCR pid %d, %llu PCRs, %llu bit/s, %.3f s\n",
           (unsigned long long)i.packets, i.pcr_pid, (unsigned long long)i.pcr_count,
           (unsigned long long)i.bitrate_bps, i.duration_ns / 1e9);
    assert_true(i.bitrate_bps > 1217993 * 0.9 && i.bitrate_bps < 1217993 * 1.1);
    assert_true(i.duration_ns > 19.0e9 && i.duration_ns < 21.0e9);
    /* the random-access index: the video PID's (0x100, H.264 in the PMT)
     * packets with random_access_indicator, counted here independently;
     * the audio PID (0x101) sets it on 118 packets, none of them kept */
    uint64_t video = 0, audio = 0;
    for (long off = 0; off < n; off += 188) {
        const uint8_t *p = b + off;
        int pid = ((p[1] & 0x1f) << 8) | p[2];
        if ((p[3] & 0x20) && p[4] > 0 && (p[5] & 0x40)) {
            if (pid == 0x100) {
                assert_true(video < i.nrap && i.rap[video] == (uint64_t)off);
                video++;
            } else if (pid == 0x101) {
                audio++;
            }
        }
    }
    printf("sample: video PID 0x%x, %llu random-access points (audio %llu)\n", i.video_pid,
           (unsigned long long)i.nrap, (unsigned long long)audio);
    assert_int_equal(i.video_pid, 0x100);
    assert_true(video == i.nrap && video == 10 && audio == 118);
    assert_true(i.rap[0] == 564 && i.rap[1] == 266960);
    free(i.rap);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pcr_extraction), cmocka_unit_test(exact_bitrate),
        cmocka_unit_test(wrap_and_discontinuity), cmocka_unit_test(too_few_pcrs),
        cmocka_unit_test(malformed), cmocka_unit_test(sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
