/* The block cache (dsend/cache.h) with a fake storage backend, and the
 * device's use of it with fake seams: least recently used eviction among
 * unpinned blocks only, reads waiting for room, a failed read, the
 * resident cache of a device holding its share; look-ahead pins that a
 * send request takes over and that a pause, a seek and the end of a
 * session release; a send request waiting for its block.  The assertion
 * that guards eviction is made to fire on purpose (cache.c is compiled
 * into this test with cmocka's mock_assert). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#define DSEND_UNIT_TESTING 1
#include "../src/core/cache.c"

#define S 1000000000LL
#define SUB (10u * 1316u)   /* a sub-block */
#define BLOCK (10u * SUB)   /* a block: 1 s of media */

/* ---- fake seams ---- */
static int64_t now;
static struct {
    uint32_t asset;
    uint64_t block;
} reads[256];
static int nreads;
static dsend_device *the_dev;
static int nruns;
static int64_t first_depart;

static int64_t fake_now(void *ctx) { (void)ctx; return now; }
static int fake_wake(void *ctx, int who, int64_t at) { (void)ctx; (void)who; (void)at; return 0; }
static const dsend_clock fake_clock = {.name = "fake", .now = fake_now, .wake = fake_wake};

static int fake_read(void *ctx, uint32_t asset, uint64_t block, uint8_t *buf, uint64_t len)
{
    (void)ctx;
    if (buf)
        memset(buf, (int)block, len);
    if (nreads < 256) { /* the device tests look at the first ones */
        reads[nreads].asset = asset;
        reads[nreads].block = block;
    }
    nreads++;
    return 0;
}
static const dsend_storage fake_storage = {.name = "fake", .read = fake_read};

/* the device's own sender holds every block: requests go straight to it */
static int fake_send(void *ctx, int device, const dsend_send_request *rq)
{
    (void)ctx;
    assert_int_equal(device, 0);
    return dsend_device_request(the_dev, rq);
}
static int fake_announce(void *ctx, const dsend_peer *p) { (void)ctx; (void)p; return 0; }
static int fake_backup(void *ctx, int d, const dsend_session_plan *p)
{
    (void)ctx; (void)d; (void)p;
    return 0;
}
static int fake_heartbeat(void *ctx, const dsend_load_report *r) { (void)ctx; (void)r; return 0; }
static int fake_adopted(void *ctx, const dsend_peer *p) { (void)ctx; (void)p; return 0; }
static const dsend_ctrl fake_ctrl = {.name = "fake", .send_request = fake_send,
                                     .announce = fake_announce, .backup = fake_backup,
                                     .heartbeat = fake_heartbeat, .adopted = fake_adopted};

static int fake_packets(void *ctx, const dsend_packet_run *run)
{
    (void)ctx;
    if (run->bytes && !(run->flags & DSEND_RUN_PLAN_END)) {
        if (!nruns++)
            first_depart = run->depart;
    }
    return dsend_device_release(the_dev, run); /* nothing kept, as the simulation */
}
static int fake_cancel(void *ctx, uint32_t c, uint32_t e, uint32_t d, int64_t from)
{
    (void)ctx; (void)c; (void)e; (void)d; (void)from;
    return 0;
}
static int fake_transmit(void *ctx) { (void)ctx; return 0; }
static const dsend_emit fake_emit = {.name = "fake", .packets = fake_packets,
                                     .cancel = fake_cancel, .transmit = fake_transmit};

/* ---- a library of one stored asset of 20 blocks of 1 s ---- */
typedef struct fixture {
    dsend_asset a;
    dsend_library lib;
    dsend_layout L;
    dsend_store store;
    dsend_core_params p;
    dsend_cache c;
    dsend_device dev;
} fixture;

static fixture f;

