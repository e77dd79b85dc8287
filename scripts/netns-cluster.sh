#!/usr/bin/env bash
# A cluster on one machine (issue #15): hosts in Linux network namespaces,
# joined by a control switch and a data switch, with real rate limits on the
# devices' data links.  doc/cluster.md has the picture and the mpirun recipe.
#
# Run it around a command:
#   bash scripts/netns-cluster.sh [--devices D] [--clients C] [--rate RATE] [--slots S] -- CMD [ARGS...]
# builds the cluster, runs CMD in the root namespace with CLUSTER_* in its
# environment ($CLUSTER_DIR/mpirun ARGS... runs mpirun from the launcher
# across the device hosts, $CLUSTER_DIR/on HOST CMD... runs a command on one
# host), tears the cluster down and exits with CMD's status.
#
# Or source it (tests, benches):
#   . scripts/netns-cluster.sh
#   cluster_up --devices 3 --clients 1 --rate 20Mbit/s   # torn down on EXIT, INT, TERM
#   cluster_mpirun -np 3 dsend load LIB.h5
#   cluster_on client0 CMD...
#   cluster_down
#
# Hosts: launcher (where mpirun runs), dev0 .. dev{D-1}, client0 .. client{C-1}.
# The control switch joins the launcher and the devices; the data switch joins
# the devices and the clients.  Addresses come only from 198.18.0.0/15
# (RFC 2544, benchmarking, never routed): control 198.18.N.0/24, data
# 198.19.N.0/24, where the run number N (0-255) is claimed for the run, and
# with it the name prefix dsnN.  Host H is namespace dsnN-H; the switches
# (bridges "ctl" and "data") and the switch ends of the links live in the
# namespace dsnN-sw, so nothing is added to the root namespace and two runs
# share no name and no address.  Names resolve through a per-run hosts file
# (/etc/netns/dsnN-H/hosts, which `ip netns exec` shows as /etc/hosts).
#
# Teardown kills the processes inside the run's namespaces (by process id,
# from `ip netns pids`) and deletes the namespaces, which takes every link
# with them.  A run killed too hard to tear down (SIGKILL) is removed by the
# next cluster_up once its owner process is gone.
#
# Needs root, iproute2 (ip, tc), util-linux (unshare) and a kernel with veth,
# bridge and tbf.

CLUSTER_RUN_ROOT=${CLUSTER_RUN_ROOT:-/run/dsend-netns}

cluster_die() {
    echo "netns-cluster: $*" >&2
    return 1
}

# cluster_bps RATE: RATE (20Mbit/s, 1.5Gbit/s, 500kbit, 25Mbps, 2000000) in
# bit/s on stdout, with the decimal prefixes of dsend's options
cluster_bps() {
    awk -v r="$1" 'BEGIN {
        s = r; sub(/(bit\/s|bit|bps)$/, "", s)
        m = 1; u = substr(s, length(s), 1)
        if (u == "k" || u == "K") m = 1e3; else if (u == "M") m = 1e6; else if (u == "G") m = 1e9
        if (m != 1) s = substr(s, 1, length(s) - 1)
        if (s !~ /^[0-9]+(\.[0-9]+)?$/ || s * m < 8000) exit 1
        printf "%.0f\n", s * m
    }'
}

# cluster_can: can this machine make the cluster? Silent if so, else one
# line saying why (tests skip on it).  Tried in an anonymous namespace, which
# vanishes with the probe.
cluster_can() {
    [ "$(id -u)" = 0 ] || { echo "network namespaces need root"; return 1; }
    local t
    for t in ip tc unshare; do
        command -v $t >/dev/null || { echo "no $t (iproute2, util-linux)"; return 1; }
    done
    unshare --net sh -c 'ip link add probe0 type veth peer name probe1 && ip link add probe2 type bridge &&
        tc qdisc add dev probe0 root tbf rate 1mbit burst 3028 latency 50ms' >/dev/null 2>&1 ||
        { echo "cannot make a network namespace with veth, bridge and tbf here"; return 1; }
}

# cluster_started PID: the start time of process PID (field 22 of its stat),
# which tells a live owner from a reused process id
cluster_started() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # shellcheck disable=SC2086 # the fields, split
    set -- $stat
    echo "${20}"
}

