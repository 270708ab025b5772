// The 3-stage instance of the Hopper wgmma GEMM kernel (kernels/gemm_tensor_core_wgmma.cuh), which
// only the sweep times (the product runs 4 stages, kernels/gemm_tensor_core_wgmma.cu), and the two
// instances of the warp-specialized TMA kernel (tuning/gemm_tensor_core_wgmma_ws.cuh: persistent
// grid, one block per tile), not yet measured against the product's. Built for
// sm_90a only (an object library of its own, tuning/CMakeLists.txt).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "kernels/gemm_tensor_core_wgmma.cuh"
#include "tuning/gemm_tensor_core_wgmma_ws.cuh"
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

template <class T>
void launch_gemm_wgmma_ws(const T* a, const T* b, T* c, int m, int n, int k, bool persistent, cudaStream_t stream) {
  using Device = std::conditional_t<std::is_same_v<T, bfloat16>, __nv_bfloat16, __half>;
  const auto* da = reinterpret_cast<const Device*>(a);
  const auto* db = reinterpret_cast<const Device*>(b);
  auto* dc = reinterpret_cast<Device*>(c);
  if (persistent) return tensor_core_wgmma_ws::launch<Device, 4, true>(da, db, dc, m, n, k, stream);
  tensor_core_wgmma_ws::launch<Device, 4, false>(da, db, dc, m, n, k, stream);
}

template void launch_gemm_wgmma_ws<bfloat16>(const bfloat16*, const bfloat16*, bfloat16*, int, int, int, bool,
                                             cudaStream_t);
template void launch_gemm_wgmma_ws<float16>(const float16*, const float16*, float16*, int, int, int, bool,
                                            cudaStream_t);

}  // namespace mlbench::tuning
