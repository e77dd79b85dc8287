# The namespace cluster (issue #15, scripts/netns-cluster.sh): 3 device hosts
# and 1 client host.  mpirun from the launcher puts one rank on each device
# host; `dsend load` and a small `dsend sim` run across them, the simulation
# giving the same per-client results as on one host; MPI crosses only the
# control switch, a UDP blast only the data switch; a device's data link
# keeps to its rate limit; and the cluster is gone afterwards: when the test
# ends, when the command run in it fails, when its run is stopped by SIGTERM,
# and (reaped by the next run) when it is killed outright.
# Skipped (77) only where network namespaces cannot be made.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
. "$DSEND_TOP_SRCDIR/scripts/netns-cluster.sh"
why=$(cluster_can) || { echo "SKIP: $why"; exit 77; }
udp_rate=$DSEND_TOP_BUILDDIR/bench/udp_rate
[ -x "$udp_rate" ] || fail "no $udp_rate (make check builds it)"
cluster_script=$DSEND_TOP_SRCDIR/scripts/netns-cluster.sh
limit() { timeout -k 5 120 "$@"; } # every step bounded in time
step() { echo "--- [${SECONDS}s] $*"; }
# running PID: PID is a live process (not a zombie: an orphan's zombie may
# wait long for an init that does not reap)
running() { case "$(ps -o stat= -p "$1" 2>/dev/null)" in "" | Z*) return 1 ;; esac; }

# counter SWITCH PORT FIELD: a switch port's counter from cluster_counters
# (FIELD 3 rx_bytes, 4 tx_bytes, 5 rx_packets, 6 tx_packets)
counter() { awk -v s="$1" -v p="$2" -v f="$3" '$1 == s && $2 == p { print $f }' "$TMP/counters"; }

(
    step "cluster_up: 3 device hosts, 1 client host, device links at 20Mbit/s"
    cluster_up --devices 3 --clients 1 --rate 20Mbit/s || fail "cluster_up"
    echo "$CLUSTER_ID" >"$TMP/id"
    echo "cluster $CLUSTER_ID: control $CLUSTER_CTL_NET, data $CLUSTER_DATA_NET"
    [ -z "$(ip -o link show | grep "$CLUSTER_ID")" ] || fail "the cluster added links to the root namespace"

    step "dsend load, each rank saying where it runs"
    # one rank a device host, each under its own host name; the client host is no MPI host
    limit "$CLUSTER_DIR/mpirun" -np 3 sh -c 'hostname >>"$0" && exec "$@"' "$TMP/hosts" \
        "$DSEND" load "$DSEND_SAMPLE_LIB" >"$TMP/load" 2>"$TMP/err" ||
        fail "dsend load across the cluster: $(cat "$TMP/err")"
    [ "$(sort "$TMP/hosts" | tr '\n' ' ')" = "dev0 dev1 dev2 " ] || fail "ranks ran on: $(cat "$TMP/hosts")"
    cat "$TMP/load"
    grep -q "every checksum verified" "$TMP/load" || fail "load: no verification line"
    [ "$(grep -c '^ *[0-9]\+ \+[0-9]\+ ' "$TMP/load")" -eq 3 ] || fail "load: expected 3 device rows"

    step "dsend sim, across the cluster and on one host"
    # 3 device ranks and the client rank (on dev0 again); the same per-client
    # table as the same run on one host
    cluster_counters >"$TMP/counters"
    before=$(awk '$1 == "ctl" && $2 ~ /^ctl-dev/ { s += $3 } END { print s }' "$TMP/counters")
    before_l=$(counter ctl ctl-launcher 4)
    sim_args=(sim "$DSEND_SAMPLE_LIB" -q --clients 12 --arrival-window 1s --session 4s)
    limit "$CLUSTER_DIR/mpirun" -np 4 "$DSEND" "${sim_args[@]}" --out "$TMP/cluster.h5" 2>"$TMP/err" ||
        fail "dsend sim across the cluster: $(cat "$TMP/err")"
    limit "$DSEND_MPIRUN" -np 4 "$DSEND" "${sim_args[@]}" --out "$TMP/local.h5" || fail "dsend sim on one host"
    if [ -n "$DSEND_H5DUMP" ]; then
        "$DSEND_H5DUMP" -d /clients "$TMP/cluster.h5" | tail -n +3 >"$TMP/c1"
        "$DSEND_H5DUMP" -d /clients "$TMP/local.h5" | tail -n +3 >"$TMP/c2"
        [ "$(wc -l <"$TMP/c1")" -gt 12 ] && cmp -s "$TMP/c1" "$TMP/c2" ||
            fail "the simulation across hosts differs from the one on one host"
        echo "ok: the simulation across 3 hosts gives the per-client table of one host"
    fi

    # MPI only on the control switch: no host sent one packet into the data
    # switch (no IPv6 chatter there either: the cluster turns it off), and
    # the device hosts' ranks talked to each other through the control
    # switch (all the device ports took in, less what went to the launcher)
    cluster_counters >"$TMP/counters"
    cat "$TMP/counters"
    awk '$1 == "data" && $5 != 0 { bad = 1 } END { exit bad }' "$TMP/counters" ||
        fail "MPI traffic on the data switch: $(grep '^data' "$TMP/counters")"
    after=$(awk '$1 == "ctl" && $2 ~ /^ctl-dev/ { s += $3 } END { print s }' "$TMP/counters")
    dev2dev=$(((after - before) - ($(counter ctl ctl-launcher 4) - before_l)))
    echo "sim: $dev2dev bytes between device hosts over the control switch"
    [ "$dev2dev" -gt 100000 ] || fail "the simulation's ranks exchanged only $dev2dev bytes over the control switch"

    step "a UDP blast over dev0's data link"
    # the rate limit: a blast from dev0 to client0 offered at twice the
    # link's rate.  What left on dev0's data link (its transmit counter, over
    # a window timed from before the first read to after the last) can never
    # exceed what the token bucket lets through, rate x window + its burst,
    # however loaded the machine; and the bucket had to hold packets back.
    # The blast reaches client0 through the data switch, and no host sends a
    # packet into the control switch meanwhile.
    dst=$(cluster_addr client0)
    cluster_counters >"$TMP/counters"
    ctl_before=$(awk '$1 == "ctl" { s += $5 } END { print s }' "$TMP/counters")
    limit "$CLUSTER_DIR/on" client0 "$udp_rate" recv 5004 1 >"$TMP/recv" 2>&1 &
    rpid=$!
    for _ in $(seq 1 100); do grep -q listening "$TMP/recv" && break; sleep 0.05; done
    limit "$CLUSTER_DIR/on" dev0 "$udp_rate" send "$dst" 5004 1.3 $((2 * CLUSTER_RATE_BPS)) data >"$TMP/send" ||
        fail "udp_rate send: $(cat "$TMP/send")"
    wait "$rpid" || fail "udp_rate recv: $(cat "$TMP/recv")"
    cat "$TMP/send" "$TMP/recv"
    read -r _ packets _ < <(tail -n 1 "$TMP/recv")
    [ "$packets" -gt 100 ] || fail "client0 received only $packets packets"
    read -r _ _ _ bytes _ window _ < <(grep '^link data:' "$TMP/send")
    burst=$(cluster_on dev0 tc qdisc show dev data | sed -n 's/.* burst \([0-9]*\)b.*/\1/p')
    [ -n "$burst" ] && [ -n "$bytes" ] || fail "no tbf on dev0's data link, or no link figure"
    awk -v b="$bytes" -v s="$window" -v r="$CLUSTER_RATE_BPS" -v burst="$burst" 'BEGIN {
        allowed = r / 8 * s + burst
        printf "link: %d bytes left dev0 in %.3f s (%.3f of the rate limit); the limit allows %.0f\n", b, s, b * 8 / s / r, allowed
        exit !(b > 0 && b <= allowed) }' || fail "dev0's data link carried more than $CLUSTER_RATE_BPS bit/s allow"
    overlimits=$(cluster_on dev0 tc -s qdisc show dev data | sed -n 's/.*overlimits \([0-9]*\).*/\1/p')
    [ "${overlimits:-0}" -gt 0 ] || fail "the token bucket never held a packet back"
    cluster_counters >"$TMP/counters"
    [ "$(awk '$1 == "ctl" { s += $5 } END { print s }' "$TMP/counters")" = "$ctl_before" ] ||
        fail "the blast on the data network crossed the control switch"
    [ "$(counter data data-client0 4)" -ge "$bytes" ] || fail "the blast did not reach client0 through the data switch"

    step "cluster_down"
    cluster_down
    [ -z "$(cluster_left "$(cat "$TMP/id")")" ] || fail "left behind: $(cluster_left "$(cat "$TMP/id")")"
) || exit 1
id=$(cat "$TMP/id")
[ -z "$(cluster_left "$id")" ] || fail "cluster $id left behind: $(cluster_left "$id")"
echo "ok: cluster $id is gone"

