// Row-wise layer normalization forward, one row per group of kWarps warps, single pass over
// memory.
//
// Idea (after llm.c dev/cuda layernorm_forward kernels 3-6 and Apex's fused layer norm): the
// row is read once into registers with 16-byte vector loads (kItems vectors per thread, all
// issued before use), and written once. Statistics: each thread takes the exact mean and M2
// (sum of squared deviations) of its own elements in two sweeps over its registers, and the
// (count, mean, M2) triples are merged with Chan's parallel formula in one reduction (warp
// shuffles, one shared-memory round across the row's warps): numerically as good as two-pass
// (no E[x^2] - E[x]^2 cancellation) with one barrier. Population variance, rstd =
// 1/sqrt(var + eps); gamma/beta read with the same vector layout (they stay in L1/L2). Short
// rows take one warp (8 rows per block), longer rows up to 32 warps; rows longer than the
// registers hold fall back to layernorm_rows_long (1024 threads per row, the row read twice).
// Columns not a multiple of the vector width use 1-element accesses. bf16/fp16 are widened
// to fp32 in registers; statistics in fp32 (fp64 for fp64).
#include <cmath>
#include <string>

#include "kernels/cuda_check.h"
#include "kernels/layernorm_rows.h"
#include "kernels/row_kernels.cuh"

namespace mlbench::kernels {

namespace {

using rows::Stats3;

// (count, mean, M2) of two parts of a row (Chan et al.).
template <class Acc>
__device__ __forceinline__ Stats3<Acc> combine_moments(const Stats3<Acc>& x, const Stats3<Acc>& y) {
  const Acc n = x.a + y.a;
  if (n == Acc(0)) return x;
  const Acc delta = y.b - x.b;
  const Acc wy = y.a / n;
  return {n, x.b + delta * wy, x.c + y.c + delta * delta * x.a * wy};
}

template <class Acc>
__device__ __forceinline__ Acc rsqrt_of(Acc x);
template <>
__device__ __forceinline__ float rsqrt_of<float>(float x) {
  return 1.0f / sqrtf(x);
}
template <>
__device__ __forceinline__ double rsqrt_of<double>(double x) {
  return 1.0 / sqrt(x);
}

__host__ __device__ constexpr int block_threads(int warps) { return warps * 32 > 256 ? warps * 32 : 256; }

template <class T, int kWarps, int kItems, int kVec>
__global__ void __launch_bounds__(block_threads(kWarps))
    layernorm_rows_kernel(const T* __restrict__ in, const T* __restrict__ gamma, const T* __restrict__ beta,
                          T* __restrict__ out, long long rows, long long cols, accumulator_t<T> epsilon) {
  using Acc = accumulator_t<T>;
  constexpr int kThreadsPerRow = 32 * kWarps;
  constexpr int kGroups = block_threads(kWarps) / kThreadsPerRow;
  __shared__ Stats3<Acc> scratch[kGroups * kWarps];
  const int group = threadIdx.x / kThreadsPerRow;
  const int lane = threadIdx.x % kThreadsPerRow;
  const long long row = static_cast<long long>(blockIdx.x) * kGroups + group;
  const bool active = row < rows;
  const T* src = in + row * cols;

  Acc x[kItems][kVec];
  int count = 0;
  Acc sum = 0;
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const long long col = (static_cast<long long>(i) * kThreadsPerRow + lane) * kVec;
    if (active && col < cols) {
      rows::load_pack<T, kVec>(src + col, x[i]);
      count += kVec;
#pragma unroll
      for (int e = 0; e < kVec; ++e) sum += x[i][e];
    } else {
#pragma unroll
      for (int e = 0; e < kVec; ++e) x[i][e] = 0;
    }
  }
  const Acc mean = count > 0 ? sum / count : Acc(0);
  Acc m2 = 0;
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const long long col = (static_cast<long long>(i) * kThreadsPerRow + lane) * kVec;
    if (active && col < cols) {
#pragma unroll
      for (int e = 0; e < kVec; ++e) m2 += (x[i][e] - mean) * (x[i][e] - mean);
    }
  }
  const Stats3<Acc> r = rows::row_group_reduce<kWarps>(Stats3<Acc>{static_cast<Acc>(count), mean, m2}, scratch, group,
                                                       combine_moments<Acc>);
  if (!active) return;
  const Acc rstd = rsqrt_of(r.c / static_cast<Acc>(cols) + epsilon);
  T* dst = out + row * cols;
#pragma unroll
  for (int i = 0; i < kItems; ++i) {
    const long long col = (static_cast<long long>(i) * kThreadsPerRow + lane) * kVec;
    if (col < cols) {
      Acc g[kVec], b[kVec], y[kVec];
      rows::load_pack<T, kVec>(gamma + col, g);
      rows::load_pack<T, kVec>(beta + col, b);
#pragma unroll
      for (int e = 0; e < kVec; ++e) y[e] = (x[i][e] - r.b) * rstd * g[e] + b[e];
      rows::store_pack<T, kVec>(dst + col, y);
    }
  }
}

constexpr int kLongThreads = 1024;

