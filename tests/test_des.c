/* The discrete-event core on one rank: order, lookahead promises, callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mpi.h>
#include <string.h>

#include "dsend/des.h"
#include "dsend/error.h"

enum { T_FAR = 1, T_NEAR = 2, T_LOG = 3 };

static int one_rank(uint32_t lp, const void *arg)
{
    (void)lp;
    (void)arg;
    return 0;
}

/* T_FAR promises 10 ns, T_NEAR 1 ns, T_LOG causes nothing elsewhere */
static int64_t la(const dsend_event *ev, const void *arg)
{
    (void)arg;
    return ev->type == T_FAR ? 10 : ev->type == T_NEAR ? 1 : DSEND_TIME_INF;
}

static uint32_t order[64];
static int norder;
static int mode; /* what the event callback does */

static int init_none(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

static int final_none(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

static int on_event(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    dsend_event out;
    memset(&out, 0, sizeof out);
    if (ev->type == T_LOG) {
        order[norder++] = ev->src_lp * 100 + (uint32_t)ev->seq;
        return 0;
    }
    switch (mode) {
    case 1: /* to another LP, 5 ns ahead of an event that promised 10 */
        out.ts = ev->ts + 5;
        out.dst_lp = lp->id == 0 ? 1 : 0;
        out.type = T_LOG;
        return dsend_des_send(des, lp, &out);
    case 2: /* to itself, an event promising less than this one did */
        out.ts = ev->ts + 2;
        out.dst_lp = lp->id;
        out.type = T_NEAR;
        return dsend_des_send(des, lp, &out);
    case 3: /* to another LP, exactly at the promise: fine */
        out.ts = ev->ts + 10;
        out.dst_lp = lp->id == 0 ? 1 : 0;
        out.type = T_LOG;
        return dsend_des_send(des, lp, &out);
    }
    return 0;
}

static const dsend_lptype node = {
    .name = "node", .init = init_none, .event = on_event, .final = final_none};

static dsend_des *make(uint32_t n)
{
    dsend_des *d;
    assert_int_equal(dsend_des_create(MPI_COMM_SELF, n, one_rank, la, NULL, INT64_MAX, &d), 0);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(dsend_des_add_lp(d, i, &node, NULL), 0);
    return d;
}

/* Equal timestamps run in (source LP, sequence) order, whatever the order
 * they were sent in. */
static void equal_timestamps(void **state)
{
    (void)state;
    dsend_des *d = make(4);
    norder = 0;
    mode = 0;
    dsend_event e;
    uint32_t senders[] = {3, 1, 2, 1, 3};
    for (size_t i = 0; i < 5; i++) {
        memset(&e, 0, sizeof e);
        e.ts = 50;
        e.dst_lp = 0;
        e.type = T_LOG;
        assert_int_equal(dsend_des_send(d, dsend_des_lp(d, senders[i]), &e), 0);
    }
    assert_int_equal(dsend_des_run(d, DSEND_TIME_INF, NULL, NULL), 0);
    uint32_t want[] = {100, 101, 200, 300, 301};
    assert_int_equal(norder, 5);
    assert_memory_equal(order, want, sizeof want);
    assert_true(dsend_des_events(d) == 5);
    dsend_des_free(d);
}

static void run_mode(int m, int want_rc)
{
    dsend_des *d = make(2);
    dsend_event e;
    memset(&e, 0, sizeof e);
    e.ts = 100;
    e.dst_lp = 0;
    e.type = T_FAR;
    norder = 0;
    mode = m;
    assert_int_equal(dsend_des_send(d, dsend_des_lp(d, 0), &e), 0);
    int rc = dsend_des_run(d, DSEND_TIME_INF, NULL, NULL);
    assert_int_equal(rc, want_rc);
    if (rc)
        assert_non_null(strstr(dsend_errmsg(), "inside the lookahead"));
    dsend_des_free(d);
}

static void lookahead_is_checked(void **state)
{
    (void)state;
    run_mode(1, DSEND_EINVAL); /* remote event inside the promise */
    run_mode(2, DSEND_EINVAL); /* own follow-up promising less */
    run_mode(3, 0);            /* exactly at the promise */
    assert_int_equal(norder, 1);
}

static void until_and_callbacks(void **state)
{
    (void)state;
    dsend_des *d = make(1);
    dsend_event e;
    memset(&e, 0, sizeof e);
    e.dst_lp = 0;
    e.type = T_LOG;
    norder = 0;
    for (int64_t t = 10; t <= 50; t += 10) {
        e.ts = t;
        assert_int_equal(dsend_des_send(d, dsend_des_lp(d, 0), &e), 0);
    }
    assert_int_equal(dsend_des_run(d, 30, NULL, NULL), 0);
    assert_int_equal(norder, 2); /* 10 and 20; 30 is not before 30 */
    dsend_des_free(d);

    assert_int_equal(dsend_des_create(MPI_COMM_SELF, 2, one_rank, la, NULL, INT64_MAX, &d), 0);
    const dsend_lptype nofinal = {.name = "nofinal", .init = init_none, .event = on_event};
    assert_int_equal(dsend_des_add_lp(d, 0, &nofinal, NULL), DSEND_EINVAL);
    assert_int_equal(dsend_des_add_lp(d, 5, &node, NULL), DSEND_EINVAL);
    dsend_des_free(d);
    assert_int_equal(dsend_des_create(MPI_COMM_SELF, 2, one_rank, NULL, NULL, 1, &d), DSEND_EINVAL);
}

/* The prefetch hook is told, while an event runs, the LP of the event that
 * runs next; and it changes nothing in what runs. */
static uint32_t ran[8], hinted[8];
static int nran, nhinted;

static int record_lp(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    (void)des;
    (void)ev;
    ran[nran++] = lp->id;
    return 0;
}

static void hint(uint32_t lp, const void *arg)
{
    assert_ptr_equal(arg, &nhinted);
    hinted[nhinted++] = lp;
}

static void prefetch_names_the_next_event(void **state)
{
    (void)state;
    const dsend_lptype rec = {.name = "rec", .init = init_none, .event = record_lp,
                              .final = final_none};
    const uint32_t dst[] = {2, 0, 3, 1, 2};
    for (int with = 0; with < 2; with++) {
        dsend_des *d;
        assert_int_equal(dsend_des_create(MPI_COMM_SELF, 4, one_rank, la, NULL, INT64_MAX, &d), 0);
        for (uint32_t i = 0; i < 4; i++)
            assert_int_equal(dsend_des_add_lp(d, i, &rec, NULL), 0);
        if (with)
            dsend_des_prefetch(d, hint, &nhinted);
        dsend_event e;
        for (int i = 4; i >= 0; i--) { /* sent out of order */
            memset(&e, 0, sizeof e);
            e.ts = 10 * (i + 1);
            e.dst_lp = dst[i];
            e.type = T_LOG;
            assert_int_equal(dsend_des_send(d, dsend_des_lp(d, 0), &e), 0);
        }
        nran = nhinted = 0;
        assert_int_equal(dsend_des_run(d, DSEND_TIME_INF, NULL, NULL), 0);
        assert_int_equal(nran, 5);
        assert_memory_equal(ran, dst, sizeof dst);
        assert_int_equal(nhinted, with ? 4 : 0);
        if (with)
            assert_memory_equal(hinted, dst + 1, 4 * sizeof *dst);
        dsend_des_free(d);
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_timestamps),
        cmocka_unit_test(lookahead_is_checked),
        cmocka_unit_test(until_and_callbacks),
        cmocka_unit_test(prefetch_names_the_next_event),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    MPI_Finalize();
    return rc;
}