# cluster_remove ID: tear down cluster ID (dsnN): the processes inside its
# namespaces (ours: the namespaces are), TERM then KILL, then the
# namespaces, which takes every link with them, their hosts files, and last
# the run's directory, which lists them
cluster_remove() {
    local dir=$CLUSTER_RUN_ROOT/$1 ns pids i all
    [ -d "$dir" ] || return 0
    all=$(cat "$dir/namespaces" 2>/dev/null)
    for i in $(seq 1 40); do
        pids=$(for ns in $all; do ip netns pids "$ns" 2>/dev/null; done)
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086 # a list of process ids
        if [ "$i" -le 20 ]; then kill -TERM $pids; else kill -KILL $pids; fi 2>/dev/null || true
        sleep 0.1
    done
    # shellcheck disable=SC2086 # a list of names
    [ -z "$all" ] || printf 'netns del %s\n' $all | ip -force -batch - 2>/dev/null || true
    for ns in $all; do rm -rf "/etc/netns/$ns"; done
    rm -rf "$dir"
}

# cluster_reap: remove the clusters whose runs ended without tearing down
# (owner process gone); never one whose owner lives
cluster_reap() {
    local dir owner start
    for dir in "$CLUSTER_RUN_ROOT"/dsn*; do
        [ -f "$dir/owner" ] || continue
        read -r owner start <"$dir/owner" || continue
        [ "$(cluster_started "$owner")" = "$start" ] && continue
        echo "netns-cluster: removing ${dir##*/}, left by a run that ended (process $owner)" >&2
        cluster_remove "${dir##*/}"
    done
}

# cluster_claim: a free run number N, taken atomically (mkdir); sets
# CLUSTER_ID, CLUSTER_N and CLUSTER_DIR
cluster_claim() {
    local try n me taken
    mkdir -p "$CLUSTER_RUN_ROOT" || return 1
    # names left by someone else (a namespace, a hosts file): not ours to remove
    taken=" $(ip netns list | sed -n 's/^dsn\([0-9]*\)-.*/\1/p' | tr '\n' ' ') "
    taken="$taken$(compgen -G '/etc/netns/dsn*-*' | sed -n 's|^/etc/netns/dsn\([0-9]*\)-.*|\1|p' | tr '\n' ' ') "
    for try in $(seq 1 300); do
        n=$(((RANDOM + try) % 256))
        case $taken in *" $n "*) continue ;; esac
        mkdir "$CLUSTER_RUN_ROOT/dsn$n" 2>/dev/null || continue
        CLUSTER_ID=dsn$n CLUSTER_N=$n CLUSTER_DIR=$CLUSTER_RUN_ROOT/dsn$n
        me=$BASHPID # the owner: this shell (in $(...), BASHPID would be another)
        echo "$me $(cluster_started "$me")" >"$CLUSTER_DIR/owner"
        return 0
    done
    cluster_die "no free run number in $CLUSTER_RUN_ROOT (256 clusters at once?)"
}

# The sysctls that keep a namespace silent: IPv6 off, so nothing speaks on a
# link unless we make it (the switches' counters show only our traffic)
CLUSTER_QUIET='echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 && ip link set lo up'

# cluster_host H BRIDGE:ADDR...: host H's side, in one shell inside its
# namespace: a veth pair to each switch BRIDGE (interface BRIDGE here, port
# BRIDGE-H in the switch namespace) with address ADDR/24
cluster_host() {
    local h=$1
    shift
    ip netns exec "$CLUSTER_ID-$h" sh -ec "$CLUSTER_QUIET"'
        h=$1 sw=$2
        shift 2
        for spec in "$@"; do
            b=${spec%%:*}
            echo "link add $b type veth peer name $b-$h netns $sw"
            echo "addr add ${spec#*:}/24 dev $b"
            echo "link set $b up"
        done | ip -batch -
    ' sh "$h" "$CLUSTER_ID-sw" "$@"
}

# cluster_tbf H RATE_BPS: device H's data link sends at most RATE_BPS, as a
# NIC of that rate would: a token bucket (tbf meters Ethernet frames: a
# datagram's payload + 42 bytes), a burst of 1 ms at that rate (at least two
# full frames), a queue of $CLUSTER_QUEUE (default 50ms) beyond which
# packets are dropped.  An empty RATE_BPS takes the limit away.
cluster_tbf() {
    local burst
    if [ -z "$2" ]; then
        tc -n "$CLUSTER_ID-$1" qdisc del dev data root 2>/dev/null || true
        return 0
    fi
    burst=$(awk -v b="$2" 'BEGIN { x = b / 8 / 1000; printf "%.0f", x < 3028 ? 3028 : x }')
    tc -n "$CLUSTER_ID-$1" qdisc replace dev data root tbf rate "$2bit" burst "$burst" \
        latency "${CLUSTER_QUEUE:-50ms}"
}

