/* The pacer's bursts (dsend/core.h) with a fake clock and a fake emit
 * backend, and the UDP backend's timing wheel (src/serve/txwheel.c): when
 * every packet leaves, that bursts are cut the same on every device and
 * never span blocks, that the last burst of one device's block leaves
 * before the next device's first, and that the wheel hands out every entry
 * once, not before its slot, in the order entries came within a slot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dsend/core.h"
#include "serve/serve_internal.h"

#define MS 1000000LL
#define S (1000 * MS)
#define PKT DSEND_PKT_PAYLOAD
#define BLOCK (100u * PKT)  /* a block: 100 packets */
#define SUB (25u * PKT)     /* a sub-block: 25 packets */

static int64_t now;
static dsend_packet_run runs[256];
static int nruns;

static int64_t fake_now(void *ctx) { (void)ctx; return now; }
static int fake_wake(void *ctx, int who, int64_t at) { (void)ctx; (void)who; (void)at; return 0; }
static const dsend_clock fake_clock = {.name = "fake", .now = fake_now, .wake = fake_wake};
static int fake_packets(void *ctx, const dsend_packet_run *r)
{
    (void)ctx;
    assert_true(nruns < 256);
    runs[nruns++] = *r;
    return 0;
}
static int fake_cancel(void *ctx, uint32_t c, uint32_t e, uint32_t d, int64_t f)
{
    (void)ctx; (void)c; (void)e; (void)d; (void)f;
    return 0;
}
static int fake_transmit(void *ctx) { (void)ctx; return 0; }
static const dsend_emit fake_emit = {.name = "fake", .packets = fake_packets,
                                     .cancel = fake_cancel, .transmit = fake_transmit};

static dsend_asset asset;
static dsend_library lib;
static dsend_core_params params;

/* 2.5 Mbit/s (4.21 ms a packet): bursts of 20 ms are 4 packets */
static void setup_params(int64_t burst)
{
    memset(&asset, 0, sizeof asset);
    asset.kind = DSEND_ASSET_SYNTHETIC;
    asset.bitrate_bps = 2500000;
    asset.block_size = BLOCK;
    asset.blocks = 10;
    asset.size = 10 * (uint64_t)BLOCK;
    lib = (dsend_library){.nassets = 1, .assets = &asset};
    params = (dsend_core_params){.lib = &lib, .sub_block = SUB, .startup = 2 * S, .lead = 2 * S,
                                 .tick = S / 10, .nic_bps = 10000000000ull, .send_ahead = 2 * S,
                                 .pace_lead = 300 * MS, .pace_batch = MS / 2,
                                 .pace_burst = burst, .heartbeat = S / 10, .detect = S};
    nruns = 0;
    now = 0;
}

/* departure of the packet at `off`, from the runs emitted */
static int64_t departure(uint64_t off)
{
    for (int i = 0; i < nruns; i++)
        if (!runs[i].flags && off >= runs[i].offset && off < runs[i].offset + runs[i].bytes)
            return dsend_run_depart(&asset, runs[i].offset, runs[i].depart, runs[i].burst, off);
    fail_msg("no run holds offset %llu", (unsigned long long)off);
    return 0;
}

/* the whole asset, sub-block by sub-block, each handed over --lead early */
static void submit_all(dsend_pacer *q, int64_t play)
{
    for (uint64_t o = 0; o < asset.size; o += SUB) {
        int64_t deadline = dsend_media_time(&asset, 0, play, o);
        now = deadline - params.send_ahead;
        assert_int_equal(dsend_pacer_submit(q, 7, 0, 0, o, SUB, deadline, NULL, NULL, 0, 0), 0);
    }
}

static void bursts_leave_together(void **state)
{
    (void)state;
    setup_params(20 * MS);
    assert_int_equal(dsend_core_params_check(&params), 0);
    assert_int_equal(dsend_burst_packets(&asset, params.pace_burst), 4);
    dsend_pacer q;
    assert_int_equal(dsend_pacer_init(&q, 0, &params, &fake_clock, NULL, &fake_emit, NULL), 0);
    int64_t play = 10 * S;
    submit_all(&q, play);
    /* one run per sub-block while the link has room */
    assert_int_equal(nruns, (int)(asset.size / SUB));
    for (uint64_t o = 0; o < asset.size; o += PKT) {
        uint64_t first = dsend_burst_start(&asset, o, 4);
        /* a burst: 4 packets from its block's start, never across a block */
        assert_int_equal(first / BLOCK, o / BLOCK);
        assert_int_equal((first % BLOCK) % (4 * PKT), 0);
        /* it leaves at its first packet's playout minus the pace lead */
        assert_int_equal(departure(o), dsend_media_time(&asset, 0, play, first) - params.pace_lead);
    }
    dsend_pacer_free(&q);
}

