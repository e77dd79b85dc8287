# Helpers for shell tests (sourced).
fail() {
    echo "FAIL: $*" >&2
    # what the server this test started said last: the other half of the story
    if [ -n "${SERVER_PID:-}" ] && [ -n "${TMP:-}" ]; then
        local f
        for f in server.out server.err; do
            [ -s "$TMP/$f" ] && { echo "--- last lines of the server's ${f#server.}:"; tail -n 15 "$TMP/$f"; } >&2
        done
    fi
    # a server this test started goes too (by its process id, never by name)
    if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        signal_ranks KILL "$SERVER_PID" || true
        kill "$SERVER_PID" 2>/dev/null || true
    fi
    exit 1
}

# skip WHY: this test cannot run here (a tool it needs is missing): exit 77,
# which automake counts as SKIP, never PASS.  Call it before starting anything.
skip() {
    echo "SKIP: $*"
    exit 77
}

# need NAME VALUE: the tool env.sh found as VALUE (a command), else SKIP.
need() {
    [ -n "$2" ] && command -v "$2" >/dev/null 2>&1 || skip "$1 not found (scripts/debian-packages.txt)"
}

# A fresh temporary directory, removed when the test exits.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dsend-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# expect_error PATTERN CMD...: CMD must exit non-zero and print exactly one
# line on stderr, matching the extended regex PATTERN.
expect_error() {
    local pattern=$1
    shift
    local out="$TMP/expect.out" err="$TMP/expect.err" rc=0
    "$@" >"$out" 2>"$err" || rc=$?
    [ "$rc" -ne 0 ] || fail "expected failure, got exit 0: $*"
    [ "$rc" -lt 128 ] || fail "crashed (exit $rc): $*; stderr: $(cat "$err")"
    local lines
    lines=$(wc -l <"$err")
    [ "$lines" -eq 1 ] || fail "expected one error line, got $lines: $*: $(cat "$err")"
    grep -Eq -- "$pattern" "$err" || fail "error '$(cat "$err")' does not match '$pattern': $*"
    echo "ok: $* -> $(cat "$err")"
}

# expect_ok CMD...: CMD exits 0; stdout is kept in $TMP/ok.out.
expect_ok() {
    "$@" >"$TMP/ok.out" 2>"$TMP/ok.err" || fail "exit $?: $*: $(cat "$TMP/ok.err")"
}

# ports_in_use: every local TCP and UDP port bound on this host (IPv4 and
# IPv6), one per line, in decimal.
ports_in_use() {
    local f sl addr rest
    for f in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
        [ -r "$f" ] || continue
        while read -r sl addr rest; do
            case "${addr##*:}" in
            [0-9A-F][0-9A-F][0-9A-F][0-9A-F]) echo $((16#${addr##*:})) ;;
            esac
        done <"$f"
    done
}

# free_ports SPAN: a port P such that P .. P+SPAN-1 are free now, below the
# kernel's ephemeral range (so no outgoing connection takes one meanwhile).
# Random, so two runs of the suite on one machine do not pick the same.
free_ports() {
    local span=$1 try p i used
    used=" $(ports_in_use | sort -un | tr '\n' ' ') "
    for try in $(seq 1 100); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % (12000 - span)))
        for ((i = 0; i < span; i++)); do
            case "$used" in *" $((p + i)) "*) continue 2 ;; esac
        done
        echo "$p"
        return 0
    done
    fail "no $span free ports in 20000-32000"
}