# cluster_set_rate RATE|none: every device's data link at RATE from now on
# (benches sweep link rates on one cluster)
cluster_set_rate() {
    local bps="" h
    if [ "$1" != none ]; then
        bps=$(cluster_bps "$1") || { cluster_die "rate $1: expected a rate of at least 8kbit/s, e.g. 20Mbit/s"; return 2; }
    fi
    for h in $CLUSTER_DEVICES; do cluster_tbf "$h" "$bps" || return 1; done
    CLUSTER_RATE_BPS=$bps
    export CLUSTER_RATE_BPS
}

# cluster_build: the namespaces, the switches, the hosts and their links
cluster_build() {
    local sw=$CLUSTER_ID-sw i hosts="launcher $CLUSTER_DEVICES $CLUSTER_CLIENTS" h
    # listed before they exist, so that teardown finds every one made
    echo "$sw" >"$CLUSTER_DIR/namespaces"
    for h in $hosts; do echo "$CLUSTER_ID-$h"; done >>"$CLUSTER_DIR/namespaces"
    sed 's/^/netns add /' "$CLUSTER_DIR/namespaces" | ip -batch - || return 1
    local hostsfile
    hostsfile=$(<"$CLUSTER_DIR/hosts")
    for h in $hosts; do
        mkdir -p "/etc/netns/$CLUSTER_ID-$h" && echo "$hostsfile" >"/etc/netns/$CLUSTER_ID-$h/hosts" || return 1
    done
    ip netns exec "$sw" sh -ec "$CLUSTER_QUIET"'
        for b in ctl data; do ip link add $b type bridge; ip link set $b up; done' || return 1
    cluster_host launcher "ctl:$CLUSTER_CTL_PREFIX.1" || return 1
    for ((i = 0; i < CLUSTER_NDEV; i++)); do
        cluster_host "dev$i" "ctl:$CLUSTER_CTL_PREFIX.$((10 + i))" "data:$CLUSTER_DATA_PREFIX.$((10 + i))" &&
            cluster_tbf "dev$i" "$CLUSTER_RATE_BPS" || return 1
    done
    for ((i = 0; i < CLUSTER_NCLI; i++)); do
        cluster_host "client$i" "data:$CLUSTER_DATA_PREFIX.$((100 + i))" || return 1
    done
    # plug the switch ends in: port BRIDGE-H on switch BRIDGE
    ip netns exec "$sw" sh -ec 'for p in /sys/class/net/*-*; do
        p=${p##*/}; echo "link set $p master ${p%%-*} up"; done | ip -batch -'
}

# cluster_files: the run's hosts file, hostfile, and three commands in
# $CLUSTER_DIR: on, agent (the remote-launch agent) and mpirun
cluster_files() {
    local d=$CLUSTER_DIR i mpirun
    mpirun=${DSEND_MPIRUN:-mpirun}
    command -v "$mpirun" >/dev/null || { cluster_die "no $mpirun (Open MPI)"; return 1; }
    {
        echo "# cluster $CLUSTER_ID: names on the control network, NAME-data on the data network"
        echo "$CLUSTER_CTL_PREFIX.1 launcher"
        for ((i = 0; i < CLUSTER_NDEV; i++)); do
            echo "$CLUSTER_CTL_PREFIX.$((10 + i)) dev$i"
            echo "$CLUSTER_DATA_PREFIX.$((10 + i)) dev$i-data"
        done
        for ((i = 0; i < CLUSTER_NCLI; i++)); do
            echo "$CLUSTER_DATA_PREFIX.$((100 + i)) client$i-data client$i"
        done
    } >"$d/hosts"
    for ((i = 0; i < CLUSTER_NDEV; i++)); do
        echo "dev$i slots=$CLUSTER_SLOTS"
    done >"$d/hostfile"
    # on HOST CMD...: in HOST's network namespace and under its own host name
    # (a UTS namespace), as on that node
    cat >"$d/on" <<EOF
#!/bin/sh
# on HOST CMD...: run CMD on a host of cluster $CLUSTER_ID (made by scripts/netns-cluster.sh).
[ -e "/run/netns/$CLUSTER_ID-\$1" ] || { echo "on: no host \$1 in cluster $CLUSTER_ID" >&2; exit 255; }
exec ip netns exec "$CLUSTER_ID-\$1" unshare --uts /bin/sh -c 'hostname "\$0" && exec "\$@"' "\$@"
EOF
    # The remote-launch agent (plm_rsh_agent): Open MPI calls it as it
    # would ssh, AGENT [ssh options] HOST COMMAND, the command one shell
    # string.  Like an ssh login it starts from a clean environment: what the
    # ranks need comes through mpirun (-x, --mca), as on a real cluster.
    cat >"$d/agent" <<EOF
#!/bin/sh
# Remote-launch agent of cluster $CLUSTER_ID (made by scripts/netns-cluster.sh).
while [ \$# -gt 0 ]; do case \$1 in -*) shift ;; *) break ;; esac; done
host=\$1
shift
exec "$d/on" "\$host" env -i PATH="$PATH" HOME="\${HOME:-/root}" \\
    ${LD_LIBRARY_PATH:+LD_LIBRARY_PATH="$LD_LIBRARY_PATH" }/bin/sh -c "\$*"
EOF
    # mpirun on the launcher across the device hosts, MPI pinned to the
    # control network (doc/cluster.md): pml ob1 (so the byte transfer layers
    # below, and their pinning, carry every message: no UCX or libfabric path
    # of its own), TCP between hosts, the runtime's own traffic (oob) too.
    # mpi_yield_when_idle: the hosts share this machine's cores, so a rank
    # waiting for a message must let the others run (on real nodes, leave it
    # out).  Given as OMPI_MCA_ variables, which mpirun passes on to its
    # daemons and ranks, so that a --mca of the caller's overrides one (Open
    # MPI refuses a parameter given twice on the command line).  As root
    # (namespaces need it), deliberately.
    cat >"$d/mpirun" <<EOF
#!/bin/sh
# mpirun across cluster $CLUSTER_ID (made by scripts/netns-cluster.sh).
exec env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \\
    OMPI_MCA_plm_rsh_agent="$d/agent" OMPI_MCA_pml=ob1 OMPI_MCA_btl=tcp,self \\
    OMPI_MCA_btl_tcp_if_include="$CLUSTER_CTL_NET" OMPI_MCA_oob_tcp_if_include="$CLUSTER_CTL_NET" \\
    OMPI_MCA_mpi_yield_when_idle=1 \\
    "$d/on" launcher "$mpirun" --hostfile "$d/hostfile" "\$@"
EOF
    chmod +x "$d/on" "$d/agent" "$d/mpirun"
}

# cluster_up [--devices D] [--clients C] [--rate RATE] [--slots S]: build a
# cluster (defaults: 3 devices, 1 client, no rate limit, 1 slot a device
# host); sets and exports CLUSTER_ID, CLUSTER_DIR, CLUSTER_CTL_NET,
# CLUSTER_DATA_NET, CLUSTER_DEVICES, CLUSTER_CLIENTS, CLUSTER_RATE_BPS; tears
# it down on EXIT (then runs the caller's own EXIT trap), INT and TERM
cluster_up() {
    local ndev=3 ncli=1 rate="" slots=1 i prev
    while [ $# -gt 0 ]; do
        case $1 in
        --devices | --clients | --rate | --slots)
            [ $# -ge 2 ] || { cluster_die "$1 needs a value"; return 2; }
            case $1 in --devices) ndev=$2 ;; --clients) ncli=$2 ;; --rate) rate=$2 ;; --slots) slots=$2 ;; esac
            shift 2
            ;;
        *) cluster_die "unknown option $1 (--devices D, --clients C, --rate RATE, --slots S)"; return 2 ;;
        esac
    done
    [[ $ndev =~ ^[0-9]+$ ]] && [ "$ndev" -ge 1 ] && [ "$ndev" -le 89 ] ||
        { cluster_die "--devices $ndev: a number from 1 to 89"; return 2; }
    [[ $ncli =~ ^[0-9]+$ ]] && [ "$ncli" -le 100 ] || { cluster_die "--clients $ncli: a number from 0 to 100"; return 2; }
    [[ $slots =~ ^[0-9]+$ ]] && [ "$slots" -ge 1 ] || { cluster_die "--slots $slots: a number, at least 1"; return 2; }
    CLUSTER_RATE_BPS=
    if [ -n "$rate" ]; then
        CLUSTER_RATE_BPS=$(cluster_bps "$rate") ||
            { cluster_die "--rate $rate: expected a rate of at least 8kbit/s, e.g. 20Mbit/s"; return 2; }
    fi
    [ -z "${CLUSTER_ID:-}" ] || { cluster_die "cluster $CLUSTER_ID is already up in this shell"; return 1; }
    local why
    why=$(cluster_can) || { cluster_die "$why"; return 1; }

    cluster_reap
    cluster_claim || return 1
    # the caller's EXIT trap runs after ours (`trap -p` prints it quoted for
    # eval).  Not in a subshell: there `trap -p` shows the parent's traps,
    # which do not run when the subshell exits (a trap the subshell set
    # itself is replaced)
    prev=""
    if [ "$BASHPID" = "$$" ]; then
        prev=$(trap -p EXIT)
        eval "set -- ${prev:-x x ''}"
        prev=$3
    fi
    # shellcheck disable=SC2064 # the caller's trap, as it is now
    trap "cluster_down; $prev" EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    CLUSTER_NDEV=$ndev CLUSTER_NCLI=$ncli CLUSTER_SLOTS=$slots
    CLUSTER_CTL_PREFIX=198.18.$CLUSTER_N CLUSTER_DATA_PREFIX=198.19.$CLUSTER_N
    CLUSTER_CTL_NET=$CLUSTER_CTL_PREFIX.0/24 CLUSTER_DATA_NET=$CLUSTER_DATA_PREFIX.0/24
    CLUSTER_DEVICES=$(for ((i = 0; i < ndev; i++)); do printf 'dev%d ' $i; done)
    CLUSTER_CLIENTS=$(for ((i = 0; i < ncli; i++)); do printf 'client%d ' $i; done)
    CLUSTER_DEVICES=${CLUSTER_DEVICES% } CLUSTER_CLIENTS=${CLUSTER_CLIENTS% }
    export CLUSTER_ID CLUSTER_DIR CLUSTER_CTL_NET CLUSTER_DATA_NET CLUSTER_DEVICES CLUSTER_CLIENTS CLUSTER_RATE_BPS

    if ! { cluster_files && cluster_build; }; then
        cluster_die "could not build cluster $CLUSTER_ID"
        cluster_down
        return 1
    fi
}

