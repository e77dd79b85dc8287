# What an operator relies on: a configuration file (the command line wins;
# bad lines name FILE:LINE), --json that parses on every command that has
# it, the manual page written from the option table, and `make install`
# laying out bin/, include/dsend/, lib/, share/man/ and share/doc/ so that a
# program builds against the installed headers and library.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
command -v jq >/dev/null || { echo "SKIP: no jq"; exit 77; }

# ---- --config
cat >"$TMP/dsend.conf" <<'EOF'
# every command's part: sim and plan take these, serve's own options are passed over
clients = 12
nic = 100Mbit/s     # a comment after a value
rtsp = 127.0.0.1:9000
[sim]
seed = 7
fail = 1@2s
[serve]
max-sessions = 10
EOF
run_sim() { timeout 120 "$DSEND_MPIRUN" --oversubscribe -np 3 "$DSEND" sim "$DSEND_SAMPLE_LIB" --until 3s "$@"; }
run_sim --config "$TMP/dsend.conf" --json >"$TMP/sim.json" || fail "sim --config failed"
jq -e '.clients == 12 and .seed == 7' "$TMP/sim.json" >/dev/null ||
    fail "the file's clients and [sim] seed were not applied: $(cat "$TMP/sim.json")"
run_sim --config "$TMP/dsend.conf" --clients 5 --seed 3 --json >"$TMP/sim.json" || fail "sim --config failed"
jq -e '.clients == 5 and .seed == 3' "$TMP/sim.json" >/dev/null ||
    fail "the command line did not win over the file: $(cat "$TMP/sim.json")"
# the printed configuration shows the file's values, and a list given on the
# command line replaces the file's
run_sim --config "$TMP/dsend.conf" --fail 0@1s >"$TMP/sim.out" || fail "sim --config failed"
grep -Eq '^#   nic += 100Mbit/s$' "$TMP/sim.out" || fail "nic from the file not in the configuration"
grep -Eq '^#   fail += 0@1s$' "$TMP/sim.out" || fail "--fail on the command line did not replace the file's"
grep -q "config" "$TMP/sim.out" && fail "the configuration printed names the file, not what it set"
printf 'clients = 3\nbogus = 1\n' >"$TMP/bad.conf"
expect_error "^dsend sim: $TMP/bad.conf:2: unknown option 'bogus'" "$DSEND" sim x.h5 --config "$TMP/bad.conf"
printf '[sim]\nrtsp = 127.0.0.1:1\n' >"$TMP/bad.conf"
expect_error "^dsend sim: $TMP/bad.conf:2: not an option of this command: 'rtsp'" \
    "$DSEND" sim x.h5 --config "$TMP/bad.conf"
printf 'nic = 10Qbit/s\n' >"$TMP/bad.conf"
expect_error "^dsend sim: $TMP/bad.conf:1: nic = 10Qbit/s: " "$DSEND" sim x.h5 --config "$TMP/bad.conf"
printf '[simulate]\n' >"$TMP/bad.conf"
expect_error "^dsend sim: $TMP/bad.conf:1: unknown command 'simulate'" "$DSEND" sim x.h5 --config "$TMP/bad.conf"
printf 'just words\n' >"$TMP/bad.conf"
expect_error "^dsend info: $TMP/bad.conf:1: want 'name = value'" "$DSEND" info x.h5 --config "$TMP/bad.conf"
expect_error "^dsend info: --config $TMP/none.conf: No such file" "$DSEND" info x.h5 --config "$TMP/none.conf"
for cmd in sim serve info; do
    rc=0; "$DSEND" "$cmd" x.h5 --config "$TMP/bad.conf" 2>/dev/null || rc=$?
    [ "$rc" -eq 2 ] || fail "$cmd: a bad configuration file exits $rc, not 2"
done

# ---- --json parses, and says what the text says
expect_ok "$DSEND" info "$DSEND_SAMPLE_LIB" --json --devices 3 --replicas 2
jq -e '.assets[0].name == "sample" and .totals.assets == 1 and .layout.devices == 3
       and (.layout.per_device | length) == 3 and .layout.replicas == 2
       and ([.layout.per_device[].blocks] | add) == 2 * .totals.blocks' "$TMP/ok.out" >/dev/null ||
    fail "info --json: $(cat "$TMP/ok.out")"
timeout 120 "$DSEND_MPIRUN" --oversubscribe -np 2 "$DSEND" load "$DSEND_SAMPLE_LIB" --json >"$TMP/load.json" ||
    fail "load --json failed"
jq -e '.devices == 2 and .verified == true and .stored_bytes == ([.per_device[].bytes] | add)
       and .stored_bytes > 0' "$TMP/load.json" >/dev/null || fail "load --json: $(cat "$TMP/load.json")"
timeout 300 "$DSEND_MPIRUN" --oversubscribe -np 3 "$DSEND" plan "$DSEND_SAMPLE_LIB" --clients 8 \
    --nic 20Mbit/s --sla 'underrun<=1%,df<=100ms' --json --out "$TMP/plan" >"$TMP/plan.json" ||
    fail "plan --json failed: $(cat "$TMP/plan.json")"
jq -e '(.steps | length) >= 3 and .capacity > 0 and .first_failing == .capacity + 1
       and (.binding | type) == "string" and .sla.df_p99_ms == 100' "$TMP/plan.json" >/dev/null ||
    fail "plan --json: $(cat "$TMP/plan.json")"
