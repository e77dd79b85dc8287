/* MPI scenario program for `dsend sim`, run under real mpirun.
 *
 *   sim_check CHECK DIR
 *
 * CHECK is one of conservation, timing, capacity, determinism, striping.
 * DIR is a scratch directory (rank 0 makes synthetic libraries there).
 * Every check asserts on the simulation's own results; none on wall time.
 * Exit 0 when every assertion holds; a message and exit 1 otherwise. */
#include "dsend/dsend.h"

#include <stdlib.h>
#include <string.h>

#include "dsend/workload.h"
#include "mpi_check.h"

static char libpath[4200];

static dsend_sim_config base(const char *lib)
{
    dsend_sim_config c = {
        .library = lib, .client_ranks = 1, .clients = 10, .zipf = 0,
        .arrival = DSEND_ARRIVAL_STAGGERED, .arrival_window = 2000000000,
        .startup = 2000000000, .lead = 2000000000, .tick = 100000000,
        .pace_lead = 300000000, .pace_batch = 500000, .prebuffer = 1000000000,
        .sub_block = 65800, .nic_bps = 10000000000ull, .client_bps = 25000000,
        .ctrl_latency = 1000000, .data_latency = 5000000, .interval = 1000000000,
        .layout = "stripe", .replicas = 1, .seed = 1,
        .heartbeat = 100000000, .detect = 300000000, .admission = 0, .admit_load = 0.9,
    };
    return c;
}

