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
# Exit status 1 if anything was found.
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
    rtsp | transport | range) echo src/serve/rtsp_parse.c ;;
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

total=0 found=0
printf '%-10s %14s %9s %10s %s\n' harness executions seconds exec/s findings
for n in "${names[@]}"; do
    mkdir -p "$FUZZ_DIR/corpus/$n" "$FUZZ_DIR/findings/$n"
    log="$FUZZ_DIR/fuzz_$n.log"
    # leaks: the parsers own every byte they take; MPI and HDF5 keep theirs to exit
    leaks=1 maxlen=1024
    case $n in
    rtsp) maxlen=9000 ;; # a whole header block and more
    ts | library) maxlen=65536 ; [ "$n" = library ] && leaks=0 ;;
    esac
    # crashes, leaks, timeouts, out of memory (slow-unit reports are not failures)
    before=$(find "$FUZZ_DIR/findings/$n" -type f ! -name 'slow-unit-*' | wc -l)
    start=$(date +%s)
    rc=0
    ASAN_OPTIONS=detect_leaks=$leaks:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
        "$FUZZ_DIR/bin/fuzz_$n" -max_total_time="$secs" -runs="$runs" \
        -print_final_stats=1 -detect_leaks=$leaks -rss_limit_mb=2048 \
        -timeout=120 -max_len=$maxlen -artifact_prefix="$FUZZ_DIR/findings/$n/" \
        "$FUZZ_DIR/corpus/$n" "$here/corpus/$n" >"$log" 2>&1 || rc=$?
    end=$(date +%s)
    runs_done=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s += $1} END {print s + 0}')
    after=$(find "$FUZZ_DIR/findings/$n" -type f ! -name 'slow-unit-*' | wc -l)
    new=$((after - before))
    [ "$rc" -eq 0 ] || [ "$new" -gt 0 ] || new=1
    secs_taken=$((end - start))
    printf '%-10s %14d %9d %10d %d%s\n' "$n" "$runs_done" "$secs_taken" \
        $((runs_done / (secs_taken > 0 ? secs_taken : 1))) "$new" \
        "$([ "$new" -gt 0 ] && echo " (see $log, $FUZZ_DIR/findings/$n/)")"
    total=$((total + runs_done))
    found=$((found + new))
done
printf '%-10s %14d %9s %10s %d\n' total "$total" "" "" "$found"
[ "$found" -eq 0 ]
