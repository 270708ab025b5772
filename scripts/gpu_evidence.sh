#!/usr/bin/env bash
# Builds mlbench on the GPU machine, runs the test suite and compute-sanitizer, then the
# benchmark suite, and leaves everything under $OUT (the device tool brings it back).
# Usage: scripts/gpu_evidence.sh test|sanitize|bench|extra|precision
#   sanitize: build, then only the compute-sanitizer runs (MLBENCH_SANITIZER_TOOLS picks tools,
#             MLBENCH_SANITIZER_PROGRAMS the test programs)
#   test:  build, ctest, compute-sanitizer memcheck, racecheck, initcheck and synccheck on the
#          GPU test programs (timing tests and the largest shapes left out)
#   bench: build, the suite at 1024, 2048, 4096 with every backend
#   extra: build, GEMM 8192 (every backend but serial, whose one run takes minutes) and the
#          goal shapes (sum over 16384^2, convolution N32 C64 K64 56^2)
set -uo pipefail
mode=${1:-test}
OUT=${OUT:-out}
mkdir -p "$OUT/logs" "$OUT/results"
cd "$(dirname "$0")/.."
export CUDAHOSTCXX=${CUDAHOSTCXX:-/opt/gcc/bin/g++}
[ -x "$CUDAHOSTCXX" ] || unset CUDAHOSTCXX
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv
  lscpu | grep -E "Model name|^CPU\(s\)|Thread"
} >"$OUT/logs/device.txt" 2>&1

# oneDNN is not installed on the GPU machine: a Debian build of it can be carried in .dnnl/
# (include/, lib/libdnnl.so.2.6.xz, lib/libOpenCL.so.1; see docs/performance.md).
extra_cmake=()
if [ -f .dnnl/lib/libdnnl.so.2.6.xz ]; then
  [ -f .dnnl/lib/libdnnl.so.2.6 ] || xz -d -k .dnnl/lib/libdnnl.so.2.6.xz
  ln -sf libdnnl.so.2.6 .dnnl/lib/libdnnl.so.2 && ln -sf libdnnl.so.2 .dnnl/lib/libdnnl.so
  extra_cmake+=("-DCMAKE_PREFIX_PATH=$PWD/.dnnl")
  export LD_LIBRARY_PATH=$PWD/.dnnl/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
set -e
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 "${extra_cmake[@]}" \
  >"$OUT/logs/configure.log" 2>&1
cmake --build build-gpu -j16 >"$OUT/logs/build.log" 2>&1
set +e
if [ "$mode" = test ] || [ "$mode" = sanitize ]; then
if [ "$mode" = test ]; then
  ctest --test-dir build-gpu --output-on-failure -j4 >"$OUT/logs/ctest.log" 2>&1
  echo "ctest exit $?"; tail -3 "$OUT/logs/ctest.log"
fi

