#!/usr/bin/env bash
# The twin bench (issue #8), not a test: does the model predict the service?
#
# One scenario, the bundled sample (20 s of H.264+AAC at 1.22 Mbit/s), 40 clients
# arriving over 10 s, 4 devices, at three loads set by each device's --nic (about 30 %,
# 90 % and 120 % of what the links allow).  For each load:
#   1. measured: mpirun -np 4 dsend serve --nic X --out serve.h5, and
#      dsend clients --clients 40 --out clients.h5 on the same box (real RTSP, RTP/UDP on
#      127.0.0.1, every payload byte checked);
#   2. model: mpirun -np 5 dsend sim --like serve.h5,clients.h5 (the same configuration
#      and workload, virtual time);
#   3. the per-metric agreement, against the targets of issue #8.
# Admission is off (--admission off): the bench measures what overload does.
# Environment: LOADS (default "0.3 0.9 1.2"), CLIENTS (40), PORT (a free base port), KEEP (a
# directory to keep the results files in, for `dsend report`).
# It stops only the processes it started, by process id.
#
# bash bench/twin.sh --netns: the measured side on real, rate-limited links (issue #15,
# doc/cluster.md): the namespace cluster of scripts/netns-cluster.sh with D device hosts
# (DEVICES, default 3) and a client host; serve runs one device a host with --data-net
# and --nic X (PACE=off: no pacing limit of its own, the link alone limits), each
# device's data link a tc token bucket at the rate `--nic X` counts as X (X x 1370/1356:
# tbf also meters the Ethernet header), and dsend clients runs on the client host.  The model is dsend sim --like the
# measured run with --nic X.  Swept over LOADS (default "0.8 0.9 1 1.03 1.06 1.09
# 1.12 1.2 1.4", the demand of all clients playing over D x X); the capacity knee is the load at
# which more than KNEE_PCT (default 10) % of the clients first had an underrun,
# interpolated between loads, in each world; target: the two knees within 5 %.  Needs
# root (namespaces).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
if [ "${1:-}" = --netns ]; then
    exec bash bench/twin-netns.sh
fi
lib=${DSEND_SAMPLE_LIB:-data/sample.h5}
clients=${CLIENTS:-40}
port=${PORT:-$((20000 + $$ % 20000))}
work=$(mktemp -d)
. bench/lib.sh
trap 'stop_serve; rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
bps=$("$DSEND_H5DUMP" -a /assets/sample/bitrate_bps "$lib" | sed -n 's/^ *(0): //p')
# what the links must carry when every client plays: payload plus 40 header bytes a packet
wire=$(awk -v b="$bps" -v c="$clients" 'BEGIN { printf "%.0f", b * c * (1316 + 40) / 1316 }')
echo "scenario: $lib at $bps bit/s, $clients clients staggered over 10 s, 4 devices; all playing: $wire bit/s on the wire"


printf "%-5s %-9s | %-24s | %-24s | %-22s | %-16s | %-18s\n" load nic "startup p50 ms sim/srv" "startup p99 ms sim/srv" "DF p50 ms sim/srv" "on time % sim/srv" "underrun clients"
for load in ${LOADS:-0.3 0.9 1.2}; do
    nic=$(awk -v w="$wire" -v l="$load" 'BEGIN { printf "%.0f", w / 4 / l }')
    p=$((port + 10))
    port=$p
    serve_start "$p" "$work/serve.err" -np 4 ./dsend serve "$lib" --rtsp "127.0.0.1:$p" \
        --nic "${nic}bit/s" --admission off --duration 300s --out "$work/serve-$load.h5" -q
    ./dsend clients "rtsp://127.0.0.1:$p/" --library "$lib" --clients "$clients" \
        --out "$work/clients-$load.h5" --json -q >"$work/clients-$load.json"
    stop_serve
    "$DSEND_MPIRUN" -q --oversubscribe -np 5 ./dsend sim \
        --like "$work/serve-$load.h5,$work/clients-$load.h5" --json -q \
        --out "$work/sim-$load.h5" >"$work/sim-$load.json"
    s=$work/sim-$load.json m=$work/clients-$load.json
    printf "%-5s %-9s | %10.1f %10.1f   | %10.1f %10.1f   | %9.2f %9.2f   | %6.2f %6.2f   | %4d %4d\n" \
        "$load" "$(awk -v n="$nic" 'BEGIN { printf "%.2fM", n / 1e6 }')" \
        "$(json "$s" startup_ms p50)" "$(json "$m" startup_ms p50)" \
        "$(json "$s" startup_ms p99)" "$(json "$m" startup_ms p99)" \
        "$(json "$s" df_ms p50)" "$(json "$m" df_ms p50)" \
        "$(json "$s" on_time_pct)" "$(json "$m" on_time_pct)" \
        "$(json "$s" clients_with_underruns)" "$(json "$m" clients_with_underruns)"
    # the targets of issue #8
    awk -v s50="$(json "$s" startup_ms p50)" -v m50="$(json "$m" startup_ms p50)" \
        -v s99="$(json "$s" startup_ms p99)" -v m99="$(json "$m" startup_ms p99)" \
        -v sdf="$(json "$s" df_ms p50)" -v mdf="$(json "$m" df_ms p50)" \
        -v sot="$(json "$s" on_time_pct)" -v mot="$(json "$m" on_time_pct)" \
        -v sun="$(json "$s" clients_with_underruns)" -v mun="$(json "$m" clients_with_underruns)" \
        -v n="$clients" -v load="$load" 'function rel(a, b) { return b != 0 ? (a - b) / b : (a == 0 ? 0 : 1) }
        function abs(x) { return x < 0 ? -x : x }
        function verdict(ok) { return ok ? "met" : "MISSED" }
        BEGIN {
            printf "      load %s targets: startup p50 %+.1f%% (10%%: %s), p99 %+.1f%% (10%%: %s), DF p50 %+.2f ms %+.0f%% (25%% or 5 ms: %s), on time %+.2f points (3: %s), underrun clients %+d (10%% of %d: %s)\n",
                load, 100 * rel(s50, m50), verdict(abs(rel(s50, m50)) <= 0.10),
                100 * rel(s99, m99), verdict(abs(rel(s99, m99)) <= 0.10),
                sdf - mdf, 100 * rel(sdf, mdf), verdict(abs(sdf - mdf) <= 5 || abs(rel(sdf, mdf)) <= 0.25),
                sot - mot, verdict(abs(sot - mot) <= 3),
                sun - mun, n, verdict(abs(sun - mun) <= 0.1 * n)
        }'
done
if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP" && cp "$work"/*.h5 "$KEEP"/
    echo "results files in $KEEP: dsend report $KEEP/sim-LOAD.h5 $KEEP/serve-LOAD.h5 $KEEP/clients-LOAD.h5 -o DIR"
fi
