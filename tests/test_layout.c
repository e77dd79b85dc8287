/* Layout policies: distinct replicas, determinism, holds() vs place(),
 * balance, and validation of policies, D and R. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "dsend/checksum.h"
#include "dsend/error.h"
#include "dsend/layout.h"

#define MAXD 64 /* the largest D the sweeps cover */

/* Tiny stand-ins for <math.h>, so the test links without -lm. */
static double absd(double x) { return x < 0 ? -x : x; }
static double maxd(double a, double b) { return a > b ? a : b; }
static double root(double x) /* Newton; plenty for tolerances */
{
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 100; i++)
        r = 0.5 * (r + x / r);
    return r;
}

static const dsend_layout_policy *const policies[] = {&dsend_layout_stripe, &dsend_layout_hash};
#define NPOLICIES (sizeof policies / sizeof policies[0])

/* Asset ids near the ends of the range too, so nothing relies on small ids. */
static const uint32_t assets[] = {0, 1, 2, 3, 7, 63, 64, 1000, 0x7fffffffu, UINT32_MAX};
#define NASSETS (sizeof assets / sizeof assets[0])

static void open_ok(dsend_layout *L, const dsend_layout_policy *p, int D, int R)
{
    int rc = dsend_layout_open(L, p, D, R);
    if (rc)
        fail_msg("open %s D=%d R=%d: %s", p->name, D, R, dsend_errmsg());
}

/* For D in 1..64, both policies, R in 1..3 (R <= D): copies distinct and in
 * range; a second layout opened alike agrees on 4000 blocks (block ids past
 * 2^32 included); and holds() names exactly the devices place() does, with
 * the same replica index. */
static void distinct_deterministic_holds(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++)
        for (int D = 1; D <= MAXD; D++)
            for (int R = 1; R <= 3 && R <= D; R++) {
                dsend_layout A, B;
                open_ok(&A, policies[p], D, R);
                open_ok(&B, policies[p], D, R);
                for (size_t k = 0; k < NASSETS; k++)
                    for (uint64_t i = 0; i < 400; i++) {
                        uint32_t a = assets[k];
                        /* mostly consecutive blocks, a few huge ids */
                        uint64_t b = i < 390 ? i : UINT64_MAX - i;
                        int x[DSEND_MAX_REPLICAS], y[DSEND_MAX_REPLICAS];
                        dsend_layout_place(&A, a, b, x);
                        dsend_layout_place(&B, a, b, y);
                        assert_memory_equal(x, y, sizeof(int) * (size_t)R);
                        for (int r = 0; r < R; r++) {
                            assert_in_range(x[r], 0, D - 1);
                            for (int s = 0; s < r; s++)
                                assert_int_not_equal(x[r], x[s]);
                        }
                        if (i >= 50)
                            continue; /* the full holds() sweep is O(D) per block */
                        for (int d = 0; d < D; d++) {
                            int want = -1, got = -7;
                            for (int r = 0; r < R; r++)
                                if (x[r] == d)
                                    want = r;
                            int held = dsend_layout_holds(&A, a, b, d, &got);
                            assert_int_equal(held, want >= 0);
                            if (held)
                                assert_int_equal(got, want);
                            else
                                assert_int_equal(got, -7); /* untouched */
                            assert_int_equal(dsend_layout_holds(&A, a, b, d, NULL), held);
                        }
                    }
                dsend_layout_close(&A);
                dsend_layout_close(&B);
            }
}

/* stripe is exactly the documented formula. */
static void stripe_formula(void **state)
{
    (void)state;
    for (int D = 1; D <= MAXD; D++) {
        dsend_layout L;
        open_ok(&L, &dsend_layout_stripe, D, D < 3 ? D : 3);
        for (size_t k = 0; k < NASSETS; k++)
            for (uint64_t b = 0; b < 200; b++) {
                int x[DSEND_MAX_REPLICAS];
                dsend_layout_place(&L, assets[k], b, x);
                int primary = (int)((assets[k] % (uint64_t)D + b) % (uint64_t)D);
                for (int r = 0; r < L.replicas; r++)
                    assert_int_equal(x[r], (primary + r) % D);
            }
        /* no overflow at the top of the block range */
        int x[DSEND_MAX_REPLICAS];
        dsend_layout_place(&L, UINT32_MAX, UINT64_MAX, x);
        assert_int_equal(x[0], (int)((UINT32_MAX % D + UINT64_MAX % (uint64_t)D) % (uint64_t)D));
        dsend_layout_close(&L);
    }
}

