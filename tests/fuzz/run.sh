#!/usr/bin/env bash
# Run the fuzz harnesses (tests/fuzz/fuzz_*.c) under clang's libFuzzer with
# AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   tests/fuzz/run.sh [-t SECONDS] [-r RUNS] [NAME...]     (make fuzz FUZZ_TIME=60)
#
# Each harness NAME (rtsp transport range units ts library; default: all)
# is built from the sources it needs into $FUZZ_DIR/bin, then run for
# SECONDS (default 60) or RUNS executions, whichever ends first, starting
# from its seed corpus tests/fuzz/corpus/NAME (read only: new inputs go to
# $FUZZ_DIR/corpus/NAME).  A finding (crash, sanitizer report, broken
# invariant, leak, a run over 120 s) is saved in $FUZZ_DIR/findings/NAME/: add it to
# tests/fuzz/corpus/NAME/ once fixed, and `make check` replays it for good.
# Prints one line per harness and a total: executions, seconds, findings.
# Exit status 1 if anything was found in dsend's code; crashes inside HDF5's
# own decoding of a damaged library file are said apart (see where() below).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${DSEND_TOP_BUILDDIR:-$top}
secs=60 runs=-1
while getopts "t:r:" o; do
    case $o in
    t) secs=$OPTARG ;;
    r) runs=$OPTARG ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(rtsp transport range units ts library)
FUZZ_DIR=${FUZZ_DIR:-$build/tests/fuzz/work}
mkdir -p "$FUZZ_DIR/bin"
[ -f "$build/config.h" ] || { echo "run.sh: no config.h in $build: run ./configure first" >&2; exit 2; }
command -v clang >/dev/null || { echo "run.sh: clang not found (scripts/install-deps.sh)" >&2; exit 2; }

sources() {
    case $1 in
    rtsp | range) echo src/serve/rtsp_parse.c ;;
    transport) echo src/serve/rtsp_parse.c src/util/netaddr.c src/util/error.c ;;
    units) echo src/util/units.c src/util/error.c ;;
    ts) echo src/store/ts.c src/util/error.c ;;
    library) echo src/store/library.c src/store/library_check.c src/store/synthetic.c src/util/atomic.c \
        src/util/h5_util.c src/util/error.c src/util/checksum.c src/util/units.c ;;
    *) echo "run.sh: no harness '$1'" >&2; exit 2 ;;
    esac
}

# clang through Open MPI's wrapper: MPI and parallel HDF5 as the build has them
hdf5_cflags=$(pkg-config --cflags hdf5-openmpi 2>/dev/null || pkg-config --cflags hdf5-mpi)
hdf5_libs=$(pkg-config --libs hdf5-openmpi 2>/dev/null || pkg-config --libs hdf5-mpi)
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
for n in "${names[@]}"; do
    srcs=()
    for s in $(sources "$n"); do srcs+=("$top/$s"); done
    # shellcheck disable=SC2086 # flag lists
    OMPI_CC=clang mpicc -std=c11 -g -O1 $san -D_DEFAULT_SOURCE -I"$top/include" -I"$top/src" \
        -I"$build" -I"$here" $hdf5_cflags "$here/fuzz_$n.c" "${srcs[@]}" $hdf5_libs -lm \
        -o "$FUZZ_DIR/bin/fuzz_$n"
done

# Where a crash is: HDF5's own decoding of a damaged file (Debian 12's 1.10.8
# reads past its buffers on some damaged object headers, upstream's known
# class of bugs: HDFGroup/hdf5#5871, CVE-2025-2310), or dsend's code (any
# other frame, a broken invariant included).  The library harness runs in
# fork mode so that HDF5's crashes do not stop it; they are counted apart.
where() {
    local report
    report=$(ASAN_OPTIONS=detect_leaks=0 "$FUZZ_DIR/bin/fuzz_$1" "$2" 2>&1 || true)
    case "$(printf '%s\n' "$report" | grep -E '^ +#[0-9]+ 0x' |
        grep -vE '__interceptor_|__asan|__sanitizer|__ubsan|fuzzer::' | head -n 1)" in
    *libhdf5*) echo hdf5 ;;
    *) echo dsend ;;
    esac
}

total=0 found=0
printf '%-10s %14s %9s %10s %s\n' harness executions seconds exec/s findings
for n in "${names[@]}"; do
    mkdir -p "$FUZZ_DIR/corpus/$n" "$FUZZ_DIR/findings/$n"
    log="$FUZZ_DIR/fuzz_$n.log"
    # leaks: the parsers own every byte they take; MPI and HDF5 keep theirs to exit
    leaks=1 maxlen=1024 fork=""
    case $n in
    rtsp) maxlen=9000 ;; # a whole header block and more
    ts) maxlen=65536 ;;
    library) maxlen=65536 leaks=0 fork="-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1" ;;
    esac
    # crashes, leaks, timeouts, out of memory (slow-unit reports are not failures)
    find "$FUZZ_DIR/findings/$n" -type f ! -name 'slow-unit-*' | sort >"$FUZZ_DIR/before"
    start=$(date +%s)
    rc=0
    # shellcheck disable=SC2086 # fork: options, split
    ASAN_OPTIONS=detect_leaks=$leaks:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
        "$FUZZ_DIR/bin/fuzz_$n" -max_total_time="$secs" -runs="$runs" $fork \
        -print_final_stats=1 -detect_leaks=$leaks -rss_limit_mb=2048 \
        -timeout=120 -max_len=$maxlen -artifact_prefix="$FUZZ_DIR/findings/$n/" \
        "$FUZZ_DIR/corpus/$n" "$here/corpus/$n" >"$log" 2>&1 || rc=$?
    end=$(date +%s)
    if [ -n "$fork" ]; then # the last status line: #RUNS: ... oom/timeout/crash: ...
        runs_done=$(sed -n 's/^#\([0-9]*\): .*/\1/p' "$log" | tail -n 1)
        runs_done=${runs_done:-0}
    else
        runs_done=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s += $1} END {print s + 0}')
    fi
    new=0 hdf5=0
    for f in $(find "$FUZZ_DIR/findings/$n" -type f ! -name 'slow-unit-*' | sort | comm -13 "$FUZZ_DIR/before" -); do
        if [ "$(where "$n" "$f")" = hdf5 ]; then hdf5=$((hdf5 + 1)); else new=$((new + 1)); fi
    done
    [ "$rc" -eq 0 ] || [ "$new" -gt 0 ] || [ -n "$fork" ] || new=1
    secs_taken=$((end - start))
    printf '%-10s %14d %9d %10d %d%s%s\n' "$n" "$runs_done" "$secs_taken" \
        $((runs_done / (secs_taken > 0 ? secs_taken : 1))) "$new" \
        "$([ "$new" -gt 0 ] && echo " (see $log, $FUZZ_DIR/findings/$n/)")" \
        "$([ "$hdf5" -gt 0 ] && echo " (and $hdf5 inside HDF5's own decoding, in $FUZZ_DIR/findings/$n/)")"
    total=$((total + runs_done))
    found=$((found + new))
done
rm -f "$FUZZ_DIR/before"
printf '%-10s %14d %9s %10s %d\n' total "$total" "" "" "$found"
[ "$found" -eq 0 ]
