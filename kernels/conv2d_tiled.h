// Host entry of the hand-written 2D convolution (kernels/conv2d_tiled.cu), NCHW / KCRR.
// Element types: float (fp32, and tf32 values), double (fp64), mlbench::bfloat16 and
// mlbench::float16 (inputs and output 16-bit, fp32 accumulation). Plans take `fp64` only:
// the 16-bit types stage fp32 values in shared memory and plan exactly as fp32 does.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

#include "bench/convolution.h"
#include "bench/reduced_float.h"

namespace mlbench::kernels {

// Direct (conv2d_tiled.cu) suits few channels x taps; implicit GEMM (conv_implicit_gemm.cu,
// every precision but fp64) suits deep layers; for first layers (fp32 elements only: C 1 or 3,
// K <= 16, 3x3, stride 1) register filters (conv2d_register_filters.cu). `automatic` picks by
// the shape (and, for register filters, only when told the elements are fp32). The earlier
// constant-filter first-layer kernel, which `automatic` never chose, is an experiment of the
// tuning lab (tuning/conv2d_constant_filters.cu).
enum class ConvAlgorithm { automatic, direct, implicit_gemm, register_filters };

// Launch configuration chosen once per problem (at prepare, never timed).
struct Conv2dPlan {
  ConvShape shape;
  bool implicit_gemm = false;
  bool register_filters = false;  // conv2d_register_filters.cu; the fields below are unused
  int pixels_per_thread = 1;      // output columns per thread, 32 apart (1, 2 or 4)
  int filters_per_thread = 8;     // filters each thread accumulates (4..32)
  int channels_per_stage = 1;     // input channels staged in shared memory at once
  std::size_t shared_bytes = 0;   // dynamic shared memory per block
  dim3 grid, block;
  std::string describe() const;
};

// Empty string when the kernel can run the shape, else why not (one channel's tile does not
// fit in shared memory, grid too large).
std::string conv2d_tiled_unsupported_reason(const ConvShape& shape, bool fp64, int device);

// Throws std::invalid_argument when conv2d_tiled_unsupported_reason is not empty.
// float_elements: the plan will run with T = float (fp32, tf32), which `automatic` needs before
// it picks the register-filter kernel (it has no 16-bit or fp64 instance).
Conv2dPlan plan_conv2d_tiled(const ConvShape& shape, bool fp64, int device,
                             ConvAlgorithm algorithm = ConvAlgorithm::automatic, bool float_elements = false);

// Empty string when conv2d_register_filters.cu can run the shape (with fp32 elements), else why not.
std::string conv2d_register_filters_unsupported_reason(const ConvShape& shape);
std::string describe_register_filters(const ConvShape& shape);
// Copies the weights (KCRR, on the device) into the kernel's constant bank on `stream`, then
// runs it. The bank is one per device: launches of this kernel on concurrent streams of one
// device would race on it (mlbench runs one variant at a time).
void launch_conv2d_register_filters(const ConvShape& shape, const float* input, const float* weights, float* output,
                                    cudaStream_t stream);
// A direct-kernel plan with explicit register blocking: pixels_per_thread 1, 2 or 4 and
// filters_per_thread 4..32 (fp32: pixels x filters <= 64; fp64: <= 16 and filters <= 8).
// plan_conv2d_tiled picks these by the shape; tests and tuning force them here.
Conv2dPlan plan_conv2d_direct(const ConvShape& shape, bool fp64, int device, int pixels_per_thread,
                              int filters_per_thread);

// Runs the plan's kernel (direct or implicit GEMM). T: float, double, bfloat16, float16.
template <class T>
void launch_conv2d_tiled(const Conv2dPlan& plan, const T* input, const T* weights, T* output, cudaStream_t stream);

}  // namespace mlbench::kernels
