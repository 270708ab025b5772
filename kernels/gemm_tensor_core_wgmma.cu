// The product's instance of the Hopper wgmma GEMM kernel (kernels/gemm_tensor_core_wgmma.cuh):
// 4 stages, the tile pick_tensor_core_tile chooses on compute capability 9.0. Built for sm_90a
// only (its own CMake target). The 3-stage instance only the sweep times is in
// tuning/gemm_tensor_core_wgmma_sweep.cu.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "kernels/cuda_check.h"
#include "kernels/gemm_tensor_core_wgmma.cuh"
#include "kernels/gemm_tensor_core_wgmma.h"

namespace mlbench::kernels {

bool wgmma_supported(int device) {
  int major = 0, minor = 0;
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  return major == 9 && minor == 0;  // sm_90a code runs on compute capability 9.0 only
}

template <class T>
void launch_gemm_wgmma(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream) {
  using Device = std::conditional_t<std::is_same_v<T, bfloat16>, __nv_bfloat16, __half>;
  const auto* da = reinterpret_cast<const Device*>(a);
  const auto* db = reinterpret_cast<const Device*>(b);
  auto* dc = reinterpret_cast<Device*>(c);
  tensor_core_wgmma::launch_stages<Device, 4>(da, db, dc, m, n, k, stream);
}

template void launch_gemm_wgmma<bfloat16>(const bfloat16*, const bfloat16*, bfloat16*, int, int, int, cudaStream_t);
template void launch_gemm_wgmma<float16>(const float16*, const float16*, float16*, int, int, int, cudaStream_t);

}  // namespace mlbench::kernels
