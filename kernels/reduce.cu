// Reductions (sum, max, mean) over a whole tensor or over each row: fp32 and fp64, and bf16/fp16
// inputs reduced in fp32 to an fp32 output.
//
// Idea (after llm.c dev/cuda reductions and the CUB block reduce): memory-bound, so every
// thread streams 16-byte vectors with a grid-stride loop, four independent loads in flight,
// and keeps its partial results in registers in the input precision. Partials are combined
// by warp shuffles (no shared memory inside a warp), then across the block's warps through
// shared memory. Whole tensor: pass 1 writes one partial per block (a grid of a few blocks per
// SM), pass 2 reduces those in a single block. Per row: one warp per row (many rows) or one
// block per row (few long rows). Each thread adds only ~1000 elements into four separate
// accumulators, and the rest is a tree, so fp32 sums stay well within the fp32 tolerance.
// bf16/fp16: a 16-byte load brings 8 elements, widened to fp32 in registers (a shift for bf16,
// cvt for fp16); partials, the tree and the output are fp32, as for fp32 inputs.
#include <algorithm>
#include <stdexcept>

#include "kernels/cuda_check.h"
#include "kernels/device_vectors.cuh"
#include "kernels/element_types.cuh"
#include "kernels/reduce.h"

namespace mlbench::kernels {

namespace {

constexpr int kBlockThreads = 256;
constexpr int kUnroll = 4;  // independent 16-byte loads in flight per thread

template <class T>
struct SumOp {
  __device__ static T identity() { return T(0); }
  __device__ static T combine(T a, T b) { return a + b; }
};
template <class T>
struct MaxOp {
  __device__ static T identity() { return -INFINITY; }
  __device__ static T combine(T a, T b) { return a > b ? a : b; }
};

template <class Op, class T>
__device__ __forceinline__ T warp_reduce(T value) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2)
    value = Op::combine(value, __shfl_down_sync(0xffffffffu, value, offset));
  return value;
}

// Reduces `value` over the block's first `threads` threads (a multiple of 32); thread 0 gets it.
template <class Op, class T>
__device__ __forceinline__ T block_reduce(T value, int threads) {
  __shared__ T warp_results[32];
  value = warp_reduce<Op>(value);
  if (threads == 32) return value;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_results[warp] = value;
  __syncthreads();
  value = (threadIdx.x < threads / 32) ? warp_results[threadIdx.x] : Op::identity();
  if (warp == 0) value = warp_reduce<Op>(value);
  return value;
}

// The 16-byte vector a thread loads: 4 floats, 2 doubles, or 8 16-bit elements (a uint4).
template <class In>
struct InputVector {
  using type = typename Vec16<In>::type;
  static constexpr int size = Vec16<In>::size;
};
template <>
struct InputVector<__half> {
  using type = uint4;
  static constexpr int size = 8;
};
template <>
struct InputVector<__nv_bfloat16> {
  using type = uint4;
  static constexpr int size = 8;
};

// Combines the elements of a 16-byte vector pairwise, widened to the accumulation type.
template <class Op, class In, class Vec>
__device__ __forceinline__ accumulator_t<In> combine_vector(const Vec& v) {
  if constexpr (InputVector<In>::size == 8) {
    const float2 a = widen_pair<In>(v.x), b = widen_pair<In>(v.y), c = widen_pair<In>(v.z), d = widen_pair<In>(v.w);
    return Op::combine(Op::combine(Op::combine(a.x, a.y), Op::combine(b.x, b.y)),
                       Op::combine(Op::combine(c.x, c.y), Op::combine(d.x, d.y)));
  } else if constexpr (InputVector<In>::size == 4) {
    return Op::combine(Op::combine(v.x, v.y), Op::combine(v.z, v.w));
  } else {
    return Op::combine(v.x, v.y);
  }
}

