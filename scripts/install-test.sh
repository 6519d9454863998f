#!/usr/bin/env bash
# Ferry as an installed package: builds a release Ferry (tests, benchmarks and
# examples off), `cmake --install`s it into a temporary prefix, then builds and
# runs the consumer projects in tests/install against that prefix with
# find_package(ferry) (CMAKE_PREFIX_PATH):
#   consumer_cpp  ferry::Client and SyncEngine over the in-memory store
#   consumer_c    the C API (libferry), built with CMake and again with pkg-config alone
#
#   scripts/install-test.sh                 (run by scripts/test.sh)
#   FERRY_INSTALL_TEST_DIR=/tmp/x scripts/install-test.sh   keeps build and prefix there
#   FERRY_INSTALL_FROM=build/native-release scripts/install-test.sh   installs that
#       existing release build instead of building one (CI: saves a second release
#       build; a build with tests off is covered by ctest's subproject_build)
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD
jobs=${FERRY_JOBS:-$(nproc)}

if [[ -n ${FERRY_INSTALL_TEST_DIR:-} ]]; then
  work=$FERRY_INSTALL_TEST_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-install-test.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
prefix=$work/prefix
toolchain=$source_dir/toolchains/gcc.cmake

say() { printf -- '--> %s\n' "$*"; }

ferry_build=$(realpath -m "${FERRY_INSTALL_FROM:-$work/build}")
if [[ -z ${FERRY_INSTALL_FROM:-} ]]; then
  say "building Ferry (release, no tests) in $ferry_build"
  cmake -S . -B "$ferry_build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DFERRY_WARNINGS_AS_ERRORS=ON -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_BENCH=OFF \
    -DFERRY_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$ferry_build" -j "$jobs"
fi

say "installing $ferry_build into $prefix"
rm -rf "$prefix"
cmake --install "$ferry_build" --prefix "$prefix" >/dev/null
# The package must stand on its own: nothing in it may point back at the
# source or build tree.
if grep -rl --include='*.cmake' -e "$source_dir" -e "$ferry_build" "$prefix"; then
  echo "the installed package config names the source or build tree (files above)" >&2
  exit 1
fi

for consumer in cpp c; do
  say "consumer_$consumer: find_package(ferry) from $prefix"
  build=$work/consumer_$consumer
  cmake -S "tests/install/consumer_$consumer" -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$build" -j "$jobs"
  if [[ $consumer == cpp ]]; then
    "$build/ferry_consumer" "$build/consumer.db"
  else
    "$build/ferry_consumer_c"
  fi
done
# A C project without CMake finds libferry through ferry.pc: the same
# consumer, compiled and linked with pkg-config's flags alone.
say "consumer_c again, with pkg-config --cflags --libs ferry"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$(find "$prefix" -name ferry.pc)")
read -ra pc_flags <<<"$(pkg-config --cflags --libs ferry)"
cc -std=c11 -Wall -Wextra -Werror tests/install/consumer_c/main.c "${pc_flags[@]}" -o "$work/ferry_consumer_c_pkgconfig"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir ferry) "$work/ferry_consumer_c_pkgconfig"
say "install test passed"
