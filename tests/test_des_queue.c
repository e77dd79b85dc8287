/* The event core's pending-event queue (src/des/queue.c): a calendar of
 * buckets in front of a heap.  Keys come out in (ts, ord) order whatever
 * bucket or heap they waited in, and the calendar holds arrays only for the
 * buckets that hold keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "des/des_internal.h"

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static int before(const des_key *a, const des_key *b)
{
    return a->ts != b->ts ? a->ts < b->ts : a->ord < b->ord;
}

/* Buckets of the ring holding an array, and arrays kept spare. */
static size_t arrays_held(const des_queue *q)
{
    size_t n = q->nspare + (q->near.cap ? 1 : 0);
    if (q->ring)
        for (size_t i = 0; i < DES_BUCKETS; i++)
            n += q->ring[i].cap ? 1 : 0;
    return n;
}

/* A simulation's pattern: pop the first key, push later ones (a few buckets
 * on, or past the ring), for a long stretch of time; every pop is the least
 * pending key. */
static void order_over_the_whole_ring(void **state)
{
    (void)state;
    des_queue q;
    memset(&q, 0, sizeof q);
    uint64_t ord = 0;
    for (int i = 0; i < 8; i++) {
        des_key k = {.ts = (int64_t)(next_rand() % (4 * DES_BUCKET_NS)), .ord = ord++};
        assert_int_equal(des_queue_push(&q, &k), 0);
    }
    des_key last = {.ts = INT64_MIN, .ord = 0};
    size_t pops = 0, most = 0;
    const des_key *top;
    while (pops < 200000 && des_queue_top(&q, &top) == 0 && top) {
        des_key got;
        des_queue_pop(&q, &got);
        assert_true(before(&last, &got));
        last = got;
        pops++;
        if (got.slot == 1)
            continue; /* one from past the ring: not replaced */
        /* one key for the one taken, 0-4 buckets on; now and then one more
         * past the ring (about 4.3 s on: it waits in the far heap) */
        des_key n = {.ts = got.ts + (int64_t)(next_rand() % (4 * DES_BUCKET_NS)), .ord = ord++};
        assert_int_equal(des_queue_push(&q, &n), 0);
        if (next_rand() % 64 == 0) {
            des_key f = {.ts = got.ts + (int64_t)(DES_BUCKETS + 2) * DES_BUCKET_NS +
                               (int64_t)(next_rand() % DES_BUCKET_NS),
                         .ord = ord++,
                         .slot = 1};
            assert_int_equal(des_queue_push(&q, &f), 0);
        }
        size_t held = arrays_held(&q);
        most = held > most ? held : most;
    }
    assert_int_equal(pops, 200000);
    /* the stretch covers the ring many times over (about 50 s of 4.3 s):
     * arrays stay with the keys (8 of them in the ring at most, a few
     * buckets apart), a handful, not one per bucket ever used */
    assert_true(last.ts > 4 * (int64_t)DES_BUCKETS * DES_BUCKET_NS);
    assert_true(most <= 32);
    des_queue_free(&q);
}

/* Equal timestamps in every place a key can wait come out by `ord`. */
static void equal_times_by_order(void **state)
{
    (void)state;
    des_queue q;
    memset(&q, 0, sizeof q);
    int64_t at[] = {0, 5 * DES_BUCKET_NS, (int64_t)(DES_BUCKETS + 10) * DES_BUCKET_NS};
    for (size_t t = 0; t < 3; t++)
        for (uint64_t o = 10; o-- > 0;) {
            des_key k = {.ts = at[t], .ord = o * 7 % 10, .slot = 0, .lp = 0};
            assert_int_equal(des_queue_push(&q, &k), 0);
        }
    des_key last = {.ts = INT64_MIN, .ord = 0};
    const des_key *top;
    size_t n = 0;
    while (des_queue_top(&q, &top) == 0 && top) {
        des_key got;
        des_queue_pop(&q, &got);
        assert_true(before(&last, &got));
        last = got;
        n++;
    }
    assert_int_equal(n, 30);
    des_queue_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_over_the_whole_ring),
        cmocka_unit_test(equal_times_by_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