/* rank 0 writes a synthetic library; everybody waits for it */
static const char *synthetic(const char *dir, const char *name, int64_t assets, uint64_t bps,
                             int64_t dur_ns, uint64_t block)
{
    snprintf(libpath, sizeof libpath, "%s/%s", dir, name);
    if (world_rank == 0) {
        dsend_gen_opts o = {.assets = assets, .bitrate_min = bps, .bitrate_max = bps,
                            .duration_min = dur_ns, .duration_max = dur_ns, .block_size = block,
                            .seed = 3, .force = 1};
        CHECK(dsend_gen(libpath, &o, NULL) == 0, "%s", dsend_errmsg());
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return libpath;
}

static void run(MPI_Comm comm, const dsend_sim_config *c, dsend_sim_result *r)
{
    int rc = dsend_sim_run(comm, c, r);
    CHECK(rc == 0, "%s", dsend_errmsg());
}

static void conserved(const dsend_sim_result *r, const char *what)
{
    for (uint32_t i = 0; i < r->nclients; i++) {
        const dsend_client_stats *s = &r->clients[i];
        CHECK(s->client == i, "%s: client table out of order", what);
        CHECK(s->expected > 0 && s->received == s->expected && s->lost == 0 &&
                  s->duplicate == 0 && s->unexpected == 0 && s->crc_errors == 0,
              "%s: client %u got %llu of %llu packets, %llu duplicate, %llu unexpected, %llu "
              "payload errors",
              what, i, (unsigned long long)s->received, (unsigned long long)s->expected,
              (unsigned long long)s->duplicate, (unsigned long long)s->unexpected,
              (unsigned long long)s->crc_errors);
    }
}

/* Every client receives every packet of its session exactly once, with
 * the library's checksum: stored (MPEG-TS) and synthetic assets. */
static void check_conservation(const char *dir)
{
    dsend_sim_result r;
    dsend_sim_config c = base(getenv("DSEND_SAMPLE_LIB"));
    c.clients = 25;
    run(MPI_COMM_WORLD, &c, &r);
    if (world_rank == 0) {
        conserved(&r, "sample");
        printf("conservation (sample, %u clients): every packet exactly once, checksums match\n",
               r.nclients);
        dsend_sim_result_free(&r);
    }
    c = base(synthetic(dir, "cons.h5", 7, 3000000, 20000000000, 200000));
    c.clients = 40;
    c.sub_block = 38 * 1316;
    c.zipf = 1.0;
    c.session_min = 5000000000;
    c.session_max = 15000000000;
    run(MPI_COMM_WORLD, &c, &r);
    if (world_rank == 0) {
        conserved(&r, "synthetic");
        printf("conservation (synthetic, 7 assets, partial sessions): every packet exactly once\n");
        dsend_sim_result_free(&r);
    }
    /* every client pauses and seeks.  A pause drops what the pacers had
     * not released and the resume sends it again from its sub-block, so a
     * client may get up to a sub-block of packets twice (and the packet or
     * two released while the pause travelled to the other devices, one
     * control latency); a seek abandons
     * what its old plan had not sent.  Nothing else is lost or doubled, and
     * every payload is right. */
    c.pause_prob = 1;
    c.seek_prob = 1;
    c.pause_min = 500000000;
    c.pause_max = 4000000000;
    run(MPI_COMM_WORLD, &c, &r);
    if (world_rank == 0) {
        uint64_t pauses = 0, seeks = 0, dup = 0, per_sub = (c.sub_block + 1315) / 1316 + 2;
        for (uint32_t i = 0; i < r.nclients; i++) {
            const dsend_client_stats *s = &r.clients[i];
            pauses += s->pauses;
            seeks += s->seeks;
            dup += s->duplicate;
            CHECK(s->lost == 0 && s->received == s->expected && s->crc_errors == 0 &&
                      s->duplicate <= per_sub,
                  "pause and seek: client %u got %llu of %llu packets, %llu duplicate, %llu "
                  "payload errors",
                  i, (unsigned long long)s->received, (unsigned long long)s->expected,
                  (unsigned long long)s->duplicate, (unsigned long long)s->crc_errors);
        }
        CHECK(pauses == (uint64_t)c.clients && seeks == (uint64_t)c.clients,
              "%llu pauses and %llu seeks for %lld clients", (unsigned long long)pauses,
              (unsigned long long)seeks, (long long)c.clients);
        printf("conservation (every client pauses and seeks): every packet of every plan, "
               "%llu sent twice after a pause (at most a sub-block a client)\n",
               (unsigned long long)dup);
        dsend_sim_result_free(&r);
    }
}

/* One stream on an idle model: every packet leaves exactly at its playout
 * time minus the pace lead (the first when the request reached the
 * scheduler plus the startup), and reaches the client at departure + data
 * latency + its wire bytes on the access link (behind the previous packet
 * when that link is still busy).  Playout starts a prebuffer after the
 * first packet. */
static void check_timing(const char *dir)
{
    (void)dir;
    dsend_sim_config c = base(getenv("DSEND_SAMPLE_LIB"));
    c.clients = 1;
    c.trace = 1;
    dsend_sim_result r;
    run(MPI_COMM_WORLD, &c, &r);
    if (world_rank != 0)
        return;
    const dsend_client_stats *s = &r.clients[0];
    CHECK(r.narrivals == s->expected && s->received == s->expected,
          "trace has %llu arrivals for %llu packets", (unsigned long long)r.narrivals,
          (unsigned long long)s->expected);
    dsend_library lib = {.file = -1};
    CHECK(dsend_library_open(c.library, MPI_COMM_NULL, &lib) == 0, "%s", dsend_errmsg());
    const dsend_asset *a = &lib.assets[0];
    int64_t play = c.ctrl_latency + c.startup; /* byte 0 plays here on the server's plan */
    int64_t prev = 0;
    uint64_t queued = 0;
    for (uint64_t i = 0; i < r.narrivals; i++) {
        const dsend_arrival_rec *p = &r.arrivals[i];
        CHECK(p->offset == dsend_packet_offset(a, i), "packet %llu at offset %llu",
              (unsigned long long)i, (unsigned long long)p->offset);
        int64_t depart = dsend_media_time(a, 0, play, p->offset) - c.pace_lead;
        /* two roundings to the ns: the sub-block's deadline, the run's packets */
        CHECK(p->sent - depart <= 2 && depart - p->sent <= 2,
              "packet at offset %llu left at %lld ns, want %lld (+-2)",
              (unsigned long long)p->offset, (long long)p->sent, (long long)depart);
        int64_t at_link = p->sent + c.data_latency;
        int64_t start = at_link > prev ? at_link : prev;
        queued += at_link < prev;
        int64_t want = start + dsend_wire_ns(p->len + 40, c.client_bps);
        CHECK(p->arrival == want, "packet at offset %llu arrived at %lld ns, want %lld",
              (unsigned long long)p->offset, (long long)p->arrival, (long long)want);
        prev = p->arrival;
    }
    const dsend_arrival_rec *f = &r.arrivals[0];
    CHECK(f->deadline == f->arrival + c.prebuffer, "first packet's playout at %lld, want %lld",
          (long long)f->deadline, (long long)(f->arrival + c.prebuffer));
    CHECK(s->startup_ns == f->arrival + c.prebuffer - s->request_at, "startup %lld ns",
          (long long)s->startup_ns);
    CHECK(s->underruns == 0 && s->late == 0, "an idle model stalls");
    printf("timing: %llu packets each left at playout - pace lead and arrived exactly at the FIFO "
           "model's time (%llu queued behind the previous); startup %.3f s\n",
           (unsigned long long)r.narrivals, (unsigned long long)queued, s->startup_ns / 1e9);
    dsend_library_close(&lib);
    dsend_sim_result_free(&r);
}

/* D devices with links of rate C serving N streams of bitrate R. */
static void capacity(const char *lib, int D, double load, uint64_t nic, uint64_t R,
                     dsend_sim_result *r)
{
    dsend_sim_config c = base(lib);
    c.nic_bps = nic;
    c.clients = (int64_t)(load * (double)D * (double)nic / (double)R + 0.5);
    c.arrival_window = 5000000000;
    c.sub_block = 25 * 1316;
    c.zipf = 0;
    run(MPI_COMM_WORLD, &c, r);
}

static void check_capacity(const char *dir)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int D = size - 1;
    const uint64_t R = 4000000, nic = 40000000;
    const char *lib = synthetic(dir, "cap.h5", 16, R, 40000000000, 262144);
    dsend_sim_result lo, hi;
    capacity(lib, D, 0.8, nic, R, &lo);
    capacity(lib, D, 1.3, nic, R, &hi);
    if (world_rank != 0)
        return;
    uint64_t under_lo = 0, under_hi = 0;
    for (uint32_t i = 0; i < lo.nclients; i++)
        under_lo += lo.clients[i].underruns;
    for (uint32_t i = 0; i < hi.nclients; i++)
        under_hi += hi.clients[i].underruns;
    conserved(&lo, "load 0.8");
    CHECK(under_lo == 0, "load 0.8 (%u streams): %llu underruns", lo.nclients,
          (unsigned long long)under_lo);
    CHECK(under_hi > 0, "load 1.3 (%u streams): no underruns", hi.nclients);
    /* lateness grows with time: mean lateness of packets due in the last
     * quarter of the run against those due in the first quarter (after the
     * arrivals have settled) */
    uint32_t n = hi.nintervals, q = n / 4;
    CHECK(n >= 8, "too few intervals (%u)", n);
    double early = 0, late = 0;
    uint64_t ne = 0, nl = 0;
    for (uint32_t k = q; k < 2 * q; k++) {
        early += hi.late_mean_ns[k] * (double)hi.late_count[k];
        ne += hi.late_count[k];
    }
    for (uint32_t k = n - q; k < n; k++) {
        late += hi.late_mean_ns[k] * (double)hi.late_count[k];
        nl += hi.late_count[k];
    }
    early /= (double)(ne ? ne : 1);
    late /= (double)(nl ? nl : 1);
    CHECK(late > early + 1e9, "load 1.3: mean lateness %.3f s late in the run vs %.3f s earlier",
          late / 1e9, early / 1e9);
    printf("capacity: %d devices x %.0f Mbit/s, %.0f Mbit/s streams: %u streams (0.8) no underruns; "
           "%u streams (1.3) %llu underruns, mean lateness %.2f s -> %.2f s\n",
           D, nic / 1e6, R / 1e6, lo.nclients, hi.nclients, (unsigned long long)under_hi,
           early / 1e9, late / 1e9);
    dsend_sim_result_free(&lo);
    dsend_sim_result_free(&hi);
}

