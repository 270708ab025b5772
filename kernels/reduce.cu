// Reductions (sum, max, mean) over a whole tensor or over each row, fp32 and fp64.
//
// Idea (after llm.c dev/cuda reductions and the CUB block reduce): memory-bound, so every
// thread streams 16-byte vectors with a grid-stride loop, four independent loads in flight,
// and keeps its partial results in registers in the input precision. Partials are combined
// by warp shuffles (no shared memory inside a warp), then across the block's warps through
// shared memory. Whole tensor: pass 1 writes one partial per block (a grid of a few blocks per
// SM), pass 2 reduces those in a single block. Per row: one warp per row (many rows) or one
// block per row (few long rows). Each thread adds only ~1000 elements into four separate
// accumulators, and the rest is a tree, so fp32 sums stay well within the fp32 tolerance.
#include <algorithm>
#include <stdexcept>

#include "kernels/cuda_check.h"
#include "kernels/device_vectors.cuh"
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
  for (int offset = 16; offset > 0; offset /= 2) value = Op::combine(value, __shfl_down_sync(0xffffffffu, value, offset));
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

// Combines the V elements of a vector pairwise.
template <class Op, class T, class Vec>
__device__ __forceinline__ T combine_vector(const Vec& v) {
  if constexpr (Vec16<T>::size == 4) {
    return Op::combine(Op::combine(v.x, v.y), Op::combine(v.z, v.w));
  } else {
    return Op::combine(v.x, v.y);
  }
}

// Streams elements [0, n) of `input` with `threads` threads starting at thread `index`;
// returns this thread's partial. Vector loads need `input` 16-byte aligned.
template <class Op, class T>
__device__ __forceinline__ T stream_partial(const T* __restrict__ input, long long n, long long index,
                                            long long threads) {
  using Vec = typename Vec16<T>::type;
  constexpr int V = Vec16<T>::size;
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
    for (int u = 0; u < kUnroll; ++u) partial[u] = Op::combine(partial[u], combine_vector<Op, T>(v[u]));
  }
  for (; i < vector_count; i += threads) partial[0] = Op::combine(partial[0], combine_vector<Op, T>(vectors[i]));
  // Scalar tail: the last n % V elements.
  for (long long j = vector_count * V + index; j < n; j += threads) partial[1] = Op::combine(partial[1], input[j]);
  return Op::combine(Op::combine(partial[0], partial[1]), Op::combine(partial[2], partial[3]));
}

// Pass 1: one partial per block.
template <class Op, class T>
__global__ void __launch_bounds__(kBlockThreads) reduce_all_pass1(const T* __restrict__ input, long long n,
                                                                  T* __restrict__ partials) {
  const long long threads = static_cast<long long>(gridDim.x) * blockDim.x;
  const T partial = stream_partial<Op>(input, n, blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x, threads);
  const T block_result = block_reduce<Op>(partial, blockDim.x);
  if (threadIdx.x == 0) partials[blockIdx.x] = block_result;
}

// Pass 2: one block reduces the partials; mean scales by 1/n.
template <class Op, class T>
__global__ void __launch_bounds__(1024) reduce_all_pass2(const T* __restrict__ partials, int count,
                                                         T* __restrict__ out, T scale) {
  T value = Op::identity();
  for (int i = threadIdx.x; i < count; i += blockDim.x) value = Op::combine(value, partials[i]);
  value = block_reduce<Op>(value, blockDim.x);
  if (threadIdx.x == 0) out[0] = value * scale;
}

