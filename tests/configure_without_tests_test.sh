#!/usr/bin/env bash
# `meson setup -Dtests=false` configures the library and the fds program without Boost.Test: the
# configured build has no tests and does not look Boost up at all.
#   configure_without_tests_test.sh <source dir>
set -euo pipefail
source_dir=$(realpath "$1")
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
meson setup "$build" "$source_dir" -Dtests=false > "$build.log" 2>&1 || { cat "$build.log"; rm -f "$build.log"; exit 1; }
rm -f "$build.log"
tests=$(meson introspect "$build" --tests)
dependencies=$(meson introspect "$build" --dependencies)
targets=$(meson introspect "$build" --targets)
if [[ "$tests" != "[]" ]]; then
  echo "configure_without_tests: tests were registered: $tests" >&2
  exit 1
fi
if grep -qi boost <<< "$dependencies"; then
  echo "configure_without_tests: Boost is still a dependency" >&2
  exit 1
fi
grep -q '"name": "fds"' <<< "$targets" || { echo "configure_without_tests: no fds program target" >&2; exit 1; }
echo "configure_without_tests: no tests, no Boost, the fds program and library configured"
