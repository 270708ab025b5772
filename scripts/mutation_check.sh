#!/usr/bin/env bash
# Mutation check (issue 13): plants known faults in scratch copies of the sources and requires
# mlbench to report every one FAILED with exit code 1.
#   scripts/mutation_check.sh            CPU mutants (CPU-only build; .ci/run runs this)
#   scripts/mutation_check.sh --cuda     CUDA mutants (needs a GPU; CUDA build, sm_90 default)
#   scripts/mutation_check.sh --cuda --compile-only
#                                        applies every CUDA mutant and compiles the mutated file
#                                        with the command of ./build's compile_commands.json (no GPU)
#   MLBENCH_MUTANTS=ID,ID ...            only these mutants
# The scratch tree and build live in MLBENCH_MUTATION_DIR (default build/mutation-<mode>);
# each mutant changes one line of one file, the build is incremental (ccache when installed), and
# the original line is put back before the next mutant. A mutant whose anchor line is not found
# exactly once fails the script loudly ("mutant X did not apply"): re-anchor it on the new code.
# Prints "mutants: N, caught: M" and exits 0 only when every mutant applied and was caught.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mode=cpu
compile_only=0
for arg in "$@"; do
  case "$arg" in
    --cuda) mode=cuda ;;
    --compile-only) compile_only=1 ;;
    *) echo "usage: $0 [--cuda [--compile-only]]" >&2; exit 2 ;;
  esac
done