static void library(uint64_t capacity_blocks)
{
    memset(&f, 0, sizeof f);
    f.a.kind = DSEND_ASSET_MPEGTS;
    snprintf(f.a.name, sizeof f.a.name, "a");
    f.a.bitrate_bps = BLOCK * 8;
    f.a.block_size = BLOCK;
    f.a.blocks = 20;
    f.a.size = 20 * (uint64_t)BLOCK;
    f.a.duration_ns = 20 * S;
    f.lib.nassets = 1;
    f.lib.assets = &f.a;
    f.lib.path = "fake.h5";
    f.store.share_bytes = f.a.size;
    f.store.capacity = capacity_blocks * BLOCK;
    f.store.largest_block = BLOCK;
    f.store.resident = f.store.capacity >= f.store.share_bytes;
    now = 0;
    nreads = nruns = 0;
    first_depart = -1;
}

static void ok(const dsend_cache *c)
{
    if (dsend_cache_check(c))
        fail_msg("%s", dsend_errmsg());
}

static int cache_setup(void **state)
{
    (void)state;
    library(3);
    assert_int_equal(dsend_cache_init(&f.c, 0, &f.lib, &f.store, &fake_storage, NULL,
                                      &fake_clock, NULL),
                     0);
    return 0;
}

static int cache_teardown(void **state)
{
    (void)state;
    dsend_cache_free(&f.c);
    return 0;
}

static dsend_cached *pin_ready(uint64_t b)
{
    dsend_cached *e, *got;
    assert_int_equal(dsend_cache_pin(&f.c, 0, b, 1, 0, &e), 0);
    assert_non_null(e);
    if (e->state == DSEND_BLOCK_LOADING) {
        assert_int_equal(dsend_cache_loaded(&f.c, 0, b, 0, &got), 0);
        assert_ptr_equal(got, e);
    }
    assert_int_equal(e->state, DSEND_BLOCK_READY);
    ok(&f.c);
    return e;
}

/* Three blocks of RAM: the least recently released unpinned block goes
 * first; a pinned one never, however old. */
static void lru_among_unpinned(void **state)
{
    (void)state;
    dsend_cached *a = pin_ready(0), *b = pin_ready(1), *c = pin_ready(2);
    assert_int_equal(nreads, 3);
    assert_int_equal(f.c.count[DSEND_CC_MISSES], 3);
    assert_int_equal(dsend_cache_pinned(&f.c), 3);
    assert_int_equal(dsend_cache_unpin(&f.c, b), 0); /* released first: the eldest */
    assert_int_equal(dsend_cache_unpin(&f.c, c), 0);
    ok(&f.c);
    (void)pin_ready(3);
    assert_null(dsend_cache_find(&f.c, 0, 1)); /* b went, not a (pinned, older) */
    assert_non_null(dsend_cache_find(&f.c, 0, 0));
    assert_non_null(dsend_cache_find(&f.c, 0, 2));
    assert_int_equal(f.c.count[DSEND_CC_EVICTIONS], 1);
    /* a hit moves c out of the LRU list; the next read takes nothing pinned */
    dsend_cached *c2 = pin_ready(2);
    assert_ptr_equal(c2, c);
    assert_int_equal(f.c.count[DSEND_CC_HITS], 1);
    dsend_cached *e;
    assert_int_equal(dsend_cache_pin(&f.c, 0, 4, 1, 0, &e), 0);
    assert_int_equal(e->state, DSEND_BLOCK_WAITING); /* a, 3 and c all pinned: no room */
    assert_int_equal(nreads, 4);
    ok(&f.c);
    assert_int_equal(a->data[0], 0);
    assert_int_equal(c->data[5], 2); /* the bytes the fake read wrote */
}

/* A read waiting for room starts when a block is released, the block
 * needed soonest first; a waiting block nobody wants any more is
 * forgotten; a failed read leaves RAM. */
