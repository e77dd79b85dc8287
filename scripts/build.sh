#!/usr/bin/env bash
# Install what is missing, then configure (once) and build dsend in the tree.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
    ./configure --enable-werror ${DSEND_CONFIGURE_FLAGS:-}
fi
make -j"$(nproc)"