/* Same inputs and seed: identical per-client tables, run twice, and with
 * the clients on one rank or on two. */
static void check_determinism(const char *dir)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    CHECK(size >= 4 && size % 2 == 0, "determinism needs an even -np of 4 or more (D = np - 2)");
    const char *lib = synthetic(dir, "det.h5", 9, 2000000, 15000000000, 131072);
    dsend_sim_config c = base(lib);
    c.clients = 60;
    c.zipf = 0.9;
    c.arrival = DSEND_ARRIVAL_POISSON;
    c.arrival_rate = 20;
    c.loss = 0.01;
    c.jitter = 60000000;
    c.pause_prob = 0.3;
    c.seek_prob = 0.3;
    c.pause_min = 1000000000;
    c.pause_max = 3000000000;
    c.nic_bps = 30000000; /* loaded: queues, reordering and lateness matter */
    c.client_ranks = 2;
    dsend_sim_result a, b, k1;
    run(MPI_COMM_WORLD, &c, &a);
    run(MPI_COMM_WORLD, &c, &b);
    /* K = 1 on the first np-1 ranks: the same D devices */
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank < size - 1 ? 0 : MPI_UNDEFINED, world_rank, &sub);
    if (sub != MPI_COMM_NULL) {
        c.client_ranks = 1;
        run(sub, &c, &k1);
        MPI_Comm_free(&sub);
    }
    /* the same D devices hosted two per rank on fewer ranks (D must be even) */
    dsend_sim_result few;
    int D = size - 2, Dr = D / 2;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank < Dr + 1 ? 0 : MPI_UNDEFINED, world_rank, &sub);
    if (sub != MPI_COMM_NULL) {
        c.client_ranks = 1;
        c.devices = D;
        run(sub, &c, &few);
        MPI_Comm_free(&sub);
    }
    if (world_rank != 0)
        return;
    size_t bytes = a.nclients * sizeof *a.clients;
    CHECK(few.nclients == a.nclients && memcmp(a.clients, few.clients, bytes) == 0,
          "%d devices on %d ranks and on %d ranks differ", D, D, Dr);
    dsend_sim_result_free(&few);
    CHECK(a.nclients == b.nclients && memcmp(a.clients, b.clients, bytes) == 0,
          "two runs differ");
    CHECK(k1.nclients == a.nclients && memcmp(a.clients, k1.clients, bytes) == 0,
          "K=1 and K=2 differ");
    uint64_t lost = 0, ooo = 0;
    for (uint32_t i = 0; i < a.nclients; i++) {
        lost += a.clients[i].lost;
        ooo += a.clients[i].out_of_order;
    }
    CHECK(lost > 0 && ooo > 0, "the scenario should exercise loss (%llu) and reordering (%llu)",
          (unsigned long long)lost, (unsigned long long)ooo);
    printf("determinism: %u clients with loss and jitter: identical tables twice, for K=1 and K=2, "
           "and with %d devices on %d or %d ranks\n",
           a.nclients, size - 2, size - 2, (size - 2) / 2);
    dsend_sim_result_free(&a);
    dsend_sim_result_free(&b);
    dsend_sim_result_free(&k1);
}