static void reads_wait_for_room(void **state)
{
    (void)state;
    dsend_cached *b[3], *w1, *w2, *w2b;
    for (int i = 0; i < 3; i++)
        b[i] = pin_ready((uint64_t)i);
    assert_int_equal(dsend_cache_pin(&f.c, 0, 10, 0, 5, &w1), 0);
    assert_int_equal(dsend_cache_pin(&f.c, 0, 11, 0, 9, &w2), 0);
    assert_int_equal(w1->state, DSEND_BLOCK_WAITING);
    assert_int_equal(w2->state, DSEND_BLOCK_WAITING);
    assert_ptr_equal(f.c.wait.next, w1);
    /* 11 is needed sooner now (a send request): it moves up the queue */
    assert_int_equal(dsend_cache_pin(&f.c, 0, 11, 1, 2, &w2b), 0);
    assert_ptr_equal(w2b, w2);
    assert_int_equal(w2->pins, 2);
    assert_ptr_equal(f.c.wait.next, w2);
    assert_int_equal(nreads, 3);
    ok(&f.c);
    assert_int_equal(dsend_cache_unpin(&f.c, b[1]), 0);
    assert_int_equal(w2->state, DSEND_BLOCK_LOADING); /* the soonest needed */
    assert_int_equal(w1->state, DSEND_BLOCK_WAITING);
    assert_int_equal(reads[3].block, 11);
    assert_null(dsend_cache_find(&f.c, 0, 1));
    assert_int_equal(dsend_cache_unpin(&f.c, w1), 0); /* nobody wants 10 now */
    assert_null(dsend_cache_find(&f.c, 0, 10));
    ok(&f.c);
    /* a read that fails: its bytes leave RAM, the block is never served */
    dsend_cached *got;
    assert_int_equal(dsend_cache_loaded(&f.c, 0, 11, DSEND_ECHECKSUM, &got), 0);
    assert_ptr_equal(got, w2);
    assert_int_equal(w2->state, DSEND_BLOCK_FAILED);
    assert_int_equal(f.c.errors, 1);
    assert_int_equal(f.c.used, 2 * (uint64_t)BLOCK);
    /* an answer nobody waits for is ignored */
    assert_int_equal(dsend_cache_loaded(&f.c, 0, 7, 0, &got), 0);
    assert_null(got);
    ok(&f.c);
}

/* Random pins, releases and finished reads: a pinned block is always
 * there, RAM is never overdrawn, every invariant holds at every step. */
static void pinned_never_evicted(void **state)
{
    (void)state;
    dsend_cached *held[64];
    uint64_t heldb[64];
    int nheld = 0;
    uint64_t x = 12345;
    for (int step = 0; step < 20000; step++) {
        x = dsend_mix64(x + (uint64_t)step);
        int op = (int)(x % 4);
        if (op < 2 && nheld >= 8)
            op = 2; /* a few users at a time, so blocks come and go */
        if (op < 2) {
            uint64_t b = (x >> 8) % 20;
            assert_int_equal(dsend_cache_pin(&f.c, 0, b, op == 0, (int64_t)(x >> 40) % 100, &held[nheld]), 0);
            heldb[nheld++] = b;
        } else if (op == 2 && nheld) {
            int i = (int)((x >> 16) % (uint64_t)nheld);
            assert_int_equal(dsend_cache_unpin(&f.c, held[i]), 0);
            held[i] = held[--nheld];
            heldb[i] = heldb[nheld];
        } else {
            /* finish the oldest read in flight */
            for (uint32_t k = 0; k < f.c.nbuckets; k++)
                for (dsend_cached *e = f.c.bucket[k]; e; e = e->hnext)
                    if (e->state == DSEND_BLOCK_LOADING) {
                        dsend_cached *got;
                        assert_int_equal(dsend_cache_loaded(&f.c, 0, e->block, 0, &got), 0);
                        goto next;
                    }
        }
    next:
        ok(&f.c);
        for (int i = 0; i < nheld; i++)
            assert_ptr_equal(dsend_cache_find(&f.c, 0, heldb[i]), held[i]);
    }
    assert_true(f.c.count[DSEND_CC_EVICTIONS] > 100);
    while (nheld)
        assert_int_equal(dsend_cache_unpin(&f.c, held[--nheld]), 0);
    assert_int_equal(dsend_cache_pinned(&f.c), 0);
    ok(&f.c);
}

