# dsend's command line: --help is true to the option table, bad values get
# one clear line naming the option, exit status 2.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
expect_ok "$DSEND" --help
grep -q "ingest" "$TMP/ok.out" || fail "--help lists no ingest"
expect_ok "$DSEND" --version
grep -Eq '^dsend [0-9]+\.[0-9]+' "$TMP/ok.out" || fail "--version"
for cmd in ingest gen info load; do
    expect_ok "$DSEND" "$cmd" --help
    grep -q "^usage: .*dsend $cmd" "$TMP/ok.out" || fail "$cmd --help has no usage line"
done
expect_ok "$DSEND" gen --help
grep -q -- "--bitrate RATE|MIN:MAX" "$TMP/ok.out" || fail "gen --help lacks --bitrate"
grep -q -- "\[default: 1MiB\]" "$TMP/ok.out" || fail "gen --help lacks the block-size default"

expect_error "unknown command 'frobnicate'" "$DSEND" frobnicate
expect_error "unknown option '--frob'" "$DSEND" info --frob x
expect_error "--assets is not an option of 'dsend info'" "$DSEND" info --assets 3 x.h5
expect_error "^dsend gen: --block-size '12x': unknown unit 'x'" "$DSEND" gen -o "$TMP/a.h5" --block-size 12x
expect_error "^dsend gen: --bitrate '8M:4M': need 0 < MIN <= MAX" "$DSEND" gen -o "$TMP/a.h5" --bitrate 8M:4M
expect_error "^dsend gen: --duration 'soon': not a number" "$DSEND" gen -o "$TMP/a.h5" --duration soon
expect_error "^dsend gen: --seed needs a value" "$DSEND" gen -o "$TMP/a.h5" --seed
expect_error "^dsend gen: --assets 0: must be between 1 and" "$DSEND" gen -o "$TMP/a.h5" --assets 0
expect_error "^dsend info: --layout ring: must be one of stripe, hash" "$DSEND" info x.h5 --layout ring
expect_error "^dsend info: --replicas 3: must not exceed --devices 2" "$DSEND" info x.h5 --devices 2 --replicas 3
expect_error "^dsend gen: missing -o LIB.h5" "$DSEND" gen
expect_error "^dsend info: missing LIB.h5" "$DSEND" info
# usage errors exit 2
rc=0; "$DSEND" gen --block-size 12x -o "$TMP/a.h5" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "usage error exit status $rc, want 2"
[ ! -e "$TMP/a.h5" ] || fail "a failed gen left $TMP/a.h5"
echo "cli-options: all checks passed"
