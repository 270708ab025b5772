// Host entry of the hand-written GEMM (kernels/gemm_tiled.cu): row-major C = A * B.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mlbench::kernels {

// Block tile (BM x BN, K step BK) of the GEMM kernel. The backend uses the default; the
// DISABLED_ timing test compares them all. The `_sN` tiles are fp32 only and run the cp.async
// pipeline of gemm_pipelined.cu with N shared-memory stages (falling back to the 128x128x16
// register-staged kernel when N or K is not a multiple of 4).
enum class GemmTile {
  m128n128k16,
  m128n128k8,
  m128n64k16,
  m64n64k16,
  m64n64k8,
  m128n128k16_s3,
  m128n128k16_s4,
  m128n128k32_s3
};
std::string to_string(GemmTile tile);
std::vector<GemmTile> gemm_tiles();  // every tile the precision's kernel instantiates

template <class T>
GemmTile default_gemm_tile();

// Launches on `stream`; M, N, K >= 1. Throws std::invalid_argument for a tile not
// instantiated for T.
template <class T>
void launch_gemm_tiled(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                       cudaStream_t stream, GemmTile tile);

}  // namespace mlbench::kernels