/* Uniform load: every device sends within a few percent of the mean. */
static void check_striping(const char *dir)
{
    const char *lib = synthetic(dir, "stripe.h5", 12, 3000000, 30000000000, 262144);
    dsend_sim_config c = base(lib);
    c.clients = 120;
    c.zipf = 0;
    dsend_sim_result r;
    run(MPI_COMM_WORLD, &c, &r);
    if (world_rank != 0)
        return;
    double mean = 0;
    for (int d = 0; d < r.devices; d++)
        mean += (double)r.devs[d].bytes / r.devices;
    for (int d = 0; d < r.devices; d++) {
        double dev = ((double)r.devs[d].bytes - mean) / mean;
        CHECK(dev < 0.05 && dev > -0.05, "device %d sent %.1f%% off the mean", d, 100 * dev);
    }
    printf("striping: %d devices each within 5%% of the mean of %.1f MiB\n", r.devices,
           mean / 1048576);
    dsend_sim_result_free(&r);
}

/* Failover: 4 devices, two copies of every block, device 2 dies mid-run.
 * Clients with a prebuffer of the detection delay plus one block's worth
 * lose nothing and never stall; the dead device's sessions are taken over
 * by several survivors; no survivor carries more than its share x (1 +
 * 1/(D-1)) + one block.  With one copy the same failure loses packets
 * (the failure is real). */
