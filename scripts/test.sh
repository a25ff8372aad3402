#!/usr/bin/env bash
# Sets everything up (see setup.sh) and runs the whole test suite; ends with meson's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
meson test -C build --print-errorlogs --num-processes 2
