#!/usr/bin/env bash
# CPU-only build with AddressSanitizer + UndefinedBehaviorSanitizer (g++), then the whole ctest
# suite against it, in random order. The build is also the portable one (MLBENCH_NATIVE=OFF: no
# -march=native, baseline x86-64 code), so the suite runs once on code not tuned to this CPU.
# Any sanitizer report aborts the test that hit it, so ctest fails.
# The flags go on this build's command line only: the project's CMakeLists stay sanitizer-free.
# Reuses ./build-asan (or $MLBENCH_ASAN_BUILD_DIR) when present: rebuilds incrementally.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${MLBENCH_ASAN_BUILD_DIR:-build-asan}
start=$SECONDS

# -O1 -g1: quick to build on 2 cores, line numbers in sanitizer stacks, assert() kept on (no
# NDEBUG); the CPU kernels keep their own -O3. -fno-sanitize-recover makes every UBSan finding
# fatal even when UBSAN_OPTIONS is not set (e.g. a developer running a test binary by hand).
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
# MLBENCH_WITH_MPI=OFF: Open MPI's own start-up allocations would read as leaks; the stage also
# covers the build without MPI (tests/mpi/mpi_launch_test.cpp checks its refusals there).
# MLBENCH_WERROR=ON in the environment (CI: .ci/run) makes every compiler warning an error here as
# in ./build (cmake/Warnings.cmake); unset, the build directory keeps its value.
werror_args=()
[ -z "${MLBENCH_WERROR:-}" ] || werror_args+=("-DMLBENCH_WERROR=$MLBENCH_WERROR")
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DMLBENCH_WITH_CUDA=OFF -DMLBENCH_NATIVE=OFF -DMLBENCH_WITH_MPI=OFF \
  -DCMAKE_CXX_FLAGS="$sanitize" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" "${werror_args[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
built=$SECONDS

suppressions="$PWD/scripts/sanitizers"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:strict_init_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0"
# -LE agreement: the one timing test (two `all --preset quick` runs must agree) measures the
# product's noise, not its memory safety; instrumented, the two runs alone took over its 300 s
# on CI's quiet 2-core machine. It runs in the plain ctest stage.
status=0
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" --schedule-random -LE agreement || status=$?
echo "ci-sanitizers: build $((built - start)) s, tests $((SECONDS - built)) s, total $((SECONDS - start)) s, ctest exit $status"
exit "$status"
