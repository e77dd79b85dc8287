#!/usr/bin/env bash
# Benchmark: dsend load's aggregate parallel-HDF5 read rate at -np 1, 2 and 4,
# as a ratio against a plain sequential read of the same file (`cat`) in the
# same run.  Both read from the page cache after a warm-up, so this measures
# the loader's overhead (hyperslab selection, MPI-IO, CRC32C), not the disk.
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
for _ in 1 2 3; do
    t0=$(date +%s.%N); cat "$work/lib.h5" >/dev/null; t1=$(date +%s.%N)
    r=$(awk -v b="$bytes" -v a="$t0" -v c="$t1" 'BEGIN { printf "%.1f", b / (c - a) / 1048576 }')
    best_cat=$(awk -v x="$r" -v y="$best_cat" 'BEGIN { print (x > y) ? x : y }')
done
echo "machine: $(nproc) cores, $(uname -srm); library: $copies copies of data/sample.ts, $((bytes / 1048576)) MiB"
echo "baseline: cat of the library file: $best_cat MiB/s (best of 3)"
for np in 1 2 4; do
    best=0
    for _ in 1 2 3; do
        r=$("$DSEND_MPIRUN" -q --oversubscribe -np "$np" ./dsend load "$work/lib.h5" |
            sed -n 's/.*(\([0-9.]*\) MiB\/s aggregate).*/\1/p')
        [ -n "$r" ] || r=$("$DSEND_MPIRUN" -q --oversubscribe -np "$np" ./dsend load "$work/lib.h5" |
            sed -n 's/.*(\([0-9.]*\) GiB\/s aggregate).*/\1/p' | awk '{ print $1 * 1024 }')
        best=$(awk -v x="$r" -v y="$best" 'BEGIN { print (x > y) ? x : y }')
    done
    ratio=$(awk -v a="$best" -v b="$best_cat" 'BEGIN { printf "%.2f", a / b }')
    echo "dsend load -np $np: $best MiB/s aggregate (best of 3), ratio to cat: $ratio"
done
