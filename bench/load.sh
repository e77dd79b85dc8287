#!/usr/bin/env bash
# Benchmark: dsend load at -np 1, 2 and 4 (oversubscribed on 2 cores), as
# ratios against a plain sequential read of the same file (`cat`) in the
# same run: the parallel-HDF5 read alone (bytes / the slowest rank's read
# time, the checks between its pieces left out), and the whole load (read,
# every checksum verified, the collectives between assets: dsend_load's wall
# time).  Both read from the page cache after a warm-up, so this measures the
# loader's overhead, not the disk.
# DSEND_BASE=/path/to/another/dsend: the same rows for that build too, its
# runs alternating with this build's, first one then the other (the run
# right after another was seen to be faster here: a before/after on a busy
# machine).
# Not a test: numbers depend on the machine.  Usage: bench/load.sh [COPIES]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
copies=${1:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq -w 1 "$copies"); do cp data/sample.ts "$work/title$i.ts"; done
./dsend ingest -q "$work"/title*.ts -o "$work/lib.h5" --block-size 263200
bytes=$(stat -c %s "$work/lib.h5")
cat "$work/lib.h5" >/dev/null # warm the page cache
best_cat=0
for _ in 1 2 3 4 5; do
    t0=$(date +%s.%N); cat "$work/lib.h5" >/dev/null; t1=$(date +%s.%N)
    r=$(awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f", b / (c - a) / 1048576 }')
    best_cat=$(awk -v x="$r" -v y="$best_cat" 'BEGIN { print (x > y) ? x : y }')
done
echo "machine: $(nproc) cores, $(uname -srm), load $(cut -d" " -f1-3 /proc/loadavg); library: $copies copies of data/sample.ts, $((bytes / 1048576)) MiB"
echo "baseline: cat of the library file: $best_cat MiB/s (best of 5)"
builds=(./dsend)
[ -n "${DSEND_BASE:-}" ] && builds+=("$DSEND_BASE")
max() { awk -v x="$1" -v y="$2" 'BEGIN { print (x > y) ? x : y }'; }
for np in 1 2 4; do
    best=() bestw=()
    for k in "${!builds[@]}"; do # one untimed load each first
        "$DSEND_MPIRUN" -q --oversubscribe -np "$np" "${builds[$k]}" load -q "$work/lib.h5"
    done
    for rep in 1 2 3; do
        order=("${!builds[@]}")
        [ $((rep % 2)) -eq 0 ] && order=($(printf '%s\n' "${order[@]}" | sort -rn))
        for k in "${order[@]}"; do
            j=$("$DSEND_MPIRUN" -q --oversubscribe -np "$np" "${builds[$k]}" load --json "$work/lib.h5")
            r=$(echo "$j" | sed -n 's/.*"read_bytes_per_s": \([0-9.e+]*\).*/\1/p' | awk '{ printf "%.1f", $1 / 1048576 }')
            w=$(echo "$j" | sed -n 's/.*"wall_s": \([0-9.e+-]*\).*/\1/p' | awk -v b="$bytes" '{ printf "%.1f", b / $1 / 1048576 }')
            best[k]=$(max "$r" "${best[k]:-0}")
            bestw[k]=$(max "$w" "${bestw[k]:-0}")
        done
    done
    for k in "${!builds[@]}"; do
        name=dsend
        [ "$k" -gt 0 ] && name="${builds[$k]}"
        awk -v n="$name" -v np="$np" -v r="${best[k]}" -v w="${bestw[k]}" -v c="$best_cat" 'BEGIN {
            printf "%s load -np %d: read %.1f MiB/s (ratio to cat %.2f); whole load %.1f MiB/s (ratio to cat %.2f); best of 3\n",
                   n, np, r, r / c, w, w / c }'
    done
done
