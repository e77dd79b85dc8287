#!/usr/bin/env bash
# The cache bench (issue #10), not a test: libraries larger than RAM.
#
# 1. A Zipf workload (CLIENTS, default 40 clients, --zipf 0.8, arriving over 20 s) on a stored
#    library of COPIES (default 16) renamed copies of the sample (3 MB each), 4 devices, at
#    --ram 10 %, 25 %, 50 % and 100 % of each device's share (RAMS).  For each: the measured
#    run (mpirun -np 4 dsend serve --ram P% --out, dsend clients --out, every payload byte
#    checked) and the model of the same scenario (dsend sim --like serve.h5,clients.h5), side
#    by side as in bench/twin.sh: send requests that hit the cache, bytes read from storage
#    per byte sent, clients with underruns, startup p99.  The model's disk is its defaults
#    (--disk-latency 200us, --disk-rate 4Gbit/s); the server reads the library file through
#    the page cache.
# 2. Start-up: how long `dsend serve -np 4` takes from its start to serving (the "ready in" of
#    its banner) on the sample, on a library of BIG (default 48) copies (146 MB) with every
#    block preloaded and at --ram 10 %, and on a synthetic library of 10,000 half-hour titles
#    at --ram 10 %.
# Failure detection is relaxed (--detect 3s) so a loaded machine does not fail devices over.
# It stops only the processes it started, by process id.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
clients=${CLIENTS:-40}
port=${PORT:-$((20000 + $$ % 20000))}
work=$(mktemp -d)
. bench/lib.sh
trap 'stop_serve; rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
for i in $(seq 1 "${COPIES:-16}"); do cp "$DSEND_SAMPLE_TS" "$work/t$i.ts"; done
./dsend ingest -q "$work"/t*.ts -o "$work/lib.h5" --block-size 131600
echo "scenario: ${COPIES:-16} stored titles of 20 s (24 blocks of 128.5 KiB), $clients clients, Zipf 0.8 over 20 s, 4 devices"

# a serve --out file's devices, summed: hit %, storage bytes per byte sent
# (/devices fields by position, doc/results-format.md: bytes 2, cache_hits 18,
# cache_misses 19, storage_bytes 21)
served_cache() {
    "$DSEND_H5DUMP" -d /devices "$1" | tr -d ' \n' | grep -o '([0-9]*):{[0-9,]*}' |
        awk -F'[{},]' '{ b += $3; h += $19; m += $20; r += $22 }
            END { printf "%.4f %.6f\n", h + m ? 100 * h / (h + m) : 100, b ? r / b : 0 }'
}

printf "%-5s | %-15s | %-21s | %-16s | %-21s | %s\n" ram "hits % sim/srv" "read/sent sim/srv" \
    "underrun clients" "startup p99 ms sim/srv" "serve ready"
for ram in ${RAMS:-10 25 50 100}; do
    port=$((port + 10))
    SERVE_OUT=$work/serve.out serve_start "$port" "$work/serve.err" -np 4 ./dsend serve "$work/lib.h5" \
        --rtsp "127.0.0.1:$port" --ram "$ram%" --heartbeat 500ms --detect 3s --duration 300s \
        --out "$work/serve-$ram.h5"
    ./dsend clients "rtsp://127.0.0.1:$port/" --library "$work/lib.h5" --clients "$clients" \
        --zipf 0.8 --arrival-window 20s --out "$work/clients-$ram.h5" --json -q >"$work/m.json"
    stop_serve
    ready=$(sed -n 's/.*ready in \([0-9.]*\) s.*/\1/p' "$work/serve.out")
    "$DSEND_MPIRUN" -q --oversubscribe -np 5 ./dsend sim \
        --like "$work/serve-$ram.h5,$work/clients-$ram.h5" --json -q >"$work/s.json"
    read -r mhit mread <<<"$(served_cache "$work/serve-$ram.h5")"
    if [ "$ram" = 100 ]; then # every block preloaded: nothing read, every request a hit
        shit=100 sread=0
    else
        shit=$(sed -n 's/.*"hit_rate_pct": \([0-9.]*\).*/\1/p' "$work/s.json")
        sread=$(sed -n 's/.*"storage_per_sent_byte": \([0-9.]*\).*/\1/p' "$work/s.json")
    fi
    printf "%-5s | %6.2f %6.2f   | %8.3f %8.3f     | %6d %6d     | %9.1f %9.1f     | %s s\n" \
        "$ram%" "$shit" "$mhit" "$sread" "$mread" \
        "$(json "$work/s.json" clients_with_underruns)" "$(json "$work/m.json" clients_with_underruns)" \
        "$(json "$work/s.json" startup_ms p99)" "$(json "$work/m.json" startup_ms p99)" "$ready"
done

echo "start-up of dsend serve -np 4 (from its start to serving; median of 3):"
for i in $(seq 1 "${BIG:-48}"); do cp "$DSEND_SAMPLE_TS" "$work/b$i.ts"; done
./dsend ingest -q "$work"/b*.ts -o "$work/big.h5" --block-size 131600
rm -f "$work"/b*.ts "$work"/t*.ts
./dsend gen -q -o "$work/syn.h5" --assets 10000 --duration 30min --bitrate 4Mbit/s
ready_in() { # lib args...
    local lib=$1 t=()
    shift
    for _ in 1 2 3; do
        port=$((port + 10))
        SERVE_OUT=$work/serve.out serve_start "$port" "$work/serve.err" -np 4 ./dsend serve "$lib" \
            --rtsp "127.0.0.1:$port" --duration 300s "$@"
        stop_serve
        t+=("$(sed -n 's/.*ready in \([0-9.]*\) s, \(.*\) of blocks preloaded.*/\1 s (\2 preloaded on rank 0)/p' "$work/serve.out")")
    done
    printf '%s\n' "${t[@]}" | sort -n | sed -n 2p
}
echo "  sample (3 MB), every block preloaded:        $(ready_in "$DSEND_SAMPLE_LIB")"
echo "  ${BIG:-48} titles ($(du -h "$work/big.h5" | cut -f1)), every block preloaded: $(ready_in "$work/big.h5")"
echo "  ${BIG:-48} titles, --ram 10%:                    $(ready_in "$work/big.h5" --ram 10%)"
echo "  10,000 synthetic titles of 30 min (8.4 TiB), --ram 10%: $(ready_in "$work/syn.h5" --ram 10%)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