// Streams elements [0, n) of `input` with `threads` threads starting at thread `index`;
// returns this thread's partial (in the accumulation type). Vector loads need `input` 16-byte
// aligned.
template <class Op, class In>
__device__ __forceinline__ accumulator_t<In> stream_partial(const In* __restrict__ input, long long n, long long index,
                                                            long long threads) {
  using T = accumulator_t<In>;
  using Vec = typename InputVector<In>::type;
  constexpr int V = InputVector<In>::size;
  const Vec* vectors = reinterpret_cast<const Vec*>(input);
  const long long vector_count = n / V;
  T partial[kUnroll];
#pragma unroll
  for (int u = 0; u < kUnroll; ++u) partial[u] = Op::identity();
  long long i = index;
  // Main loop: kUnroll loads issued before any is used.
  for (; i + (kUnroll - 1) * threads < vector_count; i += kUnroll * threads) {
    Vec v[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) v[u] = vectors[i + u * threads];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) partial[u] = Op::combine(partial[u], combine_vector<Op, In>(v[u]));
  }
  for (; i < vector_count; i += threads) partial[0] = Op::combine(partial[0], combine_vector<Op, In>(vectors[i]));
  // Scalar tail: the last n % V elements.
  for (long long j = vector_count * V + index; j < n; j += threads)
    partial[1] = Op::combine(partial[1], widen(input[j]));
  return Op::combine(Op::combine(partial[0], partial[1]), Op::combine(partial[2], partial[3]));
}

// Pass 1: one partial per block. In: the input element; T: the accumulation type (Op's).
template <class Op, class In, class T = accumulator_t<In>>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_all_pass1(const In* __restrict__ input, long long n, T* __restrict__ partials) {
  const long long threads = static_cast<long long>(gridDim.x) * blockDim.x;
  const T partial =
      stream_partial<Op>(input, n, blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x, threads);
  const T block_result = block_reduce<Op>(partial, blockDim.x);
  if (threadIdx.x == 0) partials[blockIdx.x] = block_result;
}

// Pass 2: one block reduces the partials; mean scales by 1/n.
template <class Op, class T>
__global__ void __launch_bounds__(1024)
    reduce_all_pass2(const T* __restrict__ partials, int count, T* __restrict__ out, T scale) {
  T value = Op::identity();
  for (int i = threadIdx.x; i < count; i += blockDim.x) value = Op::combine(value, partials[i]);
  value = block_reduce<Op>(value, blockDim.x);
  if (threadIdx.x == 0) out[0] = value * scale;
}

// One row per kThreadsPerRow threads (a warp, or the whole block).
template <class Op, class In, int kThreadsPerRow, class T = accumulator_t<In>>
__global__ void __launch_bounds__(kBlockThreads)
    reduce_rows_kernel(const In* __restrict__ input, long long rows, long long cols, T* __restrict__ out, T scale) {
  constexpr int kRowsPerBlock = kBlockThreads / kThreadsPerRow;
  const long long row = blockIdx.x * static_cast<long long>(kRowsPerBlock) + threadIdx.x / kThreadsPerRow;
  const int lane = threadIdx.x % kThreadsPerRow;
  T partial = Op::identity();
  if (row < rows) {
    const In* row_start = input + row * cols;
    if (cols % InputVector<In>::size == 0) {
      partial = stream_partial<Op>(row_start, cols, lane, kThreadsPerRow);  // row start is 16-byte aligned
    } else {
      for (long long j = lane; j < cols; j += kThreadsPerRow) partial = Op::combine(partial, widen(row_start[j]));
    }
  }
  // Warps of a block-per-row kernel all reach the barrier in block_reduce (row is uniform).
  const T result = kThreadsPerRow == 32 ? warp_reduce<Op>(partial) : block_reduce<Op>(partial, kThreadsPerRow);
  if (lane == 0 && row < rows) out[row] = result * scale;
}

int sm_count(int device) {
  int count = 0;
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}

