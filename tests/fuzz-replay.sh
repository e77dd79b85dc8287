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
# The parsers' harnesses again under AddressSanitizer and UBSan, built here
# from their sources when the build itself is not sanitized (CI's is not):
# a read past a buffer that happens to land in mapped memory is caught.
if [ -z "${DSEND_SAN_CFLAGS:-}" ]; then
    src=$DSEND_TOP_SRCDIR
    for n in rtsp transport range units ts; do
        case $n in
        rtsp | range) parser=$src/src/serve/rtsp_parse.c ;;
        transport) parser="$src/src/serve/rtsp_parse.c $src/src/util/netaddr.c" ;;
        units) parser= ;;
        ts) parser=$src/src/store/ts.c ;;
        esac
        # shellcheck disable=SC2086 # $parser: the sources, or none
        "${DSEND_CC:-mpicc}" -std=c11 -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined \
            -fno-omit-frame-pointer -fno-sanitize-recover=undefined -I"$src/include" -I"$src/src" \
            -I"$DSEND_TOP_BUILDDIR" "$src/tests/fuzz/fuzz_$n.c" "$src/tests/fuzz/replay.c" $parser \
            "$src/src/util/error.c" "$src/src/util/units.c" -o "$TMP/san_$n" -lm >"$TMP/cc.out" 2>&1 ||
            fail "cannot build fuzz_$n with the sanitizers: $(tail -n 5 "$TMP/cc.out")"
        ASAN_OPTIONS=detect_leaks=0 "$TMP/san_$n" "$src/tests/fuzz/corpus/$n" >"$TMP/out" 2>&1 ||
            fail "fuzz_$n under ASan and UBSan: $(tail -n 20 "$TMP/out")"
        echo "under ASan and UBSan: $(tail -n 1 "$TMP/out")"
    done
fi
echo "fuzz-replay: all checks passed"
