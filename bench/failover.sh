#!/usr/bin/env bash
# The failover bench (issue #9), not a test: what a dead device costs the
# clients, measured and modelled, against detection delay and prebuffer.
#
# The bundled sample (20 s at 1.22 Mbit/s), 20 clients arriving over 2 s,
# 4 devices, two copies of every block (--replicas 2).  Device 2 goes silent
# (--fail) 9 s into the service, mid-stream for every client.  For each
# --detect D and client --prebuffer P:
#   1. measured: mpirun -np 4 dsend serve --fail 2@9s --detect D --out serve.h5,
#      and dsend clients --prebuffer P --out clients.h5 (real RTSP, RTP/UDP on
#      127.0.0.1, every payload byte checked);
#   2. model: mpirun -np 5 dsend sim --like serve.h5,clients.h5: the same
#      configuration, workload and failure (--like moves it from the service's
#      clock to the clients', by the start times both files recorded);
#   3. lost packets, clients with underruns, and the longest gap a client saw
#      (p50 and max), model beside measurement.
# Environment: DETECTS ("300ms 1s"), PREBUFFERS ("250ms 1s"), PORT (a free base
# port).  It stops only the processes it started, by process id.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
lib=${DSEND_SAMPLE_LIB:-data/sample.h5}
port=${PORT:-$((20000 + $$ % 20000))}
work=$(mktemp -d)
. bench/lib.sh
trap 'stop_serve; rm -rf "$work"' EXIT


echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "scenario: $lib, 20 clients over 2 s, 4 devices, --replicas 2, device 2 silent at 9 s of the service"
printf "%-7s %-9s | %-17s | %-17s | %-21s | %-21s\n" detect prebuffer "lost sim/srv" \
    "underrun cl sim/srv" "gap p50 ms sim/srv" "gap max ms sim/srv"
for detect in ${DETECTS:-300ms 1s}; do
    for pre in ${PREBUFFERS:-250ms 1s}; do
        port=$((port + 10))
        serve_start "$port" "$work/serve.err" -np 4 ./dsend serve "$lib" --rtsp "127.0.0.1:$port" \
            --replicas 2 --fail 2@9s --detect "$detect" --duration 120s --out "$work/serve.h5" -q
        ./dsend clients "rtsp://127.0.0.1:$port/" --library "$lib" --clients 20 \
            --arrival-window 2s --prebuffer "$pre" --out "$work/clients.h5" --json -q \
            >"$work/clients.json"
        stop_serve
        "$DSEND_MPIRUN" -q --oversubscribe -np 5 ./dsend sim --like "$work/serve.h5,$work/clients.h5" \
            --json -q >"$work/sim.json"
        s=$work/sim.json m=$work/clients.json
        printf "%-7s %-9s | %7s %7s   | %7s %7s     | %9.1f %9.1f   | %9.1f %9.1f\n" \
            "$detect" "$pre" "$(json "$s" lost)" "$(json "$m" lost)" \
            "$(json "$s" clients_with_underruns)" "$(json "$m" clients_with_underruns)" \
            "$(json "$s" max_gap_ms p50)" "$(json "$m" max_gap_ms p50)" \
            "$(json "$s" max_gap_ms max)" "$(json "$m" max_gap_ms max)"
    done
done
