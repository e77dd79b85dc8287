#!/usr/bin/env bash
# Benchmark of `dsend sim` (issue #12's table): wall, events, events/s per
# core, ratio to the bare discrete-event core (bench/des_baseline, measured in
# the same run), peak RSS and memory per device and per client, for
#   - the reference scenario of issue #3: 16 devices, 2000 clients at
#     4 Mbit/s, 300 s sessions (arrivals staggered over 10 s), at -np 4
#     (3 device ranks + 1 client rank) and -np 18 (one rank per device);
#   - its 63-device variant at -np 4 and at -np 64 (oversubscribed on small
#     machines; the target: -np 64 within 4x the wall of -np 4), and what
#     the -np 64 run's window agreements cost on this machine with no work
#     in them (bench/handoff: 64 processes meeting as the event core's
#     exchange meets, once per window of the run);
#   - a planner's cluster: 1,000 devices x 200,000 clients x 600 s at -np 2,
#     run at 1/FRACTION of the clients (SIM_FRACTION, default 100; 1 runs it
#     whole) and extrapolated to the whole, clearly labelled: events and wall
#     scale with the clients (each plays the same sessions), memory as the
#     measured per-device and per-client figures times the whole model's.
# Not a test.  bash bench/sim.sh   (SIM_SKIP_BIG=1 leaves the last one out)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
make -s bench/des_baseline bench/handoff >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fraction=${SIM_FRACTION:-100}
./dsend gen -q -o "$work/ref.h5" --assets 100 --bitrate 4Mbit/s --duration 300s
cores=$(nproc)
echo "machine: $cores cores, $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
base=$(bench/des_baseline 20000000)
echo "$base"
base_rate=$(echo "$base" | sed -n 's/.*= \([0-9.]*\) M events\/s/\1/p')
json_num() { echo "$1" | sed -n "s/.*\"$2\": \([0-9.e+]*\).*/\1/p" | head -1; }
printf "%-44s %9s %12s %9s %7s %10s %10s %10s %9s\n" run wall events "Mev/s/core" "x bare" "peak RSS" "per dev" "per client" "on time"
row() { # label np devices clients scale json
    local label=$1 np=$2 devices=$3 clients=$4 scale=$5 json=$6
    local wall events peak pd pc ontime used
    wall=$(json_num "$json" wall_s)
    events=$(json_num "$json" events)
    peak=$(json_num "$json" peak_rss_bytes)
    pd=$(json_num "$json" per_device_bytes)
    pc=$(json_num "$json" per_client_bytes)
    ontime=$(json_num "$json" on_time_pct)
    used=$(( np < cores ? np : cores ))
    awk -v l="$label" -v w="$wall" -v e="$events" -v c="$used" -v b="$base_rate" -v p="$peak" \
        -v pd="$pd" -v pc="$pc" -v o="$ontime" -v s="$scale" -v D="$devices" -v C="$clients" 'BEGIN {
        r = e / w / 1e6
        if (s != 1) p = pd * D + pc * C  # extrapolated: devices and clients of the whole model
        printf "%-44s %8.1fs %12.0f %9.3f %7.3f %9.0fM %9.2fM %9.1fK %8.3f%%\n",
               l, w * s, e * s, r / c, r / c / b, p / 1048576, pd / 1048576, pc / 1024, o }'
}
sim() { # np devices clients [more options]
    local np=$1 d=$2 k=$3; shift 3
    "$DSEND_MPIRUN" -q --oversubscribe -np "$np" ./dsend sim "$@" -q --json --devices "$d" \
        --client-ranks "$k"
}
j=$(sim 4 16 1 "$work/ref.h5" --clients 2000);  row "-np 4, 16 devices, 2000 clients" 4 16 2000 1 "$j"
j=$(sim 18 16 2 "$work/ref.h5" --clients 2000); row "-np 18, 16 devices, 2000 clients" 18 16 2000 1 "$j"
j=$(sim 4 63 1 "$work/ref.h5" --clients 2000);  row "-np 4, 63 devices, 2000 clients" 4 63 2000 1 "$j"
w4=$(json_num "$j" wall_s)
j=$(sim 64 63 1 "$work/ref.h5" --clients 2000); row "-np 64, 63 devices, 2000 clients" 64 63 2000 1 "$j"
w64=$(json_num "$j" wall_s)
awk -v a="$w64" -v b="$w4" 'BEGIN { printf "-np 64 against -np 4 (63 devices): %.2f x the wall (target <= 4)\n", a / b }'
windows=$(json_num "$j" windows)
h=$(bench/handoff 64 2000)
echo "  the agreements alone: $h"
echo "$h" | sed -n 's/.*: \([0-9.]*\) us per round.*/\1/p' | awk -v w="$windows" -v a="$w64" '{
    printf "  x %d windows = %.1f s of the -np 64 run'"'"'s %.1f s (the rest: the model'"'"'s work, on cores shared by 64 processes)\n", w, $1 * w / 1e6, a }'
if [ -z "${SIM_SKIP_BIG:-}" ]; then
    ./dsend gen -q -o "$work/big.h5" --assets 100 --bitrate 4Mbit/s --duration 600s
    clients=$((200000 / fraction))
    j=$(sim 2 1000 1 "$work/big.h5" --clients "$clients")
    row "-np 2, 1000 devices, $clients clients (1/$fraction)" 2 1000 "$clients" 1 "$j"
    if [ "$fraction" != 1 ]; then
        row "  extrapolated x$fraction (linear: optimistic)" 2 1000 200000 "$fraction" "$j"
        pd=$(json_num "$j" per_device_bytes) pc=$(json_num "$j" per_client_bytes)
        awk -v pd="$pd" -v pc="$pc" 'BEGIN {
            printf "  memory of the whole model, extrapolated: 1000 x %.2f MiB + 200000 x %.1f KiB = %.2f GiB (target <= 8 GiB; the per-client figure includes fixed costs, so this is an upper bound)\n",
                   pd / 1048576, pc / 1024, (1000 * pd + 200000 * pc) / 1073741824 }'
    fi
    echo "  target: the whole model in <= 10 min wall on 2 cores"
fi
