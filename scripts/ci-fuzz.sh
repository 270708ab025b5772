#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang + ASan + UBSan into ./build-fuzz (or
# $MLBENCH_FUZZ_BUILD_DIR; reused when present) and runs each for a bounded number of
# executions over a copy of its committed corpus, both at once (one per core).
# Exit status non-zero on any crash, sanitizer report, leak, timeout or out-of-memory; the
# offending input is saved under <build dir>/fuzz-artifacts/.
# MLBENCH_FUZZ_RUNS (default 20000) and MLBENCH_FUZZ_SECONDS (cap per fuzzer, default 60) for the
# parser fuzzers; the file-system fuzzers (output paths, peaks cache: every input writes and
# fsyncs files) run after them with MLBENCH_FUZZ_IO_RUNS (default 3000) and
# MLBENCH_FUZZ_IO_SECONDS (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${MLBENCH_FUZZ_BUILD_DIR:-build-fuzz}
runs=${MLBENCH_FUZZ_RUNS:-20000}
seconds=${MLBENCH_FUZZ_SECONDS:-60}
io_runs=${MLBENCH_FUZZ_IO_RUNS:-3000}
io_seconds=${MLBENCH_FUZZ_IO_SECONDS:-30}
start=$SECONDS

# The whole build is instrumented (coverage for libFuzzer, ASan, UBSan) so that findings in
# reports/, bench/ and cli/ code are seen, not only in the fuzzer files. -O1 with line tables:
# quick to build, stacks name file and line.
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# UBSan's checks branch to their handler inside every loop body, so clang cannot vectorize the
# `#pragma omp simd` loops it is asked to (bench/attention.cpp) and warns that it did not
# (-Wpass-failed, an error under -Werror). The instrumentation causes it, not the code: clang
# compiles those loops without the warning when UBSan is off (at -O1 as at -O3).
sanitize+=" -Wno-pass-failed"
# MLBENCH_WERROR=ON in the environment (CI: .ci/run) makes every compiler warning an error here as
# in ./build (cmake/Warnings.cmake); unset, the build directory keeps its value.
werror_args=()
[ -z "${MLBENCH_WERROR:-}" ] || werror_args+=("-DMLBENCH_WERROR=$MLBENCH_WERROR")
# OpenMP is clang's own (-fopenmp=libomp), for oneDNN too (CMakeLists.txt). A build directory configured before that, when this
# script compiled the pragmas out, keeps -Wno-unknown-pragmas as its OpenMP flags: forget them.
forget_openmp=()
if grep -qs '^OpenMP_CXX_FLAGS:[A-Z]*=-Wno-unknown-pragmas$' "$build_dir/CMakeCache.txt"; then
  forget_openmp=(-U'OpenMP_*')
fi
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${forget_openmp[@]}" \
  -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" \
  -DMLBENCH_WITH_CUDA=OFF -DMLBENCH_FUZZ=ON \
  -DCMAKE_CXX_FLAGS="$sanitize" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" "${werror_args[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)" --target report_parser_fuzzer cli_options_fuzzer output_path_fuzzer peaks_cache_fuzzer
built=$SECONDS

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$root/$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export MLBENCH_FUZZ_REPORT="$root/tests/fuzz/corpus/report/gemm_one_rep.json"

# run_fuzzer NAME CORPUS DICT [FLAGS...]: runs in the background, log in $work/NAME.log.
# DICT may be "-" (none); FUZZ_RUNS / FUZZ_SECONDS override the limits for one call.
run_fuzzer() {
  local name=$1 corpus=$2 dict=$3
  shift 3
  mkdir -p "$work/$name-corpus"
  cp -r "$root/tests/fuzz/corpus/$corpus/." "$work/$name-corpus/"
  local dict_flag=()
  [ "$dict" = "-" ] || dict_flag=(-dict="$root/tests/fuzz/$dict")
  "$root/$build_dir/tests/fuzz/$name" "$work/$name-corpus" \
    -runs="${FUZZ_RUNS:-$runs}" -max_total_time="${FUZZ_SECONDS:-$seconds}" -timeout=5 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 "${dict_flag[@]}" -close_fd_mask=3 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$@" >"$work/$name.log" 2>&1
}

# Inputs that once found a bug (tests/fuzz/regressions/<corpus>/) are replayed first, once each.
run_regressions() {
  local name=$1 corpus=$2
  local inputs=("$root/tests/fuzz/regressions/$corpus"/*)
  [ -e "${inputs[0]}" ] || return 0
  if ! "$root/$build_dir/tests/fuzz/$name" -timeout=5 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
       "${inputs[@]}" >"$work/$name-regressions.log" 2>&1; then
    echo "ci-fuzz: $name: a regression input fails again ----"
    grep -E "Running:|ERROR|SUMMARY|BUG|runtime error" "$work/$name-regressions.log" | head -n 20
    return 1
  fi
  echo "ci-fuzz: $name: ${#inputs[@]} regression input(s) pass"
}
status=0
run_regressions report_parser_fuzzer report || status=1
run_regressions cli_options_fuzzer cli || status=1
run_regressions output_path_fuzzer output_path || status=1

declare -A pids
run_fuzzer report_parser_fuzzer report report.dict & pids[report_parser_fuzzer]=$!
# Leaks are checked after every input of both fuzzers: each subcommand's options are owned by
# its App (cli/run_command.cpp, fuzz finding 6), so an input that allocates and frees
# everything it used is the norm and a leak is a finding.
run_fuzzer cli_options_fuzzer cli cli.dict & pids[cli_options_fuzzer]=$!

# Then the file-system fuzzers, both at once, with their own (smaller) limits.
wait_all() {
  for name in "$@"; do
    rc=0
    wait "${pids[$name]}" || rc=$?
    executed=$(grep -o 'number_of_executed_units: [0-9]*' "$work/$name.log" | grep -o '[0-9]*$' || true)
    echo "ci-fuzz: $name: exit $rc, ${executed:-?} executions"
    if [ "$rc" -ne 0 ]; then
      status=1
      echo "---- $name log (tail) ----"
      tail -n 60 "$work/$name.log"
      echo "---- inputs saved in $artifacts ----"
    fi
  done
}
wait_all report_parser_fuzzer cli_options_fuzzer
FUZZ_RUNS=$io_runs FUZZ_SECONDS=$io_seconds run_fuzzer output_path_fuzzer output_path - & pids[output_path_fuzzer]=$!
FUZZ_RUNS=$io_runs FUZZ_SECONDS=$io_seconds run_fuzzer peaks_cache_fuzzer peaks_cache - & pids[peaks_cache_fuzzer]=$!
wait_all output_path_fuzzer peaks_cache_fuzzer
echo "ci-fuzz: build $((built - start)) s, fuzzing $((SECONDS - built)) s, total $((SECONDS - start)) s"
exit "$status"
