// The vendor baseline for reductions: cub::DeviceReduce (whole tensor) and
// cub::DeviceSegmentedReduce (one segment per row).
#include <cub/device/device_reduce.cuh>
#include <cub/device/device_segmented_reduce.cuh>

#include <stdexcept>

#include "kernels/cub_reduce.h"
#include "kernels/cuda_check.h"

namespace mlbench::kernels {

namespace {

template <class T>
__global__ void scale_kernel(T* values, long long count, T factor) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < count) values[i] *= factor;
}

}  // namespace

template <class T>
void cub_reduce(void* temp, std::size_t& temp_bytes, const T* input, T* out, const std::int64_t* row_offsets,
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
    return;
  }
  if (all) {
    MLBENCH_CUDA_CHECK(cub::DeviceReduce::Sum(temp, temp_bytes, input, out, n, stream));
  } else {
    MLBENCH_CUDA_CHECK(cub::DeviceSegmentedReduce::Sum(temp, temp_bytes, input, out, segments, row_offsets,
                                                       row_offsets + 1, stream));
  }
  if (shape.op == ReduceOp::mean && temp != nullptr) {
    const long long count = all ? 1 : shape.rows;
    const T factor = T(1) / static_cast<T>(all ? n : shape.cols);
    scale_kernel<T><<<static_cast<unsigned>((count + 255) / 256), 256, 0, stream>>>(out, count, factor);
    MLBENCH_CUDA_CHECK_LAUNCH();
  }
}

template void cub_reduce<float>(void*, std::size_t&, const float*, float*, const std::int64_t*,
                                const ReductionShape&, cudaStream_t);
template void cub_reduce<double>(void*, std::size_t&, const double*, double*, const std::int64_t*,
                                 const ReductionShape&, cudaStream_t);

}  // namespace mlbench::kernels
