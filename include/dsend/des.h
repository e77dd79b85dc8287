/* A conservative parallel discrete-event core over MPI, in ROSS's shape
 * (logical processes with a type of callbacks) without its optimistic
 * machinery.
 *
 * Every rank hosts some logical processes (LPs).  Lookahead is per event:
 * the model's lookahead function says, for an event, the least delay
 * between processing it and any event it causes at another LP, directly or
 * through events the LP sends itself (a sender's wake-up can only lead to
 * packets that leave at their release, well after it; a packet reaching a
 * client leads to nothing remote at all).  It may read the event's type,
 * timestamp and payload, never an LP's state, so every rank computes the
 * same value.  Time advances in windows: all ranks agree on W = min over
 * pending events of (ts + lookahead) and process every event with ts < W,
 * which nothing sent inside the window can reach.  The promise is checked
 * when an event is sent (an error, never silently accepted): another LP's
 * event must be at least the current event's lookahead in the future, and
 * an LP's own follow-up event must not promise less.  `max_lookahead` caps
 * every lookahead (1 ns..: the classic global-minimum + lookahead window
 * when the model's function returns it everywhere).
 *
 * One agreement per window (the earliest pending timestamp, the window's
 * end, failures) and the events for other ranks, all of one rank's events
 * for another in one piece.  Two exchanges (src/des/exchange_*.c): ranks
 * that share one node's memory exchange through it and wait for each other
 * on a futex, blocking rather than polling, so ranks that outnumber the
 * cores leave them to the ranks that work; across nodes, one MPI_Allreduce
 * and point-to-point messages.
 *
 * Determinism: events are ordered by (ts, src_lp, seq), seq counting the
 * events each LP has sent, so the order never depends on MPI delivery or on
 * which rank hosts which LP. */
#ifndef DSEND_DES_H
#define DSEND_DES_H

#include <mpi.h>
#include <stdint.h>

#define DSEND_DES_PAYLOAD 56
#define DSEND_TIME_INF INT64_MAX

typedef struct dsend_event {
    int64_t ts;
    int64_t reach;     /* set when sent: ts + its lookahead (the core's) */
    uint64_t seq;
    uint32_t src_lp, dst_lp;
    uint32_t type;
    uint32_t pad_;
    unsigned char payload[DSEND_DES_PAYLOAD];
} dsend_event;

typedef struct dsend_des dsend_des;
typedef struct dsend_lp dsend_lp;

/* The callbacks of one kind of LP (ROSS's tw_lptype). */
typedef struct dsend_lptype {
    const char *name;
    /* called once before time starts; may send the LP's first events */
    int (*init)(dsend_lp *lp, dsend_des *des);
    /* one event, in timestamp order; returns 0 or a dsend_rc */
    int (*event)(dsend_lp *lp, dsend_des *des, const dsend_event *ev);
    /* called once after time stops */
    int (*final)(dsend_lp *lp, dsend_des *des);
} dsend_lptype;

struct dsend_lp {
    uint32_t id;
    const dsend_lptype *type;
    void *state;
    uint64_t sent; /* seq of its next event */
};

/* lp_rank(lp) names the rank hosting each of nlps LPs. */
typedef int (*dsend_lp_rank_fn)(uint32_t lp, const void *arg);
/* lookahead(ev): >= 1 ns, or DSEND_TIME_INF for an event that causes
 * nothing at another LP; a function of the event alone (its type,
 * timestamp, destination and payload). */
typedef int64_t (*dsend_lookahead_fn)(const dsend_event *ev, const void *arg);
/* prefetch(lp, arg): see dsend_des_prefetch */
typedef void (*dsend_prefetch_fn)(uint32_t lp, const void *arg);

/* How ranks exchange events and agree on windows. */
enum { DSEND_DES_AUTO = 0, DSEND_DES_SHM = 1, DSEND_DES_MPI = 2 };

/* Collective.  max_lookahead >= 1 (ns).  The exchange is the node's shared
 * memory when every rank of comm shares one node, else MPI; the
 * environment variable DSEND_DES_EXCHANGE=mpi|shm forces one (tests). */
int dsend_des_create(MPI_Comm comm, uint32_t nlps, dsend_lp_rank_fn lp_rank,
                     dsend_lookahead_fn lookahead, const void *arg, int64_t max_lookahead,
                     dsend_des **des);
/* Register a local LP (lp_rank(id) must be this rank). */
int dsend_des_add_lp(dsend_des *des, uint32_t id, const dsend_lptype *type, void *state);
/* Optional: fn(lp, arg) starts fetching what local LP lp's next event will
 * touch; the core calls it for the next event while the one before it
 * runs.  At scale an event costs its cache misses, and only the model knows
 * where an LP's state lies: fn must find it without reading memory the
 * event would miss on (an address computed from lp), and only prefetch. */
void dsend_des_prefetch(dsend_des *des, dsend_prefetch_fn fn, const void *arg);
/* Send an event (ts, dst_lp, type, payload set by the caller) from lp.
 * While processing an event E (ts t, lookahead L): to another LP, ts must
 * be >= t + L; to itself, ts >= t and ts + its own lookahead >= t + L. */
int dsend_des_send(dsend_des *des, dsend_lp *from, dsend_event *ev);
/* Collective: run until no event is left anywhere, or until `until` (ns).
 * `progress` (may be NULL) is called on rank 0 about once a second of wall
 * time with the current window start. */
int dsend_des_run(dsend_des *des, int64_t until,
                  void (*progress)(void *arg, int64_t now, uint64_t events), void *parg);
/* The local LP with this id (NULL if hosted elsewhere). */
dsend_lp *dsend_des_lp(dsend_des *des, uint32_t id);
int64_t dsend_des_now(const dsend_des *des);
uint64_t dsend_des_events(const dsend_des *des);  /* processed on this rank */
uint64_t dsend_des_windows(const dsend_des *des);
/* Wall seconds this rank spent exchanging and waiting for the others. */
double dsend_des_sync_seconds(const dsend_des *des);
/* Seconds this rank spent in dsend_des_run (its events and its agreements). */
double dsend_des_run_seconds(const dsend_des *des);
/* The exchange in use: "shm" or "mpi". */
const char *dsend_des_exchange_name(const dsend_des *des);
/* Ranks of comm on this node, and the cores this node has (both >= 1):
 * more ranks than cores is oversubscribed. */
void dsend_des_node(const dsend_des *des, int *ranks, int *cores);
void dsend_des_free(dsend_des *des);

#endif
