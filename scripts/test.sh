#!/usr/bin/env bash
# The whole test suite, after scripts/setup.sh --tests has built ./build ($MLBENCH_BUILD_DIR).
# One stage per line at the bottom: `stage <name> <command...>`. Every stage runs even when an
# earlier one failed; each prints its time, the summary lists them all, and the exit status is
# non-zero when any failed. To add a stage, add one line.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MLBENCH_BUILD_DIR:-build}

summary=()
failed=0
stage() {
  local name=$1 start=$SECONDS status=0
  shift
  echo "=== stage $name: $*"
  "$@" || status=$?
  local verdict=ok
  [ "$status" -eq 0 ] || { verdict="FAILED (exit $status)"; failed=1; }
  echo "=== stage $name: $((SECONDS - start)) s, $verdict"
  summary+=("$(printf '%-22s %5d s  %s' "$name" $((SECONDS - start)) "$verdict")")
}
finish() {
  echo "=== stages"
  printf '  %s\n' "${summary[@]}"
  echo "=== total $SECONDS s: $([ "$failed" -eq 0 ] && echo passed || echo FAILED)"
  exit "$failed"
}

# The CPU tests (ctest label cpu_library: OpenBLAS, oneDNN, the executable) once more with the
# libraries held to older CPUs than this one: an AVX2 machine without AVX-512 (a Zen core for
# OpenBLAS) and an SSE4.1 one (Nehalem). Tests that need a kernel the CPU lacks must skip or
# assert what holds there. (Stage commands run where set -e does not apply: chain with &&.)
cpu_library_tests() { ctest --test-dir "$build" --output-on-failure -j2 -L cpu_library --no-tests=error; }
avx2_cpu() { ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Zen cpu_library_tests; }
sse41_cpu() { ONEDNN_MAX_CPU_ISA=SSE41 OPENBLAS_CORETYPE=Nehalem cpu_library_tests; }

# The C++/CUDA layout against .clang-format (scripts/format.sh --check). Until the tree has been
# formatted once (the marker file .clang-format-applied exists) the stage says so and passes.
format_check() {
  if [ ! -e .clang-format-applied ]; then
    echo "format: skipped: the tree has not been formatted yet (no .clang-format-applied; ARCHITECTURE.md says how)"
    return 0
  fi
  ./scripts/format.sh --check
}

stage format              format_check
# ASan + UBSan build without -march=native (MLBENCH_NATIVE=OFF: baseline x86-64 code, what runs
# on any CPU), and the whole ctest suite against it, in random order.
stage sanitizers-portable ./scripts/ci-sanitizers.sh
stage fuzz                ./scripts/ci-fuzz.sh
stage ctest               ctest --test-dir "$build" --output-on-failure -j2 --schedule-random
stage cpu-avx2            avx2_cpu
stage cpu-sse41           sse41_cpu
stage mutation-cpu        ./scripts/mutation_check.sh
stage gbench-tools        ./scripts/ci-gbench-tools.sh
finish
