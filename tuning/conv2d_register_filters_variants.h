// Tuning blockings of the register-filter convolution (kernel: kernels/conv2d_register_filters.cuh)
// that the product does not instantiate: rows per thread x row groups per block other than the
// product's 4 x 8.
#pragma once

#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "bench/convolution.h"

namespace mlbench::tuning {

struct RegisterFilterBlocking {
  int rows_per_thread, row_groups;
};
std::vector<RegisterFilterBlocking> register_filter_tuning_blockings();  // 4x4, 4x2, 2x8, 6x3

// Empty when the tuning blockings can run the shape (fp32, C = 3, 9..16 filters: two per warp,
// and what the product kernel accepts), else why not.
std::string register_filter_variant_unsupported_reason(const ConvShape& shape);

// Launches one of register_filter_tuning_blockings() on `stream` (weights KCRR on the device).
// Throws std::invalid_argument for another blocking or an unsupported shape.
void launch_conv2d_register_filters_variant(const ConvShape& shape, RegisterFilterBlocking blocking, const float* input,
                                            const float* weights, float* output, cudaStream_t stream);

}  // namespace mlbench::tuning
