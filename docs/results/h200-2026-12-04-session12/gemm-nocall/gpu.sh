#!/bin/bash
# The H200 call planned for the warp-specialized TMA GEMM (tuning/gemm_tensor_core_wgmma_ws.cuh),
# not made on 2026-12-04 (no device lent). Run from the repository root of a checkout of branch
# gemmws: `bash docs/results/h200-2026-12-04-session12/gemm-nocall/gpu.sh` (about 3 minutes warm).
# Every step has its own timeout, so a deadlocked kernel costs at most that step.
export CUDAHOSTCXX=/opt/gcc/bin/g++
OUT=${OUT:-/tmp/gemm-out}; mkdir -p $OUT; L=$OUT/log.txt
{ date -u; git rev-parse HEAD; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,temperature.gpu --format=csv; } > $L 2>&1
( cmake -S . -B /tmp/bgemm -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
  && cmake --build /tmp/bgemm -j16 --target gpu_tensor_core_test mlbench_tune_gemm mlbench ) > $OUT/build.txt 2>&1 \
  || { echo BUILD FAILED >> $L; tail -50 $OUT/build.txt; exit 1; }
G=$(find /tmp/bgemm -name mlbench_tune_gemm -type f -executable | head -1)
O=$(find /tmp/bgemm -path '*mlbench_tune_gemm_sm90a*' -name 'gemm_tensor_core_wgmma_sweep.cu.o' | head -1)
# 1. SASS: HGMMA, UTMALDG (TMA), SYNCS (mbarrier), USETMAXREG (setmaxnreg) must all appear.
echo "== SASS $O" >> $L
cuobjdump --dump-sass $O | grep -oE "HGMMA\.[0-9x]+|UTMALDG[.A-Z0-9]*|SYNCS\.[A-Z.]+|USETMAXREG[.A-Z]*" | sort | uniq -c >> $L 2>&1
cuobjdump -res-usage $O | grep -A1 ws_kernel >> $L 2>&1
# 2. Verification: the ctest shapes of Tuning.GemmEveryTensorCoreTileValidatesOnEdgeShapes (partial
#    tiles in M, N, K; 2200x2056x200 has 162 tiles, more than the persistent grid's 132 blocks).
V=tc-wgmma-ws-128x256x64-s4,tc-wgmma-ws-grid-128x256x64-s4
S=200x264x72,129x520x1000,77x136x40,300x301x97,7x5x3,2200x2056x200
echo "== validate" >> $L; timeout 120 $G --validate-only --precision bf16,fp16 --versions $V --shape $S >> $L 2>&1; echo "rc=$?" >> $L
# 3. Memory checker and barrier/synchronization checker on the same kernels, small shapes.
echo "== memcheck" >> $L; timeout 120 compute-sanitizer --tool memcheck $G --validate-only --precision bf16 --versions $V --shape 200x264x72,129x520x1000,2200x2056x200 >> $L 2>&1; echo "rc=$?" >> $L
echo "== synccheck" >> $L; timeout 90 compute-sanitizer --tool synccheck $G --validate-only --precision bf16 --versions $V --shape 200x264x72,129x520x1000 >> $L 2>&1; echo "rc=$?" >> $L
# 4. The sweep: ours vs the product's wgmma and cuBLAS, one process, both sizes and precisions.
echo "== sweep" >> $L; timeout 180 $G --precision bf16,fp16 --shape 4096,8192 --versions $V,tc-wgmma-128x256x64-s4,cublas >> $L 2>&1; echo "rc=$?" >> $L
nvidia-smi -q -d PERFORMANCE,CLOCK >> $L 2>&1
# 5. One profiled launch of ours and of cuBLAS at bf16 8192 (clocks left alone).
timeout 90 ncu --clock-control none -k regex:gemm_wgmma_ws -c 1 --section SpeedOfLight --section WarpStateStats --section MemoryWorkloadAnalysis \
  $G --precision bf16 --shape 8192 --versions tc-wgmma-ws-128x256x64-s4 --repetitions 1 --warmups 0 > $OUT/ncu_ws.txt 2>&1
timeout 90 ncu --clock-control none -k regex:'nvjet|sm90|xmma|cutlass' -c 1 --section SpeedOfLight --section WarpStateStats --section MemoryWorkloadAnalysis \
  $G --precision bf16 --shape 8192 --versions cublas --repetitions 1 --warmups 0 > $OUT/ncu_cublas.txt 2>&1
date -u >> $L
