/* The client meter (dsend/meter.h) on hand-built arrivals, against answers
 * worked out by hand: the one meter both worlds use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "dsend/core.h"
#include "dsend/meter.h"

/* 100 packets a second: one packet of 1316 bytes is 10 ms of media */
#define PKT 1316u
#define MS 1000000LL
static dsend_asset asset(void)
{
    dsend_asset a;
    memset(&a, 0, sizeof a);
    a.kind = DSEND_ASSET_SYNTHETIC;
    a.bitrate_bps = PKT * 8 * 100;
    a.block_size = 10 * PKT;
    a.size = 200 * PKT; /* 2 s */
    a.blocks = 20;
    a.duration_ns = 2000 * MS;
    return a;
}

typedef struct fixture {
    dsend_asset a;
    dsend_client_stats st;
    dsend_meter m;
} fixture;

static void start(fixture *f, int64_t prebuffer, uint64_t from, uint64_t to)
{
    f->a = asset();
    memset(&f->st, 0, sizeof f->st);
    dsend_meter_init(&f->m, &f->a, prebuffer, &f->st);
    assert_int_equal(dsend_meter_plan_begin(&f->m, from, to, 1), 0);
}

/* packet k arrives at t */
static void rx(fixture *f, uint64_t k, int64_t t) { dsend_meter_packet(&f->m, k * PKT, PKT, t, 0); }

/* Constant delay: no jitter; the delay factor is one packet's media time
 * (the virtual buffer swings by one packet); startup is first arrival +
 * prebuffer - request; nothing late. */
static void constant_delay(void **state)
{
    (void)state;
    fixture f;
    start(&f, 200 * MS, 0, 100 * PKT);
    f.st.request_at = 0;
    for (uint64_t k = 0; k < 100; k++)
        rx(&f, k, 50 * MS + (int64_t)k * 10 * MS);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.expected, 100);
    assert_int_equal(f.st.received, 100);
    assert_int_equal(f.st.lost, 0);
    assert_true(f.st.jitter_ms == 0.0);
    assert_true(fabs(f.st.df_ms - 10.0) < 1e-6);
    assert_int_equal(f.st.startup_ns, 250 * MS);
    assert_int_equal(f.st.late, 0);
    assert_int_equal(f.st.underruns, 0);
    assert_int_equal(f.st.max_lateness, -200 * MS);
    assert_int_equal(f.st.mean_lateness, -200 * MS);
    assert_int_equal(f.st.max_gap_us, 10000);
    assert_true(f.st.mlr == 0.0);
    dsend_meter_free(&f.m);
}

/* Delay alternating 0, 4 ms: every difference D is 4 ms, so RFC 3550's
 * J = J + (|D| - J)/16 from 0 gives 4 ms (1 - (15/16)^(n-1)). */
static void alternating_delay(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 100 * PKT);
    for (uint64_t k = 0; k < 100; k++)
        rx(&f, k, (int64_t)k * 10 * MS + (k % 2 ? 4 * MS : 0));
    dsend_meter_final(&f.m);
    double want = 4.0 * (1 - pow(15.0 / 16.0, 99));
    assert_true(fabs(f.st.jitter_ms - want) < 1e-9);
    /* the buffer: an early packet 0, a late one (4 ms) after it: DF = 10 + 4 ms */
    assert_true(fabs(f.st.df_ms - 14.0) < 1e-6);
    dsend_meter_free(&f.m);
}

/* A burst: 10 packets at once then silence: DF = 10 packets = 100 ms in
 * that second. */
static void burst(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 10 * PKT);
    for (uint64_t k = 0; k < 10; k++)
        rx(&f, k, 0);
    dsend_meter_final(&f.m);
    assert_true(fabs(f.st.df_ms - 100.0) < 1e-6);
    dsend_meter_free(&f.m);
}

/* Missing head and tail are loss: 10 asked for, 2..7 arrive.  MLR = 4
 * packets x 7 TS packets / 0.1 s of media = 280 per second. */
static void head_and_tail(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 10 * PKT);
    for (uint64_t k = 2; k < 8; k++)
        rx(&f, k, (int64_t)k * 10 * MS);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.expected, 10);
    assert_int_equal(f.st.received, 6);
    assert_int_equal(f.st.lost, 4);
    assert_true(fabs(f.st.mlr - 280.0) < 1e-9);
    dsend_meter_free(&f.m);
}

