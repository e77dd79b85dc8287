# dsend report: every figure is a real PNG (and SVG) whose data has rows; two
# runs share one figure; malformed or foreign files get one clear line.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
command -v gnuplot >/dev/null || { echo "gnuplot missing"; exit 77; }
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
