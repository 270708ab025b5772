#!/bin/bash
# Session 13 (2026-12-08), one device call for everything prepared: run from the repository root as
# `bash .wt-attnwg/all.sh` with carry [".wt-attnwg"]. Steps in priority order, each with its own
# timeout, so that a cut-off call still returns the most important logs:
#  1. build (the overlay of branch attnwg: Hopper wgmma attention tiles; main's tuning GEMMs)
#  2. attention: gpu_attention_test (every tile vs fp64), mlbench_tune_attention bf16 at the goal shapes
#  3. GEMM: validation of the warp-specialized TMA bf16/fp16 kernel and the warp-tiled SGEMM on the
#     ctest edge shapes, sweeps against the product and cuBLAS at 4096 and 8192
#  4. compute-sanitizer memcheck of the new kernels, synccheck of the TMA GEMM, ncu of each.
set -o pipefail
cp -r .wt-attnwg/tree/. .
export CUDAHOSTCXX=/opt/gcc/bin/g++
B=/tmp/battn; A=$OUT/attention.log; L=$OUT/gemm.log
{ date -u; cat .wt-attnwg/commit.txt; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw,power.limit,temperature.gpu --format=csv; } > $OUT/device.txt 2>&1
cat $OUT/device.txt
SECONDS=0
(cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 &&
  cmake --build $B -j16 --target gpu_attention_test mlbench_tune_attention gpu_tensor_core_test mlbench_tune_gemm) > $OUT/build.log 2>&1 ||
  { tail -60 $OUT/build.log; exit 1; }
echo "build ${SECONDS}s"
T=$(find $B -name gpu_attention_test -type f | head -1)
TUNE=$(find $B -name mlbench_tune_attention -type f | head -1)
G=$(find $B -name mlbench_tune_gemm -type f -executable | head -1)
echo "== attention test"; timeout 60 $T > $A 2>&1; echo "rc=$? ${SECONDS}s" | tee -a $A
grep -E "^\[  (PASSED|FAILED) |FAILED|Failure" $A | head -20
echo "== attention tune" | tee -a $A; timeout 100 $TUNE --precision bf16 --repetitions 20 >> $A 2>&1; echo "rc=$? ${SECONDS}s" | tee -a $A
V=tc-wgmma-ws-128x256x64-s4,tc-wgmma-ws-grid-128x256x64-s4
WV=warptiled-256x128x8-s3,warptiled-256x128x8-s4,warptiled-256x128x16-s3
echo "== validate ws" >> $L; timeout 60 $G --validate-only --precision bf16,fp16 --versions $V \
  --shape 200x264x72,129x520x1000,77x136x40,300x301x97,7x5x3,2200x2056x200 >> $L 2>&1; echo "rc=$? ${SECONDS}s" >> $L
echo "== validate warptiled" >> $L; timeout 45 $G --validate-only --precision fp32 --versions pipelined-128x128x16-s3,pipelined-128x128x16-s4,pipelined-128x128x32-s3,$WV \
  --shape 200x300x52,77x131x45,129x260x1000,1,520x264x36,300x260x1000 >> $L 2>&1; echo "rc=$? ${SECONDS}s" >> $L
echo "== sweep fp32" >> $L; timeout 90 $G --precision fp32 --shape 4096,8192 --versions cuda,pipelined-128x128x16-s3,$WV,cublas >> $L 2>&1; echo "rc=$? ${SECONDS}s" >> $L
echo "== sweep bf16/fp16" >> $L; timeout 100 $G --precision bf16,fp16 --shape 4096,8192 --versions cuda,$V,tc-wgmma-128x256x64-s4,cublas >> $L 2>&1; echo "rc=$? ${SECONDS}s" >> $L
nvidia-smi -q -d PERFORMANCE,CLOCK | grep -vE "^\s*$" | head -40 >> $L 2>&1
grep -vE "^\s*$" $L | tail -70
# Sanitizers: the wgmma attention tiles (tile-4..7), the TMA GEMM, the warp-tiled SGEMM.
M=$OUT/sanitizer.log
timeout 45 compute-sanitizer --tool memcheck $TUNE --validate-only --shape 1x2x257x128,1x2x257x40 \
  --mask full,causal --precision bf16 --versions tile-4,tile-5,tile-6,tile-7 > $M 2>&1; echo "attention memcheck rc=$? ${SECONDS}s" | tee -a $M
timeout 45 compute-sanitizer --tool memcheck $G --validate-only --precision bf16 --versions $V --shape 200x264x72,2200x2056x200 >> $M 2>&1; echo "ws memcheck rc=$? ${SECONDS}s" | tee -a $M
timeout 30 compute-sanitizer --tool memcheck $G --validate-only --precision fp32 --versions $WV --shape 77x131x45,300x260x1000 >> $M 2>&1; echo "warptiled memcheck rc=$? ${SECONDS}s" | tee -a $M
timeout 30 compute-sanitizer --tool synccheck $G --validate-only --precision bf16 --versions $V --shape 200x264x72,129x520x1000 >> $M 2>&1; echo "ws synccheck rc=$? ${SECONDS}s" | tee -a $M
grep -E "ERROR SUMMARY" $M
N=$OUT/ncu.txt
timeout 40 ncu --clock-control none -k regex:wgmma --launch-count 1 --section SpeedOfLight --section Occupancy --section WarpStateStats \
  --section LaunchStats $TUNE --precision bf16 --shape 1x16x4096x128 --mask full --versions tile-4 --repetitions 2 > $N 2>&1
timeout 40 ncu --clock-control none -k regex:warptiled -c 1 --section SpeedOfLight --section WarpStateStats --section Occupancy --section LaunchStats \
  $G --precision fp32 --shape 4096 --versions warptiled-256x128x8-s3 --repetitions 1 --warmups 0 >> $N 2>&1
timeout 40 ncu --clock-control none -k regex:gemm_wgmma_ws -c 1 --section SpeedOfLight --section WarpStateStats \
  $G --precision bf16 --shape 8192 --versions tc-wgmma-ws-128x256x64-s4 --repetitions 1 --warmups 0 >> $N 2>&1
echo "ncu done ${SECONDS}s"
grep -E "gemm_|attention_|Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|Warp Cycles Per Issued" $N | head -40
