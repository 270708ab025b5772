#!/usr/bin/env bash
# Tensor-core GEMM evidence on a GPU machine (issue 7): builds the GEMM tests and the tuning
# program, runs the tests (every GEMM backend at every precision on awkward shapes), times the
# product and each tensor-core tile next to cuBLAS from 1024 to 8192 (bf16, fp16; tf32 and
# fp32 cuBLAS at 8192) with mlbench_tune_gemm, counts the tensor-core instructions in the SASS
# and writes the compiler's resource report. Logs under $OUT (default out/).
set -uo pipefail
OUT=${OUT:-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
export CUDAHOSTCXX=${CUDAHOSTCXX:-/opt/gcc/bin/g++}
[ -x "$CUDAHOSTCXX" ] || unset CUDAHOSTCXX
build=${BUILD_DIR:-build-gpu}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$OUT/configure.log" 2>&1 &&
  cmake --build "$build" -j16 --target gpu_tensor_core_test mlbench_tune_gemm >"$OUT/build.log" 2>&1 ||
  { tail -30 "$OUT/build.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.limit,temperature.gpu --format=csv \
  >"$OUT/gpu.txt" 2>&1
./"$build"/tests/gpu_tensor_core_test 2>&1 | tee "$OUT/test.log" | grep -E "^\[  (PASSED|FAILED|  OK|  SKIPPED) |FAILED|Failure|error" | tail -30
# Each version validated (fp64 reference, exact twin), then the median of 20 kernel runs.
{
  ./"$build"/tuning/mlbench_tune_gemm --precision bf16,fp16 --shape 1024,2048,4096,8192
  ./"$build"/tuning/mlbench_tune_gemm --precision fp32,tf32 --shape 8192 --versions cuda,cublas,cublas-tf32 --repetitions 10
} 2>&1 | tee "$OUT/timing.log"
# SASS: tensor-core instructions per kernel (HMMA: mma.sync; HGMMA: wgmma), spills (LDL/STL).
objects=$(find "$build/kernels" -name 'gemm_tensor_core*.cu.o')
for o in $objects; do
  echo "== $o"
  cuobjdump -sass "$o" | grep -oE "HGMMA\.[A-Z0-9x.]+|HMMA\.[A-Z0-9.]+|LDSM[A-Z0-9.]*|LDGSTS[A-Z0-9.]*|\bLDL\b|\bSTL\b" |
    sort | uniq -c | sort -rn
  cuobjdump -res-usage "$o" | grep -E "Function|REG" | paste - - |
    sed -E 's/.*Function ([^ ]+):?.*REG:([0-9]+).*SHARED:([0-9]+).*LOCAL:([0-9]+).*/\1 REG=\2 SHARED=\3 LOCAL=\4/'
done >"$OUT/sass.txt" 2>&1
grep -E "==|HMMA|HGMMA|LDL|STL" "$OUT/sass.txt"
