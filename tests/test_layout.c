/* Layout policies: distinct replicas, determinism, balance, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsend/error.h"
#include "dsend/layout.h"

static const dsend_layout_policy *policies[] = {&dsend_layout_stripe, &dsend_layout_hash};

/* For D in 1..64, both policies, R in 1..3: copies distinct and in range,
 * and a second layout opened alike agrees block for block. */
static void distinct_and_deterministic(void **state)
{
    (void)state;
    for (int p = 0; p < 2; p++)
        for (int D = 1; D <= 64; D++)
            for (int R = 1; R <= 3 && R <= D; R++) {
                dsend_layout A, B;
                assert_int_equal(dsend_layout_open(&A, policies[p], D, R), 0);
                assert_int_equal(dsend_layout_open(&B, policies[p], D, R), 0);
                for (uint32_t a = 0; a < 7; a++)
                    for (uint64_t b = 0; b < 300; b++) {
                        int x[DSEND_MAX_REPLICAS], y[DSEND_MAX_REPLICAS];
                        dsend_layout_place(&A, a, b, x);
                        dsend_layout_place(&B, a, b, y);
                        assert_memory_equal(x, y, sizeof(int) * (size_t)R);
                        for (int i = 0; i < R; i++) {
                            assert_true(x[i] >= 0 && x[i] < D);
                            for (int j = 0; j < i; j++)
                                assert_int_not_equal(x[i], x[j]);
                            int rep = -1;
                            assert_true(dsend_layout_holds(&A, a, b, x[i], &rep));
                            assert_int_equal(rep, i);
                        }
                        /* a device not named does not hold it */
                        if (R < D) {
                            for (int d = 0; d < D; d++) {
                                int named = 0;
                                for (int i = 0; i < R; i++)
                                    named |= x[i] == d;
                                if (!named) {
                                    assert_false(dsend_layout_holds(&A, a, b, d, NULL));
                                    break;
                                }
                            }
                        }
                    }
                dsend_layout_close(&A);
                dsend_layout_close(&B);
            }
}

/* stripe: per asset, per replica index, device counts differ by at most one,
 * for block counts below, at and above D. */
static void stripe_balance(void **state)
{
    (void)state;
    const uint64_t counts[] = {1, 2, 5, 63, 64, 65, 100, 1001};
    for (int D = 1; D <= 64; D++)
        for (int R = 1; R <= 3 && R <= D; R++) {
            dsend_layout L;
            assert_int_equal(dsend_layout_open(&L, &dsend_layout_stripe, D, R), 0);
            for (uint32_t a = 0; a < 10; a++)
                for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
                    uint64_t per[DSEND_MAX_REPLICAS][64] = {{0}};
                    for (uint64_t b = 0; b < counts[c]; b++) {
                        int x[DSEND_MAX_REPLICAS];
                        dsend_layout_place(&L, a, b, x);
                        for (int r = 0; r < R; r++)
                            per[r][x[r]]++;
                    }
                    for (int r = 0; r < R; r++) {
                        uint64_t lo = UINT64_MAX, hi = 0;
                        for (int d = 0; d < D; d++) {
                            lo = per[r][d] < lo ? per[r][d] : lo;
                            hi = per[r][d] > hi ? per[r][d] : hi;
                        }
                        assert_true(hi - lo <= 1);
                    }
                }
            dsend_layout_close(&L);
        }
}

/* stripe: the first blocks of a catalogue (every session's start, the hot
 * ones) spread over every device: the blocks 0..k of D x 7 assets put the
 * same count on each device, whatever k. */
static void stripe_starts_spread(void **state)
{
    (void)state;
    for (int D = 2; D <= 16; D++) {
        dsend_layout L;
        assert_int_equal(dsend_layout_open(&L, &dsend_layout_stripe, D, 1), 0);
        for (uint64_t k = 0; k < 3; k++) {
            uint64_t per[16] = {0};
            for (uint32_t a = 0; a < (uint32_t)D * 7; a++) {
                int x[1];
                dsend_layout_place(&L, a, k, x);
                per[x[0]]++;
            }
            for (int d = 0; d < D; d++)
                assert_int_equal(per[d], 7);
        }
        dsend_layout_close(&L);
    }
}

/* stripe: declustered secondaries.  Over (D-1) rounds of D blocks, the
 * secondaries of the blocks whose primary is device x are every other
 * device equally often, so a dead device's load spreads evenly. */
static void stripe_declustered(void **state)
{
    (void)state;
    for (int D = 2; D <= 17; D++) {
        dsend_layout L;
        assert_int_equal(dsend_layout_open(&L, &dsend_layout_stripe, D, 2), 0);
        for (uint32_t a = 0; a < 5; a++) {
            uint64_t sec[17][17] = {{0}};
            for (uint64_t b = 0; b < (uint64_t)D * (uint64_t)(D - 1); b++) {
                int x[2];
                dsend_layout_place(&L, a, b, x);
                assert_int_not_equal(x[0], x[1]);
                sec[x[0]][x[1]]++;
            }
            for (int p = 0; p < D; p++)
                for (int q = 0; q < D; q++)
                    assert_int_equal(sec[p][q], p == q ? 0 : 1);
        }
        dsend_layout_close(&L);
    }
}