// One row per kThreadsPerRow threads (a warp, or the whole block).
template <class Op, class T, int kThreadsPerRow>
__global__ void __launch_bounds__(kBlockThreads) reduce_rows_kernel(const T* __restrict__ input, long long rows,
                                                                    long long cols, T* __restrict__ out, T scale) {
  constexpr int kRowsPerBlock = kBlockThreads / kThreadsPerRow;
  const long long row = blockIdx.x * static_cast<long long>(kRowsPerBlock) + threadIdx.x / kThreadsPerRow;
  const int lane = threadIdx.x % kThreadsPerRow;
  T partial = Op::identity();
  if (row < rows) {
    const T* row_start = input + row * cols;
    if (cols % Vec16<T>::size == 0) {
      partial = stream_partial<Op>(row_start, cols, lane, kThreadsPerRow);  // row start is 16-byte aligned
    } else {
      for (long long j = lane; j < cols; j += kThreadsPerRow) partial = Op::combine(partial, row_start[j]);
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

template <class Op, class T>
void reduce_all_with(const T* input, std::int64_t n, T* partials, int partial_count, T* out, T scale,
                     cudaStream_t stream) {
  reduce_all_pass1<Op, T><<<partial_count, kBlockThreads, 0, stream>>>(input, n, partials);
  MLBENCH_CUDA_CHECK_LAUNCH();
  reduce_all_pass2<Op, T><<<1, 1024, 0, stream>>>(partials, partial_count, out, scale);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

template <class Op, class T>
void reduce_rows_with(const T* input, std::int64_t rows, std::int64_t cols, T* out, T scale, cudaStream_t stream,
                      int device) {
  // Enough rows to fill every SM with warps: a warp per row; otherwise a block per row.
  if (rows >= 4LL * 8 * sm_count(device) || cols < 1024) {
    const long long blocks = (rows + kBlockThreads / 32 - 1) / (kBlockThreads / 32);
    reduce_rows_kernel<Op, T, 32><<<static_cast<unsigned>(blocks), kBlockThreads, 0, stream>>>(input, rows, cols, out, scale);
  } else {
    reduce_rows_kernel<Op, T, kBlockThreads><<<static_cast<unsigned>(rows), kBlockThreads, 0, stream>>>(input, rows, cols, out, scale);
  }
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace

int reduce_all_partial_count(std::int64_t n, int device) {
  // 8 blocks of 256 threads fill an SM (2048 threads); more only adds partials.
  const std::int64_t needed = (n + kBlockThreads * 4 - 1) / (kBlockThreads * 4);
  return static_cast<int>(std::clamp<std::int64_t>(needed, 1, 8LL * sm_count(device)));
}

template <class T>
void launch_reduce_all(const T* input, std::int64_t n, ReduceOp op, T* partials, int partial_count, T* out,
                       cudaStream_t stream) {
  switch (op) {
    case ReduceOp::sum: return reduce_all_with<SumOp<T>>(input, n, partials, partial_count, out, T(1), stream);
    case ReduceOp::mean:
      return reduce_all_with<SumOp<T>>(input, n, partials, partial_count, out, T(1) / static_cast<T>(n), stream);
    case ReduceOp::max: return reduce_all_with<MaxOp<T>>(input, n, partials, partial_count, out, T(1), stream);
  }
  throw std::invalid_argument("unknown reduce op");
}

template <class T>
void launch_reduce_rows(const T* input, std::int64_t rows, std::int64_t cols, ReduceOp op, T* out,
                        cudaStream_t stream, int device) {
  switch (op) {
    case ReduceOp::sum: return reduce_rows_with<SumOp<T>>(input, rows, cols, out, T(1), stream, device);
    case ReduceOp::mean:
      return reduce_rows_with<SumOp<T>>(input, rows, cols, out, T(1) / static_cast<T>(cols), stream, device);
    case ReduceOp::max: return reduce_rows_with<MaxOp<T>>(input, rows, cols, out, T(1), stream, device);
  }
  throw std::invalid_argument("unknown reduce op");
}

template void launch_reduce_all<float>(const float*, std::int64_t, ReduceOp, float*, int, float*, cudaStream_t);
template void launch_reduce_all<double>(const double*, std::int64_t, ReduceOp, double*, int, double*, cudaStream_t);
template void launch_reduce_rows<float>(const float*, std::int64_t, std::int64_t, ReduceOp, float*, cudaStream_t, int);
template void launch_reduce_rows<double>(const double*, std::int64_t, std::int64_t, ReduceOp, double*, cudaStream_t,
                                         int);

}  // namespace mlbench::kernels
