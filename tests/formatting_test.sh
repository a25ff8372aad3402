#!/usr/bin/env bash
# Every C++ file of the project is formatted as .clang-format says (clang-format --dry-run
# --Werror): `clang-format -i FILE` fixes one. Skipped (77) where clang-format is not installed.
#   formatting_test.sh <source dir>
set -euo pipefail
cd "$1"
command -v clang-format > /dev/null || { echo "formatting_test: clang-format is not installed"; exit 77; }
mapfile -t files < <(find autodiff nn data fds tests examples \( -name '*.hpp' -o -name '*.cpp' \) | sort)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! clang-format --dry-run --Werror "${files[@]}" 2> "$log"; then
  grep -o '^[^:]*\.[ch]pp' "$log" | sort -u | sed 's/^/not formatted: /' >&2
  exit 1
fi
echo "formatting_test: ${#files[@]} files as .clang-format says"
