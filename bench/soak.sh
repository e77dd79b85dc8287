#!/usr/bin/env bash
# Soak benchmark of `dsend serve` (issue 13), not a test: SESSIONS sessions
# at once (default 1000), sustained for MINUTES (default 10), every payload
# byte checked by `dsend clients`, and the server's memory and descriptors
# sampled all along.
#
#   bash bench/soak.sh                       # 1000 sessions, 10 minutes
#   SESSIONS=300 MINUTES=3 bash bench/soak.sh
#   SERVE_ARGS="--max-conns 2048" bash bench/soak.sh   # server options (default:
#                                  --heartbeat 500ms --detect 5s, below)
#
# The clients arrive over 30 s and each plays MINUTES of a BITRATE asset
# (default 256kbit/s; 20 assets, Zipf), keeping its session alive with
# GET_PARAMETER every half session timeout.  Server: mpirun -np NP (default
# 2) dsend serve on loopback,
# checked by the load client on the same machine (it, not the server, may
# saturate first on a small box).  Prints uptime before and after, a line
# per sample (every SAMPLE s, default 30: server RSS and descriptors of
# ranks 0 and 1, RTSP connections open to the devices, client RSS), and a
# table: sessions, packets expected, received, lost, payload mismatches,
# and the server's RSS at the first sample after the arrivals and at the
# end (growth in %).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
. bench/lib.sh
SESSIONS=${SESSIONS:-1000} MINUTES=${MINUTES:-10} NP=${NP:-2} BITRATE=${BITRATE:-256kbit/s}
PORT=${PORT:-26654} SAMPLE=${SAMPLE:-30}
# a device starved of CPU on a shared box must not be taken for dead (with
# one copy of each block, its blocks would go unsent): failure detection
# is not what this measures
SERVE_ARGS=${SERVE_ARGS:---heartbeat 500ms --detect 5s}
# nor a client starved for a few seconds give its session up (it would
# stop its keepalives, and the server end the session)
CLIENT_ARGS=${CLIENT_ARGS:---give-up 60s}
work=$(mktemp -d)
cpid=""
trap 'stop_serve; [ -z "$cpid" ] || kill "$cpid" 2>/dev/null || true; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(uname -srm); uptime at start: $(uptime)"
echo "soak: $SESSIONS sessions of $BITRATE arriving over 30 s, each playing $MINUTES min," \
    "dsend serve -np $NP"
./dsend gen -q -o "$work/lib.h5" --assets 20 --bitrate "$BITRATE" --duration "$((MINUTES + 1))min" \
    --block-size 263200
# shellcheck disable=SC2086 # SERVE_ARGS: options, split
serve_start "$PORT" "$work/serve.err" -np "$NP" ./dsend serve "$work/lib.h5" \
    --rtsp "127.0.0.1:$PORT" --duration "$((MINUTES + 10))min" --sub-block 32900 -q $SERVE_ARGS
# shellcheck disable=SC2086 # CLIENT_ARGS: options, split
./dsend clients "rtsp://127.0.0.1:$PORT/" --library "$work/lib.h5" --clients "$SESSIONS" \
    --arrival-window 30s --session "${MINUTES}min" --json -q $CLIENT_ARGS \
    >"$work/c.json" 2>"$work/c.err" &
cpid=$!

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
# RTSP connections established to the devices' own ports (one per session)
conns() {
    local sl local_ rem st rest n=0 p
    while read -r sl local_ rem st rest; do
        [ "$st" = 01 ] || continue
        p=$((16#${local_##*:}))
        [ "$p" -ge $((PORT + 1)) ] && [ "$p" -le $((PORT + NP)) ] && n=$((n + 1))
    done < <(tail -n +2 /proc/net/tcp)
    echo "$n"
}
printf '%6s %12s %12s %12s %12s %9s %12s\n' t_s rank0_MiB rank0_fds rank1_MiB rank1_fds sessions client_MiB
t0=$(date +%s)
: >"$work/samples"
while kill -0 "$cpid" 2>/dev/null; do
    sleep "$SAMPLE"
    kill -0 "$cpid" 2>/dev/null || break
    r0=$(rank_pid "$mpid" 0 || echo 0) r1=$(rank_pid "$mpid" 1 || echo 0)
    line=$(printf '%6d %12.1f %12d %12.1f %12d %9d %12.1f' $(($(date +%s) - t0)) \
        "$(awk -v k="$(rss "$r0")" 'BEGIN { print k / 1024 }')" "$(ls "/proc/$r0/fd" 2>/dev/null | wc -l)" \
        "$(awk -v k="$(rss "$r1")" 'BEGIN { print k / 1024 }')" "$(ls "/proc/$r1/fd" 2>/dev/null | wc -l)" \
        "$(conns)" "$(awk -v k="$(rss "$cpid")" 'BEGIN { print k / 1024 }')")
    echo "$line" | tee -a "$work/samples"
done
rc=0
wait "$cpid" || rc=$?
cpid=""
stop_serve
echo "uptime at end: $(uptime)"
[ "$rc" -eq 0 ] || { echo "dsend clients failed: $(cat "$work/c.err"); server: $(tail -n 5 "$work/serve.err")"; exit 1; }
num() { sed -n "s/.*\"$1\": \([0-9]*\).*/\1/p" "$work/c.json" | head -1; }
# the first sample once every session plays (a minute in), and the last
awk -v lost="$(num lost)" -v exp_="$(num expected)" -v rcv="$(num received)" \
    -v mism="$(num payload_errors)" -v clients="$SESSIONS" '
    $6 > 0 { n++; t[n] = $1; a[n] = $2; b[n] = $4; if ($6 > peak) peak = $6 }
    END {
        NR = n
        f = 1; while (f < NR && t[f] < 60) f++
        printf "\n%-28s %s\n", "clients (sessions)", clients
        printf "%-28s %d\n", "most at once (connections)", peak
        printf "%-28s %s\n", "packets expected", exp_
        printf "%-28s %s\n", "packets received", rcv
        printf "%-28s %s\n", "packets lost", lost
        printf "%-28s %s\n", "payload mismatches", mism
        if (NR)
            printf "%-28s rank0 %.1f -> %.1f MiB (%+.1f%%), rank1 %.1f -> %.1f MiB (%+.1f%%), t=%ds..%ds\n",
                "server RSS", a[f], a[NR], a[f] ? 100 * (a[NR] - a[f]) / a[f] : 0,
                b[f], b[NR], b[f] ? 100 * (b[NR] - b[f]) / b[f] : 0, t[f], t[NR]
    }' "$work/samples"