# cluster_down: remove this shell's cluster (again: nothing)
cluster_down() {
    [ -n "${CLUSTER_ID:-}" ] || return 0
    cluster_remove "$CLUSTER_ID"
    unset CLUSTER_ID
}

cluster_mpirun() { "$CLUSTER_DIR/mpirun" "$@"; }
cluster_on() { "$CLUSTER_DIR/on" "$@"; }

# cluster_addr NAME: the address of NAME in the run's hosts file (devH and
# launcher: control network; devH-data, clientH: data network)
cluster_addr() {
    awk -v h="$1" '!/^#/ { for (i = 2; i <= NF; i++) if ($i == h) { print $1; exit } }' "$CLUSTER_DIR/hosts"
}

# cluster_counters: one line per switch port: SWITCH PORT rx_bytes tx_bytes
# rx_packets tx_packets (rx: what the host sent into the switch, tx: what
# the switch delivered to it)
cluster_counters() {
    ip netns exec "$CLUSTER_ID-sw" sh -c '
        for p in /sys/class/net/*-*; do
            s=$p/statistics
            echo "$(basename "$(readlink "$p/master")") ${p##*/} $(cat $s/rx_bytes) $(cat $s/tx_bytes) $(cat $s/rx_packets) $(cat $s/tx_packets)"
        done'
}

