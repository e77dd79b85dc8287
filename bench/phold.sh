#!/usr/bin/env bash
# The event core's own speed on PHOLD (bench/phold.c), events/s per core,
# next to the bare core (bench/des_baseline, same run) and to the published
# anchor: ROSS, optimistic, about 0.26 M events/s per core on 1,966,080
# Blue Gene/Q cores (504 G events/s; Barnes et al., "Warp speed", PADS 2013).
# Standard parameters (ROSS's phold model): remote fraction 0.25, lookahead 1
# time unit (1 ms), mean delay 1 unit (exponential, added to the lookahead);
# here 2048 LPs in all, 16 initial events per LP, 1 s of simulated time.
# Not a test.  bash bench/phold.sh [REPS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
make -s bench/des_baseline bench/phold >/dev/null
reps=${1:-2}
cores=$(nproc)
echo "machine: $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "anchor: ROSS PHOLD on 1,966,080 Blue Gene/Q cores, about 0.26 M events/s per core"
for ((i = 1; i <= reps; i++)); do
    base=$(bench/des_baseline 10000000)
    b=$(echo "$base" | sed -n 's/.*= \([0-9.]*\) M events\/s/\1/p')
    echo "run $i: $base"
    for np in 1 2; do
        out=$("$DSEND_MPIRUN" -q --oversubscribe -np "$np" bench/phold $((2048 / np)) 16 0.25 1000)
        r=$(echo "$out" | sed -n 's/.*= \([0-9.]*\) M events\/s/\1/p')
        used=$(( np < cores ? np : cores ))
        awk -v i="$i" -v np="$np" -v r="$r" -v c="$used" -v b="$b" -v o="$out" 'BEGIN {
            printf "run %d: -np %d: %s\n       %.3f M events/s per core, %.2f x the ROSS anchor, %.2f of the bare core\n",
                   i, np, o, r / c, r / c / 0.26, r / c / b }'
    done
done