/* One packet 50 ms after its playout time stalls playout 50 ms; the next,
 * on the old schedule, is on time against the shifted one. */
static void underrun(void **state)
{
    (void)state;
    fixture f;
    start(&f, 20 * MS, 0, 10 * PKT);
    /* packet 0 at 0: playout of byte 0 at 20 ms; packet k plays at 20 + 10k ms */
    rx(&f, 0, 0);
    rx(&f, 1, 10 * MS);
    rx(&f, 2, 90 * MS); /* due at 40 ms: 50 ms late */
    rx(&f, 3, 95 * MS); /* due at 50 + 50 (stall) = 100 ms: on time */
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.underruns, 1);
    assert_int_equal(f.st.late, 1);
    assert_int_equal(f.st.stall_ns, 50 * MS);
    assert_int_equal(f.st.max_lateness, 50 * MS);
    dsend_meter_free(&f.m);
}

/* Duplicates and reordering are counted, not received twice. */
static void duplicate_and_reorder(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 4 * PKT);
    rx(&f, 0, 0);
    rx(&f, 2, 1);
    rx(&f, 1, 2);
    rx(&f, 1, 3);
    rx(&f, 3, 4);
    rx(&f, 7, 5); /* no plan asked for it */
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.received, 4);
    assert_int_equal(f.st.duplicate, 1);
    assert_int_equal(f.st.out_of_order, 1);
    assert_int_equal(f.st.unexpected, 1);
    assert_int_equal(f.st.lost, 0);
    dsend_meter_free(&f.m);
}

/* Pause 500 ms while playing byte 5 packets in, resume: the plan after the
 * resume starts where the server says; deadlines go on from where playout
 * stopped, with no prebuffer and no stall. */
static void pause_resume(void **state)
{
    (void)state;
    fixture f;
    start(&f, 20 * MS, 0, 20 * PKT);
    for (uint64_t k = 0; k < 8; k++)
        rx(&f, k, (int64_t)k * 10 * MS); /* packet k plays at 20 + 10k ms */
    dsend_meter_pause(&f.m, 70 * MS);        /* playing packet 5 */
    dsend_meter_resume(&f.m, 570 * MS);      /* packet 5 plays at 570 ms */
    assert_int_equal(dsend_meter_plan_begin(&f.m, 8 * PKT, 20 * PKT, 0), 0);
    rx(&f, 8, 590 * MS);                     /* due at 600 ms */
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.pauses, 1);
    assert_int_equal(f.st.expected, 20);
    assert_int_equal(f.st.received, 9);
    assert_int_equal(f.st.underruns, 0);
    assert_int_equal(f.m.last_deadline, 600 * MS);
    dsend_meter_free(&f.m);
}

/* A step in the delay: 0 for packets 0..49, 5 ms from packet 50 on.  One
 * difference D = 5 ms, then none: J = 5/16 ms after packet 50, then
 * J -= J/16 for each of the 49 packets after it. */
static void jitter_step(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 100 * PKT);
    for (uint64_t k = 0; k < 100; k++)
        rx(&f, k, (int64_t)k * 10 * MS + (k >= 50 ? 5 * MS : 0));
    dsend_meter_final(&f.m);
    double want = 5.0 / 16 * pow(15.0 / 16.0, 49);
    assert_true(fabs(f.st.jitter_ms - want) < 1e-9);
    dsend_meter_free(&f.m);
}

/* A hole and a burst in a steady stream, 2 s of media: packets 100..104
 * (due 1000..1040 ms) arrive at 1050 ms with packet 105.  In the interval
 * [1000, 2000) ms the virtual buffer falls 5 packets below its level
 * (-5) and then rises one packet above it (+1): DF = 6 packets = 60 ms;
 * the steady first second swings by one packet (10 ms).  Nothing is lost,
 * the longest gap is 60 ms (1050 - 990), and the delayed packets are late
 * against a 20 ms prebuffer: one stall of 40 ms (packet 100 due at
 * 1010 ms). */
