# The fuzz harnesses' seed corpus and every crasher found so far
# (tests/fuzz/corpus/NAME/), replayed once through each harness: the RTSP
# request, Transport and Range parsers, the unit parsers, the TS scanner and
# the library opener.  Deterministic and fast; under --enable-sanitizers
# ASan and UBSan watch every input.  (make fuzz runs them under libFuzzer.)
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
export TMPDIR=$TMP # the library harness's temporary file
for n in rtsp transport range units ts library; do
    h="$DSEND_TOP_BUILDDIR/tests/fuzz/fuzz_$n"
    [ -x "$h" ] || fail "$h not built"
    [ -d "$DSEND_TOP_SRCDIR/tests/fuzz/corpus/$n" ] || fail "no corpus for $n"
    "$h" "$DSEND_TOP_SRCDIR/tests/fuzz/corpus/$n" >"$TMP/out" 2>&1 || fail "fuzz_$n: $(tail -n 20 "$TMP/out")"
    cat "$TMP/out"
    grep -q " inputs replayed" "$TMP/out" || fail "fuzz_$n replayed nothing"
done
echo "fuzz-replay: all checks passed"