static void check_failover(const char *dir)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int D = size - 1;
    CHECK(D >= 3, "failover needs -np 4 or more");
    const uint64_t R = 4000000, block = 1048576;
    const char *lib = synthetic(dir, "fail.h5", 8, R, 60000000000, block);
    dsend_sim_config c = base(lib);
    c.clients = 40;
    c.arrival_window = 5000000000;
    int64_t block_ns = (int64_t)(block * 8 * 1000000000ull / R);
    c.prebuffer = c.detect + c.heartbeat + block_ns;
    char fail[32];
    snprintf(fail, sizeof fail, "%d@20s", D / 2);
    c.fail = fail;
    dsend_sim_result two, one, none, back;
    c.replicas = 2;
    run(MPI_COMM_WORLD, &c, &two);
    char recover[32];
    snprintf(recover, sizeof recover, "%d@30s", D / 2);
    c.recover = recover;
    run(MPI_COMM_WORLD, &c, &back);
    c.recover = NULL;
    c.replicas = 1;
    run(MPI_COMM_WORLD, &c, &one);
    c.replicas = 2;
    c.fail = NULL;
    run(MPI_COMM_WORLD, &c, &none);
    if (world_rank != 0)
        return;
    uint64_t dup = 0, owned = 0;
    for (uint32_t i = 0; i < two.nclients; i++) {
        const dsend_client_stats *s = &two.clients[i];
        CHECK(s->expected > 0 && s->received == s->expected && s->lost == 0 &&
                  s->crc_errors == 0 && s->underruns == 0,
              "replicas 2, device %d failed: client %u (scheduler %u) got %llu of %llu packets, "
              "%u underruns",
              D / 2, i, s->scheduler, (unsigned long long)s->received,
              (unsigned long long)s->expected, s->underruns);
        dup += s->duplicate;
        if (dsend_workload_scheduler(i, (uint32_t)D) == (uint32_t)(D / 2)) {
            owned++; /* a deputy's scheduler holds it now, and told the client */
            CHECK(s->scheduler != (uint32_t)(D / 2), "client %u still names the dead scheduler",
                  i);
        }
    }
    uint64_t takeovers = 0, lost1 = 0;
    int deputies = 0;
    double share = 0;
    for (int d = 0; d < D; d++)
        share += (double)none.devs[d].bytes / D;
    for (int d = 0; d < D; d++) {
        takeovers += two.devs[d].takeovers;
        deputies += two.devs[d].takeovers > 0;
        if (d == D / 2)
            continue;
        CHECK(two.devs[d].failovers == 1, "device %d took %llu devices for dead", d,
              (unsigned long long)two.devs[d].failovers);
        double bound = share * (1 + 1.0 / (D - 1)) + (double)block;
        CHECK((double)two.devs[d].bytes <= bound,
              "survivor %d sent %.1f MiB, above its share %.1f MiB x (1 + 1/%d) + a block",
              d, two.devs[d].bytes / 1048576.0, share / 1048576, D - 1);
    }
    CHECK(owned > 0 && takeovers == owned, "%llu sessions of device %d taken over, it owned %llu",
          (unsigned long long)takeovers, D / 2, (unsigned long long)owned);
    CHECK(deputies >= 2, "the dead device's sessions went to %d survivor(s)", deputies);
    for (uint32_t i = 0; i < one.nclients; i++)
        lost1 += one.clients[i].lost;
    CHECK(lost1 > 0, "replicas 1: the failure lost nothing (was it real?)");
    /* back at 30 s: nothing lost, and it sends its blocks again */
    for (uint32_t i = 0; i < back.nclients; i++)
        CHECK(back.clients[i].lost == 0 && back.clients[i].underruns == 0,
              "recovery: client %u lost %llu packets", i,
              (unsigned long long)back.clients[i].lost);
    CHECK(back.devs[D / 2].bytes > two.devs[D / 2].bytes + 10 * block,
          "device %d recovered at 30 s but sent %.1f MiB (%.1f MiB without recovering)", D / 2,
          back.devs[D / 2].bytes / 1048576.0, two.devs[D / 2].bytes / 1048576.0);
    printf("failover: device %d of %d dies at 20 s: replicas 2: 0 lost, 0 underruns (prebuffer "
           "%.2f s), %llu duplicates, %llu sessions taken over by %d survivors; replicas 1: "
           "%llu packets lost; back at 30 s: 0 lost, it sends again\n",
           D / 2, D, c.prebuffer / 1e9, (unsigned long long)dup, (unsigned long long)takeovers,
           deputies, (unsigned long long)lost1);
    dsend_sim_result_free(&two);
    dsend_sim_result_free(&one);
    dsend_sim_result_free(&none);
    dsend_sim_result_free(&back);
}

