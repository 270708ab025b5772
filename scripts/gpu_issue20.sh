#!/usr/bin/env bash
# Issue 20 evidence in one device call: build, the GPU tests of the changed kernels, the main-job
# convolution blockings (before / after), Nsight Compute of the old and new direct kernels and of
# cuDNN's kernel, mlbench rows (GPU convolution; CPU SGEMM at 16 and 1 threads). Results under $OUT.
#   usage: scripts/gpu_issue20.sh [build-dir]
set -uo pipefail
OUT=${OUT:-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
B=${1:-/tmp/build-kernels}
export CUDAHOSTCXX=${CUDAHOSTCXX:-/opt/gcc/bin/g++}
[ -x "$CUDAHOSTCXX" ] || unset CUDAHOSTCXX
log=$OUT/log.txt
{ date -u; git log -1 --oneline 2>/dev/null; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu --format=csv; lscpu | grep -E "Model name|^CPU\(s\)"; } >"$log" 2>&1
t0=$(date +%s)
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$OUT/build.log" 2>&1 &&
  cmake --build "$B" -j16 --target mlbench gpu_backends_test gpu_precision_test >>"$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
echo "build $(( $(date +%s) - t0 )) s" | tee -a "$log"
mb=$B/mlbench
# 1. Tests of what changed (every GPU backend test, the convolution ones first).
timeout 240 "$B/tests/gpu_backends_test" --gtest_filter='GpuConvolution.*:GpuBackends.*' 2>&1 | grep -E "^\[  (OK|PASSED|FAILED|SKIPPED) |tests ran|Failure|seed|rror" | tee -a "$log"
timeout 240 "$B/tests/gpu_precision_test" --gtest_filter='*Convolution*:GpuPrecision.*' 2>&1 | grep -E "^\[  (OK|PASSED|FAILED|SKIPPED) |tests ran|Failure|rror" | tee -a "$log"
# 2. Blockings of the main job, before and after (median of 10 launches, verified rows).
"$B/tests/gpu_backends_test" --gtest_also_run_disabled_tests --gtest_filter='GpuTiming.DISABLED_MainJobConvolutionBlockings' 2>&1 |
  grep -E "TIMING|FAILED|Failure|WRONG" | tee -a "$log"
# 3. Nsight Compute: each blocking once, then cuDNN's timed kernel through mlbench.
sections=(--section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section SchedulerStats
  --section WarpStateStats --section Occupancy --section LaunchStats --section InstructionStats)
MLBENCH_TIMING_REPS=1 timeout 200 ncu --clock-control none "${sections[@]}" --kernel-name-base demangled \
  --kernel-name regex:'conv2d_tiled_kernel<float, 4, 16>|conv2d_constant_filters_kernel' \
  "$B/tests/gpu_backends_test" --gtest_also_run_disabled_tests --gtest_filter='GpuTiming.DISABLED_MainJobConvolutionBlockings' \
  >"$OUT/ncu-conv-kernels.txt" 2>&1
timeout 200 ncu --clock-control none "${sections[@]}" --kernel-name regex:'implicit_convolve|conv|gemm|fft|xmma|cutlass' \
  --launch-skip 6 --launch-count 1 \
  "$mb" convolution --size 4096 --backends cudnn --repetitions 4 --warmup 2 --no-peaks --quiet >"$OUT/ncu-conv-cudnn.txt" 2>&1
grep -E "^  [a-zA-Z_].*\(|Duration|Compute \(SM\) Throughput|Memory Throughput|DRAM Throughput|Issue Slots Busy|Executed Ipc A|Achieved Occupancy|Registers Per|No Eligible" \
  "$OUT/ncu-conv-kernels.txt" "$OUT/ncu-conv-cudnn.txt" | sed -E 's/ +/ /g' | tee -a "$log"
# 4. mlbench rows, one run each (peaks measured on this machine first, for the roofline column).
"$mb" convolution --size 4096 --backends cuda,cudnn --json "$OUT/conv.json" --markdown "$OUT/conv.md" 2>&1 | tail -12 | tee -a "$log"
"$mb" gemm --size 4096 --backends openmp,openblas --threads 16 --json "$OUT/cpu-gemm-16.json" --markdown "$OUT/cpu-gemm-16.md" 2>&1 | tail -8 | tee -a "$log"
"$mb" gemm --size 4096 --backends openmp,openblas --threads 1 --repetitions 3 --json "$OUT/cpu-gemm-1.json" --markdown "$OUT/cpu-gemm-1.md" 2>&1 | tail -8 | tee -a "$log"
echo "total $(( $(date +%s) - t0 )) s" | tee -a "$log"
cd "$OUT" && tar czf evidence.tgz ./*.txt ./*.json ./*.md ./*.log && rm -f ./*.json ./*.md ./*.log ncu-*.txt
