// Internal to kernels/: the Hopper wgmma GEMM (gemm_tensor_core_wgmma.cu, built for sm_90a),
// reached through launch_gemm_tensor_core with a wgmma tile.
#pragma once

#include <cuda_runtime_api.h>

#include "bench/reduced_float.h"

namespace mlbench::kernels {

// Whether `device` runs sm_90a code (compute capability 9.0: H100, H200).
bool wgmma_supported(int device);

// Row-major C = A * B with a 128 x 256 x 64 block tile and 4 shared-memory stages. Needs K and N
// multiples of 8 and 16-byte aligned pointers; any M. T: bfloat16 or float16.
template <class T>
void launch_gemm_wgmma(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream);

}  // namespace mlbench::kernels