static void df_burst_gap(void **state)
{
    (void)state;
    fixture f;
    start(&f, 10 * MS, 0, 200 * PKT);
    for (uint64_t k = 0; k < 200; k++)
        rx(&f, k, k >= 100 && k < 105 ? 1050 * MS : (int64_t)k * 10 * MS);
    dsend_meter_final(&f.m);
    assert_true(fabs(f.st.df_ms - 60.0) < 1e-6);
    assert_int_equal(f.st.lost, 0);
    assert_true(f.st.mlr == 0.0);
    assert_int_equal(f.st.max_gap_us, 60000);
    assert_int_equal(f.st.underruns, 1);
    assert_int_equal(f.st.stall_ns, 40 * MS);
    assert_int_equal(f.st.max_lateness, 40 * MS);
    dsend_meter_free(&f.m);
}

/* A burst of loss in the middle: 100 asked for (1 s), 40..49 never come:
 * lost 10, MLR = 10 x 7 TS packets per 1 s = 70 per second; the gap is
 * 110 ms (390 -> 500 ms). */
static void loss_burst(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 100 * PKT);
    for (uint64_t k = 0; k < 100; k++)
        if (k < 40 || k >= 50)
            rx(&f, k, (int64_t)k * 10 * MS);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.expected, 100);
    assert_int_equal(f.st.received, 90);
    assert_int_equal(f.st.lost, 10);
    assert_int_equal(f.st.bytes, 90 * PKT);
    assert_true(fabs(f.st.mlr - 70.0) < 1e-9);
    assert_int_equal(f.st.max_gap_us, 110000);
    dsend_meter_free(&f.m);
}

/* Constant lateness: the mean is the value; distinct senders are counted. */
static void lateness_senders(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 10 * PKT);
    for (uint64_t k = 0; k < 10; k++)
        dsend_meter_packet(&f.m, k * PKT, PKT, (int64_t)k * 10 * MS, (uint32_t)(k % 3) + 7);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.senders, 3);
    assert_int_equal(f.st.mean_lateness, -100 * MS);
    assert_int_equal(f.st.max_lateness, -100 * MS);
    assert_int_equal(f.st.startup_ns, 100 * MS);
    dsend_meter_free(&f.m);
}

/* A seek cuts the plan after its last packet received: 100 asked for,
 * 0..29 received, then a seek to packet 60 (to the end): expected 30 +
 * 40.  A straggler of the old plan (packet 30) is unexpected, not
 * received; the new plan's head missing (60, 61) is loss. */
static void seek_cut(void **state)
{
    (void)state;
    fixture f;
    start(&f, 20 * MS, 0, 100 * PKT);
    for (uint64_t k = 0; k < 30; k++)
        rx(&f, k, (int64_t)k * 10 * MS);
    dsend_meter_seek(&f.m, 300 * MS);
    assert_int_equal(dsend_meter_plan_begin(&f.m, 60 * PKT, 100 * PKT, 1), 0);
    rx(&f, 30, 305 * MS);
    for (uint64_t k = 62; k < 100; k++)
        rx(&f, k, 400 * MS + (int64_t)(k - 62) * 10 * MS);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.seeks, 1);
    assert_int_equal(f.st.expected, 70);
    assert_int_equal(f.st.received, 68);
    assert_int_equal(f.st.lost, 2);
    assert_int_equal(f.st.unexpected, 1);
    assert_int_equal(f.st.startup_ns, 20 * MS); /* the first start's */
    assert_int_equal(f.st.underruns, 0);
    dsend_meter_free(&f.m);
}

/* A resume the server starts before what was received (at its sub-block):
 * the copies past the cut were the duplicates.  0..9 received, resumed
 * from 5: the first plan keeps 0..4, the second gets 5..19; every packet
 * once, 5 twice. */
static void resume_resends(void **state)
{
    (void)state;
    fixture f;
    start(&f, 20 * MS, 0, 20 * PKT);
    for (uint64_t k = 0; k < 10; k++)
        rx(&f, k, (int64_t)k * 10 * MS);
    dsend_meter_pause(&f.m, 60 * MS);
    dsend_meter_resume(&f.m, 500 * MS);
    assert_int_equal(dsend_meter_plan_begin(&f.m, 5 * PKT, 20 * PKT, 0), 0);
    for (uint64_t k = 5; k < 20; k++)
        rx(&f, k, 500 * MS + (int64_t)k * MS);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.expected, 20);
    assert_int_equal(f.st.received, 20);
    assert_int_equal(f.st.duplicate, 5);
    assert_int_equal(f.st.bytes, 20 * PKT);
    assert_int_equal(f.st.lost, 0);
    dsend_meter_free(&f.m);
}

