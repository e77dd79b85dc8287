# dsend gen: synthetic libraries are deterministic and tiny; dsend info shows
# the catalogue and the spread over devices.
. "$DSEND_TOP_SRCDIR/tests/lib.sh"
set -u
expect_ok "$DSEND" gen -o "$TMP/a.h5" --assets 10000 --bitrate 2Mbit/s:8Mbit/s --duration 20min:2h --seed 7
grep -q "10000 synthetic assets" "$TMP/ok.out" || fail "gen summary: $(cat "$TMP/ok.out")"
size=$(stat -c %s "$TMP/a.h5")
echo "10,000-title synthetic library: $size bytes"
[ "$size" -lt 1048576 ] || fail "10,000 synthetic titles take $size bytes, want < 1 MiB"

# same seed, same catalogue; another seed, another one
expect_ok "$DSEND" gen -o "$TMP/b.h5" --assets 10000 --bitrate 2Mbit/s:8Mbit/s --duration 20min:2h --seed 7
expect_ok "$DSEND" gen -o "$TMP/c.h5" --assets 10000 --bitrate 2Mbit/s:8Mbit/s --duration 20min:2h --seed 8
"$DSEND" info "$TMP/a.h5" --all | tail -n +2 >"$TMP/a.info"
"$DSEND" info "$TMP/b.h5" --all | tail -n +2 >"$TMP/b.info"
"$DSEND" info "$TMP/c.h5" --all | tail -n +2 >"$TMP/c.info"
cmp -s "$TMP/a.info" "$TMP/b.info" || fail "same seed, different catalogues"
cmp -s "$TMP/a.info" "$TMP/c.info" && fail "different seeds, same catalogue"
[ "$(grep -c ' synthetic ' "$TMP/a.info")" -eq 10000 ] || fail "--all does not list 10000 assets"
# every bitrate inside the range
awk '$3 == "synthetic" { r = $4; if ($5 == "kbit/s") r /= 1000; if (r < 2 || r > 8) bad++ }
     END { exit bad > 0 }' "$TMP/a.info" || fail "bitrate outside 2-8 Mbit/s"

# a short catalogue listing by default
expect_ok "$DSEND" info "$TMP/a.h5"
grep -q "9980 more (--all" "$TMP/ok.out" || fail "long catalogue not shortened"

# spread: stripe over 8 devices within one block per asset, so max/mean ~ 1
expect_ok "$DSEND" gen -o "$TMP/s.h5" --assets 200 --duration 2min --bitrate 4Mbit/s --block-size 1MiB
expect_ok "$DSEND" info "$TMP/s.h5" --devices 8
cat "$TMP/ok.out"
grep -q "layout stripe over 8 devices, 1 replica of every block" "$TMP/ok.out" || fail "no spread header"
ratio=$(awk '$1 == "blocks" { print $5 }' "$TMP/ok.out")
awk -v r="$ratio" 'BEGIN { exit !(r >= 1 && r < 1.02) }' || fail "stripe blocks max/mean $ratio"
[ "$(grep -cE '^ +[0-9]+ +[0-9]+ +[0-9.]+ [KMG]iB$' "$TMP/ok.out")" -eq 8 ] || fail "want 8 device rows"
# replicas double every device's share
expect_ok "$DSEND" info "$TMP/s.h5" --devices 8 --replicas 2 --layout hash
grep -q "layout hash over 8 devices, 2 replicas" "$TMP/ok.out" || fail "hash header"
total1=$(awk '$1 == "blocks" { print $3 * 8 }' <("$DSEND" info "$TMP/s.h5" --devices 8))
total2=$(awk '$1 == "blocks" { print $3 * 8 }' "$TMP/ok.out")
awk -v a="$total1" -v b="$total2" 'BEGIN { exit !(b == 2 * a) }' || fail "2 replicas: $total2 blocks, want 2 x $total1"
echo "cli-gen-info: all checks passed"
