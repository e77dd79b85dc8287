/* The sender and its pacer (dsend/device.h) with a fake clock and a fake
 * emit backend: earliest deadline first (then fewer live holders), nothing
 * handed over before it is due, a replaced plan's requests dropped, and
 * every packet released --pace-lead before its playout time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dsend/core.h"
#include "dsend/error.h"

#define S 1000000000LL
#define PKT 1316u
#define SUB (10u * PKT)    /* a sub-block: 100 ms of media */
#define BLOCK (10u * SUB)  /* a block: 1 s */

static int64_t now;
static dsend_packet_run runs[64];
static int nruns;

static int64_t fake_now(void *ctx) { (void)ctx; return now; }
static int fake_wake(void *ctx, int who, int64_t at) { (void)ctx; (void)who; (void)at; return 0; }
static const dsend_clock fake_clock = {.name = "fake", .now = fake_now, .wake = fake_wake};

static int fake_packets(void *ctx, const dsend_packet_run *run)
{
    (void)ctx;
    assert_true(nruns < 64);
    runs[nruns++] = *run;
    return 0;
}
static int fake_cancel(void *ctx, uint32_t c, uint32_t e, uint32_t d, int64_t from)
{
    (void)ctx; (void)c; (void)e; (void)d; (void)from;
    return 0;
}
static int fake_transmit(void *ctx) { (void)ctx; return 0; }
static const dsend_emit fake_emit = {.name = "fake", .packets = fake_packets,
                                     .cancel = fake_cancel, .transmit = fake_transmit};

typedef struct fixture {
    dsend_asset a;
    dsend_library lib;
    dsend_layout L;
    dsend_core_params p;
    dsend_peers peers;
    dsend_pacer pacer;
    dsend_store store;
    dsend_cache cache;
    dsend_sender s;
} fixture;

/* the device holds its whole share in RAM: the cache never reads */
static int no_read(void *ctx, uint32_t asset, uint64_t block, uint8_t *buf, uint64_t len)
{
    (void)ctx, (void)asset, (void)block, (void)buf, (void)len;
    fail_msg("a resident cache read a block");
    return -1;
}
static const dsend_storage no_storage = {.name = "none", .read = no_read};

/* One device holding one synthetic asset of 20 blocks (100 packets a
 * second); lead (send_ahead) 2 s, pace lead 300 ms, a fast link. */
static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    f.a.kind = DSEND_ASSET_SYNTHETIC;
    f.a.bitrate_bps = PKT * 8 * 100;
    f.a.block_size = BLOCK;
    f.a.blocks = 20;
    f.a.size = 20 * (uint64_t)BLOCK;
    f.a.duration_ns = 20 * S;
    f.lib.nassets = 1;
    f.lib.assets = &f.a;
    assert_int_equal(dsend_layout_open(&f.L, &dsend_layout_stripe, 1, 1), 0);
    f.p = (dsend_core_params){.lib = &f.lib, .layout = &f.L, .sub_block = SUB, .startup = 2 * S,
                              .lead = 2 * S, .tick = S / 10, .nic_bps = 1000000000,
                              .send_ahead = 2 * S, .pace_lead = 3 * S / 10,
                              .pace_batch = 500000, .heartbeat = S / 10, .detect = 3 * S / 10};
    assert_int_equal(dsend_core_params_check(&f.p), 0);
    assert_int_equal(dsend_peers_init(&f.peers, 16), 0);
    now = 0;
    nruns = 0;
    assert_int_equal(dsend_pacer_init(&f.pacer, 0, &f.p, &fake_clock, NULL, &fake_emit, NULL), 0);
    f.store = (dsend_store){.share_bytes = f.a.size, .capacity = f.a.size, .resident = 1};
    assert_int_equal(dsend_cache_init(&f.cache, 0, &f.lib, &f.store, &no_storage, NULL,
                                      &fake_clock, NULL),
                     0);
    assert_int_equal(
        dsend_sender_init(&f.s, 0, &f.p, &f.cache, &f.peers, &f.pacer, &fake_clock, NULL), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dsend_sender_free(&f->s);
    dsend_cache_free(&f->cache);
    dsend_pacer_free(&f->pacer);
    dsend_peers_free(&f->peers);
    dsend_layout_close(&f->L);
    return 0;
}

/* one sub-block of `block` for `client`, due (playing) at `deadline` */
static dsend_send_request request(uint32_t client, uint64_t block, int64_t deadline,
                                  uint32_t priority)
{
    return (dsend_send_request){.client = client, .block = block, .sub_first = 0, .sub_count = 1,
                                .deadline = deadline, .priority = priority};
}

/* Earliest deadline first, and nothing before it is due (deadline -
 * send_ahead): B (due at 0.5 s) goes before A (due at 1 s), whatever
 * order they came in. */
static void earliest_first(void **state)
{
    fixture *f = *state;
    dsend_send_request a = request(1, 5, 3 * S, 1), b = request(2, 3, 5 * S / 2, 1);
    assert_int_equal(dsend_sender_submit(&f->s, &a), 0);
    assert_int_equal(dsend_sender_submit(&f->s, &b), 0);
    assert_int_equal(nruns, 0); /* neither is due */
    now = 6 * S / 10;
    assert_int_equal(dsend_sender_run(&f->s), 0);
    assert_int_equal(nruns, 1);
    assert_int_equal(runs[0].client, 2);
    assert_int_equal(runs[0].offset, 3 * (uint64_t)BLOCK);
    now = 11 * S / 10;
    assert_int_equal(dsend_sender_run(&f->s), 0);
    assert_int_equal(nruns, 2);
    assert_int_equal(runs[1].client, 1);
    assert_int_equal(f->s.sub_blocks, 2);
    assert_int_equal(f->s.bytes, 2 * SUB);
}