/* The one place a block leaves RAM asserts that nobody uses it. */
static void eviction_asserts_unpinned(void **state)
{
    (void)state;
    dsend_cached *e = pin_ready(0);
    expect_assert_failure(evict(&f.c, e));
}

/* A device holding all of its share: nothing read, every request a hit. */
static void resident_cache(void **state)
{
    (void)state;
    dsend_cache c;
    library(20);
    assert_true(f.store.resident);
    assert_int_equal(dsend_cache_init(&c, 0, &f.lib, &f.store, &fake_storage, NULL, &fake_clock,
                                      NULL),
                     0);
    dsend_cached *e = &f.c.lru; /* anything but NULL */
    assert_int_equal(dsend_cache_pin(&c, 0, 5, 1, 0, &e), 0);
    assert_null(e);
    assert_true(dsend_cache_ready(e));
    assert_int_equal(dsend_cache_unpin(&c, e), 0);
    assert_int_equal(c.count[DSEND_CC_HITS], 1);
    assert_int_equal(nreads, 0);
    dsend_cache_free(&c);
}

/* ---- the device: look-ahead pins through a session's life ---- */
static int device_setup(void **state)
{
    (void)state;
    library(6);
    assert_int_equal(dsend_layout_open(&f.L, &dsend_layout_stripe, 1, 1), 0);
    f.p = (dsend_core_params){.lib = &f.lib, .layout = &f.L, .sub_block = SUB, .startup = 2 * S,
                              .lead = 2 * S, .tick = S / 10, .nic_bps = 1000000000,
                              .send_ahead = 2 * S, .pace_lead = 3 * S / 10,
                              .pace_batch = 500000, .heartbeat = S / 10, .detect = 3 * S / 10,
                              .look_ahead = 5 * S};
    assert_int_equal(dsend_device_init(&f.dev, 0, &f.p, &f.store, 4, &fake_clock, NULL,
                                       &fake_ctrl, NULL, &fake_emit, NULL, &fake_storage, NULL),
                     0);
    the_dev = &f.dev;
    return 0;
}

static int device_teardown(void **state)
{
    (void)state;
    dsend_device_free(&f.dev);
    dsend_layout_close(&f.L);
    return 0;
}

/* every read issued so far completes */
static void finish_reads(void)
{
    for (int i = 0; i < nreads; i++)
        assert_int_equal(dsend_device_loaded(&f.dev, reads[i].asset, reads[i].block, 0), 0);
}

static int pinned_block(uint64_t b)
{
    dsend_cached *e = dsend_cache_find(&f.dev.cache, 0, b);
    return e && e->pins > 0;
}

