#!/usr/bin/env bash
# Figures for the "know the limits" goals on the GPU machine: GPU max and per-row reductions at
# 16384^2, OpenMP GEMM parallel efficiency (1 vs all threads), the kernels' register and shared
# memory use. Results under $OUT.
set -uo pipefail
OUT=${OUT:-out}
mkdir -p "$OUT"
cd "$(dirname "$0")/.."
export CUDAHOSTCXX=${CUDAHOSTCXX:-/opt/gcc/bin/g++}
[ -x "$CUDAHOSTCXX" ] || unset CUDAHOSTCXX
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null &&
  cmake --build build-gpu -j16 --target mlbench >/dev/null || exit 1
mb=./build-gpu/mlbench
common=(--time-budget 1 --no-peaks --quiet)
$mb reduction --size 16384 --op max --backends openmp,cuda,cub "${common[@]}" \
  --json "$OUT/h100-reduce-max-16384.json" --markdown "$OUT/h100-reduce-max-16384.md"
$mb reduction --size 16384 --axis rows --backends openmp,cuda,cub "${common[@]}" \
  --json "$OUT/h100-reduce-rows-16384.json" --markdown "$OUT/h100-reduce-rows-16384.md"
for t in 1 16; do
  $mb gemm --size 4096 --backends openmp,openblas --threads $t "${common[@]}" \
    --json "$OUT/h100-gemm-4096-threads$t.json" --markdown "$OUT/h100-gemm-4096-threads$t.md"
done
cuobjdump -res-usage build-gpu/mlbench 2>/dev/null | grep -E "Function|REG" | paste - - |
  sed -E 's/.*Function ([^ ]+).*REG:([0-9]+).*SHARED:([0-9]+).*/\1 REG=\2 SHARED=\3/' >"$OUT/kernel-resources.txt"
grep -E "^\| (openmp|openblas|cuda|cub) " "$OUT"/*.md
wc -l "$OUT/kernel-resources.txt"