# ---- the mutants: id | mode | file | anchor (a whole source line, exactly once in the file) |
#      replacement line | mlbench arguments (awkward sizes; above the accuracy check's
#      exhaustive limit where it has one) ----
SPEC=$(cat <<'EOF'
serial-gemm-last-k|cpu|cpu/serial_gemm.cpp|      for (std::int64_t p = 0; p < k; ++p) {|      for (std::int64_t p = 0; p < k - 1; ++p) {|gemm --size 421 --backends serial
serial-gemm-one-entry-1pct|cpu|cpu/serial_gemm.cpp|      if constexpr (kConverted<T>) narrow(c_row, c + i * n, n);|      if (i == m / 2) c_row[n / 3] *= A(1.01); if constexpr (kConverted<T>) narrow(c_row, c + i * n, n);|gemm --size 421 --backends serial
serial-reduction-tail|cpu|cpu/serial_reduction.cpp|    for (std::int64_t seg = 0; seg < segments; ++seg) out[seg] = reduce(x + seg * length, length, s.op);|    for (std::int64_t seg = 0; seg < segments; ++seg) out[seg] = reduce(x + seg * length, length - 1, s.op);|reduction --size 1001 --backends serial
serial-reduction-max-tail|cpu|cpu/serial_reduction.cpp|    for (; i < count; ++i) m = x[i] > m ? x[i] : m;|    for (; i < count - 1; ++i) m = x[i] > m ? x[i] : m;|reduction --size 1001 --op max --axis rows --backends serial
serial-conv-halo|cpu|cpu/serial_convolution.cpp|          const std::int64_t r_begin = std::max<std::int64_t>(0, -ih0), r_end = std::min(R, H - ih0);|          const std::int64_t r_begin = std::max<std::int64_t>(0, -ih0), r_end = std::min(R, H - ih0 - 1);|convolution --size 421 --backends serial
serial-conv-one-output-1pct|cpu|cpu/serial_convolution.cpp|          if constexpr (kConverted<T>) narrow(out_row, result_row, ow_count);|          if (k == s.filters - 1 && oh == oh_count / 2) out_row[ow_count - 1] *= A(1.01); if constexpr (kConverted<T>) narrow(out_row, result_row, ow_count);|convolution --size 421 --backends serial
openmp-gemm-last-k-slice|cpu|cpu/openmp_gemm.cpp|        for (std::int64_t pc = 0; pc < k; pc += Blocking::kKC, ++slab_index) {|        for (std::int64_t pc = 0; pc < k && !(pc > 0 && pc + Blocking::kKC >= k); pc += Blocking::kKC, ++slab_index) {|gemm --size 1000 --backends openmp --threads 2
openmp-gemm-edge-panel-row|cpu|cpu/openmp_gemm.cpp|      const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir);|      const std::int64_t rows = std::min<std::int64_t>(MR, mc - ir - 1);|gemm --size 421 --backends openmp --threads 2
openmp-reduction-scalar-tail|cpu|cpu/openmp_reduction.cpp|    for (; i < end; ++i) sum += widen(x[i]);|    for (; i + 1 < end; ++i) sum += widen(x[i]);|reduction --size 1001 --backends openmp --threads 2
openmp-reduction-last-partial|cpu|cpu/openmp_reduction.cpp|    for (int t = 1; t < team; ++t)|    for (int t = 1; t + 1 < team; ++t)|reduction --size 1001 --backends openmp --threads 2
openmp-conv-right-edge|cpu|cpu/openmp_convolution.cpp|    for (std::int64_t ow = std::max(g.interior_begin, g.interior_end); ow < g.OW; ++ow)|    for (std::int64_t ow = std::max(g.interior_begin, g.interior_end); ow + 1 < g.OW; ++ow)|convolution --size 421 --backends openmp --threads 2
openmp-conv-left-halo|cpu|cpu/openmp_convolution.cpp|    for (std::int64_t ow = 0; ow < g.interior_begin; ++ow)|    for (std::int64_t ow = 1; ow < g.interior_begin; ++ow)|convolution --size 421 --backends openmp --threads 2
cuda-gemm-tiled-last-k|cuda|kernels/gemm_tiled.cuh|  for (int t = 0; t < tiles; ++t) {|  for (int t = 0; t < tiles - (tiles > 1); ++t) {|gemm --size 1000 --backends cuda
cuda-gemm-tiled-edge-column|cuda|kernels/gemm_tiled.cuh|          if (col + e < n) dst[e] = acc[i][half * V + e];|          if (col + e < n - 1) dst[e] = acc[i][half * V + e];|gemm --size 1001 --backends cuda
cuda-gemm-tiled-missing-barrier|cuda|kernels/gemm_tiled.cuh|    if (t + 1 < tiles) store_tile(buf ^ 1);|    if (t + 1 < tiles) store_tile(buf ^ 1); if (false)|gemm --size 1000 --backends cuda
cuda-gemm-mma-last-k|cuda|kernels/gemm_tensor_core.cuh|  for (int t = 0; t < k_tiles; ++t) {|  for (int t = 0; t < k_tiles - (k_tiles > 1); ++t) {|gemm --size 1000 --precision bf16 --backends cuda
cuda-gemm-wgmma-last-k|cuda|kernels/gemm_tensor_core_wgmma.cuh|  for (int t = 0; t < k_tiles; ++t) {|  for (int t = 0; t < k_tiles - (k_tiles > 1); ++t) {|gemm --size 2040 --precision bf16 --backends cuda
cuda-conv-direct-missing-load-barrier|cuda|kernels/conv2d_tiled.cu|    // Every thread's share of the stage is stored before any thread reads another's.|    if (false)  // mutant: the barrier below is skipped|convolution --size 257 --kernel 5 --channels 64 --filters 16 --backends cuda
cuda-conv-implicit-last-k|cuda|kernels/conv_implicit_gemm.cu|  for (int t = 0; t < tiles; ++t) {|  for (int t = 0; t < tiles - (tiles > 1); ++t) {|convolution --size 61 --channels 64 --filters 64 --backends cuda
cuda-conv-implicit-missing-barrier|cuda|kernels/conv_implicit_gemm.cu|    if (t + 1 < tiles) store_tile(buf ^ 1);|    if (t + 1 < tiles) store_tile(buf ^ 1); if (false)|convolution --size 61 --channels 64 --filters 64 --backends cuda
cuda-reduce-row-tail|cuda|kernels/reduce.cu|      for (long long j = lane; j < cols; j += kThreadsPerRow) partial = Op::combine(partial, widen(row_start[j]));|      for (long long j = lane; j < cols - 1; j += kThreadsPerRow) partial = Op::combine(partial, widen(row_start[j]));|reduction --size 1001 --axis rows --backends cuda
cuda-reduce-missing-barrier|cuda|kernels/reduce.cu|  if (lane == 0) warp_results[warp] = value;|  if (lane == 0) warp_results[warp] = value; if (false)|reduction --size 1001 --backends cuda
cuda-attention-tc-causal-leak|cuda|kernels/attention_flash_tc.cu|            const long long query = m0 + warp_row0 + mt * 16 + lane / 4 + 8 * (e / 2);|            const long long query = m0 + warp_row0 + mt * 16 + lane / 4 + 8 * (e / 2) + 1;|attention --size 257 --heads 2 --head-dim 64 --causal --precision bf16 --backends cuda
cuda-attention-tc-no-rescale|cuda|kernels/attention_flash_tc.cu|          acc_o[mt][dt][2 * h] *= rescale;|          (void)rescale;  // mutant: even output columns keep the old scale|attention --size 257 --heads 2 --head-dim 64 --precision bf16 --backends cuda
cuda-attention-simt-sum-no-rescale|cuda|kernels/attention_flash_simt.cu|      row_sum[i] = row_sum[i] * rescale + sum;|      row_sum[i] = row_sum[i] + sum;|attention --size 257 --heads 2 --head-dim 64 --precision fp32 --backends cuda
cuda-attention-simt-causal-leak|cuda|kernels/attention_flash_simt.cu|      const long long query = m0 + ty * TM + i;|      const long long query = m0 + ty * TM + i + 1;|attention --size 257 --heads 2 --head-dim 64 --causal --precision fp32 --backends cuda
cuda-softmax-combine-no-rescale|cuda|kernels/softmax_rows.cu|  return {m, x.b * exp_of(x.a - m) + y.b * exp_of(y.a - m)};|  return {m, x.b + y.b};|softmax --size 1001 --rows 64 --backends cuda
cuda-softmax-thread-max-ignored|cuda|kernels/softmax_rows.cu|  const Acc factor = m == -INFINITY ? Acc(0) : exp_of(m - row_stats.a) / row_stats.b;|  const Acc factor = m == -INFINITY ? Acc(0) : Acc(1) / row_stats.b;|softmax --size 4096 --rows 64 --backends cuda
cuda-layernorm-chan-no-delta|cuda|kernels/layernorm_rows.cu|  return {n, x.b + delta * wy, x.c + y.c + delta * delta * x.a * wy};|  return {n, x.b + delta * wy, x.c + y.c};|layernorm --size 1001 --rows 64 --backends cuda
cuda-layernorm-local-mean|cuda|kernels/layernorm_rows.cu|  const Acc mean = count > 0 ? sum / count : Acc(0);|  const Acc mean = count > 0 ? sum / (count + 1) : Acc(0);|layernorm --size 4096 --rows 64 --backends cuda
EOF
)

# anchor count, replaced copy: plain string comparison of whole lines (no regular expressions)
count_line() { awk -v line="$2" '$0 == line { n++ } END { print n + 0 }' "$1"; }
replace_line() { awk -v line="$2" -v with="$3" '{ if ($0 == line) print with; else print }' "$1"; }

# Every mutant's anchor, of both modes, must still occur exactly once: a refactor that moves a
# CUDA kernel's line then fails the CPU run of CI, not the next GPU session (it happened once),
# and before any scratch build is spent.
stale=()
while IFS='|' read -r id m file anchor replacement args; do
  [ -z "$id" ] && continue
  [ "$(count_line "$ROOT/$file" "$anchor")" = 1 ] || stale+=("$id ($file)")
done <<<"$SPEC"
if [ ${#stale[@]} -gt 0 ]; then
  printf 'mutation_check: anchor line not found exactly once for mutant %s\n' "${stale[@]}"
  echo "mutation_check: re-anchor these mutants on the new code"
  exit 1
fi

# under build/ (ignored), so that ccache (CCACHE_BASEDIR) finds the objects of ./build
WORK=${MLBENCH_MUTATION_DIR:-$ROOT/build/mutation-$mode}
SRC="$WORK/src"
BUILD="$WORK/build"
mkdir -p "$WORK"
# Scratch copy of the sources: the repository itself is never modified.
# (tar keeps the files' times, so the incremental build of an earlier run stays valid)
rm -rf "$SRC" && mkdir -p "$SRC"
tar -C "$ROOT" --exclude='./build*' --exclude='./.git' --exclude='./.gpu' --exclude='./out' -cf - . | tar -C "$SRC" -xf - ||
  { echo "mutation_check: cannot copy the sources to $SRC"; exit 2; }

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
if [ "$compile_only" = 0 ]; then
  if [ ! -f "$BUILD/build.ninja" ]; then
    if [ "$mode" = cpu ]; then
      cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLBENCH_WITH_CUDA=OFF \
        -DMLBENCH_BUILD_TESTS=OFF "${launcher[@]}" >"$WORK/configure.log" 2>&1
    else
      cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLBENCH_BUILD_TESTS=OFF \
        -DCMAKE_CUDA_ARCHITECTURES="${MLBENCH_CUDA_ARCH:-90}" "${launcher[@]}" >"$WORK/configure.log" 2>&1
    fi || { tail -20 "$WORK/configure.log"; echo "mutation_check: configure failed"; exit 2; }
  fi
  cmake --build "$BUILD" --target mlbench >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; echo "mutation_check: the unmutated build failed"; exit 2; }
fi


compile_mutated() {  # the compile command of $1 in ./build, on the mutated copy, output thrown away
  python3 - "$ROOT/build/compile_commands.json" "$ROOT/$1" "$SRC/$1" <<'PY'
import json, shlex, subprocess, sys
db, original, mutated = sys.argv[1:]
for entry in json.load(open(db)):
    if entry["file"] == original:
        cmd = entry.get("command") or " ".join(shlex.quote(a) for a in entry["arguments"])
        cmd = cmd.replace(original, mutated)
        args = shlex.split(cmd)
        if "-o" in args: args[args.index("-o") + 1] = "/dev/null"
        sys.exit(subprocess.call(args, cwd=entry["directory"]))
print("no compile command for", original); sys.exit(3)
PY
}

total=0; caught=0; failed_ids=()
while IFS='|' read -r id m file anchor replacement args; do
  [ -z "$id" ] && continue
  [ "$m" = "$mode" ] || continue
  if [ -n "${MLBENCH_MUTANTS:-}" ] && [[ ",$MLBENCH_MUTANTS," != *",$id,"* ]]; then continue; fi
  total=$((total + 1))
  found=$(count_line "$SRC/$file" "$anchor")
  if [ "$found" != 1 ]; then
    echo "mutant $id did not apply: its anchor line occurs $found times in $file"
    failed_ids+=("$id(not applied)")
    continue
  fi
  cp "$SRC/$file" "$WORK/original"
  replace_line "$WORK/original" "$anchor" "$replacement" >"$SRC/$file"
  started=$(date +%s)
  if [ "$compile_only" = 1 ]; then
    if compile_mutated "$file" >"$WORK/$id.log" 2>&1; then
      caught=$((caught + 1)); echo "mutant $id: applies and compiles"
    else
      tail -15 "$WORK/$id.log"; echo "mutant $id: does not compile"; failed_ids+=("$id(compile)")
    fi
  elif ! cmake --build "$BUILD" --target mlbench >"$WORK/$id.build.log" 2>&1; then
    tail -15 "$WORK/$id.build.log"; echo "mutant $id: does not build"; failed_ids+=("$id(build)")
  else
    # shellcheck disable=SC2086
    "$BUILD/mlbench" $args --time-budget 0.05 --repetitions 1 --seed 13 >"$WORK/$id.log" 2>&1
    rc=$?
    if [ "$rc" = 1 ] && grep -q "FAILED" "$WORK/$id.log"; then
      caught=$((caught + 1))
      echo "mutant $id: caught (exit 1, FAILED) in $(($(date +%s) - started)) s: $(grep -m1 -o 'exact: [^;]*' "$WORK/$id.log" || true)"
    else
      echo "mutant $id: NOT caught (exit $rc)"; tail -8 "$WORK/$id.log"; failed_ids+=("$id(exit $rc)")
    fi
  fi
  cp "$WORK/original" "$SRC/$file"
done <<<"$SPEC"

# leave the scratch build unmutated for the next incremental run
[ "$compile_only" = 0 ] && cmake --build "$BUILD" --target mlbench >/dev/null 2>&1
echo "mutants: $total, caught: $caught"
[ "${#failed_ids[@]}" -gt 0 ] && echo "not caught: ${failed_ids[*]}"
[ "$total" -gt 0 ] && [ "$caught" = "$total" ]
