// The product's tensor-core GEMM (kernels/gemm_tensor_core.h): the instances of the mma.sync
// kernel (kernels/gemm_tensor_core.cuh) that pick_tensor_core_tile can choose, 128x128x32 and
// 64x64x32 (and the 64x64x32 element-wise path for rows that are not 16-byte aligned), and the
// entry point for every tile: on compute capability 9.0 the large grids go to the 4-stage wgmma
// kernel (gemm_tensor_core_wgmma.cu, about 1.6x faster at 8192). The tiles only the sweep times
// (mma.sync 128x256x32 3-stage, wgmma 3-stage) are instantiated in tuning/, not here.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "kernels/cuda_check.h"
#include "kernels/gemm_tensor_core.cuh"
#include "kernels/gemm_tensor_core.h"
#include "kernels/gemm_tensor_core_wgmma.h"

namespace mlbench::kernels {

namespace {

using tensor_core_mma::launch_tile;

template <class T>
void launch_typed(const T* a, const T* b, T* c, int m, int n, int k, bool vectorized, cudaStream_t stream,
                  TensorCoreTile tile) {
  // Rows that are not 16-byte aligned: element-wise loads, one small tile (a correctness path;
  // the big tiles would run out of registers with the scalar loads unrolled).
  if (!vectorized) return launch_tile<T, 64, 64, 32, 2, 2, 4, false>(a, b, c, m, n, k, stream);
  switch (tile) {
    case TensorCoreTile::m128n128k32s4: return launch_tile<T, 128, 128, 32, 2, 2, 4, true>(a, b, c, m, n, k, stream);
    case TensorCoreTile::m64n64k32s4: return launch_tile<T, 64, 64, 32, 2, 2, 4, true>(a, b, c, m, n, k, stream);
    case TensorCoreTile::wgmma_m128n256k64s4: {
      int device = 0;
      MLBENCH_CUDA_CHECK(cudaGetDevice(&device));
      if (!wgmma_supported(device)) throw std::invalid_argument("wgmma tiles need a compute capability 9.0 GPU");
      using Host = std::conditional_t<std::is_same_v<T, __nv_bfloat16>, bfloat16, float16>;
      return launch_gemm_wgmma<Host>(reinterpret_cast<const Host*>(a), reinterpret_cast<const Host*>(b),
                                     reinterpret_cast<Host*>(c), m, n, k, stream);
    }
    case TensorCoreTile::automatic: break;
  }
  throw std::invalid_argument("tensor-core GEMM: unresolved (automatic) tile");
}

}  // namespace

std::string to_string(TensorCoreTile tile) {
  switch (tile) {
    case TensorCoreTile::automatic: return "automatic";
    case TensorCoreTile::wgmma_m128n256k64s4: return "wgmma 128x256x64 4-stage";
    case TensorCoreTile::m128n128k32s4: return "128x128x32 4-stage";
    case TensorCoreTile::m64n64k32s4: return "64x64x32 4-stage";
  }
  return "?";
}

std::vector<TensorCoreTile> tensor_core_tiles() {
  return {TensorCoreTile::wgmma_m128n256k64s4, TensorCoreTile::m128n128k32s4, TensorCoreTile::m64n64k32s4};
}

bool is_wgmma(TensorCoreTile tile) { return tile == TensorCoreTile::wgmma_m128n256k64s4; }

bool tensor_core_wgmma_available(int device) { return wgmma_supported(device); }

TensorCoreTile pick_tensor_core_tile(std::int64_t m, std::int64_t n, int sm_count, bool wgmma) {
  auto blocks = [&](std::int64_t bm, std::int64_t bn) { return ((m + bm - 1) / bm) * ((n + bn - 1) / bn); };
  // wgmma at half occupancy still beats mma.sync at full (79 % vs 48 % of cuBLAS at 8192); the
  // 128x256 mma.sync tile is slower than 128x128 (one block of 8 warps per SM), so it is never picked.
  if (wgmma && 2 * blocks(128, 256) >= sm_count) return TensorCoreTile::wgmma_m128n256k64s4;
  if (blocks(128, 128) >= sm_count) return TensorCoreTile::m128n128k32s4;
  return TensorCoreTile::m64n64k32s4;
}

bool tensor_core_vectorized(const void* a, const void* b, std::int64_t n, std::int64_t k) {
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  return n % 8 == 0 && k % 8 == 0 && aligned(a) && aligned(b);
}

template <class T>
void launch_gemm_tensor_core(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                             cudaStream_t stream, TensorCoreTile tile) {
  static_assert(std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>, "bf16 or fp16 only");
  if (m < 1 || n < 1 || k < 1 || m > INT_MAX || n > INT_MAX || k > INT_MAX)
    throw std::invalid_argument("tensor-core GEMM: M, N, K must be in [1, 2^31)");
  const bool vectorized = tensor_core_vectorized(a, b, n, k);
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  // The host types have the device types' layout (bench/reduced_float.h).
  using Device = std::conditional_t<std::is_same_v<T, bfloat16>, __nv_bfloat16, __half>;
  launch_typed<Device>(reinterpret_cast<const Device*>(a), reinterpret_cast<const Device*>(b),
                       reinterpret_cast<Device*>(c), mi, ni, ki, vectorized, stream, tile);
}

template void launch_gemm_tensor_core<bfloat16>(const bfloat16*, const bfloat16*, bfloat16*, std::int64_t, std::int64_t,
                                                std::int64_t, cudaStream_t, TensorCoreTile);
template void launch_gemm_tensor_core<float16>(const float16*, const float16*, float16*, std::int64_t, std::int64_t,
                                               std::int64_t, cudaStream_t, TensorCoreTile);

}  // namespace mlbench::kernels
