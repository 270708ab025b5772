#!/usr/bin/env bash
# Runs every randomized test many times, each repetition with a fresh seed, and counts failures.
#   scripts/flake_hunt.sh [-n REPETITIONS] [-b BUILD_DIR] [-j JOBS] [PROGRAM...]
# A test is randomized when it draws a seed (tests/test_support.h fresh_seed() prints "seed=N").
# Each test program of BUILD_DIR/tests (or only the PROGRAMs named, e.g. noise_flags_test) runs
# once to find its randomized tests, then with --gtest_repeat=REPETITIONS over just those: every
# repetition draws new seeds (MLBENCH_TEST_SEED must not be set). Skipped runs are not counted.
# Prints one line per test program (tests, repetitions, runs, failures) and the seed of every
# failure, which MLBENCH_TEST_SEED=<seed> replays; exit status 1 when anything failed.
# Defaults: 200 repetitions, ./build, 1 job (programs run in parallel with -j). Logs in
# BUILD_DIR/flake_hunt/ (or FLAKE_HUNT_LOGS: hunts that run at the same time keep apart).
set -euo pipefail
cd "$(dirname "$0")/.."
repetitions=200 build=${MLBENCH_BUILD_DIR:-build} jobs=1
while getopts "n:b:j:" option; do
  case $option in
    n) repetitions=$OPTARG ;;
    b) build=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) sed -n '2,11p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ -n "${MLBENCH_TEST_SEED:-}" ]; then
  echo "flake_hunt: unset MLBENCH_TEST_SEED: a fixed seed hunts nothing" >&2
  exit 2
fi
case $repetitions in '' | *[!0-9]*) echo "flake_hunt: -n wants a positive integer, got '$repetitions'" >&2; exit 2 ;; esac

# As under ctest (tests/CMakeLists.txt): OpenMP threads sleep rather than spin when they wait.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
logs=${FLAKE_HUNT_LOGS:-$build/flake_hunt}
mkdir -p "$logs"
if [ $# -gt 0 ]; then
  programs=("$@")
else
  programs=()
  for exe in "$build"/tests/*_test; do [ -x "$exe" ] && programs+=("$(basename "$exe")"); done
fi

# hunt PROGRAM: writes $logs/PROGRAM.summary ("program tests repetitions runs failures").
hunt() {
  local program=$1 exe="$build/tests/$1" start=$SECONDS
  # Randomized tests: those that printed seed= between their RUN and OK/FAILED lines.
  local randomized
  randomized=$("$exe" 2>&1 | awk '
    /^\[ RUN      \] / { test = $4; next }
    /^seed=/ && test != "" { drew[test] = 1 }
    /^\[       OK \] |^\[  FAILED  \] |^\[  SKIPPED \] / { test = "" }
    END { for (t in drew) print t }' | sort | paste -sd: -) || true
  if [ -z "$randomized" ]; then
    echo "$program 0 0 0 0" >"$logs/$program.summary"
    return
  fi
  local log="$logs/$program.log"
  "$exe" --gtest_filter="$randomized" --gtest_repeat="$repetitions" >"$log" 2>&1 || true
  local tests runs failures
  tests=$(tr ':' '\n' <<<"$randomized" | wc -l)
  runs=$(grep -cE '^\[       OK \] |^\[  FAILED  \] .* \([0-9]+ ms\)$' "$log" || true)
  failures=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$log" || true)
  echo "$program $tests $repetitions $runs $failures $((SECONDS - start))" >"$logs/$program.summary"
}
export -f hunt
export build repetitions logs

printf '%s\n' "${programs[@]}" | xargs -P "$jobs" -I{} bash -c 'hunt "$@"' _ {}

total_tests=0 total_runs=0 total_failures=0
printf '%-28s %6s %6s %8s %9s %7s\n' program tests reps runs failures seconds
for program in "${programs[@]}"; do
  read -r name tests reps runs failures seconds <"$logs/$program.summary"
  [ "$tests" -eq 0 ] && continue
  printf '%-28s %6d %6d %8d %9d %7d\n' "$name" "$tests" "$reps" "$runs" "$failures" "${seconds:-0}"
  total_tests=$((total_tests + tests)) total_runs=$((total_runs + runs)) total_failures=$((total_failures + failures))
  [ "$failures" -eq 0 ] || grep -E '^\[   SEED   \]' "$logs/$program.log" | sort | uniq -c | sed 's/^/    /'
done
echo "flake_hunt: $total_tests randomized tests x $repetitions repetitions: $total_runs runs, $total_failures failures (logs in $logs)"
[ "$total_failures" -eq 0 ]
