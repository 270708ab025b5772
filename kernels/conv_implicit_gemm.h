// Host entry of the implicit-GEMM convolution (kernels/conv_implicit_gemm.cu), NCHW / KCRR:
// the kernel for deep layers (many channels x taps) that plan_conv2d_tiled picks when the
// reduction depth C*R*R and the filter count are GEMM-like (kernels/conv2d_tiled.h).
#pragma once

#include <cuda_runtime_api.h>

#include "bench/reduced_float.h"
#include "kernels/conv2d_tiled.h"

namespace mlbench::kernels {

// Runs an implicit-GEMM plan (plan.implicit_gemm) on `stream`; launch_conv2d_tiled calls it for
// such plans. T: float (fp32, tf32 values), bfloat16, float16 (fp32 accumulation); not double.
template <class T>
void launch_conv_implicit_gemm(const Conv2dPlan& plan, const T* input, const T* weights, T* output,
                               cudaStream_t stream);

}  // namespace mlbench::kernels