/* Admission at 130% of the links' capacity: every admitted client is
 * clean, and the refused share is the analytic one (the links carry
 * --admit-load of their wire rate, media plus headers); without admission
 * the same load underruns. */
static void check_admission(const char *dir)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int D = size - 1;
    const uint64_t R = 4000000, nic = 40000000;
    const char *lib = synthetic(dir, "adm.h5", 16, R, 40000000000, 262144);
    dsend_sim_config c = base(lib);
    c.nic_bps = nic;
    c.clients = (int64_t)(1.3 * (double)D * (double)nic / (double)R + 0.5);
    c.arrival_window = 5000000000;
    c.sub_block = 25 * 1316;
    dsend_sim_result on, off;
    c.admission = 1;
    run(MPI_COMM_WORLD, &c, &on);
    c.admission = 0;
    run(MPI_COMM_WORLD, &c, &off);
    if (world_rank != 0)
        return;
    uint64_t refused = 0, under_off = 0;
    for (uint32_t i = 0; i < on.nclients; i++) {
        const dsend_client_stats *s = &on.clients[i];
        if (s->refused) {
            CHECK(s->received == 0 && s->expected == 0, "refused client %u got packets", i);
            refused++;
            continue;
        }
        CHECK(s->received == s->expected && s->lost == 0 && s->underruns == 0 && s->late == 0,
              "admitted client %u: %llu of %llu packets, %u underruns, %llu late", i,
              (unsigned long long)s->received, (unsigned long long)s->expected, s->underruns,
              (unsigned long long)s->late);
    }
    for (uint32_t i = 0; i < off.nclients; i++)
        under_off += off.clients[i].underruns;
    double want = 1 - 0.9 * 1316.0 / 1356.0 / 1.3, got = (double)refused / on.nclients;
    CHECK(got > want - 0.08 && got < want + 0.08,
          "refused %.1f%% of %u offered, analytic %.1f%%", 100 * got, on.nclients, 100 * want);
    CHECK(under_off > 0, "admission off at 130%%: no underruns");
    printf("admission: 130%% offered (%u clients): %llu refused (%.1f%%, analytic %.1f%%), every "
           "admitted client clean; admission off: %llu underruns\n",
           on.nclients, (unsigned long long)refused, 100 * got, 100 * want,
           (unsigned long long)under_off);
    dsend_sim_result_free(&on);
    dsend_sim_result_free(&off);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    CHECK(argc == 3, "usage: sim_check CHECK DIR");
    CHECK(getenv("DSEND_SAMPLE_LIB") != NULL, "source tests/env.sh first");
    const char *what = argv[1], *dir = argv[2];
    if (strcmp(what, "conservation") == 0)
        check_conservation(dir);
    else if (strcmp(what, "timing") == 0)
        check_timing(dir);
    else if (strcmp(what, "capacity") == 0)
        check_capacity(dir);
    else if (strcmp(what, "determinism") == 0)
        check_determinism(dir);
    else if (strcmp(what, "striping") == 0)
        check_striping(dir);
    else if (strcmp(what, "failover") == 0)
        check_failover(dir);
    else if (strcmp(what, "admission") == 0)
        check_admission(dir);
    else
        CHECK(0, "unknown check '%s'", what);
    MPI_Finalize();
    return 0;
}
