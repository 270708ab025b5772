// Row-wise softmax, one row per group of kWarps warps, single pass over memory.
//
// Idea (after llm.c dev/cuda softmax_forward kernels 4-8 and Apex/OneFlow's "softmax with the
// row in registers"): softmax is memory-bound, so each row is read once and written once. The
// row is loaded with 16-byte vector loads (4 fp32, 2 fp64 or 8 bf16/fp16 elements) into
// registers, kItems vectors per thread, all loads issued before any use. Each thread computes
// its own (max, sum of exp(x - max)) and the pairs are combined in one reduction (warp
// shuffles, then one shared-memory round across the row's warps): the online-softmax
// combination m = max(m1, m2), s = s1 e^(m1-m) + s2 e^(m2-m), so one barrier instead of the
// two of a max-then-sum scheme. The registers keep e^(x - m_thread), so every element's exp is
// taken once; the outputs, that times e^(m_thread - m_row) / sum, are written from them. Short rows take
// one warp (8 rows per 256-thread block, no barrier), longer rows up to 32 warps; rows longer
// than the registers hold (> 4096 vectors) fall back to softmax_rows_long, which reads the
// row twice (online statistics, then the outputs) with 1024 threads per row.
// Columns not a multiple of the vector width use 1-element accesses with the same layout.
// bf16/fp16 are widened to fp32 in registers; statistics in fp32 (fp64 for fp64).
#include <cmath>
#include <string>

#include "kernels/cuda_check.h"
#include "kernels/row_kernels.cuh"
#include "kernels/softmax_rows.h"

namespace mlbench::kernels {

namespace {

using rows::Stats2;

template <class Acc>
__device__ __forceinline__ Acc exp_of(Acc x);
template <>
__device__ __forceinline__ float exp_of<float>(float x) {
  return expf(x);
}
template <>
__device__ __forceinline__ double exp_of<double>(double x) {
  return exp(x);
}

// (max, sum of exp(x - max)) of two parts of a row; an empty part has max -inf.
template <class Acc>
__device__ __forceinline__ Stats2<Acc> combine_softmax(const Stats2<Acc>& x, const Stats2<Acc>& y) {
  if (x.a == -INFINITY) return y;
  if (y.a == -INFINITY) return x;
  const Acc m = x.a > y.a ? x.a : y.a;
  return {m, x.b * exp_of(x.a - m) + y.b * exp_of(y.a - m)};
}

__host__ __device__ constexpr int block_threads(int warps) { return warps * 32 > 256 ? warps * 32 : 256; }

template <class In, class Out, int kWarps, int kItems, int kVec>
__global__ void __launch_bounds__(block_threads(kWarps))
    softmax_rows_kernel(const In* __restrict__ in, Out* __restrict__ out, long long rows, long long cols,
                        long long causal_period) {
  using Acc = accumulator_t<In>;
  constexpr int kThreadsPerRow = 32 * kWarps;
  constexpr int kGroups = block_threads(kWarps) / kThreadsPerRow;
  __shared__ Stats2<Acc> scratch[kGroups * kWarps];
  const int group = threadIdx.x / kThreadsPerRow;
  const int lane = threadIdx.x % kThreadsPerRow;
  const long long row = static_cast<long long>(blockIdx.x) * kGroups + group;
  const bool active = row < rows;
  const long long valid = causal_period > 0 ? min(cols, row % causal_period + 1) : cols;
  const In* src = in + row * cols;

  Acc x[kItems][kVec];
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const long long col = (static_cast<long long>(i) * kThreadsPerRow + lane) * kVec;
    if (active && col < cols) {
      rows::load_pack<In, kVec>(src + col, x[i]);
    } else {
#pragma unroll
      for (int e = 0; e < kVec; ++e) x[i][e] = -INFINITY;
    }
#pragma unroll
    for (int e = 0; e < kVec; ++e)
      if (col + e >= valid) x[i][e] = -INFINITY;
  }
  Acc m = -INFINITY;
#pragma unroll
  for (int i = 0; i < kItems; ++i)
#pragma unroll
    for (int e = 0; e < kVec; ++e) m = x[i][e] > m ? x[i][e] : m;
  // The registers keep e^(x - m_thread) (masked: 0), so each element's exp is taken once; the
  // row's result is that times e^(m_thread - m_row) / sum.
  Acc s = 0;
#pragma unroll
  for (int i = 0; i < kItems; ++i)
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      x[i][e] = m == -INFINITY ? Acc(0) : exp_of(x[i][e] - m);
      s += x[i][e];
    }
  const Stats2<Acc> row_stats = rows::row_group_reduce<kWarps>(Stats2<Acc>{m, s}, scratch, group, combine_softmax<Acc>);
  if (!active) return;
  const Acc factor = m == -INFINITY ? Acc(0) : exp_of(m - row_stats.a) / row_stats.b;
  Out* dst = out + row * cols;
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const long long col = (static_cast<long long>(i) * kThreadsPerRow + lane) * kVec;
    if (col < cols) {
      Acc y[kVec];
#pragma unroll
      for (int e = 0; e < kVec; ++e) y[e] = x[i][e] * factor;
      rows::store_pack<Out, kVec>(dst + col, y);
    }
  }
}

