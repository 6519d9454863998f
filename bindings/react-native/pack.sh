#!/usr/bin/env bash
# npm's prepack step for ferry-sync-react-native: copies what the package's
# native builds compile (Ferry's core, platform, C API and async layer, and
# nlohmann/json from Debian's nlohmann-json3-dev) into the package, since
# CocoaPods and an app's Gradle build see only the package's own files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
rm -rf "$here/ferry" "$here/third_party"
mkdir -p "$here/ferry/bindings" "$here/third_party"
cp "$root/CMakeLists.txt" "$here/ferry/"
cp -r "$root/cmake" "$root/core" "$root/platform" "$here/ferry/"
cp -r "$root/bindings/c" "$root/bindings/async" "$here/ferry/bindings/"
rm -rf "$here/ferry/bindings/c/tests" "$here/ferry/bindings/async/tests"
cp -r /usr/include/nlohmann "$here/third_party/"