static void one_packet_without_bursts(void **state)
{
    (void)state;
    setup_params(0);
    dsend_pacer q;
    assert_int_equal(dsend_pacer_init(&q, 0, &params, &fake_clock, NULL, &fake_emit, NULL), 0);
    submit_all(&q, 10 * S);
    for (uint64_t o = 0; o < asset.size; o += PKT)
        assert_int_equal(departure(o), dsend_media_time(&asset, 0, 10 * S, o) - params.pace_lead);
    dsend_pacer_free(&q);
}

/* Blocks alternate between two devices: each cuts the same bursts, so the
 * last burst of a block leaves a whole burst's media time before the next
 * device's first. */
static void devices_keep_order(void **state)
{
    (void)state;
    setup_params(20 * MS);
    dsend_pacer q[2];
    for (int d = 0; d < 2; d++)
        assert_int_equal(
            dsend_pacer_init(&q[d], d, &params, &fake_clock, NULL, &fake_emit, NULL), 0);
    int64_t play = 10 * S;
    for (uint64_t o = 0; o < asset.size; o += SUB) {
        int64_t deadline = dsend_media_time(&asset, 0, play, o);
        now = deadline - params.send_ahead;
        assert_int_equal(
            dsend_pacer_submit(&q[o / BLOCK % 2], 7, 0, 0, o, SUB, deadline, NULL, NULL, 0, 0), 0);
    }
    int64_t burst_ns = dsend_media_time(&asset, 0, 0, 4 * PKT);
    for (uint64_t b = 1; b < asset.blocks; b++) {
        int64_t last = departure(b * BLOCK - PKT), first = departure(b * BLOCK);
        /* the block's last burst holds 100 % 4 = 0 spare packets: a full burst */
        assert_true(first - last >= burst_ns - 1);
    }
    for (int d = 0; d < 2; d++)
        dsend_pacer_free(&q[d]);
}

static void wheel_in_order(void **state)
{
    (void)state;
    txwheel w;
    assert_int_equal(txwheel_init(&w, MS), 0);
    enum { N = 3000 };
    static int64_t at[N];
    static int seen[N];
    srand(11);
    for (int i = 0; i < N; i++) {
        /* most within the ring, some far beyond it (it grows) */
        at[i] = i % 100 == 0 ? (int64_t)(rand() % 20000) * MS : (int64_t)(rand() % 3000000) * 1000;
        txrun t = {.next_at = at[i], .next = (uint64_t)i};
        assert_int_equal(txwheel_add(&w, &t), 0);
    }
    int taken = 0;
    for (int64_t t = 0; taken < N; t += MS / 3) {
        assert_true(t <= 20001 * MS);
        assert_int_equal(txwheel_take(&w, t), 0);
        int64_t prev_at = -1;
        for (uint32_t k = 0; k < w.ndue; k++) {
            txrun *e = &w.pool[w.due[k]];
            int i = (int)e->next;
            assert_false(seen[i]);
            seen[i] = 1;
            assert_true(at[i] / MS <= t / MS);        /* not before its slot began */
            /* nor later than the first turn that reached its slot */
            assert_true(t == 0 || at[i] / MS > (t - MS / 3) / MS);
            assert_true(at[i] / MS >= prev_at / MS);  /* slots in order */
            prev_at = at[i];
            txwheel_release(&w, w.due[k]);
            taken++;
        }
        if (taken < N)
            assert_true(txwheel_next(&w) > t);
    }
    assert_int_equal(txwheel_next(&w), INT64_MAX);
    txwheel_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bursts_leave_together),
        cmocka_unit_test(one_packet_without_bursts),
        cmocka_unit_test(devices_keep_order),
        cmocka_unit_test(wheel_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
