#!/usr/bin/env bash
# Installs what mlbench needs and is missing (Debian/Ubuntu packages), then configures and
# builds the mlbench executable (only that target) into ./build. With --tests it also installs
# what the test suite needs (GoogleTest; clang with its sanitizer/fuzzer runtime and OpenMP
# library for the sanitizer and fuzzing stages of scripts/test.sh) and builds everything.
# Safe to run again: it installs nothing twice and rebuilds incrementally. nvcc is used when
# found (PATH or /usr/local/cuda); without it the GPU backends are built as "unavailable" and
# everything else works. Without --tests on a machine with no NVIDIA GPU, see below.
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--tests" ] && with_tests=1
packages=(cmake g++ make ninja-build pkg-config git
          libcli11-dev libfmt-dev nlohmann-json3-dev libbenchmark-dev
          libopenblas-dev libdnnl-dev)
if ((with_tests)); then
  packages+=(libgtest-dev clang libclang-rt-14-dev libomp-14-dev dpkg-dev)
  # scripts/format.sh (the format stage): clang-format 14 defines the layout of .clang-format.
  packages+=(clang-format)
  # scripts/ci-gbench-tools.sh: Google Benchmark's compare.py and what it imports, and a venv
  # for check-jsonschema (PyPI; it carries the GitHub workflow schema).
  packages+=(libbenchmark-tools python3-numpy python3-scipy python3-venv)
  # Open MPI: the mpi backends and the mpirun tests (tests/mpi/mpi_launch_test.cpp). Optional for
  # a build: without it the mpi backends are "unavailable: built without MPI".
  packages+=(libopenmpi-dev openmpi-bin)
  # tests/reports/html_report_test.cpp renders the HTML report in headless Chromium (skipped without it).
  packages+=(chromium)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "mlbench setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cuda_args=()
have_nvcc=0
command -v nvcc >/dev/null 2>&1 && have_nvcc=1
if ((!have_nvcc)) && [ -x /usr/local/cuda/bin/nvcc ]; then
  cuda_args+=("-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc")
  have_nvcc=1
fi
gpu_visible() {
  { command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; } ||
    compgen -G '/proc/driver/nvidia/gpus/*' >/dev/null
}

build_dir=${MLBENCH_BUILD_DIR:-build}
# The CUDA backends: with --tests always where nvcc is (CI checks that they compile, GPU or
# not). Without --tests only what the main job can run: on the first configure of a machine
# that shows no NVIDIA GPU they are left out (half of the build's CPU time on a 2-core
# machine), saying so. MLBENCH_WITH_CUDA=ON or OFF in the environment decides instead.
if [ -n "${MLBENCH_WITH_CUDA:-}" ]; then
  cuda_args+=("-DMLBENCH_WITH_CUDA=$MLBENCH_WITH_CUDA")
elif ((with_tests)); then
  cuda_args+=("-DMLBENCH_WITH_CUDA=ON")
elif ((have_nvcc)) && [ ! -f "$build_dir/CMakeCache.txt" ] && ! gpu_visible; then
  echo "mlbench setup: no NVIDIA GPU on this machine: building without the CUDA backends, which the" \
    "main job could not run here (MLBENCH_WITH_CUDA=ON ./scripts/setup.sh builds them)"
  cuda_args+=("-DMLBENCH_WITH_CUDA=OFF")
fi
# Without --tests: the test suite is configured only if an earlier --tests run asked for it
# (GoogleTest may not be installed), and only the mlbench target is built.
test_args=() target_args=()
if ((with_tests)); then
  test_args+=("-DMLBENCH_BUILD_TESTS=ON")
else
  [ -f "$build_dir/CMakeCache.txt" ] || test_args+=("-DMLBENCH_BUILD_TESTS=OFF")
  target_args+=(--target mlbench)
fi
# MLBENCH_WERROR=ON in the environment makes every compiler warning an error (cmake/Warnings.cmake).
# CI sets it (.ci/run, .github/workflows/bench.yml); a user's build, --tests or not, does not, so
# that a newer compiler's new warning cannot break it. Unset, a build directory keeps its value.
werror_args=()
[ -z "${MLBENCH_WERROR:-}" ] || werror_args+=("-DMLBENCH_WERROR=$MLBENCH_WERROR")
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${cuda_args[@]}" "${test_args[@]}" \
  "${werror_args[@]}" ${MLBENCH_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j"$(nproc)" "${target_args[@]}"
if ((with_tests)) && [ ! -x "$build_dir/ci-venv/bin/check-jsonschema" ]; then
  /usr/bin/python3 -m venv "$build_dir/ci-venv"
  "$build_dir/ci-venv/bin/pip" install -q check-jsonschema
fi
