#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang under AddressSanitizer and
# UndefinedBehaviorSanitizer (in build-fuzz/), runs each for N executions from its seed corpus
# (tests/fuzz/corpus/<target>/; new inputs go to a scratch copy, not into the repository) and
# prints one JSON document: per target the executions, seconds and whether it found a crash.
# Exits 1 when any target crashed (its reproducer and log are kept under build-fuzz/findings/).
#   bash scripts/fuzz.sh [N]     # N executions per target [default 1000000]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${1:-1000000}
targets=(idx_reader cifar_reader config checkpoint)

missing=()
for package in clang libclang-rt-dev; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if (( ${#missing[@]} )); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "fuzz: missing Debian packages: ${missing[*]}; run this script as root so it can install them" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
bash scripts/setup.sh > /dev/null  # the other packages

if [[ ! -f build-fuzz/build.ninja ]]; then
  CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized -Doptimization=1 -Ddebug=false -Dfuzzers=true -Dtests=false \
    -Db_sanitize=address,undefined -Db_lundef=false > build-fuzz.log 2>&1 || { cat build-fuzz.log >&2; exit 1; }
  rm -f build-fuzz.log
fi
meson compile -C build-fuzz "${targets[@]/%/_fuzz}" >&2

findings=build-fuzz/findings
mkdir -p "$findings"
crashed=0
echo "{"
echo "  \"executions_asked\": $runs,"
echo "  \"targets\": {"
for i in "${!targets[@]}"; do
  target=${targets[$i]}
  scratch=$(mktemp -d)
  mkdir "$scratch/corpus"
  log="$findings/$target.log"
  status=0
  # in a scratch folder, so that nothing a fuzzed config names lands in the checkout
  (cd "$scratch" && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/ubsan_suppressions.txt \
    "$root/build-fuzz/tests/fuzz/${target}_fuzz" -runs="$runs" -artifact_prefix="$root/$findings/$target-" \
      corpus "$root/tests/fuzz/corpus/$target") > "$log" 2>&1 || status=$?
  rm -rf "$scratch"
  done_line=$(grep -E "^Done [0-9]+ runs in [0-9]+ second" "$log" | tail -n 1 || true)
  executions=$(sed -E 's/^Done ([0-9]+) runs.*/\1/' <<< "${done_line:-Done 0 runs}")
  seconds=$(sed -E 's/.* in ([0-9]+) second.*/\1/' <<< "${done_line:-in 0 second}")
  found=false
  if (( status != 0 )) || [[ -z "$done_line" ]]; then found=true; crashed=1; fi
  separator=$([[ $i -lt $((${#targets[@]} - 1)) ]] && echo "," || true)
  echo "    \"$target\": {\"executions\": $executions, \"seconds\": $seconds, \"crashed\": $found}$separator"
done
echo "  }"
echo "}"
if (( crashed )); then
  echo "fuzz: a target crashed; see $findings/" >&2
  exit 1
fi