/* stripe: per asset, per replica index, the device counts differ by at most
 * one, for block counts below, at and above D and not multiples of it. */
static void stripe_balance(void **state)
{
    (void)state;
    for (int D = 1; D <= MAXD; D++) {
        const uint64_t counts[] = {1, 2, 5, (uint64_t)D - 1, (uint64_t)D, (uint64_t)D + 1,
                                   2 * (uint64_t)D + 3, 63, 64, 65, 100, 1001};
        for (int R = 1; R <= 3 && R <= D; R++) {
            dsend_layout L;
            open_ok(&L, &dsend_layout_stripe, D, R);
            for (size_t k = 0; k < NASSETS; k++)
                for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
                    uint64_t per[3][MAXD] = {{0}};
                    for (uint64_t b = 0; b < counts[c]; b++) {
                        int x[DSEND_MAX_REPLICAS];
                        dsend_layout_place(&L, assets[k], b, x);
                        for (int r = 0; r < R; r++)
                            per[r][x[r]]++;
                    }
                    for (int r = 0; r < R; r++) {
                        uint64_t lo = UINT64_MAX, hi = 0;
                        for (int d = 0; d < D; d++) {
                            lo = per[r][d] < lo ? per[r][d] : lo;
                            hi = per[r][d] > hi ? per[r][d] : hi;
                        }
                        if (hi - lo > 1)
                            fail_msg("stripe D=%d R=%d asset %u, %llu blocks: replica %d "
                                     "counts %llu..%llu",
                                     D, R, assets[k], (unsigned long long)counts[c], r,
                                     (unsigned long long)lo, (unsigned long long)hi);
                    }
                }
            dsend_layout_close(&L);
        }
    }
}

/* ---- hash balance ----
 *
 * Over NA assets x NB blocks, how far is each device's count of copies of
 * index r from the mean N/D?  Every device is primary of exactly nbins/D
 * bins, so if the bin hash is as good as a random function each block is
 * primary on device d with probability 1/D independently, and d's count is
 * binomial(N, 1/D): relative standard deviation sigma = sqrt((D-1)/N), i.e.
 * 1.2% at D = 16 and 2.5% at D = 64 for N = 100000.  The bound is 6 sigma
 * (7.3% at D = 16, so tighter than a flat 15%): a random function breaks it
 * for a given device with probability ~2e-9, so for the ~2000 device checks
 * below with odds under 1e-5 -- and the layout is deterministic, so a pass
 * is a pass for good.  Real defects are far bigger: hashing only the block
 * id (every asset on the same bins) makes sigma ten times larger, which
 * broken_block_only_hash below checks is caught. */
#define NA 100
#define NB 1000

typedef void (*place_fn)(const dsend_layout *L, uint32_t asset, uint64_t block, int *devices);

/* Worst |count - mean| / mean over devices, for copy index r. */
static double worst_deviation(const dsend_layout *L, place_fn place, int r)
{
    uint64_t per[MAXD] = {0};
    for (uint32_t a = 0; a < NA; a++)
        for (uint64_t b = 0; b < NB; b++) {
            int x[DSEND_MAX_REPLICAS];
            place(L, a, b, x);
            per[x[r]]++;
        }
    double mean = (double)NA * NB / L->devices, worst = 0;
    for (int d = 0; d < L->devices; d++)
        worst = maxd(worst, absd((double)per[d] - mean) / mean);
    return worst;
}

static double six_sigma(int D) { return 6 * root((D - 1.0) / ((double)NA * NB)); }

static void hash_primary_balance(void **state)
{
    (void)state;
    for (int D = 1; D <= MAXD; D++) {
        dsend_layout L;
        open_ok(&L, &dsend_layout_hash, D, D < 2 ? 1 : 2);
        double w = worst_deviation(&L, dsend_layout_hash.place, 0), tol = six_sigma(D);
        if (D == 2 || D == 3 || D == 16 || D == 64)
            print_message("hash D=%d: worst primary deviation %.2f%% (bound %.2f%%)\n", D,
                          100 * w, 100 * tol);
        if (w > tol)
            fail_msg("hash D=%d: primary deviation %.2f%% > %.2f%%", D, 100 * w, 100 * tol);
        dsend_layout_close(&L);
    }
}

