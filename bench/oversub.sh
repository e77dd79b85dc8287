#!/usr/bin/env bash
# Which mpirun settings matter when ranks exceed cores: `dsend sim` at -np 64
# (63 device ranks, 1 client rank; 500 clients at 4 Mbit/s, 300 s sessions)
# under each setting, REPS times each (default 2), wall seconds and the
# machine's load before each run.  Without --oversubscribe Open MPI refuses to
# start more ranks than slots; the others are compared with it.  Not a test.
#   bash bench/oversub.sh [NP] [REPS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
unset OMPI_MCA_rmaps_base_oversubscribe   # tests/env.sh allows it; here it is the question
np=${1:-64} reps=${2:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./dsend gen -q -o "$work/ref.h5" --assets 100 --bitrate 4Mbit/s --duration 300s
echo "machine: $(nproc) cores; -np $np, 500 clients, 300 s sessions, $((np - 1)) devices"
settings=("" "--oversubscribe" "--oversubscribe --bind-to none"
          "--oversubscribe --mca mpi_yield_when_idle 1"
          "--oversubscribe --bind-to none --mca mpi_yield_when_idle 1")
for s in "${settings[@]}"; do
    for ((i = 1; i <= reps; i++)); do
        load=$(cut -d' ' -f1 /proc/loadavg)
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086
        if out=$("$DSEND_MPIRUN" -q $s -np "$np" ./dsend sim "$work/ref.h5" -q --json \
                --client-ranks 1 --clients 500 2>&1); then
            wall=$(echo "$out" | sed -n 's/.*"wall_s": \([0-9.]*\).*/\1/p')
            t1=$(date +%s.%N)
            printf "%-58s run %d: sim %6.2f s wall, mpirun %6.2f s (load %s)\n" "mpirun ${s:-(none)}" \
                "$i" "$wall" "$(echo "$t1 - $t0" | bc)" "$load"
        else
            printf "%-58s run %d: refused (mpirun: not enough slots)\n" "mpirun ${s:-(none)}" "$i"
        fi
    done
done