# rtsp_server NP PORT|auto [ARGS...]: start `dsend serve` on the sample
# library in the background under real mpirun; waits until the front port
# answers.  With auto, the front and device ports (PORT .. PORT+NP) are
# free ones, picked again if another process takes them first.  Sets
# SERVER_PID and SERVER_PORT; stop_server sends SIGTERM and checks a clean
# exit.  SERVER_HOST: --rtsp's address (127.0.0.1; "[::1]" for IPv6).
rtsp_server() {
    local np=$1 port=$2 auto= attempt
    shift 2
    [ "$port" = auto ] && auto=1
    # where to knock: the address itself, or loopback for every address
    local knock=${SERVER_HOST:-127.0.0.1}
    knock=${knock#[} && knock=${knock%]}
    case "$knock" in 0.0.0.0) knock=127.0.0.1 ;; ::) knock=::1 ;; esac
    for attempt in 1 2 3 4 5; do
        [ -n "$auto" ] && { port=$(free_ports $((np + 1))) || fail "no free ports"; }
        # shellcheck disable=SC2086 # SERVER_MPI_FLAGS: mpirun options, split
        timeout -k 5 240 "$DSEND_MPIRUN" -q --oversubscribe ${SERVER_MPI_FLAGS:-} -np "$np" "$DSEND" serve "$DSEND_SAMPLE_LIB" \
            --rtsp "${SERVER_HOST:-127.0.0.1}:$port" --duration 200s "$@" >"$TMP/server.out" 2>"$TMP/server.err" &
        SERVER_PID=$!
        SERVER_PORT=$port
        local i
        for i in $(seq 1 100); do
            if (exec 3<>"/dev/tcp/$knock/$port") 2>/dev/null; then
                return 0
            fi
            if ! kill -0 "$SERVER_PID" 2>/dev/null; then
                wait "$SERVER_PID" 2>/dev/null
                # a port taken between the pick and the bind: pick again
                if [ -n "$auto" ] && grep -q "cannot listen" "$TMP/server.err"; then
                    continue 2
                fi
                fail "server died: $(cat "$TMP/server.err")"
            fi
            sleep 0.1
        done
        fail "server did not listen on $port"
    done
    fail "server found no free ports in 5 attempts: $(cat "$TMP/server.err")"
}

# clients URL ARGS...: `dsend clients`, bounded in time (a server that never
# ends a session fails the test instead of stalling the suite).
clients() {
    timeout -k 5 "${DSEND_CLIENTS_TIMEOUT:-120}" "$DSEND" clients "$@"
}

. "$DSEND_TOP_SRCDIR/scripts/procs.sh" # signal_ranks: our own ranks, by process id

stop_server() {
    signal_ranks TERM "$SERVER_PID" || fail "no server process"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    [ "$rc" -eq 0 ] || fail "server exit status $rc after SIGTERM: $(cat "$TMP/server.err")"
    grep -q "stopped by a signal" "$TMP/server.out" || fail "no statistics after SIGTERM: $(cat "$TMP/server.out")"
}

# rtsp_request PORT FILE: send FILE's bytes as-is, print the status line.
rtsp_request() {
    local port=$1 file=$2
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    cat "$file" >&3
    local line=""
    IFS= read -r -t 5 line <&3 || true
    exec 3<&- 3>&-
    printf '%s\n' "${line%$'\r'}"
}

# A conversation on one RTSP connection (fd 3): rtsp_open PORT, then
# rtsp_ask FORMAT [ARGS...] sends a request (printf FORMAT) and reads the
# whole answer (5 s at most): RTSP_STATUS is its status code ("closed" if
# none came), RTSP_SESSION the id of its Session header if it had one (kept
# otherwise); rtsp_close ends it.
rtsp_open() {
    exec 3<>"/dev/tcp/127.0.0.1/$1" || fail "cannot connect to port $1"
}
rtsp_close() {
    exec 3<&- 3>&-
}
rtsp_ask() {
    # shellcheck disable=SC2059 # the format is the request
    printf "$@" >&3 2>/dev/null
    local line len=0 body
    RTSP_STATUS=closed
    IFS= read -r -t 5 line <&3 || return 0
    line=${line%$'\r'}
    case "$line" in "RTSP/1.0 "[0-9][0-9][0-9]" "*) RTSP_STATUS=${line:9:3} ;; *) return 0 ;; esac
    while IFS= read -r -t 5 line <&3; do
        line=${line%$'\r'}
        [ -n "$line" ] || break
        case "$line" in
        [Ss]ession:*) line=${line#*:} && line=${line# } && RTSP_SESSION=${line%%;*} ;;
        [Cc]ontent-[Ll]ength:*) len=${line#*:} && len=${len# } ;;
        esac
    done
    [ "$len" -eq 0 ] || IFS= read -r -N "$len" -t 5 body <&3 || true
}

# video_frames FILE: the video frame count ffprobe reads.
video_frames() {
    "$DSEND_FFPROBE" -v error -count_frames -select_streams v \
        -show_entries stream=nb_read_frames -of default=nw=1:nk=1 "$1" | head -n 1
}