template <class Op, class In, class T>
void reduce_all_with(const In* input, std::int64_t n, T* partials, int partial_count, T* out, T scale,
                     cudaStream_t stream) {
  reduce_all_pass1<Op, In><<<partial_count, kBlockThreads, 0, stream>>>(input, n, partials);
  MLBENCH_CUDA_CHECK_LAUNCH();
  reduce_all_pass2<Op, T><<<1, 1024, 0, stream>>>(partials, partial_count, out, scale);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

template <class Op, class In, class T>
void reduce_rows_with(const In* input, std::int64_t rows, std::int64_t cols, T* out, T scale, cudaStream_t stream,
                      int device) {
  // Enough rows to fill every SM with warps: a warp per row; otherwise a block per row.
  if (rows >= 4LL * 8 * sm_count(device) || cols < 1024) {
    const long long blocks = (rows + kBlockThreads / 32 - 1) / (kBlockThreads / 32);
    reduce_rows_kernel<Op, In, 32>
        <<<static_cast<unsigned>(blocks), kBlockThreads, 0, stream>>>(input, rows, cols, out, scale);
  } else {
    reduce_rows_kernel<Op, In, kBlockThreads>
        <<<static_cast<unsigned>(rows), kBlockThreads, 0, stream>>>(input, rows, cols, out, scale);
  }
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace

int reduce_all_partial_count(std::int64_t n, int device) {
  // 8 blocks of 256 threads fill an SM (2048 threads); more only adds partials.
  const std::int64_t needed = (n + kBlockThreads * 4 - 1) / (kBlockThreads * 4);
  return static_cast<int>(std::clamp<std::int64_t>(needed, 1, 8LL * sm_count(device)));
}

template <class In>
void launch_reduce_all(const In* input, std::int64_t n, ReduceOp op, accumulator_t<In>* partials, int partial_count,
                       accumulator_t<In>* out, cudaStream_t stream) {
  using T = accumulator_t<In>;
  const auto* in = device_pointer(input);
  switch (op) {
    case ReduceOp::sum: return reduce_all_with<SumOp<T>>(in, n, partials, partial_count, out, T(1), stream);
    case ReduceOp::mean:
      return reduce_all_with<SumOp<T>>(in, n, partials, partial_count, out, T(1) / static_cast<T>(n), stream);
    case ReduceOp::max: return reduce_all_with<MaxOp<T>>(in, n, partials, partial_count, out, T(1), stream);
  }
  throw std::invalid_argument("unknown reduce op");
}

template <class In>
void launch_reduce_rows(const In* input, std::int64_t rows, std::int64_t cols, ReduceOp op, accumulator_t<In>* out,
                        cudaStream_t stream, int device) {
  using T = accumulator_t<In>;
  const auto* in = device_pointer(input);
  switch (op) {
    case ReduceOp::sum: return reduce_rows_with<SumOp<T>>(in, rows, cols, out, T(1), stream, device);
    case ReduceOp::mean:
      return reduce_rows_with<SumOp<T>>(in, rows, cols, out, T(1) / static_cast<T>(cols), stream, device);
    case ReduceOp::max: return reduce_rows_with<MaxOp<T>>(in, rows, cols, out, T(1), stream, device);
  }
  throw std::invalid_argument("unknown reduce op");
}

template void launch_reduce_all<float>(const float*, std::int64_t, ReduceOp, float*, int, float*, cudaStream_t);
template void launch_reduce_all<double>(const double*, std::int64_t, ReduceOp, double*, int, double*, cudaStream_t);
template void launch_reduce_all<bfloat16>(const bfloat16*, std::int64_t, ReduceOp, float*, int, float*, cudaStream_t);
template void launch_reduce_all<float16>(const float16*, std::int64_t, ReduceOp, float*, int, float*, cudaStream_t);
template void launch_reduce_rows<float>(const float*, std::int64_t, std::int64_t, ReduceOp, float*, cudaStream_t, int);
template void launch_reduce_rows<double>(const double*, std::int64_t, std::int64_t, ReduceOp, double*, cudaStream_t,
                                         int);
template void launch_reduce_rows<bfloat16>(const bfloat16*, std::int64_t, std::int64_t, ReduceOp, float*, cudaStream_t,
                                           int);
template void launch_reduce_rows<float16>(const float16*, std::int64_t, std::int64_t, ReduceOp, float*, cudaStream_t,
                                          int);

}  // namespace mlbench::kernels
