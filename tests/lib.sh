# Helpers for shell tests (sourced).
fail() {
    echo "FAIL: $*" >&2
    exit 1
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
