#!/usr/bin/env bash
# Does a change keep the simulation's results?  Runs 12 reference scenarios
# with two builds and compares them: the --json summary (less wall time,
# memory and the ranks' waits) and the --out results file (h5diff -r, less
# the attributes a run sets for itself: command line, date, output path,
# wall time, memory, LP sizes, and the event core's counts: events and
# windows, printed beside, since a model may reach the same results with
# fewer).  Use it before and after any speed work on the model.
#   bash bench/exact.sh BASE_DSEND [NEW_DSEND]   (NEW defaults to ./dsend)
# Prints one line per scenario (same / DIFFERS, with what differs) and exits
# 1 if any differs.  Not a test: the scenarios take about a minute.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. tests/env.sh
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: bash bench/exact.sh BASE_DSEND [NEW_DSEND]" >&2
    exit 2
fi
base=$(realpath "$1") new=$(realpath "${2:-./dsend}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./dsend gen -q -o "$work/ref.h5" --assets 20 --bitrate 4Mbit/s --duration 60s
./dsend gen -q -o "$work/mixed.h5" --assets 10 --bitrate 1.5Mbit/s --duration 40s
scenarios=(
    "3 ref --devices 4 --clients 300"
    "3 ref --devices 4 --clients 300 --pace-burst 0"
    "3 ref --devices 4 --clients 300 --client-link 4.5Mbit/s"
    "3 ref --devices 4 --clients 300 --client-link 4.5Mbit/s --pace-burst 0"
    "3 ref --devices 4 --clients 300 --pause 0.5 --seek 0.5 --session 20s:60s"
    "3 ref --devices 4 --clients 300 --nic 300Mbit/s --admission off"
    "3 ref --devices 4 --clients 200 --loss 0.01"
    "3 ref --devices 4 --clients 200 --jitter 2ms"
    "4 ref --devices 6 --clients 300 -r 2 --fail 2@20s --recover 2@40s --client-ranks 2"
    "3 mixed --devices 5 --clients 200 --pace-burst 7ms --sub-block 52640 --arrival poisson --arrival-rate 20"
    "3 ref --devices 4 --clients 100 --ram 30% --pause 0.3"
    "3 ref --devices 4 --clients 100 --trace --session 10s"
)
core() { # the event core's own counts: events and windows (printed, not compared)
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print("events %s, windows %s" % (d.get("events"), d.get("windows")))' "$1"
}
strip() { # the --json summary less what a run measures of itself, and the
    # event core's counts (a model may do the same with fewer events)
    python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in ("wall_s", "memory", "ranks", "events", "windows"): d.pop(k, None)
print(json.dumps(d, sort_keys=True, indent=0))' "$1"
}
bad=0 i=0
for s in "${scenarios[@]}"; do
    i=$((i + 1))
    read -r np lib args <<<"$s"
    for side in base new; do
        bin=$base
        [ "$side" = new ] && bin=$new
        # shellcheck disable=SC2086
        "$DSEND_MPIRUN" -q --oversubscribe -np "$np" "$bin" sim "$work/$lib.h5" $args -q --json \
            --out "$work/$side$i.h5" >"$work/$side$i.json" 2>"$work/$side$i.err" </dev/null ||
            { echo "scenario $i ($args): $side failed: $(tail -1 "$work/$side$i.err")"; bad=1; continue 2; }
    done
    what=""
    diff -q <(strip "$work/base$i.json") <(strip "$work/new$i.json") >/dev/null || what="summary"
    h5=$(h5diff -r "$work/base$i.h5" "$work/new$i.h5" 2>&1 |
        awk '/^(attribute|dataset)/ { o = $0 } /[1-9][0-9]* differences found/ { print o }' |
        grep -v -E 'command_line|<date |memory_per|peak_rss|wall_seconds|<out of|_lp_bytes|<events of |<windows of ' |
        sed -E 's/^(attribute|dataset): <([^>]*)>.*/\2/' | tr '\n' ' ')
    [ -n "$h5" ] && what="$what results file: $h5"
    counts="$(core "$work/base$i.json") -> $(core "$work/new$i.json")"
    if [ -z "$what" ]; then
        echo "scenario $i ($args): same ($counts)"
    else
        echo "scenario $i ($args): DIFFERS ($what; $counts)"
        bad=1
    fi
done
exit $bad
