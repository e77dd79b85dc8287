/* PHOLD, the standard benchmark of parallel discrete-event simulators, on
 * dsend's event core (src/des): every LP starts with POP events; an event
 * at t makes one new event at t + LOOKAHEAD + Exp(MEAN), for a uniformly
 * random LP (any rank) with probability REMOTE, else for itself.  The
 * parameters are ROSS's phold model's (remote 0.25, lookahead 1, mean 1; a
 * time unit is 1 ms here), with more LPs and a larger population per LP.
 * Events are ordered by the core (ts, src_lp, seq) and the random numbers
 * are a function of (LP, seq), so the count is the same at every -np.
 *   mpirun -np N bench/phold [LPS_PER_RANK [POP [REMOTE [END_MS]]]] */
#include "dsend/dsend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL

static uint32_t nlps, per_rank;
static double remote;
static const int64_t lookahead = MS, mean = MS;

static int phold_rank(uint32_t lp, const void *arg)
{
    (void)arg;
    return (int)(lp / per_rank);
}

static int64_t phold_lookahead(const dsend_event *ev, const void *arg)
{
    (void)ev;
    (void)arg;
    return lookahead;
}

/* uniform in [0, 1) from (LP, its event count, which draw) */
static double draw(const dsend_lp *lp, uint64_t k)
{
    uint64_t x = dsend_mix64(((uint64_t)lp->id << 40) ^ (lp->sent << 2) ^ k);
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

static int next(dsend_lp *lp, dsend_des *des, int64_t now)
{
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = now + lookahead + (int64_t)(-(double)mean * log1p(-draw(lp, 0)));
    ev.dst_lp = draw(lp, 1) < remote ? (uint32_t)(draw(lp, 2) * nlps) : lp->id;
    if (ev.dst_lp >= nlps)
        ev.dst_lp = nlps - 1;
    return dsend_des_send(des, lp, &ev);
}

static uint32_t pop;

static int phold_init(dsend_lp *lp, dsend_des *des)
{
    int rc = 0;
    for (uint32_t i = 0; i < pop && rc == 0; i++)
        rc = next(lp, des, 0);
    return rc;
}

static int phold_event(dsend_lp *lp, dsend_des *des, const dsend_event *ev)
{
    return next(lp, des, ev->ts);
}

static int phold_final(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

static const dsend_lptype phold = {
    .name = "phold", .init = phold_init, .event = phold_event, .final = phold_final};

int main(int argc, char **argv)
{
    int rank, size, rc;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    per_rank = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1024;
    pop = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 16;
    remote = argc > 3 ? strtod(argv[3], NULL) : 0.25;
    int64_t end = (argc > 4 ? strtoll(argv[4], NULL, 10) : 1000) * MS;
    if (per_rank < 1 || pop < 1 || !(remote >= 0 && remote <= 1) || end < 1) {
        fprintf(stderr, "phold: usage: phold [LPS_PER_RANK [POP [REMOTE [END_MS]]]]\n");
        MPI_Finalize();
        return 2;
    }
    nlps = per_rank * (uint32_t)size;
    dsend_des *des;
    if ((rc = dsend_des_create(MPI_COMM_WORLD, nlps, phold_rank, phold_lookahead, NULL, lookahead,
                               &des)) == 0)
        for (uint32_t i = 0; i < per_rank && rc == 0; i++)
            rc = dsend_des_add_lp(des, (uint32_t)rank * per_rank + i, &phold, NULL);
    if (rc) {
        fprintf(stderr, "phold: %s\n", dsend_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    rc = dsend_des_run(des, end, NULL, NULL);
    double t = MPI_Wtime() - t0, tmax = 0;
    if (rc) {
        fprintf(stderr, "phold: %s\n", dsend_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    unsigned long long ev = dsend_des_events(des), evs = 0;
    MPI_Reduce(&ev, &evs, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("phold: %d ranks, %u LPs, %u events per LP, remote %.2f, lookahead 1 ms, mean "
               "1 ms, %.0f ms: %llu events in %.2f s, %llu windows = %.3f M events/s\n",
               size, nlps, pop, remote, (double)end / MS, evs, tmax,
               (unsigned long long)dsend_des_windows(des), (double)evs / tmax / 1e6);
    dsend_des_free(des);
    MPI_Finalize();
    return 0;
}
