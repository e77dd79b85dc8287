#!/usr/bin/env bash
# Regenerate data/sample.ts: a real MPEG-TS, H.264 + AAC, 20 s of a test
# pattern and a 440 Hz tone.  The committed file was made by this script;
# `make` ingests it into data/sample.h5.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/data/sample.ts}
ffmpeg -nostdin -v error -y \
    -f lavfi -i testsrc2=size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 20 -map 0:v -map 1:a \
    -c:v libx264 -preset veryfast -b:v 1M -maxrate 1.2M -bufsize 1M -g 50 -pix_fmt yuv420p \
    -c:a aac -b:a 128k \
    -fflags +bitexact -map_metadata -1 -f mpegts "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
