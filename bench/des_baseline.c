/* Baseline for bench/sim.sh: the discrete-event core alone on one rank.
 * LPs that only re-schedule themselves measure the core's cost per event
 * (heap, dispatch, windows) with no model behind it; the simulation's
 * events per second are reported as a ratio to this, measured in the same
 * run.  Usage: des_baseline [EVENTS] */
#include "dsend/dsend.h"

#include <stdlib.h>
#include <string.h>

static uint64_t budget;

static int ping_init(dsend_lp *lp, dsend_des *des)
{
    dsend_event ev;
    memset(&ev, 0, sizeof ev);
    ev.ts = lp->id;
    ev.dst_lp = lp->id;
    return dsend_des_send(des, lp, &ev);
}

static int ping_event(dsend_lp *lp, dsend_des *des, const dsend_event *in)
{
    if (budget == 0)
        return 0;
    budget--;
    dsend_event ev = *in;
    /* 1 to 8 ms ahead, as sub-block events are */
    ev.ts = in->ts + 1000000 + (int64_t)(dsend_mix64(in->seq ^ lp->id) % 7000000);
    return dsend_des_send(des, lp, &ev);
}

static int ping_final(dsend_lp *lp, dsend_des *des)
{
    (void)lp;
    (void)des;
    return 0;
}

static const dsend_lptype ping = {
    .name = "ping", .init = ping_init, .event = ping_event, .final = ping_final};

static int64_t one_ms(const dsend_event *ev, const void *arg)
{
    (void)ev;
    (void)arg;
    return 1000000; /* windows of 1 ms, as a 1 ms control latency gives */
}

static int one_rank(uint32_t lp, const void *arg)
{
    (void)lp;
    (void)arg;
    return 0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    budget = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000ull;
    uint64_t want = budget;
    const uint32_t nlps = 2016; /* as many LPs as the reference scenario */
    dsend_des *des;
    if (dsend_des_create(MPI_COMM_SELF, nlps, one_rank, one_ms, NULL, 1000000, &des) != 0) {
        fprintf(stderr, "des_baseline: %s\n", dsend_errmsg());
        return 1;
    }
    for (uint32_t i = 0; i < nlps; i++)
        dsend_des_add_lp(des, i, &ping, NULL);
    double t0 = MPI_Wtime();
    int rc = dsend_des_run(des, DSEND_TIME_INF, NULL, NULL);
    double t = MPI_Wtime() - t0;
    if (rc) {
        fprintf(stderr, "des_baseline: %s\n", dsend_errmsg());
        return 1;
    }
    printf("baseline: discrete-event core alone, 1 rank, %u LPs: %llu events in %.2f s = %.2f M events/s\n",
           nlps, (unsigned long long)dsend_des_events(des), t, (double)dsend_des_events(des) / t / 1e6);
    (void)want;
    dsend_des_free(des);
    MPI_Finalize();
    return 0;
}
