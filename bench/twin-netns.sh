#!/usr/bin/env bash
# The twin bench on real links: `bash bench/twin.sh --netns` (see there and
# doc/cluster.md).  Does the model predict the capacity knee of the service
# when the devices' data links, not a software pacer, are the limit?
#
# For each load l (demand of all clients playing / (D x X)):
#   1. measured: the namespace cluster, D device hosts whose data links are
#      token buckets at the rate --nic X counts (X x 1370/1356); dsend serve
#      -np D across them (--data-net; --nic X, as a site sets its pacer to
#      its NIC, or with PACE=off --nic 10Gbit/s, so the link alone limits),
#      dsend clients on the client host;
#   2. model: dsend sim --like serve.h5,clients.h5 --nic X (on this host);
#   3. good % (expected packets that arrived on time), on-time % and
#      underrun clients of each; packets lost, and dropped by the links.
# Then the capacity knee: the load at which more than KNEE_PCT (10) % of the
# clients first had an underrun, interpolated linearly between the loads
# around it, in each world (the theory: load 1, plus what the clients'
# buffers absorb).
# Environment: DEVICES (3), CLIENTS (40), LOADS, KNEE_PCT (10), PACE (on), KEEP.
# It stops only the processes it started, by process id (and the cluster
# removes everything in its namespaces).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
. bench/lib.sh
. scripts/netns-cluster.sh
why=$(cluster_can) || { echo "twin --netns: $why" >&2; exit 77; }
lib=${DSEND_SAMPLE_LIB:-data/sample.h5}
ndev=${DEVICES:-3}
clients=${CLIENTS:-40}
knee_pct=${KNEE_PCT:-10}
port=8554 # the cluster's own namespaces: nothing else listens there
work=$(mktemp -d)
trap 'stop_serve; cluster_down; rm -rf "$work"' EXIT
cluster_up --devices "$ndev" --clients 1
front=$(cluster_addr dev0-data)

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); cluster $CLUSTER_ID: $ndev device hosts, 1 client host"
bps=$("$DSEND_H5DUMP" -a /assets/sample/bitrate_bps "$lib" | sed -n 's/^ *(0): //p')
wire=$(awk -v b="$bps" -v c="$clients" 'BEGIN { printf "%.0f", b * c * (1316 + 40) / 1316 }')
echo "scenario: $lib at $bps bit/s, $clients clients staggered over 10 s, $ndev devices; all playing: $wire bit/s on the wire"
echo "serve paced to its link (--nic X): ${PACE:-on}; each device link a tbf at X x 1370/1356"
# good FILE: the % of the expected packets that arrived on time (on time %
# of those received, less those lost)
good() {
    awk -v t="$(json "$1" on_time_pct)" -v e="$(sed -n 's/.*"expected": \([0-9]*\).*/\1/p' "$1" | head -1)" \
        -v r="$(sed -n 's/.*"received": \([0-9]*\).*/\1/p' "$1" | head -1)" \
        'BEGIN { printf "%.3f", (e > 0 ? t * r / e : 0) }'
}
printf "%-5s %-9s | %-18s | %-18s | %-20s | %-16s | %s\n" load "link X" "good % sim/srv" "on time % sim/srv" "underrun cl. sim/srv" "startup p50 ms" "lost / link drops"
for load in ${LOADS:-0.8 0.9 1 1.03 1.06 1.09 1.12 1.2 1.4}; do
    nic=$(awk -v w="$wire" -v l="$load" -v d="$ndev" 'BEGIN { printf "%.0f", w / d / l }')
    link=$(awk -v n="$nic" 'BEGIN { printf "%.0f", n * 1370 / 1356 }')
    cluster_set_rate "${link}bit/s"
    serve_nic=${nic}bit/s
    [ "${PACE:-on}" = on ] || serve_nic=10Gbit/s
    timeout -k 5 300 "$CLUSTER_DIR/mpirun" -np "$ndev" ./dsend serve "$lib" --rtsp "0.0.0.0:$port" \
        --data-net "$CLUSTER_DATA_NET" --nic "$serve_nic" --admission off --detect 2s --duration 200s \
        --out "$work/serve-$load.h5" -q >/dev/null 2>"$work/serve.err" &
    mpid=$!
    up=0
    for _ in $(seq 300); do
        if cluster_on client0 bash -c "exec 3<>/dev/tcp/$front/$port" 2>/dev/null; then up=1; break; fi
        kill -0 "$mpid" 2>/dev/null || break
        sleep 0.1
    done
    [ "$up" = 1 ] || { echo "server did not start: $(cat "$work/serve.err")" >&2; exit 1; }
    cluster_on client0 ./dsend clients "rtsp://$front:$port/" --library "$lib" --clients "$clients" \
        --out "$work/clients-$load.h5" --json -q >"$work/clients-$load.json"
    stop_serve
    drops=$(for h in $CLUSTER_DEVICES; do cluster_on "$h" tc -s qdisc show dev data; done |
        awk '/dropped/ { sub(/,/, "", $7); d += $7 } END { print d + 0 }')
    "$DSEND_MPIRUN" -q --oversubscribe -np $((ndev + 1)) ./dsend sim \
        --like "$work/serve-$load.h5,$work/clients-$load.h5" --nic "${nic}bit/s" --json -q \
        --out "$work/sim-$load.h5" >"$work/sim-$load.json"
    s=$work/sim-$load.json m=$work/clients-$load.json
    printf "%-5s %-9s | %8.2f %8.2f  | %8.2f %8.2f  | %8d %8d    | %6.1f %6.1f   | %s / %s\n" \
        "$load" "$(awk -v n="$nic" 'BEGIN { printf "%.3fM", n / 1e6 }')" \
        "$(good "$s")" "$(good "$m")" \
        "$(json "$s" on_time_pct)" "$(json "$m" on_time_pct)" \
        "$(json "$s" clients_with_underruns)" "$(json "$m" clients_with_underruns)" \
        "$(json "$s" startup_ms p50)" "$(json "$m" startup_ms p50)" "$(json "$m" lost)" "$drops"
    echo "$load $(json "$s" clients_with_underruns) $(json "$m" clients_with_underruns)" >>"$work/knee"
    # the next load starts from an empty bucket's counters
    cluster_set_rate none
done
# the knee of each world: the first load at which more than KNEE_PCT % of
# the clients had an underrun, interpolated from the load before it
awk -v k="$knee_pct" -v c="$clients" '
    function knee(col,   i) {
        for (i = 1; i <= n; i++)
            if (v[i, col] > k)
                return i == 1 ? l[1] : l[i - 1] + (l[i] - l[i - 1]) * (k - v[i - 1, col]) / (v[i, col] - v[i - 1, col])
        return -1
    }
    { n++; l[n] = $1; v[n, 1] = 100 * $2 / c; v[n, 2] = 100 * $3 / c }
    END {
        ks = knee(1); km = knee(2)
        if (ks < 0 || km < 0) { printf "knee: at most %s%% of the clients underrun in %s up to load %s: sweep further\n", k, ks < 0 ? "sim" : "serve", l[n]; exit }
        printf "capacity knee (over %s%% of the clients underrun): sim at load %.3f, serve on real links at %.3f: %+.1f%% (target 5%%: %s)\n",
            k, ks, km, 100 * (km - ks) / ks, (km - ks) / ks <= 0.05 && (ks - km) / ks <= 0.05 ? "met" : "MISSED"
    }' "$work/knee"
if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP" && cp "$work"/*.h5 "$KEEP"/
    echo "results files in $KEEP"
fi
