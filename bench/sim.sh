#!/usr/bin/env bash
# Benchmark of `dsend sim` on the reference scenario of issue #3: 16 devices,
# 2000 clients at 4 Mbit/s, 300 s of media each (arrivals staggered over 10 s),
# at -np 4 (16 devices dealt over 3 device ranks, 1 client rank) and at
# -np 18 (one rank per device, 2 client ranks; oversubscribed on small
# machines).  Reports events/s, events/s per core, simulated stream-seconds
# per wall second, and the ratio of events/s to the bare discrete-event core
# (bench/des_baseline) measured in the same run.  Not a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
make -s bench/des_baseline >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./dsend gen -q -o "$work/ref.h5" --assets 100 --bitrate 4Mbit/s --duration 300s
cores=$(nproc)
echo "machine: $cores cores, $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "scenario: 16 devices, 2000 clients at 4 Mbit/s, 300 s sessions, default network (dsend sim --help)"
base=$(bench/des_baseline 20000000)
echo "$base"
base_rate=$(echo "$base" | sed -n 's/.*= \([0-9.]*\) M events\/s/\1/p')
for run in "4 1" "18 2"; do
    set -- $run
    np=$1 k=$2
    json=$("$DSEND_MPIRUN" -q --oversubscribe -np "$np" ./dsend sim "$work/ref.h5" -q --json \
        --devices 16 --client-ranks "$k" --clients 2000)
    wall=$(echo "$json" | sed -n 's/.*"wall_s": \([0-9.]*\).*/\1/p')
    events=$(echo "$json" | sed -n 's/.*"events": \([0-9]*\).*/\1/p')
    ontime=$(echo "$json" | sed -n 's/.*"on_time_pct": \([0-9.]*\).*/\1/p')
    used=$(( np < cores ? np : cores ))
    awk -v np="$np" -v k="$k" -v w="$wall" -v e="$events" -v c="$used" -v b="$base_rate" -v o="$ontime" 'BEGIN {
        r = e / w / 1e6
        printf "-np %-2d (K=%d): %.2f s wall, %d events, %.2f M events/s, %.2f M events/s per core, %.0f stream-s per wall s, ratio to the bare core %.2f; on time %.3f%%\n",
            np, k, w, e, r, r / c, 2000 * 300 / w, r / b, o }'
done
