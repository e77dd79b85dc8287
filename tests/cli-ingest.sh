# dsend ingest on real MPEG-TS files made by ffmpeg, and its refusals.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
need ffmpeg "$DSEND_FFMPEG"
need h5dump "$DSEND_H5DUMP"

# The bundled sample: bitrate from PCRs close to ffprobe's, name from the file.
expect_ok "$DSEND" ingest "$DSEND_SAMPLE_TS" -o "$TMP/lib.h5"
grep -q "as 'sample'" "$TMP/ok.out" || fail "asset not named after the file: $(cat "$TMP/ok.out")"
expect_ok "$DSEND" info "$TMP/lib.h5"
grep -Eq '^ +0 +sample +mpegts' "$TMP/ok.out" || fail "info lacks the sample: $(cat "$TMP/ok.out")"

# A TS it has never seen: MPEG-2 video + MP2 audio, made now.
"$DSEND_FFMPEG" -nostdin -v error -f lavfi -i testsrc=size=320x240:rate=25 \
    -f lavfi -i sine=frequency=1000:sample_rate=48000 -t 6 \
    -c:v mpeg2video -b:v 800k -c:a mp2 -b:a 128k -f mpegts "$TMP/mpeg2-mp2.ts" ||
    fail "ffmpeg could not make the MPEG-2 sample"
expect_ok "$DSEND" ingest "$TMP/mpeg2-mp2.ts" "$DSEND_SAMPLE_TS" -o "$TMP/two.h5" --block-size 13160
cat "$TMP/ok.out"
expect_ok "$DSEND" info "$TMP/two.h5"
grep -Eq 'mpeg2-mp2 +mpegts' "$TMP/ok.out" || fail "MPEG-2 asset missing: $(cat "$TMP/ok.out")"
# its duration from PCRs is the 6 s ffmpeg was asked for, within 10%
dur=$(awk '$2 == "mpeg2-mp2" { print $6 }' "$TMP/ok.out")
awk -v d="$dur" 'BEGIN { exit !(d > 5.4 && d < 6.6) }' || fail "duration $dur s, want about 6 s"
# its random-access index (MPEG-2 video, stream type 0x02 in the PMT) is
# ffprobe's video keyframes, in number; the sample's 10 likewise
keys=$(awk '$2 == "mpeg2-mp2" { print $NF }' "$TMP/ok.out")
if [ -n "$DSEND_FFPROBE" ] && command -v "$DSEND_FFPROBE" >/dev/null 2>&1; then
    want=$("$DSEND_FFPROBE" -v error -select_streams v -show_entries packet=flags -of csv=p=0 \
        "$TMP/mpeg2-mp2.ts" | grep -c K)
    [ "$keys" = "$want" ] || fail "MPEG-2 asset: $keys random-access points, ffprobe finds $want keyframes"
fi
[ "$keys" -ge 2 ] 2>/dev/null || fail "MPEG-2 asset: '$keys' random-access points"
[ "$(awk '$2 == "sample" { print $NF }' "$TMP/ok.out")" = 10 ] || fail "sample: not 10 random-access points"

# The library is plain HDF5: h5dump shows the attributes.
"$DSEND_H5DUMP" -A "$TMP/two.h5" >"$TMP/dump" || fail "h5dump failed"
grep -q '"dsend-library"' "$TMP/dump" || fail "h5dump shows no dsend_format"
grep -q 'ATTRIBUTE "bitrate_bps"' "$TMP/dump" || fail "h5dump shows no bitrate_bps"

# --bitrate overrides the PCRs; duration follows from it.
expect_ok "$DSEND" ingest "$TMP/mpeg2-mp2.ts" -o "$TMP/given.h5" --bitrate 2Mbit/s --block-size 13160
grep -q "2Mbit/s (given)" "$TMP/ok.out" || fail "--bitrate not used: $(cat "$TMP/ok.out")"

# Refusals: one line naming the file and byte offset, no library left behind.
head -c 100000 /dev/urandom >"$TMP/random.ts"
expect_error "random.ts: not an MPEG-TS stream: .* at byte offset [0-9]+" \
    "$DSEND" ingest "$TMP/random.ts" -o "$TMP/bad.h5"
[ ! -e "$TMP/bad.h5" ] || fail "library left behind after refusing random bytes"
ls "$TMP" | grep -q 'bad.h5.tmp' && fail "temporary file left behind"
# a good file then a bad one: all or nothing
expect_error "random.ts: not an MPEG-TS stream" \
    "$DSEND" ingest "$DSEND_SAMPLE_TS" "$TMP/random.ts" -o "$TMP/bad.h5"
[ ! -e "$TMP/bad.h5" ] || fail "partial library left behind"
# truncated TS: the offset of the partial packet
head -c 10000 "$DSEND_SAMPLE_TS" >"$TMP/cut.ts"
expect_error "cut.ts: not an MPEG-TS stream: .* at byte offset 9964" \
    "$DSEND" ingest "$TMP/cut.ts" -o "$TMP/bad.h5"
# a lost sync byte in packet 3
cp "$DSEND_SAMPLE_TS" "$TMP/nosync.ts"
printf '\000' | dd of="$TMP/nosync.ts" bs=1 seek=564 conv=notrunc status=none
expect_error "nosync.ts: not an MPEG-TS stream: .*0x47.* at byte offset 564" \
    "$DSEND" ingest "$TMP/nosync.ts" -o "$TMP/bad.h5"
: >"$TMP/empty.ts"
expect_error "empty.ts: not an MPEG-TS stream" "$DSEND" ingest "$TMP/empty.ts" -o "$TMP/bad.h5"
expect_error "nothere.ts: No such file" "$DSEND" ingest "$TMP/nothere.ts" -o "$TMP/bad.h5"
expect_error "block must be a multiple of 1316" "$DSEND" ingest "$DSEND_SAMPLE_TS" -o "$TMP/bad.h5" --block-size 1MiB
cp "$DSEND_SAMPLE_TS" "$TMP/bad name!.ts"
expect_error "asset name 'bad name!' is invalid" "$DSEND" ingest "$TMP/bad name!.ts" -o "$TMP/bad.h5"
expect_error "given twice" "$DSEND" ingest "$DSEND_SAMPLE_TS" "$DSEND_SAMPLE_TS" -o "$TMP/bad.h5"
[ ! -e "$TMP/bad.h5" ] || fail "library left behind"
# an existing output is kept unless --force
expect_error "lib.h5 exists \(use --force" "$DSEND" ingest "$DSEND_SAMPLE_TS" -o "$TMP/lib.h5"
expect_ok "$DSEND" ingest "$DSEND_SAMPLE_TS" -o "$TMP/lib.h5" --force
echo "cli-ingest: all checks passed"
