#!/usr/bin/env bash
# README command (a): set up, build, and run the main job on the bundled sample library:
# its catalogue striped over 8 devices, then a simulation of 8 devices serving 300 clients.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh
. tests/env.sh
echo
echo "== dsend info data/sample.h5 --devices 8"
./dsend info data/sample.h5 --devices 8
echo
echo "== mpirun -np 9 dsend sim data/sample.h5 --clients 300 --out sample-run.h5"
"$DSEND_MPIRUN" -q --oversubscribe -np 9 ./dsend sim data/sample.h5 --clients 300 --out sample-run.h5
echo
echo "== dsend report sample-run.h5 -o sample-report"
./dsend report sample-run.h5 -o sample-report --force
echo "open sample-report/index.html (or read sample-report/report.md) for the figures"