step "a cluster around a failing command"
# run around a command that fails: its status, and nothing left
rc=0
limit bash "$cluster_script" --devices 1 --clients 0 -- sh -c 'echo "$CLUSTER_ID" >"$0"; exit 3' "$TMP/id" || rc=$?
[ "$rc" -eq 3 ] || fail "exit status $rc of a failed command, expected 3"
id=$(cat "$TMP/id")
[ -z "$(cluster_left "$id")" ] || fail "cluster $id left behind by a failed command: $(cluster_left "$id")"
echo "ok: a failed command's cluster $id is gone"

# run_stopped SIG: run a cluster whose command is a process on dev0, stop
# the run with SIG once it is up; prints the run's exit status
run_stopped() {
    rm -f "$TMP/id" "$TMP/pid"
    bash "$cluster_script" --devices 1 --clients 0 -- sh -c \
        'echo "$CLUSTER_ID" >"$0"; echo $$ >"$1"; exec "$CLUSTER_DIR/on" dev0 sleep 60' "$TMP/id" "$TMP/pid" \
        >"$TMP/run.out" 2>&1 &
    local run=$! rc=0
    for _ in $(seq 1 200); do [ -s "$TMP/pid" ] && break; sleep 0.05; done
    [ -s "$TMP/pid" ] || fail "the cluster did not come up"
    kill "-$1" "$run"
    wait "$run" || rc=$?
    echo "$rc"
}
step "a run stopped by SIGTERM"
rc=$(run_stopped TERM)
[ "$rc" -eq 143 ] || fail "exit status $rc after SIGTERM"
id=$(cat "$TMP/id")
! running "$(cat "$TMP/pid")" || fail "the process on dev0 outlived the run stopped by SIGTERM"
[ -z "$(cluster_left "$id")" ] || fail "cluster $id left behind after SIGTERM: $(cluster_left "$id")"
echo "ok: a run stopped by SIGTERM left nothing of $id"

step "a run killed by SIGKILL, then reaped"
run_stopped KILL >/dev/null
id=$(cat "$TMP/id")
# left behind now (unless a run in parallel, another test suite, has just
# reaped it); reaped as the next cluster_up does: its owner is gone
cluster_reap
! running "$(cat "$TMP/pid")" || fail "reaping left the process on dev0 running"
[ -z "$(cluster_left "$id")" ] || fail "cluster $id not reaped after SIGKILL: $(cluster_left "$id")"
echo "ok: a run killed by SIGKILL is reaped: nothing left of $id"
step "done"
