# dsend serve across hosts (issue #15, doc/cluster.md): 3 device hosts and 1
# client host of the namespace cluster (scripts/netns-cluster.sh), one
# device a host under mpirun from the launcher, --data-net naming the data
# network.
#  1. ffmpeg on client0 plays the sample whole (the source's video frame
#     count), redirected by the front on dev0 to a device's own data
#     address; every device sends its packets from its own data address.
#  2. The shared service address (--rtp-source, the direct-server-return
#     deployment of doc/cluster.md): GStreamer's rtspsrc on client0, which
#     drops RTP of one SSRC from several sources, saves the sample's bytes
#     whole, sent by all three device hosts from the one address and port.
#  3. A capture on every port of both switches, over both runs: on the
#     control switch only TCP (MPI and the runtime's wire-up) and ARP, not
#     one datagram and no RTSP; on the data switch only RTP/UDP, RTSP, ICMP
#     and ARP, not one MPI connection.
#  4. The cluster and every process of the runs are gone afterwards.
# Cost: about 60 s (two 20 s streams and the start of two MPI jobs).
# Skipped (77) only where network namespaces cannot be made (or a player or
# tcpdump is missing).
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
. "$DSEND_TOP_SRCDIR/scripts/netns-cluster.sh"
why=$(cluster_can) || { echo "SKIP: $why"; exit 77; }
need ffmpeg "$DSEND_FFMPEG"
need ffprobe "$DSEND_FFPROBE"
need tcpdump "$(command -v tcpdump)"
need gst-launch-1.0 "$(command -v gst-launch-1.0)"
gst-inspect-1.0 rtspsrc >/dev/null 2>&1 || skip "GStreamer's rtspsrc not found (gstreamer1.0-plugins-good)"
gst-inspect-1.0 rtpmp2tdepay >/dev/null 2>&1 || skip "GStreamer's rtpmp2tdepay not found"
step() { echo "--- [${SECONDS}s] $*"; }
# stamp PID...: each as PID:START (its start time, /proc/PID/stat field 22),
# so a process id the machine reuses later is not taken for ours
stamp() {
    local p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && echo "$p:$(sed 's/^.*) //' "/proc/$p/stat" | cut -d' ' -f20)"
    done
    return 0
}
# The ports of the service, fixed: they live only in the run's own
# namespaces, where nothing else listens (the front PORT, devices PORT+1..3)
PORT=8554

# serve_cluster NAME ARGS...: dsend serve on the 3 device hosts, in the
# background (SERVER_PID), until the front on dev0's data address answers
# from client0
serve_cluster() {
    local name=$1 i
    shift
    timeout -k 5 200 "$CLUSTER_DIR/mpirun" -np 3 "$DSEND" serve "$DSEND_SAMPLE_LIB" \
        --rtsp "0.0.0.0:$PORT" --data-net "$CLUSTER_DATA_NET" --detect 2s --duration 150s "$@" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    SERVER_PID=$!
    for i in $(seq 1 300); do
        if cluster_on client0 bash -c "exec 3<>/dev/tcp/$FRONT/$PORT" 2>/dev/null; then
            # mpirun, its launch agents, the ranks: none may outlive the test
            stamp $SERVER_PID $(descendants "$SERVER_PID") >>"$TMP/pids"
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || fail "serve ($name) died: $(cat "$TMP/$name.err")"
        sleep 0.1
    done
    fail "serve ($name) did not listen on $FRONT:$PORT"
}
# stop_cluster NAME: SIGTERM to our ranks, a clean exit with the statistics
stop_cluster() {
    signal_ranks TERM "$SERVER_PID" || fail "no ranks of serve ($1)"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    [ "$rc" -eq 0 ] || fail "serve ($1): exit status $rc after SIGTERM: $(cat "$TMP/$1.err")"
    grep -q "stopped by a signal" "$TMP/$1.out" || fail "serve ($1): no statistics after SIGTERM"
}

