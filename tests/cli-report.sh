# dsend report: every figure is a real PNG (and SVG) whose data has rows; two
# runs share one figure; malformed or foreign files get one clear line.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
need gnuplot gnuplot
run() { timeout 120 "$DSEND_MPIRUN" -q --oversubscribe -np 3 "$DSEND" sim "$DSEND_SAMPLE_LIB" -q "$@"; }
run --clients 40 --out "$TMP/a.h5" --trace || fail "sim a"
run --clients 40 --layout hash --nic 30Mbit/s --out "$TMP/b.h5" || fail "sim b"
expect_ok "$DSEND" report "$TMP/a.h5" -o "$TMP/one"
expect_ok "$DSEND" report "$TMP/a.h5" "$TMP/b.h5" -o "$TMP/two"
for fig in startup jitter mdi_df mdi_mlr lateness subblock_lateness over_time utilization_run1; do
    for d in one two; do
        f="$TMP/$d/$fig.png"
        [ -s "$f" ] || fail "$d: no $fig.png"
        [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' ')" = "89504e47" ] || fail "$f is not a PNG"
        grep -q "<svg" "$TMP/$d/$fig.svg" || fail "$d: no $fig.svg"
    done
done
for dat in startup_run1 jitter_run1 mdi_df_run1 lateness_run1 subblock_lateness_run1 time_run1 utilization_run1; do
    [ "$(grep -vc '^?' "$TMP/one/$dat.dat")" -gt 0 ] || fail "$dat.dat has no rows"
done
# both runs in one figure, each with its legend
for fig in startup jitter lateness over_time; do
    grep -q "1: a.h5" "$TMP/two/$fig.svg" && grep -q "2: b.h5" "$TMP/two/$fig.svg" ||
        fail "$fig.svg does not carry both runs"
done
grep -q "img src='startup.png'" "$TMP/two/index.html" || fail "index.html lacks figures"
grep -q "| client-link | 25Mbit/s |" "$TMP/two/report.md" || fail "report.md lacks the configuration"
grep -q "on time" "$TMP/two/report.md" || fail "report.md lacks the summary"
# summaries carry the run's real figures, not zeros
grep -Eq '^dsend sim: [1-9][0-9]* devices, .* clients, ([1-9][0-9]*\.[0-9]|0\.[1-9]) s simulated' "$TMP/two/report.md" ||
    fail "summary lacks the device count or simulated time: $(grep '^dsend sim' "$TMP/two/report.md")"
grep -q "device load .* 0 B max" "$TMP/two/report.md" && fail "summary shows no device load"
# index.html has the configuration table, escaped
grep -q "<tr><td>client-link</td><td>25Mbit/s</td></tr>" "$TMP/two/index.html" || fail "index.html lacks the configuration"

