/* The scheduler (dsend/device.h) with a fake clock and a fake control
 * channel: which holder a send request goes to and with what priority
 * (threshold priorities, escalation, dead holders), what a failover asks
 * again, where a stream taken over goes on, and the playing rate that
 * admission and load reports read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "dsend/core.h"

#define S 1000000000LL
#define SUB (10u * 1316u)   /* a sub-block */
#define BLOCK (10u * SUB)   /* a block: 1 s of media */

static int64_t now;
static dsend_send_request sent[64];
static int sent_to[64], nsent;

static int64_t fake_now(void *ctx) { (void)ctx; return now; }
static int fake_wake(void *ctx, int who, int64_t at) { (void)ctx; (void)who; (void)at; return 0; }
static const dsend_clock fake_clock = {.name = "fake", .now = fake_now, .wake = fake_wake};

static int fake_send(void *ctx, int device, const dsend_send_request *rq)
{
    (void)ctx;
    assert_true(nsent < 64);
    sent[nsent] = *rq;
    sent_to[nsent++] = device;
    return 0;
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

typedef struct fixture {
    dsend_asset a;
    dsend_library lib;
    dsend_layout L;
    dsend_core_params p;
    dsend_health h;
    dsend_scheduler s;
} fixture;

/* 4 devices, two copies (stripe: block b on b % 4 and, in the first round,
 * on b % 4 + 1); one asset of 20 blocks of 1 s; startup, lead 2 s */
static int setup(void **state)
{
    static fixture f;
    memset(&f, 0, sizeof f);
    f.a.kind = DSEND_ASSET_SYNTHETIC;
    f.a.bitrate_bps = BLOCK * 8;
    f.a.block_size = BLOCK;
    f.a.blocks = 20;
    f.a.size = 20 * (uint64_t)BLOCK;
    f.a.duration_ns = 20 * S;
    f.lib.nassets = 1;
    f.lib.assets = &f.a;
    assert_int_equal(dsend_layout_open(&f.L, &dsend_layout_stripe, 4, 2), 0);
    f.p = (dsend_core_params){.lib = &f.lib, .layout = &f.L, .sub_block = SUB, .startup = 2 * S,
                              .lead = 2 * S, .tick = S / 10, .nic_bps = 1000000000,
                              .send_ahead = 2 * S, .pace_lead = 3 * S / 10,
                              .pace_batch = 500000, .heartbeat = S / 10, .detect = 3 * S / 10};
    assert_int_equal(dsend_core_params_check(&f.p), 0);
    assert_int_equal(dsend_health_init(&f.h, 4, 3), 0);
    assert_int_equal(dsend_scheduler_init(&f.s, 3, &f.p, &fake_clock, NULL, &fake_ctrl, NULL,
                                          &f.h),
                     0);
    now = 0;
    nsent = 0;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    dsend_scheduler_free(&f->s);
    dsend_health_free(&f->h);
    dsend_layout_close(&f->L);
    return 0;
}

static void play(fixture *f)
{
    uint64_t from = 0;
    assert_int_equal(dsend_scheduler_start(&f->s, 7, 0, &from, f->a.size), 0);
}

/* No load reported: block 0 goes to its primary, ranked as one of two holders. */
static void primary_first(void **state)
{
    fixture *f = *state;
    play(f);
    assert_int_equal(nsent, 1); /* block 1 is due a second later */
    assert_int_equal(sent_to[0], 0);
    assert_int_equal(sent[0].block, 0);
    assert_int_equal(sent[0].priority, 2);
    assert_int_equal(sent[0].deadline, 2 * S);
    assert_int_equal(sent[0].sub_first, 0);
    assert_int_equal(sent[0].sub_count, 10);
}

/* The primary's threshold says it would not send in time: the secondary gets it. */
static void threshold_moves_it(void **state)
{
    fixture *f = *state;
    f->h.report[0].threshold = 1 * S; /* its link takes nothing due after 1 s */
    play(f);
    assert_int_equal(sent_to[0], 1);
    assert_int_equal(sent[0].priority, 2);
}

/* Neither holder would: escalation to the first, as its only holder. */
static void escalation(void **state)
{
    fixture *f = *state;
    f->h.report[0].threshold = 1 * S;
    f->h.report[1].threshold = 1 * S;
    play(f);
    assert_int_equal(sent_to[0], 0);
    assert_int_equal(sent[0].priority, 1);
}

/* A dead primary: the live copy, which is now the only one. */
static void dead_primary(void **state)
{
    fixture *f = *state;
    f->h.dead[0] = 1;
    play(f);
    assert_int_equal(sent_to[0], 1);
    assert_int_equal(sent[0].priority, 1);
}

/* Blocks 0, 1, 2 went to devices 0, 1, 2; device 1 dies: exactly block 1
 * is asked again, of its other holder (2), whole. */
static void reroute_what_went_there(void **state)
{
    fixture *f = *state;
    play(f);
    now = 19 * S / 10;
    assert_int_equal(dsend_scheduler_tick(&f->s), 0);
    assert_int_equal(nsent, 3);
    assert_int_equal(sent_to[1], 1);
    assert_int_equal(sent_to[2], 2);
    f->h.dead[1] = 1;
    assert_int_equal(dsend_scheduler_reroute(&f->s, 1, 15 * S / 10), 0);
    assert_int_equal(nsent, 4);
    assert_int_equal(sent[3].block, 1);
    assert_int_equal(sent_to[3], 2);
    assert_int_equal(sent[3].sub_first, 0);
    assert_int_equal(sent[3].sub_count, 10);
    assert_int_equal(sent[3].priority, 1);
    assert_int_equal(f->s.rerouted, 1);
}

/* Rerouting starts where packets may not have left: with the owner alive
 * until 3.5 s, the sub-block playing at 3.8 s (3.5 s + pace lead) onward. */
static void reroute_from_first_unsent(void **state)
{
    fixture *f = *state;
    play(f);
    now = 29 * S / 10;
    assert_int_equal(dsend_scheduler_tick(&f->s), 0); /* blocks 1..3 */
    f->h.dead[1] = 1;
    int before = nsent;
    /* block 1 plays from 3 s to 4 s: 3.8 s is its sub-block 8 */
    assert_int_equal(dsend_scheduler_reroute(&f->s, 1, 35 * S / 10), 0);
    assert_int_equal(nsent, before + 1);
    assert_int_equal(sent[before].block, 1);
    assert_int_equal(sent[before].sub_first, 8);
    assert_int_equal(sent[before].sub_count, 2);
}

/* A stream taken over from an owner last alive at 1.5 s: blocks 0 and 1
 * (asked by then) are left to the senders; the deputy asks from block 2. */
static void adopt_goes_on(void **state)
{
    fixture *f = *state;
    dsend_session_plan pl = {.client = 9, .asset = 0, .epoch = 0, .owner = 1, .from = 0,
                             .to = f->a.size, .play_start = 2 * S};
    now = 19 * S / 10;
    assert_int_equal(dsend_scheduler_adopt(&f->s, &pl, 15 * S / 10), 0);
    const dsend_stream *st = dsend_scheduler_stream(&f->s, 9);
    assert_non_null(st);
    assert_int_equal(st->next, 2 * (uint64_t)BLOCK);
    assert_int_equal(dsend_scheduler_tick(&f->s), 0);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].block, 2);
    assert_int_equal(sent[0].client, 9);
    /* a malformed plan is refused, not adopted */
    pl.client = 10;
    pl.from = pl.to;
    assert_int_not_equal(dsend_scheduler_adopt(&f->s, &pl, 0), 0);
    assert_null(dsend_scheduler_stream(&f->s, 10));
}

