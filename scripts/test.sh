#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every Ferry test: the README's
# second quick-start command, and what CI runs.
#
#   native-release  all GoogleTest suites, simulation with FERRY_SIM_SEEDS (default 1000)
#   install-test    the release build installed into a temporary prefix, consumers built against it
#   native-asan     all suites under AddressSanitizer + UndefinedBehaviorSanitizer (clang)
#   native-tsan     the suites that start threads under ThreadSanitizer (the owner thread,
#                   listeners, curl completions, ferry-server's request threads); not the
#                   core's and the simulation's, which have none
#   clang-tidy      core/ and platform/ against .clang-tidy, zero findings
#   native-fuzz     libFuzzer targets: seed corpus and regressions once, then each
#                   target for FERRY_FUZZ_SECONDS (default 30)
#   wasm-release    the core and its unit tests built with Emscripten, run in Node
#   ferry-sync      the npm package and the Node addon's platform package, packed,
#                   installed, the Node suite run against each implementation
#   python          the Python package installed with pip into a venv, pytest (scripts/test-python.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
# node-addon-api (bindings/node/package-lock.json) for the Node addon: the
# native builds turn FERRY_BUILD_NODE on when it is there.
npm ci --prefix bindings/node --no-audit --no-fund >/dev/null
export NODE_PATH=/usr/share/nodejs  # emcc's JS optimizer needs acorn
jobs=$(nproc)

step() { printf '\n==> %s\n' "$*"; }

# No native-debug run: the code has no assert() that only a debug build
# checks, so it only ran the release suites a second time, slower (11 of CI's
# 60 minutes). ASan+UBSan and TSan below run the same suites with clang and
# checks a debug build does not have. Developers still use native-debug.
step "native release build and tests (simulation: ${FERRY_SIM_SEEDS:-1000} seeds)"
cmake --preset native-release -DFERRY_BUILD_TESTS=ON >/dev/null
cmake --build --preset native-release -j "$jobs"
FERRY_SIM_SEEDS=${FERRY_SIM_SEEDS:-1000} ctest --preset native-release -j "$jobs"

step "installed package: cmake --install, then find_package(ferry) from C++ and C consumers"
FERRY_JOBS=$jobs FERRY_INSTALL_FROM=build/native-release scripts/install-test.sh

# A sanitizer report fails the test that caused it (ASan/UBSan stop at the
# first finding, TSan exits non-zero), so the suites double as the checks.
for sanitizer in asan tsan; do
  step "native $sanitizer build and tests (clang)"
  # No benchmarks or examples: nothing runs them here, and the release build
  # above already compiled them with warnings as errors.
  cmake --preset native-$sanitizer -DFERRY_BUILD_TESTS=ON -DFERRY_BUILD_BENCH=OFF \
    -DFERRY_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build --preset native-$sanitizer -j "$jobs"
  FERRY_SIM_SEEDS=${FERRY_SIM_SEEDS_SANITIZERS:-50} ctest --preset native-$sanitizer -j "$jobs"
done

step "clang-tidy over core/, platform/, bindings/c and bindings/async (zero findings)"
scripts/clang-tidy.sh build/native-asan

step "fuzzing: protocol decoders, merge, server requests, journal recovery (${FERRY_FUZZ_SECONDS:-30} s each)"
scripts/fuzz.sh

step "WebAssembly build of the core and its tests under Node"
cmake --preset wasm-release -DFERRY_BUILD_TESTS=ON >/dev/null
cmake --build --preset wasm-release -j "$jobs"
FERRY_SIM_SEEDS=${FERRY_SIM_SEEDS_WASM:-50} ctest --preset wasm-release -j "$jobs"

step "ferry-sync (npm package) and ferry-sync-linux-x64-gnu (the Node addon): packed, installed, tested in Node against ferry-server"
FERRY_SERVER_BINARY="$PWD/build/native-release/server/ferry-server" web/test.sh

step "Python package: built with Debian's setuptools into a venv, pytest against ferry-server"
FERRY_JOBS=$jobs scripts/test-python.sh

step "React Native module: codegen spec, compiled and linked without libcurl, its JS side in Node"
FERRY_JOBS=$jobs FERRY_SERVER_BINARY="$PWD/build/native-release/server/ferry-server" scripts/test-react-native.sh

step "formatting"
scripts/check-format.sh

step "reliability figures from this run (quoted in docs/RELIABILITY.md)"
# ctest keeps every test's output, passed ones too, in LastTest.log.
for preset in native-release native-asan native-tsan; do
  { grep -h '^\[figures\]' "build/$preset/Testing/Temporary/LastTest.log" || true; } | sed "s/^/$preset: /"
done
sed 's/^/native-fuzz: /' build/native-fuzz/figures.txt

echo
echo "all Ferry tests passed"
