# Malformed libraries: one clear line, non-zero exit, no HDF5 error stack.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
lib=$DSEND_SAMPLE_LIB
expect_error "nope.h5: No such file or directory" "$DSEND" info "$TMP/nope.h5"
printf 'hello' >"$TMP/text.h5"
expect_error "text.h5: not an HDF5 file" "$DSEND" info "$TMP/text.h5"
# truncated: half the file
head -c $(( $(stat -c %s "$lib") / 2 )) "$lib" >"$TMP/half.h5"
expect_error "half.h5: (cannot open HDF5 file: .*truncated|not an HDF5 file)" "$DSEND" info "$TMP/half.h5"
# a plain HDF5 file that is not a library, and libraries with a wrong
# version or a missing attribute, made by the unit-test helper
"$DSEND_TOP_BUILDDIR/tests/test_library" --make-malformed "$TMP" >/dev/null ||
    fail "could not make malformed libraries"
expect_error "foreign.h5: not a dsend library" "$DSEND" info "$TMP/foreign.h5"
expect_error "version9.h5: unsupported library format version 9 \(this dsend reads 1\)" \
    "$DSEND" info "$TMP/version9.h5"
expect_error "nobitrate.h5: asset 'a': missing attribute 'bitrate_bps'" "$DSEND" info "$TMP/nobitrate.h5"
expect_error "shortdata.h5: asset 'a': dataset 'data' has" "$DSEND" info "$TMP/shortdata.h5"
for f in "$TMP"/*.err; do
    grep -q "HDF5-DIAG" "$f" && fail "raw HDF5 error stack in $f"
done
echo "cli-malformed: all checks passed"