// Rows too long for registers: pass 1 Welford moments per thread, pass 2 the outputs.
template <class T>
__global__ void __launch_bounds__(kLongThreads)
    layernorm_rows_long(const T* __restrict__ in, const T* __restrict__ gamma, const T* __restrict__ beta,
                        T* __restrict__ out, long long cols, accumulator_t<T> epsilon) {
  using Acc = accumulator_t<T>;
  __shared__ Stats3<Acc> scratch[kLongThreads / 32];
  const T* src = in + static_cast<long long>(blockIdx.x) * cols;
  Stats3<Acc> t{0, 0, 0};
  for (long long c = threadIdx.x; c < cols; c += kLongThreads) {
    const Acc v = widen(src[c]);
    t.a += 1;
    const Acc delta = v - t.b;
    t.b += delta / t.a;
    t.c += delta * (v - t.b);
  }
  const Stats3<Acc> r = rows::row_group_reduce<kLongThreads / 32>(t, scratch, 0, combine_moments<Acc>);
  const Acc rstd = rsqrt_of(r.c / static_cast<Acc>(cols) + epsilon);
  T* dst = out + static_cast<long long>(blockIdx.x) * cols;
  for (long long c = threadIdx.x; c < cols; c += kLongThreads) {
    const Acc y = (static_cast<Acc>(widen(src[c])) - r.b) * rstd * static_cast<Acc>(widen(gamma[c])) +
                  static_cast<Acc>(widen(beta[c]));
    dst[c] = narrow<T>(y);
  }
}

template <class T, int kWarps, int kItems, int kVec>
void launch_config(const T* in, const T* gamma, const T* beta, T* out, long long rows, long long cols,
                   accumulator_t<T> epsilon, cudaStream_t stream) {
  constexpr int kGroups = block_threads(kWarps) / (32 * kWarps);
  const long long blocks = (rows + kGroups - 1) / kGroups;
  layernorm_rows_kernel<T, kWarps, kItems, kVec>
      <<<static_cast<unsigned>(blocks), block_threads(kWarps), 0, stream>>>(in, gamma, beta, out, rows, cols, epsilon);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

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

template <class T, int kVec>
bool launch_vec(const T* in, const T* g, const T* b, T* out, long long rows, long long cols, accumulator_t<T> eps,
                cudaStream_t s) {
  switch (config_index<kVec>(cols)) {
    case 0: launch_config<T, 1, 1, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    case 1: launch_config<T, 1, 2, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    case 2: launch_config<T, 1, 4, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    case 3: launch_config<T, 2, 4, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    case 4: launch_config<T, 4, 4, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    case 5: launch_config<T, 8, 4, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    case 6: launch_config<T, 16, 4, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    case 7: launch_config<T, 32, 4, kVec>(in, g, b, out, rows, cols, eps, s); return true;
    default: return false;
  }
}

template <class T>
constexpr int vector_width() {
  return 16 / static_cast<int>(sizeof(T));
}

}  // namespace

template <class T>
void launch_layernorm_rows(const T* in, const T* gamma, const T* beta, T* out, std::int64_t rows, std::int64_t cols,
                           double epsilon, cudaStream_t stream) {
  const auto* din = device_pointer(in);
  using D = std::remove_cv_t<std::remove_pointer_t<decltype(din)>>;
  const D* dg = device_pointer(gamma);
  const D* db = device_pointer(beta);
  D* dout = device_pointer(out);
  const auto eps = static_cast<accumulator_t<T>>(epsilon);
  constexpr int kVec = vector_width<T>();
  const bool launched = cols % kVec == 0 ? launch_vec<D, kVec>(din, dg, db, dout, rows, cols, eps, stream)
                                         : launch_vec<D, 1>(din, dg, db, dout, rows, cols, eps, stream);
  if (!launched) {
    layernorm_rows_long<D><<<static_cast<unsigned>(rows), kLongThreads, 0, stream>>>(din, dg, db, dout, cols, eps);
    MLBENCH_CUDA_CHECK_LAUNCH();
  }
}

template <class T>
std::string layernorm_rows_plan(std::int64_t cols) {
  constexpr int kVec = vector_width<T>();
  const int vec = cols % kVec == 0 ? kVec : 1;
  const int index = vec == 1 ? config_index<1>(cols) : config_index<kVec>(cols);
  if (index < 0) return "row longer than the registers hold: 1024 threads per row, two reads of the row";
  const RowConfig c = kConfigs[index];
  return "row in registers: " + std::to_string(c.warps) + " warp(s) per row, " + std::to_string(c.items) + " x " +
         std::to_string(vec) + "-element loads per thread (" + std::to_string(vec * sizeof(T)) + " bytes each)";
}

template void launch_layernorm_rows<float>(const float*, const float*, const float*, float*, std::int64_t, std::int64_t,
                                           double, cudaStream_t);
template void launch_layernorm_rows<double>(const double*, const double*, const double*, double*, std::int64_t,
                                            std::int64_t, double, cudaStream_t);
template void launch_layernorm_rows<bfloat16>(const bfloat16*, const bfloat16*, const bfloat16*, bfloat16*,
                                              std::int64_t, std::int64_t, double, cudaStream_t);
template void launch_layernorm_rows<float16>(const float16*, const float16*, const float16*, float16*, std::int64_t,
                                             std::int64_t, double, cudaStream_t);
template std::string layernorm_rows_plan<float>(std::int64_t);
template std::string layernorm_rows_plan<double>(std::int64_t);
template std::string layernorm_rows_plan<bfloat16>(std::int64_t);
template std::string layernorm_rows_plan<float16>(std::int64_t);

}  // namespace mlbench::kernels
