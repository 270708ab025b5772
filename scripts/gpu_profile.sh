#!/usr/bin/env bash
# Evidence for the GPU limits that are missed (docs/performance.md): the GEMM tile sweep and goal
# shapes against the vendor libraries (the tuning programs), the compiler's resource report,
# SASS instruction mix of the hand-written kernels, and Nsight Compute sections of the hand-written
# SGEMM / implicit-GEMM convolution next to cuBLAS / cuDNN. Results under $OUT.
set -uo pipefail
OUT=${OUT:-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
export CUDAHOSTCXX=${CUDAHOSTCXX:-/opt/gcc/bin/g++}
[ -x "$CUDAHOSTCXX" ] || unset CUDAHOSTCXX
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null &&
  cmake --build build-gpu -j16 --target mlbench gpu_backends_test mlbench_tune_gemm mlbench_tune_conv mlbench_tune_reduce \
    >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
mb=./build-gpu/mlbench
./build-gpu/tests/gpu_backends_test --gtest_filter='GpuGemm.*' 2>&1 | tail -3
{ ./build-gpu/tuning/mlbench_tune_gemm --precision fp32,fp64 &&
  ./build-gpu/tuning/mlbench_tune_conv --shape 1x3x4096x4096x16x3x1x1,32x64x56x56x64x3x1x1,1x1x4096x4096x1x3x1x1 &&
  ./build-gpu/tuning/mlbench_tune_reduce; } >"$OUT/timing.txt" 2>&1
cuobjdump -res-usage "$mb" 2>/dev/null | grep -E "Function|REG" | paste - - |
  sed -E 's/.*Function ([^ ]+).*REG:([0-9]+).*SHARED:([0-9]+).*/\1 REG=\2 SHARED=\3/' >"$OUT/kernel-resources.txt"
# SASS instruction mix of each GEMM / implicit-GEMM kernel: FFMA share, shared loads, LDGSTS.
cuobjdump -sass "$mb" 2>/dev/null | python3 -c '
import re, sys, collections
mix, name = collections.defaultdict(collections.Counter), None
for line in sys.stdin:
    m = re.search(r"Function : (\S+)", line)
    if m: name = m.group(1); continue
    m = re.search(r"/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9]*)", line)
    if name and m and re.search("gemm|implicit|mma", name): mix[name][m.group(1)] += 1
for name, c in mix.items():
    total = sum(c.values())
    print(name[:110], "total", total, " ".join(f"{op}={n}" for op, n in c.most_common(12)))
' >"$OUT/sass-mix.txt"
sections=(--section SpeedOfLight --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats)
: >"$OUT/ncu-gemm.txt"
for backend in cuda cublas; do
  ncu --clock-control none "${sections[@]}" --kernel-name regex:'gemm|sgemm|xmma|cutlass' --launch-skip 1 --launch-count 1 \
    $mb gemm --size 4096 --backends $backend --repetitions 1 --warmup 1 --no-peaks --quiet >>"$OUT/ncu-gemm.txt" 2>&1
done
: >"$OUT/ncu-conv.txt"
for backend in cuda cudnn; do
  ncu --clock-control none "${sections[@]}" --kernel-name regex:'conv|implicit|fft|gemm|xmma|cutlass' --launch-skip 3 --launch-count 2 \
    $mb convolution --size 56 --batch 32 --channels 64 --filters 64 --backends $backend --repetitions 1 --warmup 1 --no-peaks \
    --quiet >>"$OUT/ncu-conv.txt" 2>&1
done
grep -E "TIMING gemm" "$OUT/timing.txt"
grep -E "^  [a-zA-Z_].*\(|Duration|Compute \(SM\) Throughput|Memory Throughput|Issue Slots Busy|Achieved Occupancy|Registers Per" "$OUT/ncu-gemm.txt" | head -60
