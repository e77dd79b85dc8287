/* The pacer's bursts (dsend/core.h) with a fake clock and a fake emit
 * backend, and the UDP backend's timing wheel (src/serve/txwheel.c): when
 * every packet leaves, that bursts are cut the same on every device and
 * never span blocks, that the last burst of one device's block leaves
 * before the next device's first, that taking a burst at a time gives
 * every packet the departure a packet-by-packet model of the link gives
 * it, and that the wheel hands out every entry
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
#define MAXRUNS 16384
static dsend_packet_run runs[MAXRUNS];
static int nruns;

static int64_t fake_now(void *ctx) { (void)ctx; return now; }
static int fake_wake(void *ctx, int who, int64_t at) { (void)ctx; (void)who; (void)at; return 0; }
static const dsend_clock fake_clock = {.name = "fake", .now = fake_now, .wake = fake_wake};
static int fake_packets(void *ctx, const dsend_packet_run *r)
{
    (void)ctx;
    assert_true(nruns < MAXRUNS);
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

/* The link packet by packet, as the pacer's contract says it: a packet
 * leaves at its burst's release (or now) if its slot has room, else at the
 * start of the first later slot that has, spilling what does not fit into
 * the slots after.  A flat array of slots from time 0 (time only grows). */
#define REF_SLOTS 100000
static uint64_t ref_used[REF_SLOTS];
static uint64_t ref_delayed;
static int64_t ref_depart(int64_t release, uint64_t wire)
{
    int64_t w = params.pace_batch, t = release > now ? release : now, s = t / w;
    uint64_t cap = (uint64_t)((unsigned __int128)params.nic_bps * (uint64_t)w / 8u / 1000000000u);
    while (ref_used[s] >= cap)
        s++;
    int64_t d = s * w > t ? s * w : t;
    for (uint64_t left = wire; left;) {
        assert_true(s < REF_SLOTS);
        uint64_t room = cap - (ref_used[s] < cap ? ref_used[s] : cap);
        uint64_t take = left < room ? left : room;
        ref_used[s] += take;
        left -= take;
        if (left)
            s++;
    }
    ref_delayed += d > release && d > now;
    return d;
}

static uint64_t acct_bytes;
static void fake_account(void *ctx, int64_t at, uint64_t wire, uint32_t queue)
{
    (void)ctx; (void)at; (void)queue;
    acct_bytes += wire;
}

/* The threshold added up slot by slot over its window, as its contract says. */
static int64_t window_threshold(const dsend_pacer *q)
{
    int64_t w = params.pace_batch, span = params.send_ahead - params.pace_lead;
    int64_t s0 = now / w, s1 = (now + span) / w;
    uint64_t total = 0;
    for (int64_t s = s0; s < s1; s++)
        if (s >= q->first_slot && s < q->first_slot + (int64_t)q->nslots)
            total += q->used[s & (q->nslots - 1)];
    return total * 50 >= (uint64_t)(s1 - s0) * q->slot_bytes * 49
               ? now + span + params.pace_lead
               : INT64_MAX;
}

typedef struct sub_job {
    int64_t now, deadline;
    uint32_t client;
    uint64_t offset;
    uint32_t len;
} sub_job;
static int by_now(const void *x, const void *y)
{
    const sub_job *a = x, *b = y;
    return a->now < b->now ? -1 : a->now > b->now;
}

/* Three sessions on one link, blocks ending in a short packet, sub-blocks
 * starting inside bursts, one session handed over late: for each burst
 * size and link speed (roomy, a burst per slot, less than a packet per
 * slot, and one too slow for the three), every packet leaves when the
 * packet-by-packet model says (to the ns of a run's rounding), packets,
 * wire bytes, delays and the accounted bytes agree, and the threshold is
 * its window's, added up slot by slot. */
