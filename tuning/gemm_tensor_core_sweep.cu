// Sweep-only instances of the tensor-core GEMM (tuning/gemm_tensor_core_sweep.h): the mma.sync
// kernel of kernels/gemm_tensor_core.cuh at 128x256x32 with 3 stages, and the entry point of both
// sweep tiles (the 3-stage wgmma instance and the warp-specialized TMA kernel's instances are in
// gemm_tensor_core_wgmma_sweep.cu, built for sm_90a).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <stdexcept>
#include <type_traits>

#include "kernels/cuda_check.h"
#include "kernels/gemm_tensor_core.cuh"
#include "kernels/gemm_tensor_core.h"
#include "tuning/gemm_tensor_core_sweep.h"

namespace mlbench::tuning {

std::string to_string(TensorCoreSweepTile tile) {
  switch (tile) {
    case TensorCoreSweepTile::wgmma_m128n256k64s3: return "wgmma 128x256x64 3-stage";
    case TensorCoreSweepTile::m128n256k32s3: return "128x256x32 3-stage";
    case TensorCoreSweepTile::wgmma_ws_m128n256k64s4: return "wgmma-ws TMA 128x256x64 4-stage persistent";
    case TensorCoreSweepTile::wgmma_ws_m128n256k64s4_grid: return "wgmma-ws TMA 128x256x64 4-stage one-block-per-tile";
  }
  return "?";
}

std::vector<TensorCoreSweepTile> tensor_core_sweep_tiles() {
  return {TensorCoreSweepTile::wgmma_m128n256k64s3, TensorCoreSweepTile::m128n256k32s3,
          TensorCoreSweepTile::wgmma_ws_m128n256k64s4, TensorCoreSweepTile::wgmma_ws_m128n256k64s4_grid};
}

bool is_wgmma(TensorCoreSweepTile tile) { return tile != TensorCoreSweepTile::m128n256k32s3; }

template <class T>
void launch_gemm_tensor_core_sweep(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                                   cudaStream_t stream, TensorCoreSweepTile tile) {
  static_assert(std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>, "bf16 or fp16 only");
  if (m < 1 || n < 1 || k < 1 || m > INT_MAX || n > INT_MAX || k > INT_MAX)
    throw std::invalid_argument("tensor-core GEMM: M, N, K must be in [1, 2^31)");
  // Rows that are not 16-byte aligned: the product's element-wise 64x64x32 path, whatever the
  // tile (as kernels::launch_gemm_tensor_core does).
  if (!kernels::tensor_core_vectorized(a, b, n, k))
    return kernels::launch_gemm_tensor_core<T>(a, b, c, m, n, k, stream, kernels::TensorCoreTile::m64n64k32s4);
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  switch (tile) {
    case TensorCoreSweepTile::m128n256k32s3: {
      // The host types have the device types' layout (bench/reduced_float.h).
      using Device = std::conditional_t<std::is_same_v<T, bfloat16>, __nv_bfloat16, __half>;
      return kernels::tensor_core_mma::launch_tile<Device, 128, 256, 32, 2, 4, 3, true>(
          reinterpret_cast<const Device*>(a), reinterpret_cast<const Device*>(b), reinterpret_cast<Device*>(c), mi, ni,
          ki, stream);
    }
    case TensorCoreSweepTile::wgmma_m128n256k64s3:
    case TensorCoreSweepTile::wgmma_ws_m128n256k64s4:
    case TensorCoreSweepTile::wgmma_ws_m128n256k64s4_grid: {
      int device = 0;
      MLBENCH_CUDA_CHECK(cudaGetDevice(&device));
      if (!kernels::tensor_core_wgmma_available(device))
        throw std::invalid_argument("wgmma tiles need a compute capability 9.0 GPU");
      if (tile == TensorCoreSweepTile::wgmma_m128n256k64s3)
        return launch_gemm_wgmma_3_stages<T>(a, b, c, mi, ni, ki, stream);
      return launch_gemm_wgmma_ws<T>(a, b, c, mi, ni, ki, tile == TensorCoreSweepTile::wgmma_ws_m128n256k64s4, stream);
    }
  }
  throw std::invalid_argument("tensor-core GEMM sweep: unknown tile");
}

template void launch_gemm_tensor_core_sweep<bfloat16>(const bfloat16*, const bfloat16*, bfloat16*, std::int64_t,
                                                      std::int64_t, std::int64_t, cudaStream_t, TensorCoreSweepTile);
template void launch_gemm_tensor_core_sweep<float16>(const float16*, const float16*, float16*, std::int64_t,
                                                     std::int64_t, std::int64_t, cudaStream_t, TensorCoreSweepTile);

}  // namespace mlbench::tuning