/* The checker is not vacuous: a placement that ignores the asset fails it. */
static void broken_block_only_hash(const dsend_layout *L, uint32_t asset, uint64_t block,
                                   int *devices)
{
    (void)asset;
    devices[0] = (int)(dsend_mix64(block) % (uint64_t)L->devices);
}

static void hash_balance_check_can_fail(void **state)
{
    (void)state;
    dsend_layout L = {.devices = 16, .replicas = 1};
    double w = worst_deviation(&L, broken_block_only_hash, 0);
    print_message("block-only hash D=16: worst deviation %.2f%% (must exceed %.2f%%)\n", 100 * w,
                  100 * six_sigma(16));
    assert_true(w > six_sigma(16));
}

/* Secondaries are chosen per bin by rendezvous, so a device is replica r of
 * a binomial number of bins (mean nbins/D = 64, relative sd ~1/8), not of
 * exactly as many: their balance is only statistical, with sigma about
 * sqrt(D/nbins + (D-1)/N).  6 sigma of that still catches a secondary pinned
 * to a few devices.  And a device's primary bins have their replica 1 spread
 * over many devices (not one fixed buddy), so a failure spreads its load. */
static void hash_secondaries(void **state)
{
    (void)state;
    for (int D = 2; D <= MAXD; D++) {
        int R = D < 3 ? D : 3;
        dsend_layout L;
        open_ok(&L, &dsend_layout_hash, D, R);
        uint64_t nbins = D * 64 < 1024 ? (1024 + (uint64_t)D - 1) / (uint64_t)D * (uint64_t)D
                                       : (uint64_t)D * 64;
        double tol = 6 * root((double)D / (double)nbins + (D - 1.0) / ((double)NA * NB));
        for (int r = 1; r < R; r++) {
            double w = worst_deviation(&L, dsend_layout_hash.place, r);
            if (D == 16 || D == 64)
                print_message("hash D=%d: worst replica-%d deviation %.2f%% (bound %.2f%%)\n", D,
                              r, 100 * w, 100 * tol);
            if (w > tol)
                fail_msg("hash D=%d: replica %d deviation %.2f%% > %.2f%%", D, r, 100 * w,
                         100 * tol);
        }
        /* where do device 0's primaries keep their replica 1? */
        int backup[MAXD] = {0}, spread = 0;
        for (uint32_t a = 0; a < NA; a++)
            for (uint64_t b = 0; b < NB; b++) {
                int x[DSEND_MAX_REPLICAS];
                dsend_layout_place(&L, a, b, x);
                if (x[0] == 0 && !backup[x[1]]++)
                    spread++;
            }
        if (D <= 3)
            assert_int_equal(spread, D - 1);
        else if (spread < (D - 1) / 2)
            fail_msg("hash D=%d: device 0's replica 1 on only %d devices", D, spread);
        dsend_layout_close(&L);
    }
}

/* ---- lookup and validation ---- */

static int ok_init(dsend_layout *L)
{
    (void)L;
    return 0;
}

static void ok_place(const dsend_layout *L, uint32_t a, uint64_t b, int *d)
{
    (void)L;
    (void)a;
    (void)b;
    d[0] = 0;
}

static void ok_fini(dsend_layout *L) { (void)L; }

static void find_policies(void **state)
{
    (void)state;
    assert_ptr_equal(dsend_layout_find("stripe"), &dsend_layout_stripe);
    assert_ptr_equal(dsend_layout_find("hash"), &dsend_layout_hash);
    assert_null(dsend_layout_find("nope"));
    assert_null(dsend_layout_find(""));
    int n = 0;
    for (int i = 0; dsend_layout_policies[i]; i++) {
        assert_non_null(dsend_layout_policies[i]->summary);
        n++;
    }
    assert_int_equal(n, 2);
}

