#!/usr/bin/env bash
# compute-sanitizer over every test case of the GPU test programs, one process per test case,
# up to MLBENCH_SANITIZER_JOBS at once: a whole program under racecheck (every kernel
# instrumented, cuBLAS and cuDNN included) takes longer than one device call allows.
# Usage: scripts/gpu_sanitize_each_test.sh TOOL PROGRAM... (after a build in build-gpu)
# Writes $OUT/logs/each-TOOL-PROGRAM-TEST.log and $OUT/logs/each-TOOL-summary.txt.
#
# Kernel filters (--kernel-name) are not used here: with only our kernels instrumented,
# racecheck stopped with "Internal Sanitizer Error: failed to handle a hardware exception" in
# the cuBLAS/cuDNN tests, and initcheck called output that a cuDNN kernel had written
# uninitialized (it does not see writes of kernels it does not instrument).
set -uo pipefail
tool=$1
shift
OUT=${OUT:-out}
mkdir -p "$OUT/logs"
cd "$(dirname "$0")/.."
exclude="${MLBENCH_SANITIZER_EXCLUDE:-Timing|Large|Throughput|Sticky|OutOfMemory}"
limit=${MLBENCH_SANITIZER_TEST_TIMEOUT:-480}

one() {  # program test: one compute-sanitizer run of one test case
  local program=$1 test=$2 log extra=()
  log="$OUT/logs/each-$tool-$program-${test//\//_}.log"
  [ "$program" = multi_gpu_test ] && extra=(--report-api-errors no)  # NCCL's own probes; see gpu_evidence.sh
  timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 9 "${extra[@]}" "build-gpu/tests/$program" \
    --gtest_filter="$test" >"$log" 2>&1
  local rc=$?
  local summary
  summary=$(grep -hE "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -1 | sed 's/^========= //')
  [ $rc -eq 124 ] && summary="did not finish within ${limit} s"
  grep -q "Internal Sanitizer Error" "$log" && summary="$summary; internal sanitizer error"
  # A test that never calls CUDA (registration, parsing): the tool exits 255 with this line.
  grep -q "terminated before first instrumented API call" "$log" && summary="no CUDA call, nothing to check"
  echo "$tool $program $test exit $rc: ${summary:-no summary}" >>"$OUT/logs/each-$tool-summary.txt"
}
export -f one
export tool OUT limit

for program in "$@"; do
  # gtest lists "Suite." then "  Test" lines; parameterised names carry a comment after '#'.
  "build-gpu/tests/$program" --gtest_list_tests | sed 's/ *#.*//' |
    awk '/^[^ ]/ {suite=$1; next} {print suite $1}' | grep -vE "$exclude" | sed "s|^|$program |"
done | xargs -P "${MLBENCH_SANITIZER_JOBS:-12}" -L 1 bash -c 'one "$0" "$1"'
sort "$OUT/logs/each-$tool-summary.txt"