# two runs that differ (a client prebuffer of 500 ms instead of 1 s: startup 500 ms shorter): the
# comparison, in report.md and on stdout;
# the '_' of a file name stays literal in legends (gnuplot's enhanced text would eat it)
# (packet by packet, --pace-burst 0: a burst on a link slower than its rate would move the
# startup by a --pace-batch slot, blurring the 500 ms this checks exactly)
run --clients 8 --pace-burst 0 --out "$TMP/fast.h5" || fail "sim fast"
run --clients 8 --pace-burst 0 --nic 20Mbit/s --prebuffer 500ms --out "$TMP/nic_20.h5" || fail "sim nic_20"
expect_ok "$DSEND" report "$TMP/fast.h5" "$TMP/nic_20.h5" -o "$TMP/cmp"
line=$(grep '^compare startup_ms p50 ' "$TMP/ok.out") || fail "no startup comparison on stdout: $(cat "$TMP/ok.out")"
set -- $line
[ $# -eq 8 ] && [ "$4" != "$5" ] && [ "$4" != - ] && [ "$5" != - ] && [ "$8" = 2 ] &&
    awk -v d="$6" 'BEGIN { exit !(d > -500.5 && d < -499.5) }' ||
    fail "startup comparison does not show the 500 ms shorter prebuffer: $line"
grep -Fq "| p50 | $4 | $5 | $6 | $7 |" "$TMP/cmp/report.md" || fail "report.md lacks the comparison row: $line"
grep -q "<h3>startup (ms)</h3>" "$TMP/cmp/index.html" || fail "index.html lacks the comparison"
for m in jitter_ms df_ms mlr max_lateness_ms ontime_pct underruns stall_s; do
    grep -q "^compare $m p99 " "$TMP/ok.out" || fail "no $m comparison on stdout"
done
grep -q '^compare ontime_pct total ' "$TMP/ok.out" && grep -q '^compare underruns clients ' "$TMP/ok.out" ||
    fail "no on-time total or underrun client count on stdout"
grep -q "2: nic_20.h5 (model)" "$TMP/cmp/startup.svg" || fail "legend with '_' mangled in startup.svg"
for fig in stall underruns; do
    grep -q "<svg" "$TMP/cmp/$fig.svg" || fail "no $fig figure"
done

# a measured run: dsend serve's file (no /clients) + dsend clients' file, paired in either order;
# fields the clients could not measure (listed, or missing) are never plotted
EDIT="$DSEND_TOP_BUILDDIR/tests/results_edit"
cp "$TMP/nic_20.h5" "$TMP/srv.h5" && "$EDIT" "$TMP/srv.h5" attr / kind serve &&
    "$EDIT" "$TMP/srv.h5" unlink /clients || fail "making srv.h5"
cp "$TMP/fast.h5" "$TMP/cli.h5" && "$EDIT" "$TMP/cli.h5" attr / kind clients &&
    "$EDIT" "$TMP/cli.h5" drop-field /clients mlr &&
    "$EDIT" "$TMP/cli.h5" attr /clients not_measured "jitter_ms,df_ms" &&
    "$EDIT" "$TMP/cli.h5" attr /clients units packets || fail "making cli.h5"
expect_ok "$DSEND" report "$TMP/cli.h5" "$TMP/fast.h5" "$TMP/srv.h5" -o "$TMP/meas"
grep -q "report of 2 runs" "$TMP/ok.out" || fail "serve + clients are not one run: $(tail -1 "$TMP/ok.out")"
grep -q "^## Run 1: measured (srv.h5 + cli.h5)" "$TMP/meas/report.md" || fail "no measured run in report.md"
grep -q '^compare jitter_ms p50 - ' "$TMP/ok.out" || fail "unmeasured jitter compared as a number"
grep -q "RFC 3550 jitter (ms) *not measured" "$TMP/meas/report.md" || fail "jitter not shown as not measured"
grep -q "^  units *packets" "$TMP/meas/report.md" || fail "units not shown"
grep -q "^dsend serve: [1-9][0-9]* devices" "$TMP/meas/report.md" || fail "measured run lacks the server's devices"
for fig in jitter mdi_df mdi_mlr; do
    [ ! -e "$TMP/meas/${fig}_run1.dat" ] || fail "$fig of the measured run written as data"
    grep -q "_run1.dat" "$TMP/meas/$fig.gp" && fail "$fig of the measured run plotted"
    grep -q "${fig}_run2.dat" "$TMP/meas/$fig.gp" || fail "$fig of the model run not plotted"
done
grep -q "startup_run1.dat" "$TMP/meas/startup.gp" || fail "measured startup not plotted"
expect_ok "$DSEND" report "$TMP/srv.h5" "$TMP/cli.h5" -o "$TMP/meas2"
grep -q "^## Run 1: measured (srv.h5 + cli.h5)" "$TMP/meas2/report.md" || fail "serve first: not paired"
expect_ok "$DSEND" report "$TMP/cli.h5" -o "$TMP/cli"
grep -q "^dsend clients: 8 sessions measured over .*, [1-9][0-9]* packets received" "$TMP/cli/report.md" ||
    fail "clients summary: $(grep '^dsend' "$TMP/cli/report.md")"

# refusals: one line, nothing left behind
expect_error "exists \(use --force" "$DSEND" report "$TMP/a.h5" -o "$TMP/one"
expect_ok "$DSEND" report "$TMP/b.h5" -o "$TMP/one" --force
printf 'junk' >"$TMP/junk.h5"
expect_error "junk.h5: not an HDF5 file" "$DSEND" report "$TMP/junk.h5" -o "$TMP/bad"
expect_error "sample.h5: not a dsend results file" "$DSEND" report "$DSEND_SAMPLE_LIB" -o "$TMP/bad"
expect_error "missing.h5: No such file" "$DSEND" report "$TMP/missing.h5" -o "$TMP/bad"
DSEND_GNUPLOT=/nonexistent/gnuplot expect_error "gnuplot not found at /nonexistent/gnuplot: install gnuplot-nox" \
    "$DSEND" report "$TMP/a.h5" -o "$TMP/bad"
[ ! -e "$TMP/bad" ] || fail "a failed report left $TMP/bad"
ls "$TMP" | grep -q '\.tmp\.' && fail "temporary report directory left behind"
echo "cli-report: all checks passed"
