#!/usr/bin/env bash
# Issue 17 evidence on a GPU machine, in one call: build the attention / softmax / layer-norm
# targets, run their GPU tests, time each tile configuration (mlbench_tune_attention), the
# issue's benchmarks,
# compute-sanitizer memcheck per test case, and one ncu profile of the attention kernel.
# Usage (from the repository root): OUT=<dir> scripts/gpu_attention.sh
# Writes $OUT/summary.txt and $OUT/issue17-gpu.tgz (every log, JSON and markdown report).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
R="$OUT/r"
mkdir -p "$R"
B=${MLBENCH_GPU_BUILD:-/tmp/build-attn-gpu}
[ -x /opt/gcc/bin/g++ ] && export CUDAHOSTCXX=/opt/gcc/bin/g++
S="$OUT/summary.txt"
say() { echo "$*" | tee -a "$S"; }
started=$(date +%s)
elapsed() { echo $(($(date +%s) - started)); }

say "== $(date -u +%FT%TZ) commit $(cat .gpu-commit 2>/dev/null || git rev-parse --short HEAD)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader | tee -a "$S"
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$R/configure.log" 2>&1 ||
  { tail -30 "$R/configure.log"; exit 1; }
if ! cmake --build "$B" -j16 --target mlbench gpu_attention_test gpu_rowwise_test mlbench_tune_attention \
  >"$R/build.log" 2>&1; then
  grep -E "error|Error" -A3 "$R/build.log" | head -60
  tar czf "$OUT/issue17-gpu.tgz" -C "$OUT" r
  exit 1
fi
say "build done at $(elapsed) s"

# Tests, then each tile configuration validated and timed at the benchmark shapes (the tuning
# program; MLBENCH_TILE_TIMING=0 leaves it out).
pack() { tar czf "$OUT/issue17-gpu.tgz" -C "$OUT" r; }
timeout 200 "$B/tests/gpu_attention_test" >"$R/gpu_attention_test.log" 2>&1
say "gpu_attention_test exit $?: $(grep -E '^\[  (PASSED|FAILED)  \]' "$R/gpu_attention_test.log" | tr '\n' ' ')"
grep -E "Failure|error " "$R/gpu_attention_test.log" | head -40 | tee -a "$S"
if [ "${MLBENCH_TILE_TIMING:-1}" = 1 ]; then
  timeout 200 "$B/tuning/mlbench_tune_attention" --precision bf16 >"$R/tune_attention.log" 2>&1
  say "mlbench_tune_attention exit $?"
  grep -E "^(attention|version|cuda|tile-|cublas|cudnn)" "$R/tune_attention.log" | tee -a "$S"
fi
timeout 120 "$B/tests/gpu_rowwise_test" >"$R/gpu_rowwise_test.log" 2>&1
say "gpu_rowwise_test exit $?: $(grep -E '^\[  (PASSED|FAILED)  \]' "$R/gpu_rowwise_test.log" | tr '\n' ' ')"
grep -E "Failure|error " -A4 "$R/gpu_rowwise_test.log" | head -30 | tee -a "$S"
say "tests done at $(elapsed) s"
pack

# Benchmarks: the issue's shapes, every GPU backend, kernel-only and end to end.
M="$B/mlbench"
common=(--time-budget "${MLBENCH_TIME_BUDGET:-0.5}" --max-repetitions 20 --seed 17)
bench() {  # name, mlbench arguments...
  local name=$1
  shift
  timeout 150 "$M" "$@" "${common[@]}" --json "$R/$name.json" --markdown "$R/$name.md" >"$R/$name.log" 2>&1
  say "-- $name (exit $?): mlbench $* ${common[*]}"
  grep -E "^\| (cuda|cudnn|cublas) \| kernel" "$R/$name.md" | cut -d'|' -f2,4,7,10,11,12 | tee -a "$S"
  pack
}
bench attention-bf16-b1h16s4096d128 attention --precision bf16 --backends cuda,cudnn,cublas --batch 1 --heads 16 --seq 4096 --head-dim 128
bench attention-bf16-b8h16s2048d64 attention --precision bf16 --backends cuda,cudnn,cublas --batch 8 --heads 16 --seq 2048 --head-dim 64
bench attention-bf16-b1h16s4096d128-causal attention --precision bf16 --backends cuda,cudnn,cublas --batch 1 --heads 16 --seq 4096 --head-dim 128 --causal
bench attention-fp32-b1h16s4096d128 attention --precision fp32 --backends cuda,cublas --batch 1 --heads 16 --seq 4096 --head-dim 128
bench softmax-fp32-16384x4096 softmax --precision fp32 --backends cuda,cudnn --size 4096 --rows 16384
bench layernorm-fp32-16384x4096 layernorm --precision fp32 --backends cuda --size 4096 --rows 16384
for f in "$R"/*.md; do echo "### $(basename "$f")"; cat "$f"; done >"$OUT/reports.md"
say "benchmarks done at $(elapsed) s"

# compute-sanitizer memcheck, one process per test case.
if [ "$(elapsed)" -lt "${MLBENCH_SANITIZE_BEFORE_S:-330}" ]; then
  ln -sfn "$B" build-gpu
  OUT="$R" MLBENCH_SANITIZER_JOBS=12 MLBENCH_SANITIZER_TEST_TIMEOUT=${MLBENCH_SANITIZER_TEST_TIMEOUT:-90} \
    scripts/gpu_sanitize_each_test.sh memcheck gpu_attention_test gpu_rowwise_test >/dev/null 2>&1
  cat "$R/logs/each-memcheck-summary.txt" | tee -a "$S"
  say "memcheck done at $(elapsed) s"
  pack
fi

# ncu: one launch of the attention kernel at B1 H16 S4096 D128 bf16.
if [ "$(elapsed)" -lt "${MLBENCH_NCU_BEFORE_S:-400}" ] && command -v ncu >/dev/null; then
  timeout 90 ncu --clock-control none -k regex:attention_flash_tc -s 4 -c 1 --section SpeedOfLight \
    --section Occupancy --section LaunchStats --section ComputeWorkloadAnalysis \
    "$M" attention --precision bf16 --backends cuda --batch 1 --heads 16 --seq 4096 --head-dim 128 \
    --repetitions 1 --no-peaks -q >"$R/ncu-attention.txt" 2>&1
  grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Block Size|Grid Size" \
    "$R/ncu-attention.txt" | head -20 | tee -a "$S"
fi
tar czf "$OUT/issue17-gpu.tgz" -C "$OUT" r
say "all done at $(elapsed) s"
