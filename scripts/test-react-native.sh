#!/usr/bin/env bash
# The React Native module where no phone is: what CI can check on Linux.
#
#   1. react-native (pinned in bindings/react-native/package-lock.json) from
#      npm, for its JSI and TurboModule sources and its codegen.
#   2. Codegen reads the TurboModule spec (src/NativeFerry.ts) and generates
#      its C++ spec; the methods FerryTurboModule registers by hand must be
#      the spec's, by name and parameter count.
#   3. The module compiled and linked as a shared library the way a phone
#      build makes it: no libcurl (FERRY_WITH_CURL=OFF), JSI and the
#      TurboModule base from the package's ReactCommon sources, warnings as
#      errors, every symbol resolved (--no-undefined).
# Its JavaScript side is tested by web/test.sh (web/test/react_native.test.mjs):
# the react-native entry's FerryClient over the Node addon as its
# NativeBinding, with the host transport carried by fetch, against a real
# ferry-server.
#
# Nothing here runs the module in a JavaScript engine: the react-native
# package ships no engine library (Hermes comes as a prebuilt per platform),
# so the JSI code is compiled and linked, not executed.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${FERRY_JOBS:-2}
module=bindings/react-native
build=build/react-native

echo "react-native from npm (package-lock.json)"
(cd $module && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)

echo "codegen: the TurboModule spec against FerryTurboModule's methods"
generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
codegen=$module/node_modules/@react-native/codegen/lib/cli
node $codegen/combine/combine-js-to-schema-cli.js "$generated/schema.json" $module/src/NativeFerry.ts
node $codegen/generators/generate-all.js "$generated/schema.json" FerrySpec "$generated/out" dev.ferry.reactnative >/dev/null
spec_methods=$(grep -oE 'methodMap_\["[A-Za-z]+"\] = MethodMetadata \{\.argCount = [0-9]+' "$generated/out/FerrySpecJSI.h" |
  sed -E 's/methodMap_\["([A-Za-z]+)"\] = MethodMetadata \{\.argCount = ([0-9]+)/\1 \2/' | sort)
module_methods=$(grep -oE 'methodMap_\["[A-Za-z]+"\] = MethodMetadata\{[0-9]+' $module/cpp/FerryTurboModule.cc |
  sed -E 's/methodMap_\["([A-Za-z]+)"\] = MethodMetadata\{([0-9]+)/\1 \2/' | sort)
if [[ -z "$spec_methods" || "$spec_methods" != "$module_methods" ]]; then
  echo "the spec's methods ($spec_methods) are not FerryTurboModule's ($module_methods)" >&2
  exit 1
fi
echo "  $spec_methods"

echo "compile and link libferry_react_native.so (no libcurl, JSI from ReactCommon)"
cmake -S . -B $build -G Ninja -DCMAKE_TOOLCHAIN_FILE=toolchains/gcc.cmake -DCMAKE_BUILD_TYPE=Debug \
  -DFERRY_WARNINGS_AS_ERRORS=ON -DFERRY_WITH_CURL=OFF -DFERRY_BUILD_REACT_NATIVE=ON \
  -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_BENCH=OFF -DFERRY_BUILD_EXAMPLES=OFF -DFERRY_BUILD_SERVER=OFF >/dev/null
cmake --build $build --target ferry_react_native -j "$jobs"
library=$build/bindings/react-native/libferry_react_native.so
# Whole outputs first: grep -q stops reading early, and under pipefail the
# writer's SIGPIPE would fail the check.
linked=$(ldd "$library")
exported=$(nm -DC --defined-only "$library")
if grep -q libcurl <<<"$linked"; then
  echo "$library links libcurl; a phone build must not need it" >&2
  exit 1
fi
grep -q 'facebook::react::FerryTurboModule::FerryTurboModule' <<<"$exported" || {
  echo "$library does not export FerryTurboModule's constructor (autolinking calls it)" >&2
  exit 1
}
echo "  $library: linked, no libcurl, FerryTurboModule exported"