# The four tools side by side (the sanitizers are CPU-bound; the GPU has room), each over every
# test case of the GPU test programs, one compute-sanitizer process per test case
# (scripts/gpu_sanitize_each_test.sh says why; whole programs under racecheck outlast a device
# call). MLBENCH_SANITIZER_TOOLS and MLBENCH_SANITIZER_PROGRAMS narrow the run.
tools=(${MLBENCH_SANITIZER_TOOLS:-memcheck racecheck initcheck synccheck})
programs=(${MLBENCH_SANITIZER_PROGRAMS:-gpu_backends_test gpu_precision_test gpu_tensor_core_test multi_gpu_test gpu_reliability_test gpu_attention_test gpu_rowwise_test})
for tool in "${tools[@]}"; do
  MLBENCH_SANITIZER_JOBS=$(( (16 + ${#tools[@]} - 1) / ${#tools[@]} )) OUT="$OUT" \
    scripts/gpu_sanitize_each_test.sh "$tool" "${programs[@]}" >/dev/null &
done
wait
sort "$OUT"/logs/each-*-summary.txt
# which kernels each finding is in (vendor-library kernels are named as such)
grep -h -A1 -E "^========= (Uninitialized|Invalid|Race|Barrier|Misaligned)" "$OUT"/logs/each-*.log |
  grep -oE "at (void )?[A-Za-z_:0-9]+" | sort | uniq -c | sort -rn | head -20
(cd "$OUT/logs" && tar czf sanitizer-logs.tar.gz each-*.log && rm -f each-*.log)
[ "$mode" = sanitize ] && exit 0
fi
mb=./build-gpu/mlbench
date -u +%Y-%m-%dT%H:%M:%SZ >"$OUT/logs/date.txt"
$mb peak --refresh-peaks >"$OUT/results/peaks.txt" 2>&1 && $mb peak --json >"$OUT/results/peaks.json"
echo "peak exit $?"; cat "$OUT/results/peaks.txt"
if [ "$mode" = test ]; then
  $mb all --size 1024 --time-budget 0.3 --json "$OUT/results/quick.json" --markdown "$OUT/results/quick.md" --quiet
  echo "quick all exit $?"
elif [ "$mode" = precision ]; then
  for p in bf16 fp16 tf32; do
    backends=cuda,cublas; [ $p = tf32 ] && backends=cuda,cublas,cublas-tf32
    $mb gemm --size 4096,8192 --precision $p --backends $backends --time-budget 1 --max-repetitions 20 \
      --json "$OUT/results/h100-gemm-$p.json" --markdown "$OUT/results/h100-gemm-$p.md" --quiet
    echo "gemm $p exit $?"
  done
  $mb gemm --size 4096 --precision bf16 --backends openmp --time-budget 1 --max-repetitions 5 \
    --json "$OUT/results/h100-gemm-bf16-cpu.json" --markdown "$OUT/results/h100-gemm-bf16-cpu.md" --quiet
  echo "gemm bf16 cpu exit $?"
  for p in bf16 fp16 tf32; do
    $mb convolution --size 4096 --precision $p --backends openmp,cuda,cudnn --time-budget 1 \
      --json "$OUT/results/h100-conv-$p.json" --markdown "$OUT/results/h100-conv-$p.md" --quiet
    $mb convolution --size 56 --batch 32 --channels 64 --filters 64 --precision $p --backends cuda,cudnn --time-budget 1 \
      --json "$OUT/results/h100-conv-n32-$p.json" --markdown "$OUT/results/h100-conv-n32-$p.md" --quiet
    echo "conv $p exit $?"
  done
  $mb reduction --size 16384 --precision bf16 --backends openmp,cuda,cub --time-budget 1 \
    --json "$OUT/results/h100-reduce-bf16.json" --markdown "$OUT/results/h100-reduce-bf16.md" --quiet
  echo "reduce bf16 exit $?"
  $mb all --size 4096 --gpus 1 --backends nccl --time-budget 1 \
    --json "$OUT/results/h100-gpus1.json" --markdown "$OUT/results/h100-gpus1.md" --quiet
  echo "gpus 1 exit $?"
  $mb gemm --size 16384 --gpus all --backends nccl,cublas --time-budget 1 --max-repetitions 5 \
    --json "$OUT/results/h100-gemm-16384-gpus.json" --markdown "$OUT/results/h100-gemm-16384-gpus.md" --quiet
  echo "gemm 16384 gpus exit $?"
elif [ "$mode" = bench ]; then
  $mb all --size 1024,2048,4096 --time-budget 1 --json "$OUT/results/h100-all.json" \
    --markdown "$OUT/results/h100-all.md" --chart "$OUT/results/charts-all" --quiet
  echo "all exit $?"
else
  $mb gemm --size 8192 --backends openmp,openblas,cuda,cublas,cublas-tf32 --time-budget 1 --max-repetitions 10 \
    --json "$OUT/results/h100-gemm-8192.json" --markdown "$OUT/results/h100-gemm-8192.md" --quiet
  echo "gemm 8192 exit $?"
  $mb reduction --size 16384 --backends serial,openmp,cuda,cub --time-budget 1 \
    --json "$OUT/results/h100-reduce-16384.json" --markdown "$OUT/results/h100-reduce-16384.md" --quiet
  echo "reduce exit $?"
  $mb convolution --size 56 --batch 32 --channels 64 --filters 64 --time-budget 1 \
    --json "$OUT/results/h100-conv-n32c64k64.json" --markdown "$OUT/results/h100-conv-n32c64k64.md" --quiet
  echo "conv exit $?"
fi
(cd "$OUT" && tar czf "results-$mode.tar.gz" results logs && rm -rf results logs)
ls -la "$OUT"
