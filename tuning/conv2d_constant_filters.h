// The constant-filter first-layer convolution (tuning/conv2d_constant_filters.cu): an experiment
// of the tuning lab, not instantiated by the product (the product's picker runs the register-filter
// kernel on these shapes, kernels/conv2d_register_filters.cuh, which descends from this one).
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "bench/convolution.h"

namespace mlbench::tuning {

// Empty string when the kernel can run the shape (fp32 elements, stride 1, 3x3, C 1 or 3,
// K <= 16), else why not.
std::string conv2d_constant_filters_unsupported_reason(const ConvShape& shape);
std::string describe_constant_filters(const ConvShape& shape);
// Copies the weights (KCRR, on the device) into the constant bank on `stream`, then runs the
// kernel. The bank is one per device: launches of this kernel on concurrent streams of one
// device would race on it (the tuning programs run one version at a time). Throws
// std::invalid_argument for a shape it cannot run.
void launch_conv2d_constant_filters(const ConvShape& shape, const float* input, const float* weights, float* output,
                                    cudaStream_t stream);

}  // namespace mlbench::tuning
