// The 3-stage instance of the Hopper wgmma GEMM kernel (kernels/gemm_tensor_core_wgmma.cuh), which
// only the sweep times (the product runs 4 stages, kernels/gemm_tensor_core_wgmma.cu). Built for
// sm_90a only (an object library of its own, tuning/CMakeLists.txt).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "kernels/gemm_tensor_core_wgmma.cuh"
#include "tuning/gemm_tensor_core_sweep.h"

namespace mlbench::tuning {

template <class T>
void launch_gemm_wgmma_3_stages(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream) {
  using Device = std::conditional_t<std::is_same_v<T, bfloat16>, __nv_bfloat16, __half>;
  kernels::tensor_core_wgmma::launch_stages<Device, 3>(reinterpret_cast<const Device*>(a),
                                                       reinterpret_cast<const Device*>(b), reinterpret_cast<Device*>(c),
                                                       m, n, k, stream);
}

template void launch_gemm_wgmma_3_stages<bfloat16>(const bfloat16*, const bfloat16*, bfloat16*, int, int, int,
                                                   cudaStream_t);
template void launch_gemm_wgmma_3_stages<float16>(const float16*, const float16*, float16*, int, int, int,
                                                  cudaStream_t);

}  // namespace mlbench::tuning