cap=$(jq '.capacity' "$TMP/plan.json")
jq -e --argjson c "$cap" '[.steps[] | select(.clients == $c)][0].meets_sla == true
       and [.steps[] | select(.clients == $c + 1)][0].meets_sla == false' "$TMP/plan.json" >/dev/null ||
    fail "plan --json: the capacity step does not meet the SLA or the next one does"
grep -q "^set label 'capacity $cap'" "$TMP/plan/capacity.gp" || fail "the figure does not mark the capacity"
grep -q "SLA DF p99 <= 100 ms" "$TMP/plan/capacity.gp" || fail "the figure does not mark the SLA's DF limit"
grep -q "SLA underrun <= 1%" "$TMP/plan/capacity.gp" || fail "the figure does not mark the SLA's underrun limit"

# serve's final statistics and a client's measurements, as JSON
rtsp_server 2 auto --json
timeout 120 "$DSEND" clients "rtsp://127.0.0.1:$SERVER_PORT/sample" --library "$DSEND_SAMPLE_LIB" \
    --clients 2 --session 3s --json >"$TMP/clients.json" || fail "clients --json failed"
jq -e '.streams_started == 2 and .packets.received > 0 and .packets.lost == 0' "$TMP/clients.json" \
    >/dev/null || fail "clients --json: $(cat "$TMP/clients.json")"
signal_ranks TERM "$SERVER_PID" || fail "no server process"
wait "$SERVER_PID" || fail "server exit status $? after SIGTERM: $(cat "$TMP/server.err")"
jq -e --argjson got "$(jq '.packets.received' "$TMP/clients.json")" \
    '.stopped_by_signal == true and .devices == 2 and .sessions == 2 and .devices_lost == 0
     and .rtp_packets_sent >= $got and (.per_device | length) == 2
     and ([.per_device[].packets] | add) >= $got
     and ([.per_device[] | select(.ram != .share or .cache_misses != 0 or .cache_hits == 0)]
          | length) == 0' "$TMP/server.out" >/dev/null ||
    fail "serve --json: $(cat "$TMP/server.out")"

# ---- the manual page
expect_ok "$DSEND" --man
cp "$TMP/ok.out" "$TMP/dsend.1"
for cmd in ingest gen info load sim serve clients report plan; do
    grep -q "^\\.B $cmd\$" "$TMP/dsend.1" || fail "the manual page lacks the command $cmd"
done
# every option of the table, as --help lists them
for opt in $("$DSEND" serve --help | sed -n 's/^ *\(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p'); do
    pat="\\fB\\-\\-$(printf '%s' "$opt" | sed 's/-/\\-/g')\\fR"
    grep -qF -- "$pat" "$TMP/dsend.1" || fail "the manual page lacks --$opt ($pat)"
done
if command -v man >/dev/null; then
    MANWIDTH=100 man -l "$TMP/dsend.1" >"$TMP/man.txt" 2>"$TMP/man.err" || fail "man -l failed: $(cat "$TMP/man.err")"
    grep -q "^SYNOPSIS" "$TMP/man.txt" || fail "the rendered page has no SYNOPSIS"
    [ ! -s "$TMP/man.err" ] || fail "man -l warns: $(cat "$TMP/man.err")"
fi

# ---- make install
make -s -C "$DSEND_TOP_BUILDDIR" install DESTDIR="$TMP/inst" >"$TMP/install.out" 2>&1 ||
    fail "make install failed: $(tail -5 "$TMP/install.out")"
prefix=$(sed -n 's/^prefix = //p' "$DSEND_TOP_BUILDDIR/Makefile")
p="$TMP/inst$prefix"
for f in bin/dsend include/dsend/dsend.h include/dsend/core.h lib/libdsend.a lib/pkgconfig/dsend.pc \
    share/man/man1/dsend.1 share/doc/dsend/README.md share/doc/dsend/serving.md; do
    [ -f "$p/$f" ] || fail "make install did not install $f"
done
[ ! -e "$p/include/include" ] || fail "headers installed under include/include"
"$p/bin/dsend" --version >/dev/null || fail "the installed dsend does not run"
# a program of the user's, against the installed headers and library
cat >"$TMP/user.c" <<'EOF'
#include <dsend/dsend.h>
int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rc = dsend_main(argc, argv, MPI_COMM_WORLD, stdout);
    MPI_Finalize();
    return rc;
}
EOF
h5=$(pkg-config --cflags --libs hdf5-openmpi 2>/dev/null || pkg-config --cflags --libs hdf5-mpi)
# shellcheck disable=SC2086 # the flags split
mpicc -std=c11 -I"$p/include" "$TMP/user.c" -o "$TMP/user" "$p/lib/libdsend.a" $h5 -lm 2>"$TMP/cc.err" ||
    fail "a program does not build against the installed headers: $(cat "$TMP/cc.err")"
"$TMP/user" info "$DSEND_SAMPLE_LIB" | grep -q "sample" || fail "the user's program does not run dsend"
grep -q "^Libs: -L\${libdir} -ldsend" "$p/lib/pkgconfig/dsend.pc" || fail "dsend.pc"
grep -q "^prefix=$prefix\$" "$p/lib/pkgconfig/dsend.pc" || fail "dsend.pc prefix"
echo "cli-ops: all checks passed"