/* A refused stream expects nothing and misses nothing; a stream that
 * receives nothing never starts and loses everything. */
static void refused_and_silent(void **state)
{
    (void)state;
    fixture f;
    start(&f, 100 * MS, 0, 10 * PKT);
    dsend_meter_refused(&f.m);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.refused, 1);
    assert_int_equal(f.st.expected, 0);
    assert_int_equal(f.st.lost, 0);
    assert_int_equal(f.st.startup_ns, -1);
    dsend_meter_free(&f.m);
    start(&f, 100 * MS, 0, 10 * PKT);
    dsend_meter_final(&f.m);
    assert_int_equal(f.st.refused, 0);
    assert_int_equal(f.st.expected, 10);
    assert_int_equal(f.st.lost, 10);
    assert_int_equal(f.st.startup_ns, -1);
    assert_true(fabs(f.st.mlr - 700.0) < 1e-9); /* 70 TS packets in 0.1 s */
    dsend_meter_free(&f.m);
}

/* ---- dsend_meter_run against the same packets one by one ---- */

typedef struct run_case {
    uint32_t burst;
    int64_t delay, delay_last, limit, reach_before;
    int tie_first, warm, none;
    int64_t prebuffer, link;
} run_case;

/* The link as the simulation's packet-by-packet path models it: the
 * packet at o reaches it with its burst (the burst's first packet's
 * media time after base's), starts when the link is free, and the run
 * stops at the first packet that arrives after the limit or reaches the
 * link after reach_before (at it: unless tie_first). */
static size_t by_packets(fixture *f, const dsend_meter_smooth *r, const run_case *c,
                         uint64_t *next, int64_t *link)
{
    const dsend_asset *a = &f->a;
    size_t n = 0;
    uint64_t i0 = r->base % a->block_size / PKT;
    for (uint64_t o = *next; o < r->end;) {
        uint32_t len = r->end - o < PKT ? (uint32_t)(r->end - o) : PKT;
        uint64_t i = o % a->block_size / PKT, x = o - r->base;
        if (c->burst > 1)
            x = (i / c->burst - i0 / c->burst) * c->burst * PKT;
        int64_t reach = r->t0 + (int64_t)((unsigned __int128)x * 8000000000u / a->bitrate_bps);
        if (reach > r->reach_before || (reach == r->reach_before && !r->tie_first))
            break;
        int64_t t = (reach > *link ? reach : *link) + (len == PKT ? r->delay : r->delay_last);
        if (t > c->limit)
            break;
        dsend_meter_packet(&f->m, o, len, t, r->sender);
        *link = t;
        o += len;
        *next = o;
        n++;
    }
    return n;
}

