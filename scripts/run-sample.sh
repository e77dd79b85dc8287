#!/usr/bin/env bash
# README command (a): set up, build, and run the main job on the bundled sample library.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh
. tests/env.sh
echo
echo "== dsend info data/sample.h5 --devices 4"
./dsend info data/sample.h5 --devices 4
echo
echo "== mpirun -np 4 dsend load data/sample.h5"
"$DSEND_MPIRUN" --oversubscribe -np 4 ./dsend load data/sample.h5
