#!/usr/bin/env bash
# Benchmark of `dsend serve` on loopback (issue #4), not a test:
#  1. concurrent 2.5 Mbit/s sessions served by -np 2 with zero loss and MDI DF under 50 ms,
#     stepping the load client (dsend clients) through SESSIONS (default "100 250 500 1000 2000");
#  2. one sender's delivered Gbit/s (-np 1, paced streams of 100 Mbit/s) as a ratio to a plain
#     UDP sendmmsg loop (bench/udp_baseline) measured in the same run.
# The load client runs on the same 2 cores as the server: on a small machine it, not the
# server, may be what saturates first; the output says which side counted the loss.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
make -s bench/udp_baseline >/dev/null
work=$(mktemp -d)
. scripts/procs.sh # signal_ranks: stops only the ranks this script started, by process id
mpid=""
trap '[ -z "$mpid" ] || signal_ranks TERM "$mpid" || true; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(uname -srm), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
./dsend gen -q -o "$work/lib25.h5" --assets 20 --bitrate 2.5Mbit/s --duration 60s --block-size 263200
./dsend gen -q -o "$work/lib100.h5" --assets 4 --bitrate 100Mbit/s --duration 60s --block-size 2632000

serve() { # np port lib
    "$DSEND_MPIRUN" -q --oversubscribe -np "$1" ./dsend serve "$3" --rtsp "127.0.0.1:$2" \
        --duration 600s --sub-block 131600 -q >"$work/serve.out" 2>&1 &
    mpid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0; sleep 0.1; done
    echo "server did not start" >&2; exit 1
}
stop() { signal_ranks TERM "$mpid" || true; wait "$mpid" || true; mpid=""; }

echo "== 2.5 Mbit/s sessions, dsend serve -np 2, 15 s each"
serve 2 26554 "$work/lib25.h5"
best=0
for n in ${SESSIONS:-100 250 500 1000 2000}; do
    ./dsend clients rtsp://127.0.0.1:26554/synth-000001 --library "$work/lib25.h5" --clients "$n" \
        --duration 15s --json -q >"$work/c.json" 2>"$work/c.err" || { echo "$n sessions: client failed: $(cat "$work/c.err")"; break; }
    lost=$(sed -n 's/.*"lost": \([0-9]*\).*/\1/p' "$work/c.json")
    dfmax=$(sed -n 's/.*"df_ms": {[^}]*"max": \([0-9.]*\).*/\1/p' "$work/c.json")
    dfp99=$(sed -n 's/.*"df_ms": {[^}]*"p99": \([0-9.]*\).*/\1/p' "$work/c.json")
    mism=$(sed -n 's/.*"payload_errors": \([0-9]*\).*/\1/p' "$work/c.json")
    echo "$n sessions: lost $lost packets, payload mismatches $mism, MDI DF p99 $dfp99 ms, max $dfmax ms"
    if [ "$lost" = 0 ] && [ "$mism" = 0 ] && awk -v d="$dfmax" 'BEGIN { exit !(d < 50) }'; then best=$n; else break; fi
done
stop 26554
echo "largest step with zero loss and DF < 50 ms: $best sessions of 2.5 Mbit/s"

echo "== one sender: dsend serve -np 1, 100 Mbit/s streams, 10 s"
bench/udp_baseline 3 | tee "$work/base"
base=$(sed -n 's/.*delivered \([0-9.]*\) Gbit.*/\1/p' "$work/base")
serve 1 27554 "$work/lib100.h5"
for n in 10 20 40; do
    ./dsend clients rtsp://127.0.0.1:27554/synth-000001 --library "$work/lib100.h5" --clients "$n" \
        --duration 10s --json -q >"$work/c.json" 2>/dev/null || break
    bytes=$(sed -n 's/.*"bytes": \([0-9]*\).*/\1/p' "$work/c.json" | head -1)
    wall=$(sed -n 's/.*"wall_s": \([0-9.]*\).*/\1/p' "$work/c.json")
    lost=$(sed -n 's/.*"lost": \([0-9]*\).*/\1/p' "$work/c.json")
    awk -v b="$bytes" -v w="$wall" -v base="$base" -v n="$n" -v l="$lost" 'BEGIN {
        g = b * 8 / w / 1e9; printf "%d x 100 Mbit/s offered: %.3f Gbit/s delivered (incl. start-up), %d lost, ratio to plain UDP %.3f\n", n, g, l, g / base }'
done
stop 27554
