#!/usr/bin/env bash
# Sets up a fresh Debian machine for this project and compiles a release build in ./build.
# Installs only the Debian packages that are missing (needs root for that, nothing else).
#   bash scripts/setup.sh            # packages + build
#   bash scripts/setup.sh --pytorch  # also python3-torch, for fixtures and the PyTorch benchmarks
#   bash scripts/setup.sh --optuna   # also python3-optuna, for examples/optuna_fds.py
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config cmake clang-format
          libxtensor-dev libxtensor-blas-dev xtl-dev libopenblas-dev
          libboost-test-dev nlohmann-json3-dev zlib1g-dev
          libopenmpi-dev openmpi-bin
          dataset-fashion-mnist gnuplot-nox)
for option in "$@"; do
  case "$option" in
    --pytorch) packages+=(python3-torch python3-torchvision python3-numpy) ;;
    --optuna) packages+=(python3-optuna) ;;
    *) echo "setup: unknown option $option (expected --pytorch or --optuna)" >&2; exit 2 ;;
  esac
done

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if (( ${#missing[@]} )); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run this script as root (or with sudo) so it can apt-get install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release
fi
# the fds program alone: `meson test` (scripts/test.sh) builds the tests and benchmarks
meson compile -C build fds
