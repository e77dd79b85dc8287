# Malformed libraries: one clear line, non-zero exit, no HDF5 error stack
# (each case checked on its own).
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
lib=$DSEND_SAMPLE_LIB
# bad PATTERN FILE: dsend info FILE fails with one line matching PATTERN
bad() {
    expect_error "$1" "$DSEND" info "$2"
    ! grep -q "HDF5-DIAG" "$TMP/expect.err" "$TMP/expect.out" || fail "raw HDF5 error stack for $2"
}
bad "nope.h5: No such file or directory" "$TMP/nope.h5"
printf 'hello' >"$TMP/text.h5"
bad "text.h5: not an HDF5 file" "$TMP/text.h5"
# truncated: half the file
head -c $(( $(stat -c %s "$lib") / 2 )) "$lib" >"$TMP/half.h5"
bad "half.h5: (cannot open HDF5 file: .*truncated|not an HDF5 file)" "$TMP/half.h5"
# a plain HDF5 file that is not a library, and libraries with a wrong
# version or a missing attribute, made by the unit-test helper
"$DSEND_TOP_BUILDDIR/tests/test_library" --make-malformed "$TMP" >/dev/null ||
    fail "could not make malformed libraries"
bad "foreign.h5: not a dsend library" "$TMP/foreign.h5"
bad "version9.h5: unsupported library format version 9 \(this dsend reads 1\)" "$TMP/version9.h5"
bad "nobitrate.h5: asset 'a': missing attribute 'bitrate_bps'" "$TMP/nobitrate.h5"
bad "shortdata.h5: asset 'a': dataset 'data' has" "$TMP/shortdata.h5"
echo "cli-malformed: all checks passed"