/* With a random-access index, a start and a seek begin at the packet
 * holding the last point at or before the byte asked for (the rest of its
 * sub-block: first_skip); at byte 0 before the first point; without one, at
 * the sub-block holding the byte. */
static void keyframe_start(void **state)
{
    fixture *f = *state;
    uint64_t rap[] = {564, 3 * SUB + 2 * 1316 + 188, 15 * SUB + 376};
    uint64_t from = 4 * SUB + 100;
    assert_int_equal(dsend_stream_start(&f->a, from, SUB), 4 * SUB); /* no index */
    f->a.rap = rap;
    f->a.nrap = 3;
    assert_int_equal(dsend_stream_start(&f->a, 0, SUB), 0);
    assert_int_equal(dsend_stream_start(&f->a, 563, SUB), 0);
    assert_int_equal(dsend_stream_start(&f->a, 564, SUB), 0);
    assert_int_equal(dsend_scheduler_start(&f->s, 7, 0, &from, f->a.size), 0);
    assert_int_equal(from, 3 * SUB + 2 * 1316);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].block, 0);
    assert_int_equal(sent[0].sub_first, 3);
    assert_int_equal(sent[0].first_skip, 2 * 1316);
    assert_int_equal(sent[0].sub_count, 7);
    /* a seek into block 1: the point at its sub-block 5 (packet 0 of it) */
    uint64_t at;
    nsent = 0;
    assert_int_equal(dsend_scheduler_seek(&f->s, 7, 15 * SUB + 1000, &at, &(uint32_t){0}), 0);
    assert_int_equal(at, 15 * SUB);
    assert_int_equal(nsent, 1);
    assert_int_equal(sent[0].block, 1);
    assert_int_equal(sent[0].sub_first, 5);
    assert_int_equal(sent[0].first_skip, 0);
    f->a.rap = NULL;
    f->a.nrap = 0;
}

