#!/usr/bin/env bash
# Issue 18 on the GPU host: the mpi GEMM (1 x 16 and 2 x 8 ranks) and the openblas GEMM with the
# default pinning and with --pin none, and library_threads_test (no thread a backend starts shares
# the main thread's core). Run by the device tool from the repository root; writes $OUT/pin18.tgz.
set -uo pipefail
OUT=${OUT:-out}; R="$OUT/pin18"; mkdir -p "$R"; B=/tmp/build-pin
[ -x /opt/gcc/bin/g++ ] && export CUDAHOSTCXX=/opt/gcc/bin/g++
echo "commit $(cat .gpu-commit) $(date -u +%FT%TZ)" | tee "$R/summary.txt"
lscpu | grep -E "Model name|^CPU\(s\)" | tee -a "$R/summary.txt"
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 >"$R/configure.log" 2>&1 &&
  cmake --build "$B" -j16 --target mlbench library_threads_test >"$R/build.log" 2>&1 || { tail -30 "$R/build.log"; exit 1; }
M=$B/mlbench
OMP_WAIT_POLICY=passive "$B/tests/library_threads_test" >"$R/library_threads_test.log" 2>&1
echo "library_threads_test exit $?: $(grep -c ' 0 confined' "$R/library_threads_test.log") backends with none confined; $(grep -E 'PASSED|FAILED' "$R/library_threads_test.log" | head -2 | tr '\n' ' ')" | tee -a "$R/summary.txt"
grep 'openblas\|mpi' "$R/library_threads_test.log" | grep confined | tee -a "$R/summary.txt"
mpi=(mpirun --allow-run-as-root)
job() {  # name, mpirun args..., -- mlbench args...
  local name=$1; shift; local args=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done; shift
  if [ ${#args[@]} -gt 0 ]; then timeout 120 "${mpi[@]}" "${args[@]}" "$M" "$@" --json "$R/$name.json" --markdown "$R/$name.md" >"$R/$name.log" 2>&1
  else timeout 120 "$M" "$@" --json "$R/$name.json" --markdown "$R/$name.md" >"$R/$name.log" 2>&1; fi
  local rc=$?
  echo "-- $name (exit $rc): ${args[*]} mlbench $*" | tee -a "$R/summary.txt"
  python3 - "$R/$name.json" <<'PY' | tee -a "$R/summary.txt"
import json,sys
try: d=json.load(open(sys.argv[1]))
except Exception as e: print("   no json:",e); sys.exit()
for b in d.get("benchmarks",[]):
  if b.get("aggregate_name") != "median": continue
  print("   %-40s %s %s" % (b.get("name"), b.get("real_time"), b.get("time_unit")))
PY
}
for pin in cores none; do
  job mpi1x16-$pin -np 1 --bind-to none -- gemm --size 4096 --backends mpi --threads 16 --pin $pin --no-peaks --no-energy --time-budget 1
  job mpi2x8-$pin -np 2 --map-by ppr:2:node:pe=8 -- gemm --size 4096 --backends mpi --threads 8 --pin $pin --no-peaks --no-energy --time-budget 1
  job openblas16-$pin -- gemm --size 4096 --backends openblas --threads 16 --pin $pin --no-peaks --no-energy --time-budget 1
done
tar czf "$OUT/pin18.tgz" -C "$OUT" pin18