# cluster_left ID: what of cluster ID still exists (namespaces, hosts files,
# its directory), one line each; nothing once it is gone
cluster_left() {
    [ -n "$1" ] || return 0
    ip netns list | sed -n "s/^\($1-[^ ]*\).*/namespace \1/p"
    compgen -G "/etc/netns/$1-*" | sed 's/^/hosts file /'
    [ -e "$CLUSTER_RUN_ROOT/$1" ] && echo "directory $CLUSTER_RUN_ROOT/$1"
    return 0
}

# --- run as a command --------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    args=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        case $1 in -h | --help) sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0"; exit 0 ;; esac
        args+=("$1")
        shift
    done
    [ "${1:-}" = -- ] && shift
    [ $# -gt 0 ] || { echo "usage: $0 [--devices D] [--clients C] [--rate RATE] [--slots S] -- CMD [ARGS...]" >&2; exit 2; }
    cluster_up "${args[@]}" || exit $?
    echo "netns-cluster: $CLUSTER_ID up: control $CLUSTER_CTL_NET (launcher $CLUSTER_DEVICES)," \
        "data $CLUSTER_DATA_NET ($CLUSTER_DEVICES${CLUSTER_CLIENTS:+ $CLUSTER_CLIENTS})${CLUSTER_RATE_BPS:+, device links $CLUSTER_RATE_BPS bit/s};" \
        "files in $CLUSTER_DIR" >&2
    # CMD in the background (its input still ours), so that a signal to this
    # script tears down at once, rather than after CMD ends, and ends CMD
    # (by SIGTERM: a background command ignores SIGINT)
    "$@" 0<&0 &
    child=$!
    trap 'kill -TERM $child 2>/dev/null; exit 143' TERM
    trap 'kill -TERM $child 2>/dev/null; exit 130' INT
    rc=0
    wait "$child" || rc=$?
    exit "$rc"
fi