/* Equal deadlines: the block fewer live devices hold goes first (the
 * priority of the patent family). */
static void fewer_holders_first(void **state)
{
    fixture *f = *state;
    dsend_send_request two = request(3, 1, 3 * S, 2), one = request(4, 2, 3 * S, 1);
    assert_int_equal(dsend_sender_submit(&f->s, &two), 0);
    assert_int_equal(dsend_sender_submit(&f->s, &one), 0);
    now = 3 * S / 2;
    assert_int_equal(dsend_sender_run(&f->s), 0);
    assert_int_equal(nruns, 2);
    assert_int_equal(runs[0].client, 4);
    assert_int_equal(runs[1].client, 3);
}

/* A request of a plan the client has replaced (its epoch is older than
 * the one announced) is dropped, counted stale, never handed over. */
static void stale_dropped(void **state)
{
    fixture *f = *state;
    dsend_peer p = {.client = 5, .epoch = 1, .open = 1};
    assert_int_equal(dsend_peers_update(&f->peers, &p), 0);
    now = S;
    dsend_send_request old = request(5, 0, 2 * S, 1);
    assert_int_equal(dsend_sender_submit(&f->s, &old), 0);
    assert_int_equal(nruns, 0);
    assert_int_equal(f->s.stale, 1);
    dsend_send_request cur = old;
    cur.epoch = 1;
    assert_int_equal(dsend_sender_submit(&f->s, &cur), 0);
    assert_int_equal(nruns, 1);
    assert_int_equal(runs[0].epoch, 1);
}

/* A request found current at its first sub-block is not taken for current
 * ever after: the plan replaced while it is being sent, its remaining
 * sub-blocks are dropped (once), and a request of the new plan goes on. */
static void stale_midway(void **state)
{
    fixture *f = *state;
    now = S;
    dsend_send_request r = request(8, 1, 3 * S, 1);
    r.sub_count = 4; /* sub-blocks 0.1 s apart: due at 1, 1.1, 1.2 and 1.3 s */
    assert_int_equal(dsend_sender_submit(&f->s, &r), 0);
    assert_int_equal(nruns, 1);
    now = S + S / 10;
    assert_int_equal(dsend_sender_run(&f->s), 0);
    assert_int_equal(nruns, 2);
    /* another session's news changes nothing for it */
    dsend_peer other = {.client = 9, .epoch = 2, .open = 1};
    assert_int_equal(dsend_peers_update(&f->peers, &other), 0);
    now = S + 2 * S / 10;
    assert_int_equal(dsend_sender_run(&f->s), 0);
    assert_int_equal(nruns, 3);
    assert_int_equal(f->s.stale, 0);
    /* its client seeks: the last sub-block is not sent */
    dsend_peer p = {.client = 8, .epoch = 1, .open = 1};
    assert_int_equal(dsend_peers_update(&f->peers, &p), 0);
    now = S + 3 * S / 10;
    assert_int_equal(dsend_sender_run(&f->s), 0);
    assert_int_equal(nruns, 3);
    assert_int_equal(f->s.stale, 1);
    assert_int_equal(f->s.n, 0);
    dsend_send_request cur = request(8, 4, 4 * S, 1);
    cur.epoch = 1;
    now = 2 * S;
    assert_int_equal(dsend_sender_submit(&f->s, &cur), 0);
    assert_int_equal(nruns, 4);
    assert_int_equal(runs[3].epoch, 1);
}

/* The pacer: a sub-block's 10 packets leave one packet's media time (10 ms)
 * apart, the first --pace-lead before its playout: one run. */
static void paced_before_playout(void **state)
{
    fixture *f = *state;
    now = S;
    dsend_send_request r = request(6, 2, 5 * S / 2, 1);
    assert_int_equal(dsend_sender_submit(&f->s, &r), 0);
    assert_int_equal(nruns, 1);
    assert_int_equal(runs[0].depart, 5 * S / 2 - 3 * S / 10);
    assert_int_equal(runs[0].bytes, SUB);
    assert_int_equal(f->pacer.packets, 10);
    assert_int_equal(f->pacer.bytes, SUB);
    assert_int_equal(f->pacer.wire_bytes, SUB + 10 * DSEND_PKT_OVERHEAD);
}

/* Malformed requests are refused: no sub-block, past the block, not held. */
static void malformed(void **state)
{
    fixture *f = *state;
    dsend_send_request r = request(7, 0, 3 * S, 1);
    r.sub_count = 0;
    assert_int_equal(dsend_sender_submit(&f->s, &r), DSEND_EINVAL);
    r = request(7, 0, 3 * S, 1);
    r.sub_first = 10; /* a block has 10 sub-blocks: 0..9 */
    assert_int_equal(dsend_sender_submit(&f->s, &r), DSEND_EINVAL);
    r = request(7, 20, 3 * S, 1); /* the asset has 20 blocks */
    assert_int_equal(dsend_sender_submit(&f->s, &r), DSEND_EINVAL);
    assert_int_equal(nruns, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(earliest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(fewer_holders_first, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(stale_midway, setup, teardown),
        cmocka_unit_test_setup_teardown(paced_before_playout, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