static void bursts_match_packets(void **state)
{
    (void)state;
    const int64_t bursts[] = {20 * MS, 0, 60 * MS};
    const uint64_t nics[] = {10000000000ull, 9000000ull, 50000000ull, 6000000ull};
    for (int bi = 0; bi < 3; bi++)
        for (int ni = 0; ni < 4; ni++)
            for (int interval = 0; interval < 2; interval++) {
                setup_params(bursts[bi]);
                asset.block_size = 60 * PKT + 500; /* its last packet: 500 bytes */
                asset.size = asset.blocks * (uint64_t)asset.block_size;
                params.nic_bps = nics[ni];
                assert_int_equal(dsend_core_params_check(&params), 0);
                dsend_pacer q;
                assert_int_equal(
                    dsend_pacer_init(&q, 0, &params, &fake_clock, NULL, &fake_emit, NULL), 0);
                q.account = fake_account;
                q.account_interval = interval ? 50 * MS : 0;
                acct_bytes = 0;
                static sub_job jobs[3 * 200];
                int n = 0;
                for (uint32_t c = 0; c < 3; c++) {
                    int64_t play = 10 * S + c * 7 * MS;
                    for (uint64_t b = 0; b < asset.blocks; b++)
                        for (uint64_t o = b * asset.block_size; o < (b + 1) * asset.block_size;
                             o += SUB) {
                            uint64_t e = (b + 1) * asset.block_size;
                            sub_job *j = &jobs[n++];
                            j->client = c;
                            j->offset = o;
                            j->len = (uint32_t)(e - o < SUB ? e - o : SUB);
                            j->deadline = dsend_media_time(&asset, 0, play, o);
                            /* client 2 comes late: after its first bursts' release */
                            j->now = j->deadline - (c == 2 ? params.pace_lead - 15 * MS
                                                           : params.send_ahead);
                        }
                }
                qsort(jobs, (size_t)n, sizeof *jobs, by_now);
                memset(ref_used, 0, sizeof ref_used);
                ref_delayed = 0;
                static int64_t want[3][10 * 61];
                uint64_t ref_wire = 0, ref_packets = 0;
                int full = 0;
                for (int i = 0; i < n; i++) {
                    sub_job *j = &jobs[i];
                    now = j->now;
                    assert_int_equal(dsend_pacer_submit(&q, j->client, 0, 0, j->offset, j->len,
                                                        j->deadline, NULL, NULL, 0, 0),
                                     0);
                    int64_t th = dsend_pacer_threshold(&q);
                    assert_int_equal(th, window_threshold(&q));
                    full += th != INT64_MAX;
                    uint32_t burst = dsend_burst_packets(&asset, params.pace_burst);
                    for (uint64_t o = j->offset, end = o + j->len; o < end; o += PKT) {
                        uint64_t first = burst > 1 ? dsend_burst_start(&asset, o, burst) : o;
                        int64_t release =
                            dsend_media_time(&asset, j->offset, j->deadline, first) -
                            params.pace_lead;
                        uint64_t plen = end - o < PKT ? end - o : PKT;
                        want[j->client][dsend_packet_index(&asset, o)] =
                            ref_depart(release, plen + DSEND_PKT_OVERHEAD);
                        ref_wire += plen + DSEND_PKT_OVERHEAD;
                        ref_packets++;
                    }
                }
                for (int r = 0; r < nruns; r++)
                    for (uint64_t o = runs[r].offset; o < runs[r].offset + runs[r].bytes;
                         o += PKT) {
                        int64_t d = dsend_run_depart(&asset, runs[r].offset, runs[r].depart,
                                                     runs[r].burst, o);
                        int64_t ref = want[runs[r].client][dsend_packet_index(&asset, o)];
                        if (d < ref - 1 || d > ref + 1)
                            fail_msg("burst %d nic %d: packet at %llu of client %u leaves at "
                                     "%lld, not %lld",
                                     bi, ni, (unsigned long long)o, runs[r].client,
                                     (long long)d, (long long)ref);
                    }
                assert_int_equal(q.packets, ref_packets);
                assert_int_equal(q.wire_bytes, ref_wire);
                assert_int_equal(q.delayed, ref_delayed);
                assert_int_equal(acct_bytes, ref_wire);
                /* the slow links make packets wait; the roomy one does not */
                if (ni == 0)
                    assert_int_equal(q.delayed, 0);
                else
                    assert_true(q.delayed > 0);
                if (ni == 3) /* the slow link fills up */
                    assert_true(full > 0);
                else if (ni == 0)
                    assert_int_equal(full, 0);
                dsend_pacer_free(&q);
            }
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
        cmocka_unit_test(bursts_match_packets),
        cmocka_unit_test(wheel_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
