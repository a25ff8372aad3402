#!/usr/bin/env bash
# The whole test suite a second time, built with AddressSanitizer and UndefinedBehaviorSanitizer
# in build-sanitize/ (without optimization, which compiles about as fast as a release build; no
# benchmarks, no install tests); a sanitizer report fails the test it occurs in. CI runs it after
# scripts/test.sh.
#   bash scripts/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh > /dev/null  # the packages (and the release build the tests do not use)
if [[ ! -f build-sanitize/build.ninja ]]; then
  meson setup build-sanitize --buildtype=debug -Doptimization=0 -Ddebug=false \
    -Db_sanitize=address,undefined -Dbenchmarks=false > /dev/null
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1:suppressions=$(pwd)/tests/ubsan_suppressions.txt}
meson test -C build-sanitize --print-errorlogs --num-processes 2
