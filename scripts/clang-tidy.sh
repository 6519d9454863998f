#!/usr/bin/env bash
# clang-tidy (.clang-tidy at the root) over core/, platform/, bindings/c and bindings/async, with the
# compile commands of a clang build folder (default build/native-asan).
# Any finding is an error: the bar is zero.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/native-asan}
[[ -f $build/compile_commands.json ]] || { echo "no $build/compile_commands.json: configure a clang preset first" >&2; exit 1; }
mapfile -t files < <(git ls-files 'core/src/*.cc' 'platform/src/*.cc' 'bindings/c/src/*.cc' 'bindings/async/src/*.cc')
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 2 clang-tidy --quiet -p "$build" 2>/dev/null
echo "clang-tidy: ${#files[@]} files clean"
