#!/usr/bin/env bash
# README command (b): set up, build, and run the whole test suite (make check).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh
status=0
make -j"$(nproc)" check VERBOSE=1 2>&1 | tee check.out || status=$?
count() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" check.out | tail -n 1; }
pass=$(count PASS); fail=$(count FAIL); skip=$(count SKIP); xfail=$(count XFAIL); err=$(count ERROR)
pass=${pass:-0}; fail=$(( ${fail:-0} + ${err:-0} )); skip=${skip:-0}
rm -f check.out
[ "$status" -eq 0 ] || [ "$fail" -gt 0 ] || fail=1
echo "$pass passed, $fail failed, $skip skipped"
exit "$status"
