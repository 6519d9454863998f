# Sourced by bench/run.sh and bench/server_bench.sh.
# compare_and_keep RESULTS COMMITTED: prints what got worse in RESULTS (a
# run's JSON lines) than in COMMITTED (bench/compare.py), then copies
# RESULTS there, so the next run compares with this one.
compare_and_keep() {
  local results=$1 committed=$2
  echo "==> regressions beyond 20% since the committed run ($committed)" >&2
  if [[ -f $committed ]]; then
    python3 bench/compare.py "$committed" "$results" >&2
  else
    echo "  no $committed yet: nothing to compare with (this run becomes it)" >&2
  fi
  mkdir -p "$(dirname "$committed")"
  cp "$results" "$committed"
}