/* The streams playing (their rate), and those playing or paused, counted
 * one by one. */
static uint64_t count_playing(const dsend_scheduler *s, uint32_t *active)
{
    uint64_t bps = 0;
    *active = 0;
    for (uint32_t i = 0; i < s->nstreams; i++) {
        const dsend_stream *st = &s->streams[i];
        const dsend_asset *a = &s->p->lib->assets[st->asset];
        int plays = dsend_media_time(a, st->from, st->play_start, st->to) > now;
        if (!st->paused && plays)
            bps += a->bitrate_bps;
        *active += st->paused || plays;
    }
    return bps;
}

/* The playing rate kept between counts is the count at every moment, as
 * streams start, end, pause, resume, seek and stop. */
static void playing_rate(void **state)
{
    fixture *f = *state;
    const uint64_t one = f->a.bitrate_bps;
    for (now = 0; now <= 26 * S; now += S / 20) {
        uint64_t from = 0, at;
        uint32_t epoch;
        nsent = 0;
        if (now == 0) /* 5 s of media: plays from 2 to 7 s */
            assert_int_equal(dsend_scheduler_start(&f->s, 1, 0, &from, 5 * (uint64_t)BLOCK), 0);
        if (now == S) /* the whole asset: 3 to 23 s */
            assert_int_equal(dsend_scheduler_start(&f->s, 2, 0, &from, f->a.size), 0);
        if (now == 3 * S / 2)
            assert_int_equal(dsend_scheduler_start(&f->s, 3, 0, &from, 8 * (uint64_t)BLOCK), 0);
        if (now == 4 * S)
            assert_int_equal(dsend_scheduler_pause(&f->s, 3, &at, &epoch), 0);
        if (now == 6 * S)
            assert_int_equal(dsend_scheduler_resume(&f->s, 3, &at, &epoch), 0);
        if (now == 9 * S) /* to its last block: plays 11 to 12 s */
            assert_int_equal(dsend_scheduler_seek(&f->s, 3, 19 * (uint64_t)BLOCK, &from, &epoch),
                             0);
        if (now == 20 * S)
            assert_int_equal(dsend_scheduler_stop(&f->s, 2), 0);
        uint32_t active;
        uint64_t want = count_playing(&f->s, &active);
        assert_int_equal(dsend_scheduler_playing_bps(&f->s), want);
        assert_int_equal(dsend_scheduler_playing_bps(&f->s), want); /* asked twice */
        assert_int_equal(dsend_scheduler_active(&f->s), active);
        if (now == 5 * S)
            assert_int_equal(active, 3); /* a paused stream is active */
        if (now == 5 * S)
            assert_int_equal(want, 2 * one); /* 3 paused */
        if (now == 13 * S / 2)
            assert_int_equal(want, 3 * one); /* 3 resumed */
        if (now == 15 * S / 2)
            assert_int_equal(want, 2 * one); /* 1 ended at 7 s */
        if (now == 10 * S)
            assert_int_equal(want, 2 * one);
        if (now == 15 * S)
            assert_int_equal(want, one); /* 3 ended again */
        if (now == 21 * S)
            assert_int_equal(want, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(primary_first, setup, teardown),
        cmocka_unit_test_setup_teardown(threshold_moves_it, setup, teardown),
        cmocka_unit_test_setup_teardown(escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(dead_primary, setup, teardown),
        cmocka_unit_test_setup_teardown(reroute_what_went_there, setup, teardown),
        cmocka_unit_test_setup_teardown(reroute_from_first_unsent, setup, teardown),
        cmocka_unit_test_setup_teardown(adopt_goes_on, setup, teardown),
        cmocka_unit_test_setup_teardown(keyframe_start, setup, teardown),
        cmocka_unit_test_setup_teardown(playing_rate, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