static void run_matches_packets(void **state)
{
    (void)state;
    const run_case cases[] = {
        {.burst = 1, .delay = 2 * MS, .delay_last = MS, .limit = INT64_MAX, .reach_before = INT64_MAX},
        {.burst = 1, .delay = 12 * MS, .delay_last = 9 * MS, .limit = INT64_MAX,
         .reach_before = INT64_MAX, .warm = 1}, /* a link slower than the stream queues */
        {.burst = 3, .delay = 2 * MS, .delay_last = MS, .limit = INT64_MAX, .reach_before = INT64_MAX},
        {.burst = 3, .delay = 2 * MS, .delay_last = MS, .limit = INT64_MAX,
         .reach_before = INT64_MAX, .warm = 1},
        {.burst = 4, .delay = 11 * MS, .delay_last = 3 * MS, .limit = INT64_MAX,
         .reach_before = INT64_MAX, .warm = 1}, /* queues from burst to burst */
        {.burst = 3, .delay = 2 * MS, .delay_last = MS, .limit = 1055 * MS,
         .reach_before = INT64_MAX, .warm = 1}, /* the limit cuts a burst */
        {.burst = 3, .delay = 2 * MS, .delay_last = MS, .limit = INT64_MAX,
         .reach_before = 1060 * MS, .warm = 1}, /* another run's packet at a burst's reach */
        {.burst = 3, .delay = 2 * MS, .delay_last = MS, .limit = INT64_MAX,
         .reach_before = 1060 * MS, .tie_first = 1, .warm = 1},
        {.burst = 2, .delay = 7 * MS, .delay_last = 5 * MS, .limit = INT64_MAX,
         .reach_before = INT64_MAX, .prebuffer = 5 * MS, .warm = 1}, /* late: stalls */
        {.burst = 3, .delay = 2 * MS, .delay_last = MS, .limit = INT64_MAX,
         .reach_before = INT64_MAX, .warm = 1, .link = 1100 * MS}, /* the link still busy */
        {.burst = 3, .delay = 2 * MS, .delay_last = MS, .limit = INT64_MAX,
         .reach_before = 1000 * MS, .warm = 1, .none = 1}, /* the other run's goes first */
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const run_case *c = &cases[ci];
        fixture f[2];
        uint64_t next[2];
        int64_t link[2];
        size_t n[2];
        /* a run in block 1 from its second packet, its last packet short */
        dsend_meter_smooth r = {.base = 11 * PKT, .end = 20 * PKT - 300, .t0 = 1000 * MS,
                                .delay = c->delay, .delay_last = c->delay_last,
                                .reach_before = c->reach_before, .tie_first = c->tie_first,
                                .sender = 3, .burst = c->burst};
        for (int w = 0; w < 2; w++) {
            start(&f[w], c->prebuffer ? c->prebuffer : 200 * MS, 0, 100 * PKT);
            f[w].st.request_at = 0;
            if (c->warm) /* block 0 one by one: playout started */
                for (uint64_t k = 0; k < 11; k++)
                    rx(&f[w], k, 900 * MS + (int64_t)k * 8 * MS);
            next[w] = r.base;
            link[w] = c->link;
        }
        dsend_media_cursor at;
        dsend_media_cursor_init(&at, f[0].a.bitrate_bps);
        n[0] = dsend_meter_run(&f[0].m, &r, &next[0], &at, c->limit, &link[0]);
        n[1] = by_packets(&f[1], &r, c, &next[1], &link[1]);
        assert_true(c->none ? n[0] == 0 : n[0] > 0);
        assert_int_equal(n[0], n[1]);
        assert_int_equal(next[0], next[1]);
        assert_int_equal(link[0], link[1]);
        for (int w = 0; w < 2; w++) { /* a second copy of the run's second packet */
            rx(&f[w], 12, 3000 * MS);
            dsend_meter_final(&f[w].m);
        }
        assert_int_equal(f[0].st.duplicate, n[0] >= 2);
        assert_int_equal(f[1].st.duplicate, n[1] >= 2);
        assert_int_equal(f[0].st.received, f[1].st.received);
        assert_int_equal(f[0].st.bytes, f[1].st.bytes);
        assert_int_equal(f[0].st.startup_ns, f[1].st.startup_ns);
        assert_int_equal(f[0].st.late, f[1].st.late);
        assert_int_equal(f[0].st.underruns, f[1].st.underruns);
        assert_int_equal(f[0].st.stall_ns, f[1].st.stall_ns);
        assert_int_equal(f[0].st.max_lateness, f[1].st.max_lateness);
        assert_int_equal(f[0].st.mean_lateness, f[1].st.mean_lateness);
        assert_int_equal(f[0].st.max_gap_us, f[1].st.max_gap_us);
        assert_int_equal(f[0].st.senders, f[1].st.senders);
        assert_true(f[0].st.jitter_ms == f[1].st.jitter_ms);
        assert_true(f[0].st.df_ms == f[1].st.df_ms);
        if (c->prebuffer)
            assert_true(f[0].st.underruns > 0);
        for (int w = 0; w < 2; w++)
            dsend_meter_free(&f[w].m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constant_delay), cmocka_unit_test(alternating_delay),
        cmocka_unit_test(burst),          cmocka_unit_test(head_and_tail),
        cmocka_unit_test(underrun),       cmocka_unit_test(duplicate_and_reorder),
        cmocka_unit_test(pause_resume),   cmocka_unit_test(jitter_step),
        cmocka_unit_test(df_burst_gap),   cmocka_unit_test(loss_burst),
        cmocka_unit_test(lateness_senders), cmocka_unit_test(seek_cut),
        cmocka_unit_test(refused_and_silent), cmocka_unit_test(resume_resends),
        cmocka_unit_test(run_matches_packets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