/* open fails with DSEND_EINVAL, says `want`, and leaves L safe to close. */
static void open_fails(const dsend_layout_policy *p, int D, int R, const char *want)
{
    dsend_layout L;
    memset(&L, 0xa5, sizeof L);
    dsend_clearerr();
    assert_int_equal(dsend_layout_open(&L, p, D, R), DSEND_EINVAL);
    if (!strstr(dsend_errmsg(), want))
        fail_msg("open D=%d R=%d: message \"%s\" lacks \"%s\"", D, R, dsend_errmsg(), want);
    assert_null(L.policy);
    assert_null(L.state);
    dsend_layout_close(&L);
}

static void validation(void **state)
{
    (void)state;
    for (size_t p = 0; p < NPOLICIES; p++) {
        open_fails(policies[p], 4, 5, "--replicas 5: must be between 1 and 4 (the number of devices)");
        open_fails(policies[p], 1, 2, "--replicas 2: must be between 1 and 1");
        open_fails(policies[p], 4, 0, "--replicas 0: must be between 1 and 4");
        open_fails(policies[p], 4, -1, "--replicas -1");
        open_fails(policies[p], 64, 17, "--replicas 17: must be between 1 and 16");
        open_fails(policies[p], 0, 1, "--devices 0: must be between 1 and 65536");
        open_fails(policies[p], -3, 1, "--devices -3");
        open_fails(policies[p], DSEND_MAX_DEVICES + 1, 1, "--devices 65537");
    }
    /* R > DSEND_MAX_REPLICAS is not blamed on the device count */
    dsend_layout L;
    assert_int_equal(dsend_layout_open(&L, &dsend_layout_stripe, 64, 17), DSEND_EINVAL);
    assert_null(strstr(dsend_errmsg(), "number of devices"));
    /* the edges are accepted */
    open_ok(&L, &dsend_layout_stripe, 1, 1);
    dsend_layout_close(&L);
    open_ok(&L, &dsend_layout_hash, 16, 16);
    dsend_layout_close(&L);
    open_ok(&L, &dsend_layout_stripe, DSEND_MAX_DEVICES, DSEND_MAX_REPLICAS);
    int x[DSEND_MAX_REPLICAS];
    dsend_layout_place(&L, 5, 65535, x);
    assert_int_equal(x[0], 4);
    assert_int_equal(x[15], 19);
    dsend_layout_close(&L);
}

/* A backend missing a method is refused, never patched with a default. */
static void incomplete_policies(void **state)
{
    (void)state;
    const dsend_layout_policy noplace = {.name = "noplace", .summary = "x", .init = ok_init,
                                         .place = NULL, .fini = ok_fini};
    open_fails(&noplace, 4, 1, "layout policy 'noplace' lacks method place");
    assert_string_equal(dsend_errmsg(), "layout policy 'noplace' lacks method place");
    const dsend_layout_policy noinit = {.name = "noinit", .place = ok_place, .fini = ok_fini};
    open_fails(&noinit, 4, 1, "layout policy 'noinit' lacks method init");
    const dsend_layout_policy nofini = {.name = "nofini", .init = ok_init, .place = ok_place};
    open_fails(&nofini, 4, 1, "layout policy 'nofini' lacks method fini");
    const dsend_layout_policy noname = {.init = ok_init, .place = ok_place, .fini = ok_fini};
    open_fails(&noname, 4, 1, "lacks a name");
    open_fails(NULL, 4, 1, "no layout policy");
    /* a complete one opens */
    const dsend_layout_policy fine = {.name = "fine", .init = ok_init, .place = ok_place,
                                      .fini = ok_fini};
    dsend_layout L;
    open_ok(&L, &fine, 4, 1);
    assert_true(dsend_layout_holds(&L, 9, 9, 0, NULL));
    dsend_layout_close(&L);
    /* closing a layout that never opened is harmless */
    dsend_layout Z;
    memset(&Z, 0, sizeof Z);
    dsend_layout_close(&Z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(distinct_deterministic_holds),
        cmocka_unit_test(stripe_formula),
        cmocka_unit_test(stripe_balance),
        cmocka_unit_test(hash_primary_balance),
        cmocka_unit_test(hash_balance_check_can_fail),
        cmocka_unit_test(hash_secondaries),
        cmocka_unit_test(find_policies),
        cmocka_unit_test(validation),
        cmocka_unit_test(incomplete_policies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