/* hash: over 100 assets x 1000 blocks every device's primary count is near
 * the mean.  Blocks pick one of 64*D bins (at least 1024) uniformly and bins
 * are dealt evenly to devices, so a device's count is about binomial(N, 1/D):
 * for D = 16, N = 100000, sd/mean = sqrt((1-1/D)/(N/D)) ~ 1.2%; a 10% bound
 * is over 8 standard deviations, yet a real skew (a bad mix, bins dealt
 * unevenly) breaks it.  Secondary copies are checked the same way. */
static void hash_balance(void **state)
{
    (void)state;
    int Ds[] = {2, 3, 8, 16};
    for (size_t k = 0; k < sizeof Ds / sizeof Ds[0]; k++) {
        int D = Ds[k];
        dsend_layout L;
        assert_int_equal(dsend_layout_open(&L, &dsend_layout_hash, D, 2), 0);
        uint64_t prim[16] = {0}, sec[16] = {0}, N = 0;
        for (uint32_t a = 0; a < 100; a++)
            for (uint64_t b = 0; b < 1000; b++) {
                int x[2];
                dsend_layout_place(&L, a, b, x);
                prim[x[0]]++;
                sec[x[1]]++;
                N++;
            }
        double mean = (double)N / D, worst = 0;
        for (int d = 0; d < D; d++) {
            double e1 = fabs((double)prim[d] - mean) / mean, e2 = fabs((double)sec[d] - mean) / mean;
            worst = fmax(worst, fmax(e1, e2));
        }
        print_message("hash D=%d: worst deviation from the mean %.2f%%\n", D, 100 * worst);
        assert_true(worst < 0.10);
        dsend_layout_close(&L);
    }
}

static void no_state_call(const dsend_layout *L, uint32_t a, uint64_t b, int *d)
{
    (void)L;
    (void)a;
    (void)b;
    d[0] = 0;
}

static int ok_init(dsend_layout *L)
{
    (void)L;
    return 0;
}

static void validation(void **state)
{
    (void)state;
    assert_ptr_equal(dsend_layout_find("stripe"), &dsend_layout_stripe);
    assert_ptr_equal(dsend_layout_find("hash"), &dsend_layout_hash);
    assert_null(dsend_layout_find("nope"));
    int n = 0;
    for (int i = 0; dsend_layout_policies[i]; i++)
        n++;
    assert_int_equal(n, 2);

    dsend_layout L;
    assert_int_equal(dsend_layout_open(&L, &dsend_layout_stripe, 4, 5), DSEND_EINVAL);
    assert_string_equal(dsend_errmsg(), "--replicas 5: must be between 1 and 4 (the number of devices)");
    assert_int_equal(dsend_layout_open(&L, &dsend_layout_stripe, 4, 0), DSEND_EINVAL);
    assert_int_equal(dsend_layout_open(&L, &dsend_layout_hash, 0, 1), DSEND_EINVAL);
    assert_non_null(strstr(dsend_errmsg(), "0 devices"));
    assert_int_equal(dsend_layout_open(&L, &dsend_layout_hash, DSEND_MAX_DEVICES + 1, 1), DSEND_EINVAL);
    assert_int_equal(dsend_layout_open(&L, &dsend_layout_hash, 64, 17), DSEND_EINVAL);
    assert_non_null(strstr(dsend_errmsg(), "between 1 and 16"));
    /* a backend missing a method is refused, not patched */
    const dsend_layout_policy noplace = {.name = "noplace", .init = ok_init, .place = NULL,
                                         .fini = dsend_layout_stripe.fini};
    assert_int_equal(dsend_layout_open(&L, &noplace, 4, 1), DSEND_EINVAL);
    assert_string_equal(dsend_errmsg(), "layout policy 'noplace' lacks method place");
    const dsend_layout_policy nofini = {.name = "nofini", .init = ok_init, .place = no_state_call};
    assert_int_equal(dsend_layout_open(&L, &nofini, 4, 1), DSEND_EINVAL);
    assert_string_equal(dsend_errmsg(), "layout policy 'nofini' lacks method fini");
    /* closing a layout that never opened is harmless */
    dsend_layout Z;
    memset(&Z, 0, sizeof Z);
    dsend_layout_close(&Z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distinct_and_deterministic),
        cmocka_unit_test(stripe_balance),
        cmocka_unit_test(stripe_declustered),
        cmocka_unit_test(stripe_starts_spread),
        cmocka_unit_test(hash_balance),
        cmocka_unit_test(validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