static void pins_follow_the_plan(void **state)
{
    (void)state;
    dsend_peer peer = {.client = 7, .asset = 0};
    uint64_t from = 0, at;
    /* playout at 2 s: blocks due by 5.1 s are pinned (0..3), block 0 asked */
    assert_int_equal(dsend_device_play(&f.dev, &peer, &from, f.a.size), 0);
    assert_int_equal(f.dev.sched.lookaheads, 4);
    assert_int_equal(f.dev.sched.requests, 1);
    assert_int_equal(dsend_cache_pinned(&f.dev.cache), 4);
    assert_int_equal(f.dev.sender.la.pins, 3); /* block 0's was taken over by its request */
    assert_int_equal(nreads, 4);
    assert_int_equal(f.dev.cache.count[DSEND_CC_MISSES], 1);
    finish_reads();
    ok(&f.dev.cache);
    /* the pause at 1 s: a new epoch, every pin of the old one goes */
    now = S;
    assert_int_equal(dsend_device_pause(&f.dev, 7, &at), 0);
    assert_int_equal(dsend_cache_pinned(&f.dev.cache), 0);
    assert_int_equal(f.dev.sender.la.pins, 0);
    assert_int_equal(f.dev.sender.n, 0);
    ok(&f.dev.cache);
    /* resume at 3 s: pinned again from where it goes on (hits: still in RAM) */
    now = 3 * S;
    assert_int_equal(dsend_device_resume(&f.dev, 7, &at), 0);
    assert_int_equal(at, 0);
    for (uint64_t b = 2; b <= 4; b++) /* playout at 4 s: pinned up to 9.1 s */
        assert_true(pinned_block(b));
    assert_int_equal(f.dev.sender.la.pins, 3);
    assert_int_equal(nreads, 5); /* only block 4 was not in RAM */
    finish_reads();
    ok(&f.dev.cache);
    /* a seek to 12 s: the old plan's pins go, the new plan's come */
    now = 4 * S;
    assert_int_equal(dsend_device_seek(&f.dev, 7, 12 * (uint64_t)BLOCK, &at), 0);
    for (uint64_t b = 0; b < 12; b++)
        assert_false(pinned_block(b));
    for (uint64_t b = 12; b < 16; b++)
        assert_true(pinned_block(b));
    ok(&f.dev.cache);
    /* the end: nothing pinned */
    assert_int_equal(dsend_device_stop(&f.dev, 7), 0);
    assert_int_equal(dsend_cache_pinned(&f.dev.cache), 0);
    assert_int_equal(f.dev.sender.la.pins, 0);
    ok(&f.dev.cache);
}

/* Without look-ahead a send request finds its block absent: it waits for
 * the read and goes on when it is done, late, counted as such. */
static void request_waits_for_its_block(void **state)
{
    (void)state;
    f.p.look_ahead = 0;
    dsend_peer peer = {.client = 3, .asset = 0};
    uint64_t from = 0;
    assert_int_equal(dsend_device_play(&f.dev, &peer, &from, 2 * (uint64_t)BLOCK), 0);
    assert_int_equal(nreads, 1);
    /* block 0 (playout at 2 s) was due to the pacer at once: it waits */
    assert_int_equal(nruns, 0);
    assert_int_equal(f.dev.sender.nblocked, 1);
    assert_int_equal(f.dev.sender.waits, 1);
    now = 5 * S / 2; /* the read ends after its playout time */
    assert_int_equal(dsend_device_wake(&f.dev, DSEND_WAKE_SENDER, f.dev.sender.wake_at), 0);
    assert_int_equal(nruns, 0);
    finish_reads();
    assert_int_equal(f.dev.sender.nblocked, 0);
    assert_true(nruns > 0);
    assert_int_equal(first_depart, now); /* at once, half a second late */
    /* packets whose release (playout - 0.3 s) had passed, and of those the
     * ones whose playout had passed too */
    assert_true(f.dev.pacer.miss_delayed > 0 && f.dev.pacer.miss_delayed < f.dev.pacer.packets);
    assert_true(f.dev.pacer.miss_late > 0 && f.dev.pacer.miss_late < f.dev.pacer.miss_delayed);
    assert_int_equal(f.dev.cache.count[DSEND_CC_MISSES], 1);
    /* all of block 0 sent: nothing pins it */
    assert_int_equal(dsend_cache_pinned(&f.dev.cache), 0);
    ok(&f.dev.cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lru_among_unpinned, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(reads_wait_for_room, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(pinned_never_evicted, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(eviction_asserts_unpinned, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(resident_cache, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(pins_follow_the_plan, device_setup, device_teardown),
        cmocka_unit_test_setup_teardown(request_waits_for_its_block, device_setup,
                                        device_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