constexpr int kLongThreads = 1024;

// Rows too long for registers: pass 1 online statistics per thread, pass 2 the outputs.
template <class In, class Out>
__global__ void __launch_bounds__(kLongThreads)
    softmax_rows_long(const In* __restrict__ in, Out* __restrict__ out, long long cols, long long causal_period) {
  using Acc = accumulator_t<In>;
  __shared__ Stats2<Acc> scratch[kLongThreads / 32];
  const long long row = blockIdx.x;
  const long long valid = causal_period > 0 ? min(cols, row % causal_period + 1) : cols;
  const In* src = in + row * cols;
  Stats2<Acc> t{-INFINITY, 0};
  for (long long c = threadIdx.x; c < valid; c += kLongThreads) t = combine_softmax(t, Stats2<Acc>{widen(src[c]), 1});
  const Stats2<Acc> r = rows::row_group_reduce<kLongThreads / 32>(t, scratch, 0, combine_softmax<Acc>);
  const Acc inv_sum = Acc(1) / r.b;
  Out* dst = out + row * cols;
  for (long long c = threadIdx.x; c < cols; c += kLongThreads) {
    const Acc y = c < valid ? exp_of(static_cast<Acc>(widen(src[c])) - r.a) * inv_sum : Acc(0);
    dst[c] = narrow<Out>(static_cast<accumulator_t<Out>>(y));
  }
}

template <class In, class Out, int kWarps, int kItems, int kVec>
void launch_config(const In* in, Out* out, long long rows, long long cols, long long causal_period,
                   cudaStream_t stream) {
  constexpr int kGroups = block_threads(kWarps) / (32 * kWarps);
  const long long blocks = (rows + kGroups - 1) / kGroups;
  softmax_rows_kernel<In, Out, kWarps, kItems, kVec>
      <<<static_cast<unsigned>(blocks), block_threads(kWarps), 0, stream>>>(in, out, rows, cols, causal_period);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

// The (warps per row, vectors per thread) ladder: the first whose capacity holds the row.
struct RowConfig {
  int warps, items;
};
constexpr RowConfig kConfigs[] = {{1, 1}, {1, 2}, {1, 4}, {2, 4}, {4, 4}, {8, 4}, {16, 4}, {32, 4}};

template <int kVec>
int config_index(long long cols) {
  for (int i = 0; i < 8; ++i)
    if (static_cast<long long>(kConfigs[i].warps) * 32 * kConfigs[i].items * kVec >= cols) return i;
  return -1;
}

template <class In, class Out, int kVec>
bool launch_vec(const In* in, Out* out, long long rows, long long cols, long long period, cudaStream_t s) {
  switch (config_index<kVec>(cols)) {
    case 0: launch_config<In, Out, 1, 1, kVec>(in, out, rows, cols, period, s); return true;
    case 1: launch_config<In, Out, 1, 2, kVec>(in, out, rows, cols, period, s); return true;
    case 2: launch_config<In, Out, 1, 4, kVec>(in, out, rows, cols, period, s); return true;
    case 3: launch_config<In, Out, 2, 4, kVec>(in, out, rows, cols, period, s); return true;
    case 4: launch_config<In, Out, 4, 4, kVec>(in, out, rows, cols, period, s); return true;
    case 5: launch_config<In, Out, 8, 4, kVec>(in, out, rows, cols, period, s); return true;
    case 6: launch_config<In, Out, 16, 4, kVec>(in, out, rows, cols, period, s); return true;
    case 7: launch_config<In, Out, 32, 4, kVec>(in, out, rows, cols, period, s); return true;
    default: return false;
  }
}

template <class In>
constexpr int vector_width() {
  return 16 / static_cast<int>(sizeof(In));
}

}  // namespace

