#!/usr/bin/env bash
# The namespace cluster (issue #15, scripts/netns-cluster.sh), not a test:
#  1. real link limits: every device host's data link limited with tc (tbf) to RATE; a UDP
#     blast (bench/udp_rate, datagrams the size of dsend's RTP packets) offered at twice
#     RATE, from one device to the client host, then from every device at once (each to its
#     own port); as ratios to RATE, in Ethernet frames: what left the device's link (its
#     transmit counter: the limit holds, at most 1.00 but for the bucket's burst; the link
#     is used, close to it), what the client host received (its kernel's arrival times,
#     which a busy machine bunches), and what the sender managed to send (below 1.00 where
#     the machine, not the link, is the bottleneck);
#  2. MPI across the hosts against one host: the wall time of `mpirun true` (the launch through
#     the namespace agent) and of a small `dsend sim` (3 devices, 1 client rank; TCP between
#     hosts against shared memory on one host), as ratios.
# Environment: RATES (default "10Mbit/s 100Mbit/s 1Gbit/s"), DEVICES (3), SECS (seconds a
# blast, 2), REPS (repetitions, 2).  Needs root.  It stops only what it started: the
# cluster's own processes, by namespace.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
. scripts/netns-cluster.sh
make -s bench/udp_rate >/dev/null
why=$(cluster_can) || { echo "bench/cluster.sh: $why" >&2; exit 1; }
devices=${DEVICES:-3} secs=${SECS:-2} reps=${REPS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
cluster_up --devices "$devices" --clients 1
echo "cluster $CLUSTER_ID: $devices device hosts, 1 client host; blasts of $secs s, $reps repetitions"

# blast PORT DEV...: each DEV sends to client0 (port PORT + its index) at twice the
# limit; prints, one flow a line, what left the device's data link, what client0
# received, and what the sender sent, in wire bit/s.  A sender blocks while the
# link's queue is full: it sends about what the link takes, or what the machine
# can push, whichever is less.  The link's own counter is the figure to hold
# against the limit (bench/udp_rate.c says why).
blast() {
    local port=$1 i=0 d dst pids=""
    shift
    dst=$(cluster_addr client0)
    for d in "$@"; do
        cluster_on client0 bench/udp_rate recv $((port + i)) "$secs" >"$work/recv$i" 2>&1 &
        pids="$pids $!"
        i=$((i + 1))
    done
    for ((i = 0; i < $#; i++)); do
        for _ in $(seq 100); do grep -q listening "$work/recv$i" && break; sleep 0.05; done
    done
    i=0
    for d in "$@"; do
        cluster_on "$d" bench/udp_rate send "$dst" $((port + i)) "$(awk -v s="$secs" 'BEGIN { print s + 0.5 }')" \
            $((2 * CLUSTER_RATE_BPS)) data >"$work/send$i" &
        i=$((i + 1))
    done
    # shellcheck disable=SC2086 # the receivers' process ids
    wait $pids
    wait
    for ((i = 0; i < $#; i++)); do
        echo "$(sed -n 's/^link .*wire_bit\/s \([0-9]*\).*/\1/p' "$work/send$i")" \
            "$(awk '/^packets/ { print $10 }' "$work/recv$i")" \
            "$(sed -n 's/.*offered wire_bit\/s \([0-9]*\).*/\1/p' "$work/send$i")"
    done
}

printf "\n== link limits (tc tbf on each device host's data link), each run's figure / limit\n"
printf "%-10s | %-16s | %-16s | %-16s | %-30s\n" limit "one device: link" "received" "sent" "all $devices at once: link, min-max"
for rate in ${RATES:-10Mbit/s 100Mbit/s 1Gbit/s}; do
    cluster_set_rate "$rate"
    link="" recv="" sent="" all=""
    for ((r = 0; r < reps; r++)); do
        blast 6000 dev0 >"$work/one"
        link="$link $(awk -v l="$CLUSTER_RATE_BPS" '{ printf "%.3f", $1 / l }' "$work/one")"
        recv="$recv $(awk -v l="$CLUSTER_RATE_BPS" '{ printf "%.3f", $2 / l }' "$work/one")"
        sent="$sent $(awk -v l="$CLUSTER_RATE_BPS" '{ printf "%.2f", $3 / l }' "$work/one")"
        # shellcheck disable=SC2086 # the device hosts
        all="$all $(blast 6100 $CLUSTER_DEVICES | awk -v l="$CLUSTER_RATE_BPS" '
            { x = $1 / l; if (NR == 1 || x < lo) lo = x; if (NR == 1 || x > hi) hi = x }
            END { printf "%.3f-%.3f", lo, hi }')"
    done
    printf "%-10s | %-16s | %-16s | %-16s | %-30s\n" "$rate" "${link# }" "${recv# }" "${sent# }" "${all# }"
done
cluster_set_rate none

printf "\n== MPI across %d hosts (TCP on the control switch) against one host (shared memory)\n" "$devices"
sim=("$DSEND" sim "$DSEND_SAMPLE_LIB" -q --clients 30 --arrival-window 2s --session 8s)
wall() { local t0=$EPOCHREALTIME; "$@" >/dev/null; awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
printf "%-28s | %-18s | %-18s | %s\n" run "cluster s, each" "one host s, each" "ratio of the means"
for what in launch sim; do
    c="" l=""
    for ((r = 0; r < reps; r++)); do
        if [ "$what" = launch ]; then
            c="$c $(wall cluster_mpirun -np "$devices" true)"
            l="$l $(wall "$DSEND_MPIRUN" -np "$devices" true)"
        else
            c="$c $(wall cluster_mpirun -np $((devices + 1)) "${sim[@]}")"
            l="$l $(wall "$DSEND_MPIRUN" -np $((devices + 1)) "${sim[@]}")"
        fi
    done
    printf "%-28s | %-18s | %-18s | %s\n" \
        "$([ "$what" = launch ] && echo "mpirun -np $devices true" || echo "dsend sim, $devices devices + 1")" \
        "${c# }" "${l# }" "$(echo "$c / $l" | awk -F/ '{ n = split($1, a, " "); split($2, b, " "); for (i = 1; i <= n; i++) { x += a[i]; y += b[i] } printf "%.2f", x / y }')"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
