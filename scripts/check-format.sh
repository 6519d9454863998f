#!/usr/bin/env bash
# Fails when a C++ source differs from what clang-format (.clang-format) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.h' '*.cc' '*.c')
if ((${#files[@]})); then
  clang-format --dry-run --Werror "${files[@]}"
fi
echo "clang-format: ${#files[@]} files clean"
