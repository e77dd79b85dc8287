# Shared by the benches that run `dsend serve` against `dsend clients`
# (sourced after tests/env.sh): start and stop our own server, by process
# id only, and read figures of a --json summary.
. scripts/procs.sh
mpid=""

# serve_start PORT ERRFILE ARGS...: dsend serve under mpirun in the
# background (mpid), back once its front port listens; its stdout goes to
# $SERVE_OUT (default nowhere)
serve_start() {
    local port=$1 err=$2 up=0
    shift 2
    # SERVE_PREFIX: a command to run the server under (e.g. "chrt -r 10": real-time priority)
    # shellcheck disable=SC2086
    ${SERVE_PREFIX:-} "$DSEND_MPIRUN" -q --oversubscribe "$@" >"${SERVE_OUT:-/dev/null}" 2>"$err" &
    mpid=$!
    for _ in $(seq 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
        sleep 0.05
    done
    [ "$up" = 1 ] || { echo "server did not start: $(cat "$err")" >&2; exit 1; }
}

stop_serve() {
    [ -n "$mpid" ] || return 0
    # SIGTERM to our own dsend ranks (signalling mpirun would kill the job
    # before it writes its results); they stop together
    signal_ranks TERM "$mpid" || true
    # a stop that hangs (devices that took each other for dead on a loaded
    # host cannot agree who gathers) is ended after 30 s, by process id too
    for _ in $(seq 300); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$mpid" 2>/dev/null; then
        echo "server did not stop in 30 s: killed" >&2
        signal_ranks KILL "$mpid" || true
    fi
    wait "$mpid" || true
    mpid=""
}

# json FILE KEY [STAT]: a figure of a --json summary (a top-level number, or
# a percentile of a per-client figure)
json() {
    case $2 in
    on_time_pct | clients_with_underruns | lost | refused) sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -1 ;;
    *) sed -n "s/.*\"$2\": {[^}]*\"$3\": \([-0-9.]*\).*/\1/p" "$1" | head -1 ;;
    esac
}
