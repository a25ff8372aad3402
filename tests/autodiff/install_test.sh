#!/usr/bin/env bash
# Installs the project's headers into a temporary DESTDIR and builds a program against the installed
# autodiff alone, through `pkg-config --cflags --libs fds-autodiff`, then runs it.
#   install_test.sh <build dir> <program.cpp> [program arguments...]
set -euo pipefail
build_dir=$1
program=$2
shift 2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

DESTDIR="$stage" meson install -C "$build_dir" --no-rebuild --tags devel --quiet
pc_file=$(find "$stage" -name fds-autodiff.pc | head -n 1)
if [ -z "$pc_file" ]; then
  echo "install_test: fds-autodiff.pc was not installed under $stage" >&2
  exit 1
fi
export PKG_CONFIG_PATH="$(dirname "$pc_file")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
prefix=$(pkg-config --variable=prefix fds-autodiff)
flags=$(pkg-config --define-variable=prefix="$stage$prefix" --cflags --libs fds-autodiff)
echo "pkg-config --cflags --libs fds-autodiff: $flags"

# Only the staged copy of the headers may be found: compile from an empty directory.
cp "$program" "$stage/program.cpp"
cd "$stage"
${CXX:-c++} -O1 program.cpp $flags -o program
./program "$@"
