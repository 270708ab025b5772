#!/usr/bin/env bash
# Issue 20 evidence in one device call: build, the tests of the changed kernels (GPU first-layer
# convolution, CPU OpenMP GEMM), mlbench rows (GPU convolution; CPU SGEMM at 16 and 1 threads),
# the main-job convolution blockings (before / after), Nsight Compute of the old and new kernels
# and of cuDNN's kernel. Each result is written to $OUT as soon as it exists (8 files at most).
#   usage: scripts/gpu_issue20.sh [build-dir]
set -uo pipefail
OUT=${OUT:-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
B=${1:-/tmp/build-kernels}
export CUDAHOSTCXX=${CUDAHOSTCXX:-/opt/gcc/bin/g++}
[ -x "$CUDAHOSTCXX" ] || unset CUDAHOSTCXX
log=$OUT/log.txt
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu --format=csv; lscpu | grep -E "Model name|^CPU\(s\)|Flags" | cut -c1-200; } >"$log" 2>&1
t0=$(date +%s)
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$B.log" 2>&1 &&
  cmake --build "$B" -j16 --target mlbench mlbench_tune_conv gpu_backends_test gpu_precision_test cpu_backends_test >>"$B.log" 2>&1 ||
  { tail -40 "$B.log" | tee -a "$log"; exit 1; }
echo "build $(( $(date +%s) - t0 )) s" | tee -a "$log"
mb=$B/mlbench
pass='^\[  (OK|PASSED|FAILED|SKIPPED) |tests ran|Failure|rror'
# 1. Tests of what changed.
timeout 200 "$B/tests/gpu_backends_test" --gtest_filter='GpuConvolution.*:GpuBackends.*' 2>&1 | grep -E "$pass|seed" | tee -a "$log"
timeout 200 "$B/tests/gpu_precision_test" --gtest_filter='*Convolution*:GpuPrecision.*' 2>&1 | grep -E "$pass" | tee -a "$log"
timeout 200 "$B/tests/cpu_backends_test" --gtest_filter='CpuGemm.*' 2>&1 | grep -E "$pass|seed" | tee -a "$log"
# 2. mlbench rows, one run each (peaks measured on this machine first, for the roofline column).
"$mb" convolution --size 4096 --backends cuda,cudnn --json "$OUT/conv.json" --markdown "$OUT/conv.md" 2>&1 | tail -9 | tee -a "$log"
"$mb" gemm --size 4096 --backends openmp,openblas --threads 16 --json "$OUT/cpu-gemm-16.json" --markdown "$OUT/cpu-gemm-16.md" 2>&1 | tail -5 | tee -a "$log"
"$mb" gemm --size 4096 --backends openmp,openblas --threads 1 --repetitions 3 --json "$OUT/cpu-gemm-1.json" --markdown "$OUT/cpu-gemm-1.md" 2>&1 | tail -5 | tee -a "$log"
echo "rows done $(( $(date +%s) - t0 )) s" | tee -a "$log"
# 3. Blockings of the main job, before and after (median of 10 launches, verified rows).
"$B/tuning/mlbench_tune_conv" --repetitions 10 --versions direct-4x16,cuda,constant-filters,register-filters-4x4,register-filters-4x2,register-filters-2x8,register-filters-6x3 2>&1 |
  tee -a "$log"
# 4. Nsight Compute: each blocking once (old direct first), then one cuDNN IMPLICIT_GEMM kernel.
sections=(--section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section SchedulerStats
  --section WarpStateStats --section Occupancy --section LaunchStats --section InstructionStats)
ncu_txt=$OUT/ncu-conv.txt
# (each version launches 3 times with --repetitions 1 --warmups 0: exact twin, validation, timed run)
timeout 300 ncu --clock-control none "${sections[@]}" \
  --kernel-name regex:'conv2d_tiled_kernel|conv2d_register_filters_kernel|conv2d_constant_filters_kernel' --launch-count 21 \
  "$B/tuning/mlbench_tune_conv" --repetitions 1 --warmups 0 --versions direct-4x16,cuda,constant-filters,register-filters-4x4,register-filters-4x2,register-filters-2x8,register-filters-6x3 \
  >"$ncu_txt" 2>&1
# cuDNN: its algorithm search runs other kernels first; skipping 15 matching launches of 23+
# (3 warm-ups, 20 timed) lands in the timed runs of the algorithm it chose (IMPLICIT_GEMM in run 1).
timeout 100 ncu --clock-control none "${sections[@]}" --kernel-name regex:'implicit|xmma|sgemm' --launch-skip 15 --launch-count 1 \
  "$mb" convolution --size 4096 --backends cudnn --repetitions 20 --max-repetitions 20 --warmup 3 --no-peaks --quiet >>"$ncu_txt" 2>&1
grep -E "^  [a-zA-Z_].*\(|Duration|DRAM Throughput|Issue Slots Busy|Issued Instructions  |No Eligible|Registers Per|Achieved Occupancy" \
  "$ncu_txt" | sed -E 's/ +/ /g' | tee -a "$log"
echo "total $(( $(date +%s) - t0 )) s" | tee -a "$log"
