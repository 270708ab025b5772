// The vendor baseline for reductions: cub::DeviceReduce (whole tensor) and
// cub::DeviceSegmentedReduce (one segment per row).
//
// bf16/fp16 inputs reduce in fp32 to an fp32 output: the whole tensor through
// cub::DeviceReduce::TransformReduce (CUB's own fused widen-then-reduce: it keeps the raw input
// pointer, so CUB still issues its vectorized loads), the rows through DeviceSegmentedReduce
// over a thrust::transform_iterator that widens each element (CUB has no segmented transform
// reduce; through an iterator it loads element by element).
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_segmented_reduce.cuh>
#include <cuda/functional>
#include <cuda/std/functional>
#include <thrust/iterator/transform_iterator.h>

#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "kernels/cub_reduce.h"
#include "kernels/cuda_check.h"
#include "kernels/element_types.cuh"

namespace mlbench::kernels {

namespace {

template <class T>
__global__ void scale_kernel(T* values, long long count, T factor) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < count) values[i] *= factor;
}

// Widens a 16-bit element to fp32 (exact).
struct WidenToFloat {
  __host__ __device__ float operator()(__nv_bfloat16 x) const { return __bfloat162float(x); }
  __host__ __device__ float operator()(__half x) const { return __half2float(x); }
};

// fp32 and fp64: CUB on the raw input.
template <class T>
void reduce_native(void* temp, std::size_t& temp_bytes, const T* input, T* out, const std::int64_t* row_offsets,
                   const ReductionShape& shape, cudaStream_t stream) {
  const bool all = shape.axis == ReduceAxis::all;
  const std::int64_t n = shape.rows * shape.cols;
  const int segments = static_cast<int>(shape.rows);
  if (shape.op == ReduceOp::max) {
    if (all) {
      MLBENCH_CUDA_CHECK(cub::DeviceReduce::Max(temp, temp_bytes, input, out, n, stream));
    } else {
      MLBENCH_CUDA_CHECK(cub::DeviceSegmentedReduce::Max(temp, temp_bytes, input, out, segments, row_offsets,
                                                         row_offsets + 1, stream));
    }
  } else if (all) {
    MLBENCH_CUDA_CHECK(cub::DeviceReduce::Sum(temp, temp_bytes, input, out, n, stream));
  } else {
    MLBENCH_CUDA_CHECK(
        cub::DeviceSegmentedReduce::Sum(temp, temp_bytes, input, out, segments, row_offsets, row_offsets + 1, stream));
  }
}

// bf16 and fp16 (D: __nv_bfloat16 or __half): widened to fp32 as CUB reads them.
template <class D>
void reduce_widened(void* temp, std::size_t& temp_bytes, const D* input, float* out, const std::int64_t* row_offsets,
                    const ReductionShape& shape, cudaStream_t stream) {
  const bool all = shape.axis == ReduceAxis::all;
  const std::int64_t n = shape.rows * shape.cols;
  const bool max = shape.op == ReduceOp::max;
  if (all) {
    // Identities as cub::DeviceReduce::Sum / Max use them: 0 and the lowest value (-inf here).
    if (max) {
      MLBENCH_CUDA_CHECK(cub::DeviceReduce::TransformReduce(temp, temp_bytes, input, out, n, ::cuda::maximum<>{},
                                                            WidenToFloat{}, -INFINITY, stream));
    } else {
      MLBENCH_CUDA_CHECK(cub::DeviceReduce::TransformReduce(temp, temp_bytes, input, out, n, ::cuda::std::plus<>{},
                                                            WidenToFloat{}, 0.0f, stream));
    }
    return;
  }
  const auto widened = thrust::make_transform_iterator(input, WidenToFloat{});
  const int segments = static_cast<int>(shape.rows);
  if (max) {
    MLBENCH_CUDA_CHECK(cub::DeviceSegmentedReduce::Max(temp, temp_bytes, widened, out, segments, row_offsets,
                                                       row_offsets + 1, stream));
  } else {
    MLBENCH_CUDA_CHECK(cub::DeviceSegmentedReduce::Sum(temp, temp_bytes, widened, out, segments, row_offsets,
                                                       row_offsets + 1, stream));
  }
}

}  // namespace

template <class T>
void cub_reduce(void* temp, std::size_t& temp_bytes, const T* input, accumulator_t<T>* out,
                const std::int64_t* row_offsets, const ReductionShape& shape, cudaStream_t stream) {
  using Acc = accumulator_t<T>;
  if constexpr (std::is_same_v<T, Acc>) {
    reduce_native(temp, temp_bytes, input, out, row_offsets, shape, stream);
  } else {
    reduce_widened(temp, temp_bytes, device_pointer(input), out, row_offsets, shape, stream);
  }
  if (shape.op == ReduceOp::mean && temp != nullptr) {
    const bool all = shape.axis == ReduceAxis::all;
    const long long count = all ? 1 : shape.rows;
    const Acc factor = Acc(1) / static_cast<Acc>(all ? shape.rows * shape.cols : shape.cols);
    scale_kernel<Acc><<<static_cast<unsigned>((count + 255) / 256), 256, 0, stream>>>(out, count, factor);
    MLBENCH_CUDA_CHECK_LAUNCH();
  }
}

template void cub_reduce<float>(void*, std::size_t&, const float*, float*, const std::int64_t*, const ReductionShape&,
                                cudaStream_t);
template void cub_reduce<double>(void*, std::size_t&, const double*, double*, const std::int64_t*,
                                 const ReductionShape&, cudaStream_t);
template void cub_reduce<bfloat16>(void*, std::size_t&, const bfloat16*, float*, const std::int64_t*,
                                   const ReductionShape&, cudaStream_t);
template void cub_reduce<float16>(void*, std::size_t&, const float16*, float*, const std::int64_t*,
                                  const ReductionShape&, cudaStream_t);

}  // namespace mlbench::kernels
