/* What one window's agreement costs on this machine with no work in it:
 * P processes meet at a barrier R times, the way the event core's shared
 * memory exchange meets (src/des/exchange_shm.c: the last to arrive wakes
 * the others through a futex; an early one sleeps when the node has more
 * processes than cores).  No MPI and no model: the figure is the machine's
 * (its process switches and wake-ups), the floor under any run of that many
 * ranks per window (the barrier below is the exchange's, written again
 * here to leave MPI out: change both together).  Not a test.
 *   bench/handoff P ROUNDS [SPIN [PAGES]]
 * prints the wall per round and per process and round.  With PAGES, each
 * process also writes one word in each of that many pages of its own
 * between rounds (a window's work touches the rank's memory, which the
 * switch may have made cold). */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct shared {
    _Atomic uint32_t count, gen, sleepers;
} shared;

static void barrier(shared *h, uint32_t P, long spin)
{
    uint32_t g = atomic_load(&h->gen);
    if (atomic_fetch_add(&h->count, 1) == P - 1) {
        atomic_store(&h->count, 0);
        atomic_store(&h->gen, g + 1);
        if (atomic_load(&h->sleepers))
            syscall(SYS_futex, &h->gen, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
        return;
    }
    for (long i = 0; i < spin; i++)
        if (atomic_load(&h->gen) != g)
            return;
    atomic_fetch_add(&h->sleepers, 1);
    while (atomic_load(&h->gen) == g)
        syscall(SYS_futex, &h->gen, FUTEX_WAIT, g, NULL, NULL, 0);
    atomic_fetch_sub(&h->sleepers, 1);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PROCESSES ROUNDS [SPIN [PAGES]]\n", argv[0]);
        return 2;
    }
    long P = strtol(argv[1], NULL, 10), R = strtol(argv[2], NULL, 10);
    long spin = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
    long pages = argc > 4 ? strtol(argv[4], NULL, 10) : 0;
    if (P < 1 || P > 4096 || R < 1 || R > 100000000 || spin < 0 || pages < 0 || pages > 1000000) {
        fprintf(stderr, "handoff: PROCESSES in 1..4096, ROUNDS in 1..1e8, SPIN >= 0, PAGES in "
                        "0..1e6\n");
        return 2;
    }
    shared *h = mmap(NULL, sizeof *h, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (h == MAP_FAILED) {
        perror("handoff: mmap");
        return 1;
    }
    pid_t *kids = calloc((size_t)P, sizeof *kids);
    if (!kids)
        return 1;
    for (long i = 0; i < P; i++) {
        kids[i] = fork();
        if (kids[i] < 0) {
            perror("handoff: fork");
            for (long j = 0; j < i; j++)
                kill(kids[j], SIGKILL);
            return 1;
        }
        if (kids[i] == 0) {
            /* the first round is the start line; the first process times the rest */
            volatile char *mem = pages ? calloc((size_t)pages, 4096) : NULL;
            if (pages && !mem)
                _exit(1);
            for (long p = 0; p < pages; p++)
                mem[p * 4096] = 1;
            barrier(h, (uint32_t)P, spin);
            double t0 = now();
            for (long r = 0; r < R; r++) {
                for (long p = 0; p < pages; p++)
                    mem[p * 4096 + (r & 63) * 64] += 1;
                barrier(h, (uint32_t)P, spin);
            }
            if (i == 0) {
                double per = (now() - t0) / (double)R;
                printf("%ld processes, %ld rounds, %ld pages each: %.1f us per round, %.2f us per "
                       "process and round\n",
                       P, R, pages, per * 1e6, per * 1e6 / (double)P);
            }
            fflush(stdout);
            _exit(0);
        }
    }
    int bad = 0;
    for (long i = 0; i < P; i++) {
        int st;
        if (waitpid(kids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
    }
    free(kids);
    if (bad) {
        fprintf(stderr, "handoff: a process failed\n");
        return 1;
    }
    return 0;
}
