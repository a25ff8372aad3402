#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR, then, seeing only the staged copy:
#  - one translation unit that includes every installed header compiles (so every header's own
#    includes were installed too);
#  - the Newton example builds through `pkg-config fds-autodiff` and through CMake's
#    find_package(fds-autodiff) (target fds::autodiff), and both converge;
#  - the custom-layer example builds through `pkg-config fds` and the CIFAR-10 MLP example through
#    find_package(fds) (target fds::fds, which links the installed data library).
#   install_test.sh <build dir> <examples dir>
set -euo pipefail
build_dir=$(realpath "$1")
examples=$(realpath "$2")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

DESTDIR="$stage" meson install -C "$build_dir" --no-rebuild --tags devel --quiet
pc_file=$(find "$stage" -name fds-autodiff.pc | head -n 1)
if [[ -z "$pc_file" ]]; then
  echo "install_test: fds-autodiff.pc was not installed under $stage" >&2
  exit 1
fi
export PKG_CONFIG_PATH="$(dirname "$pc_file")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
prefix=$(pkg-config --variable=prefix fds-autodiff)
staged_prefix="$stage$prefix"
pkg_flags() { pkg-config --define-variable=prefix="$staged_prefix" --cflags --libs "$1"; }
echo "pkg-config --cflags --libs fds: $(pkg_flags fds)"

# Compile from an empty directory, so that only the staged headers can be found.
mkdir "$stage/work"
cd "$stage/work"

include_root="$staged_prefix/include"
headers=$(cd "$include_root" && find fds -name '*.hpp' | sort)
if [[ -z "$headers" ]]; then
  echo "install_test: no headers under $include_root/fds" >&2
  exit 1
fi
for header in $headers; do echo "#include <$header>"; done > every_header.cpp
${CXX:-c++} -fsyntax-only every_header.cpp $(pkg_flags fds)
echo "every installed header compiles: $(echo "$headers" | wc -l) headers"

cp "$examples/newton_system.cpp" "$examples/custom_layer.cpp" "$examples/cifar10.cpp" .
${CXX:-c++} -O1 newton_system.cpp $(pkg_flags fds-autodiff) -o newton_pkg_config
./newton_pkg_config 6 1
${CXX:-c++} -O1 custom_layer.cpp $(pkg_flags fds) -o custom_layer_pkg_config
./custom_layer_pkg_config > /dev/null

cat > CMakeLists.txt <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(fds_consumer CXX)
find_package(fds-autodiff REQUIRED)
find_package(fds REQUIRED)
add_executable(newton_cmake newton_system.cpp)
target_link_libraries(newton_cmake PRIVATE fds::autodiff)
add_executable(cifar10_cmake cifar10.cpp)
target_link_libraries(cifar10_cmake PRIVATE fds::fds)
CMAKE
cmake -S . -B cmake-build -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$staged_prefix" > cmake.log \
  || { cat cmake.log; exit 1; }
cmake --build cmake-build --parallel 2 > cmake-build.log || { cat cmake-build.log; exit 1; }
./cmake-build/newton_cmake 6 1
# Linking proves the data library was found; a missing folder must end in the library's own error.
if ./cmake-build/cifar10_cmake MLP "$stage/no-such-folder" 2> cifar.err; then
  echo "install_test: cifar10 ran on a folder that does not exist" >&2
  exit 1
fi
grep -q "no-such-folder" cifar.err || { echo "install_test: unexpected error: $(cat cifar.err)" >&2; exit 1; }
echo "install_test: pkg-config and CMake consumers built and ran"