(
    step "cluster_up: 3 device hosts, 1 client host"
    cluster_up --devices 3 --clients 1 || fail "cluster_up"
    echo "$CLUSTER_ID" >"$TMP/id"
    FRONT=$(cluster_addr dev0-data)
    VIP=${CLUSTER_DATA_NET%.0/24}.200

    # one capture of every switch port (-i any: each line names the port)
    ip netns exec "$CLUSTER_ID-sw" tcpdump -i any -n -t -q -l -s 96 >"$TMP/capture" 2>"$TMP/tcpdump.err" &
    capture=$!
    stamp "$capture" >>"$TMP/pids"
    for _ in $(seq 1 100); do grep -q "listening on" "$TMP/tcpdump.err" && break; sleep 0.05; done
    grep -q "listening on" "$TMP/tcpdump.err" || fail "tcpdump: $(cat "$TMP/tcpdump.err")"

    step "serve across the hosts; ffmpeg on client0"
    serve_cluster own
    grep "clients connect to rtsp://$FRONT:$PORT/" "$TMP/own.out" || fail "the front is not on dev0's data address: $(cat "$TMP/own.out")"
    # -max_delay 2 s: a player's jitter buffer (rtspsrc's default latency);
    # ffmpeg's own 0.1 s gives up on packets that devices starved of CPU
    # on a loaded machine (the hosts share its cores) send late
    timeout 90 "$CLUSTER_DIR/on" client0 "$DSEND_FFMPEG" -nostdin -v error -rtsp_transport udp \
        -max_delay 2000000 -i "rtsp://$FRONT:$PORT/sample" -c copy -f mpegts "$TMP/got.ts" 2>"$TMP/ffmpeg.err" ||
        fail "ffmpeg on client0 failed: $(cat "$TMP/ffmpeg.err"); serve: $(tail -n 20 "$TMP/own.err")"
    stop_cluster own
    tail -n 1 "$TMP/own.out"
    want=$(video_frames "$DSEND_SAMPLE_TS")
    got=$(video_frames "$TMP/got.ts")
    echo "source: $want video frames; received on client0 from 3 device hosts: $got"
    [ -n "$want" ] && [ "$got" = "$want" ] || fail "frames: got $got, want $want"

    step "one service address (--rtp-source $VIP); GStreamer's rtspsrc on client0"
    # direct server return: dev0 answers ARP for the address (on its data
    # interface), dev1 and dev2 hold it on lo and neither answer nor
    # announce it (doc/cluster.md)
    cluster_on dev0 ip addr add "$VIP/32" dev data || fail "service address on dev0"
    for h in dev1 dev2; do
        cluster_on "$h" sh -ec 'echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore
            echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce
            ip addr add "$0/32" dev lo' "$VIP" || fail "service address on $h"
    done
    serve_cluster shared --rtp-source "$VIP"
    timeout 90 "$CLUSTER_DIR/on" client0 gst-launch-1.0 -q rtspsrc location="rtsp://$FRONT:$PORT/sample" \
        protocols=udp ! rtpmp2tdepay ! filesink location="$TMP/gst.ts" >"$TMP/gst.out" 2>&1 ||
        fail "gst-launch-1.0 on client0 failed: $(cat "$TMP/gst.out"); serve: $(tail -n 20 "$TMP/shared.err")"
    stop_cluster shared
    tail -n 1 "$TMP/shared.out"
    size=$(stat -c %s "$DSEND_SAMPLE_TS")
    cmp -n "$size" "$TMP/gst.ts" "$DSEND_SAMPLE_TS" ||
        fail "what GStreamer saved is not the asset's bytes whole ($(stat -c %s "$TMP/gst.ts") of $size bytes)"
    echo "ok: rtspsrc on client0 saved the sample whole ($size bytes) from 3 device hosts"

    step "what crossed which switch"
    sleep 0.5
    kill -INT "$capture" 2>/dev/null
    wait "$capture" 2>/dev/null
    cat "$TMP/tcpdump.err" >&2
    # a line: PORT DIR IP SRC.SPORT > DST.DPORT: tcp N | UDP, length N; or
    # PORT DIR ARP, ...  (ICMP on the data switch: the devices' port
    # unreachable to the players' RTCP reports.)  Counted once, as it enters the switch: DIR P (for
    # another host), B (broadcast), M (multicast) or In, not Out
    awk -v front="$FRONT" -v vip="$VIP" -v lo="$PORT" -v hi="$((PORT + 3))" '
        function port(a) { sub(/:$/, "", a); n = split(a, p, "."); return p[n] + 0 }
        function host(a) { sub(/:$/, "", a); n = split(a, p, "."); return p[1] "." p[2] "." p[3] "." p[4] }
        NF == 0 || $2 == "Out" { next }
        {
            sw = $1; sub(/-.*/, "", sw)
            if ($3 == "ARP,") { next }
            if ($3 != "IP") { printf "%s: not IPv4 or ARP: %s\n", sw, $0; bad++; next }
            rtsp = (port($4) >= lo && port($4) <= hi) || (port($6) >= lo && port($6) <= hi)
            if ($7 == "UDP,") kind = "udp"; else if ($7 == "tcp") kind = rtsp ? "rtsp" : "tcp"
            else if ($7 == "ICMP") kind = "icmp"; else kind = "other"
            if (sw == "ctl" && kind != "tcp") { printf "control switch: %s\n", $0; bad++ }
            if (sw == "data" && kind != "udp" && kind != "rtsp" && kind != "icmp") { printf "data switch: %s\n", $0; bad++ }
            if (sw == "ctl") ctl++
            if (sw == "data" && kind == "udp" && $1 ~ /^data-dev/) {
                media++
                src[$1 " from " host($4)]++
            }
        }
        END {
            printf "control switch: %d packets, all TCP (MPI); data switch: %d RTP datagrams from the device hosts\n", ctl, media
            for (s in src) printf "  %s: %d RTP datagrams\n", s, src[s]
            exit bad > 0 }' "$TMP/capture" >"$TMP/verdict" || { head -n 20 "$TMP/verdict"; fail "traffic on the wrong switch"; }
    cat "$TMP/verdict"
    # MPI crossed the control switch; every device host sent media, from its
    # own data address in the first run and from the service address in the
    # second (datagrams as the switch sees them: a UDP GSO send of several
    # RTP packets crosses the virtual links whole)
    [ "$(awk '/^control switch:/ { print $3 }' "$TMP/verdict")" -gt 100 ] || fail "no MPI on the control switch?"
    for i in 0 1 2; do
        own=$(cluster_addr "dev$i-data")
        n=$(awk -v k="  data-dev$i from $own:" 'index($0, k) == 1 { print $(NF - 2) }' "$TMP/verdict")
        [ "${n:-0}" -gt 100 ] || fail "dev$i sent ${n:-0} RTP packets from its own data address $own"
        n=$(awk -v k="  data-dev$i from $VIP:" 'index($0, k) == 1 { print $(NF - 2) }' "$TMP/verdict")
        [ "${n:-0}" -gt 100 ] || fail "dev$i sent ${n:-0} RTP packets from the service address $VIP"
    done
    [ "$(grep -c '^  data-dev' "$TMP/verdict")" -eq 6 ] || fail "media from other addresses: $(cat "$TMP/verdict")"

    step "cluster_down"
    cluster_down
) || exit 1
id=$(cat "$TMP/id")
[ -z "$(cluster_left "$id")" ] || fail "cluster $id left behind: $(cluster_left "$id")"
# the server's mpirun, its launch agents and ranks, the capture
# (a launch agent's shell may take a moment to see its children gone: 10 s)
for ps in $(cat "$TMP/pids"); do
    p=${ps%%:*}
    for _ in $(seq 1 100); do
        [ "$(stamp "$p")" = "$ps" ] || break
        sleep 0.1
    done
    [ "$(stamp "$p")" != "$ps" ] || fail "process $p of the runs left: $(ps -o args= -p "$p")"
done
echo "ok: cluster $id and every process of the runs are gone"
