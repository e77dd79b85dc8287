# A careless user (issue 13): every command's bad option values get one
# line naming the option and exit status 2; every damaged library one line
# naming the file and the asset; ingest says nothing of a library it then
# fails to write, and leaves none.  (The MPI commands: tests/mpi/hardening.mpi.)
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u

# usage PATTERN CMD...: exit status 2, one line on stderr matching PATTERN,
# nothing on stdout
usage() {
    local pattern=$1 rc=0
    shift
    "$@" >"$TMP/u.out" 2>"$TMP/u.err" || rc=$?
    [ "$rc" -eq 2 ] || fail "exit status $rc, want 2: $*: $(cat "$TMP/u.err")"
    [ "$(wc -l <"$TMP/u.err")" -eq 1 ] || fail "not one line: $*: $(cat "$TMP/u.err")"
    grep -Eq -- "$pattern" "$TMP/u.err" || fail "'$(cat "$TMP/u.err")' does not match '$pattern'"
    [ ! -s "$TMP/u.out" ] || fail "printed on stdout: $*: $(cat "$TMP/u.out")"
    echo "ok: $* -> $(cat "$TMP/u.err")"
}
lib=$DSEND_SAMPLE_LIB ts=$DSEND_SAMPLE_TS
usage "^dsend ingest: --bitrate 0: must be between 1kbit/s and 100Gbit/s" "$DSEND" ingest "$ts" -o "$TMP/x.h5" --bitrate 0
usage "^dsend ingest: --block-size 2000: a TS asset.s block must be a multiple of 1316" "$DSEND" ingest "$ts" -o "$TMP/x.h5" --block-size 2000
usage "^dsend ingest: --block-size 0: must be between 1316B and 1GiB" "$DSEND" ingest "$ts" -o "$TMP/x.h5" --block-size 0
usage "^dsend gen: --block-size 1: must be between 1316B and 1GiB" "$DSEND" gen -o "$TMP/x.h5" --block-size 1
usage "^dsend gen: --bitrate 1: must be between 1kbit/s and 100Gbit/s" "$DSEND" gen -o "$TMP/x.h5" --bitrate 1
usage "^dsend gen: --duration '30d': unknown unit 'd'" "$DSEND" gen -o "$TMP/x.h5" --duration 30d
usage "^dsend gen: --duration 720h: must be between 1ms and 168h" "$DSEND" gen -o "$TMP/x.h5" --duration 720h
usage "^dsend info: --devices 0: must be between 1 and 65536" "$DSEND" info "$lib" --devices 0
usage "^dsend info: --replicas 0: must be between 1 and 16" "$DSEND" info "$lib" --replicas 0
usage "^dsend report: unknown option '--frob'" "$DSEND" report "$TMP/r.h5" -o "$TMP/rep" --frob
usage "^dsend report: missing -o DIR" "$DSEND" report "$TMP/r.h5"
usage "^dsend clients: --startup 0: must be between 1ms and 1h" "$DSEND" clients rtsp://127.0.0.1:1/x --library "$lib" --startup 0
usage "^dsend clients: --give-up 0: must be between 100ms and 1h" "$DSEND" clients rtsp://127.0.0.1:1/x --library "$lib" --give-up 0
usage "^dsend clients: --session '0': need 0 < MIN <= MAX" "$DSEND" clients rtsp://127.0.0.1:1/x --library "$lib" --session 0
usage "^dsend clients: --prebuffer 2h: must be between 0ns and 1h" "$DSEND" clients rtsp://127.0.0.1:1/x --library "$lib" --prebuffer 2h
# an option value with a line break is still one line
usage "^dsend gen: --duration '1.*': unknown unit" "$DSEND" gen -o "$TMP/x.h5" --duration "1
2s"
[ ! -e "$TMP/x.h5" ] || fail "a refused command left $TMP/x.h5"

# damaged libraries: one line naming the file and what is wrong, exit 1
"$DSEND_TOP_BUILDDIR/tests/test_library" --make-malformed "$TMP" >/dev/null ||
    fail "could not make damaged libraries"
expect_error "noassets.h5: no assets" "$DSEND" info "$TMP/noassets.h5"
expect_error "blocksize1000.h5: asset 'a': block size 1000 B: a multiple of 1316 B" "$DSEND" info "$TMP/blocksize1000.h5"
expect_error "blocksize1.h5: asset 'a': block size 1 B" "$DSEND" info "$TMP/blocksize1.h5"
expect_error "bitrate1.h5: asset 'a': bitrate 1bit/s outside 1kbit/s to 100Gbit/s" "$DSEND" info "$TMP/bitrate1.h5"
expect_error "duration.h5: asset 'a': duration 1h, but 5000 bytes at 1Mbit/s last 40ms" "$DSEND" info "$TMP/duration.h5"
expect_error "badpes.h5: asset 'a': pes_pids entry 1 \(0xffffffff\)" "$DSEND" info "$TMP/badpes.h5"
# a damaged random-access index (seeks would start anywhere): refused too
expect_error "rapunsorted.h5: asset 'a': random_access entry 1 \(564\) is not after the entry before it" "$DSEND" info "$TMP/rapunsorted.h5"
expect_error "rapoutside.h5: asset 'a': random_access entry 1 \(5076\) is not within the asset's bytes" "$DSEND" info "$TMP/rapoutside.h5"
expect_error "rapodd.h5: asset 'a': random_access entry 1 \(600\) is not on a 188-byte packet" "$DSEND" info "$TMP/rapodd.h5"
expect_error "rapfloat.h5: asset 'a': dataset 'random_access' must be 1-D integers" "$DSEND" info "$TMP/rapfloat.h5"
expect_error "noassets.h5: no assets" "$DSEND" clients rtsp://127.0.0.1:1/x --library "$TMP/noassets.h5"

# ingest: refusals before anything is said, nothing left behind
mkdir "$TMP/adir"
usage "adir is a directory" "$DSEND" ingest "$ts" -o "$TMP/adir" --force
[ -z "$(ls -A "$TMP/adir")" ] || fail "ingest wrote into a directory"
usage "sample.ts: given twice" "$DSEND" ingest "$ts" "$ts" -o "$TMP/twice.h5"
cp "$ts" "$TMP/sample.ts"
usage "sample.ts: asset name 'sample' is .*sample.ts's too" "$DSEND" ingest "$ts" "$TMP/sample.ts" -o "$TMP/twice.h5"
[ ! -e "$TMP/twice.h5" ] || fail "ingest left twice.h5"
# what a killed writer left is swept by the next one (its process is gone)
sh -c 'exit 0' & dead=$!
wait "$dead"
kill -0 "$dead" 2>/dev/null && fail "process $dead still there"
host=$(hostname | tr './' '__')
touch "$TMP/lib.h5.tmp.$host.$dead" "$TMP/lib.h5.tmp.$dead" "$TMP/lib.h5.tmp.otherhost.$dead"
expect_ok "$DSEND" ingest "$ts" -o "$TMP/lib.h5"
[ ! -e "$TMP/lib.h5.tmp.$host.$dead" ] && [ ! -e "$TMP/lib.h5.tmp.$dead" ] ||
    fail "a dead writer's temporary file was left"
[ -e "$TMP/lib.h5.tmp.otherhost.$dead" ] || fail "another host's temporary file was removed"
ls "$TMP" | grep -q "^lib.h5.tmp.$host" && fail "ingest left its temporary file"
echo "cli-hardening: all checks passed"
