#!/usr/bin/env bash
# Builds the libFuzzer targets (preset native-fuzz: clang, ASan + UBSan), runs
# every seed and regression input once (ctest), then fuzzes each target for
# FERRY_FUZZ_SECONDS (default 30; CI) from a scratch copy of its seed corpus.
#
#   scripts/fuzz.sh                       # what CI runs
#   FERRY_FUZZ_SECONDS=3600 scripts/fuzz.sh  # the long run, by hand
#   FERRY_FUZZ_TARGETS="server" scripts/fuzz.sh
#
# A crash stops the script with the input saved under build/native-fuzz/artifacts/.
# Fix it, then keep the input in fuzz/regressions/<target>/ so it runs forever after.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FERRY_FUZZ_SECONDS:-30}
targets=${FERRY_FUZZ_TARGETS:-"protocol merge server journal"}
jobs=$(nproc)

cmake --preset native-fuzz >/dev/null
cmake --build --preset native-fuzz -j "$jobs"
ctest --preset native-fuzz --no-tests=error

build=build/native-fuzz
rm -rf "$build/scratch-corpus" "$build/artifacts" "$build/figures.txt"
mkdir -p "$build/artifacts"

fuzz_one() {
  local target=$1
  local corpus="$build/scratch-corpus/$target"
  mkdir -p "$corpus"
  cp fuzz/corpus/"$target"/* "$corpus"/
  # -timeout: an input running 10 s is a hang, reported like a crash.
  if ! "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 "$corpus" \
      >"$build/fuzz_$target.log" 2>&1; then
    echo "fuzz_$target FAILED; the input is in $build/artifacts/. Log:" >&2
    grep -E "property violated|ERROR|SUMMARY|==[0-9]+==" "$build/fuzz_$target.log" | head -20 >&2
    return 1
  fi
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz_$target.log")
  echo "[figures] fuzz_$target: $runs executions in ${seconds} s, no crash, no property violated" |
    tee -a "$build/figures.txt"
}

# As many targets at once as there are cores.
pids=()
status=0
for target in $targets; do
  fuzz_one "$target" &
  pids+=($!)
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
