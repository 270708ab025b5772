#!/bin/bash
# The prepared GPU call for branch attnwg (run from /work/main as `bash .wt-attnwg/gpu.sh`,
# carry [".wt-attnwg"], kind nvidia-h200, timeout_s 240). .wt-attnwg/tree holds the files the
# branch changed (mkoverlay.sh), copied here over main's tree before the build. Builds there, then: the attention GPU tests (every tile configuration against fp64),
# the tuning lab at the benchmark shapes (every tile and cuDNN, full and causal), memcheck on the
# wgmma tiles, one ncu profile of the first wgmma tile at D128. Logs in $OUT.
set -o pipefail
cp -r .wt-attnwg/tree/. .
export CUDAHOSTCXX=/opt/gcc/bin/g++
{ nvidia-smi --query-gpu=name,clocks.max.sm,driver_version --format=csv; cat .wt-attnwg/commit.txt; } > $OUT/device.txt 2>&1
B=/tmp/battn
(cmake -S . -B $B -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 > $OUT/build.log 2>&1 &&
  cmake --build $B -j16 --target gpu_attention_test mlbench_tune_attention mlbench >> $OUT/build.log 2>&1) ||
  { tail -50 $OUT/build.log; exit 1; }
T=$(find $B -name gpu_attention_test -type f | head -1)
TUNE=$(find $B -name mlbench_tune_attention -type f | head -1)
echo "== test"; timeout 60 $T 2>&1 | tee $OUT/test.log | grep -E "^\[  (PASSED|FAILED) |FAILED|Failure" | head -30
echo "== tune"; timeout 90 $TUNE --precision bf16 --repetitions 20 2>&1 | tee $OUT/tune.log | tail -60
# tile-4 .. tile-7: the wgmma plans at D128 (4..6) and at D64, which 40 pads to (4..7).
echo "== memcheck"; timeout 45 compute-sanitizer --tool memcheck $TUNE --validate-only --shape 1x2x257x128,1x2x257x40 \
  --mask full,causal --precision bf16 --versions tile-4,tile-5,tile-6,tile-7 > $OUT/memcheck.log 2>&1; echo rc=$?
tail -8 $OUT/memcheck.log
echo "== ncu"; timeout 40 ncu --clock-control none -k regex:wgmma --launch-count 1 --section SpeedOfLight \
  --section Occupancy --section WarpStateStats --section LaunchStats --section ComputeWorkloadAnalysis \
  $TUNE --precision bf16 --shape 1x16x4096x128 --mask full --versions tile-4 --repetitions 2 > $OUT/ncu.txt 2>&1
grep -E "Duration|Throughput|Registers Per|Achieved Occupancy|Issue Slots|Warp Cycles|Executed Ipc" $OUT/ncu.txt | head -30