template <class In, class Out>
void launch_softmax_rows(const In* in, Out* out, std::int64_t rows, std::int64_t cols, cudaStream_t stream,
                         std::int64_t causal_period) {
  const auto* din = device_pointer(in);
  auto* dout = device_pointer(out);
  using DIn = std::remove_cv_t<std::remove_pointer_t<decltype(din)>>;
  using DOut = std::remove_pointer_t<decltype(dout)>;
  constexpr int kVec = vector_width<In>();
  const bool launched = cols % kVec == 0 ? launch_vec<DIn, DOut, kVec>(din, dout, rows, cols, causal_period, stream)
                                         : launch_vec<DIn, DOut, 1>(din, dout, rows, cols, causal_period, stream);
  if (!launched) {
    softmax_rows_long<DIn, DOut>
        <<<static_cast<unsigned>(rows), kLongThreads, 0, stream>>>(din, dout, cols, causal_period);
    MLBENCH_CUDA_CHECK_LAUNCH();
  }
}

template <class In>
std::string softmax_rows_plan(std::int64_t cols) {
  constexpr int kVec = vector_width<In>();
  const int vec = cols % kVec == 0 ? kVec : 1;
  const int index = vec == 1 ? config_index<1>(cols) : config_index<kVec>(cols);
  if (index < 0) return "row longer than the registers hold: 1024 threads per row, two reads of the row";
  const RowConfig c = kConfigs[index];
  return "row in registers: " + std::to_string(c.warps) + " warp(s) per row, " + std::to_string(c.items) + " x " +
         std::to_string(vec) + "-element loads per thread (" + std::to_string(vec * sizeof(In)) + " bytes each)";
}

template void launch_softmax_rows<float, float>(const float*, float*, std::int64_t, std::int64_t, cudaStream_t,
                                                std::int64_t);
template void launch_softmax_rows<double, double>(const double*, double*, std::int64_t, std::int64_t, cudaStream_t,
                                                  std::int64_t);
template void launch_softmax_rows<bfloat16, bfloat16>(const bfloat16*, bfloat16*, std::int64_t, std::int64_t,
                                                      cudaStream_t, std::int64_t);
template void launch_softmax_rows<float16, float16>(const float16*, float16*, std::int64_t, std::int64_t, cudaStream_t,
                                                    std::int64_t);
template void launch_softmax_rows<float, bfloat16>(const float*, bfloat16*, std::int64_t, std::int64_t, cudaStream_t,
                                                   std::int64_t);
template void launch_softmax_rows<float, float16>(const float*, float16*, std::int64_t, std::int64_t, cudaStream_t,
                                                  std::int64_t);
template std::string softmax_rows_plan<float>(std::int64_t);
template std::string softmax_rows_plan<double>(std::int64_t);
template std::string softmax_rows_plan<bfloat16>(std::int64_t);
template std::string softmax_rows_plan<float16>(std::int64_t);

}  // namespace mlbench::kernels
