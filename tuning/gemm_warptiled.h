// Host entry of the warp-tiled SGEMM (tuning/gemm_warptiled.cu), a tuning version: row-major C = A * B.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mlbench::kernels {

// The kernel copies 16-byte row pieces: N and K must be multiples of 4.
bool gemm_warptiled_supports(std::int64_t m, std::int64_t n, std::int64_t k);

// 256 x 128 block tile, K step `bk` (8 or 16), `stages` shared-memory buffers (3 or 4 with bk 8,
// 3 with bk 16). Throws std::invalid_argument for other combinations or shapes.
void launch_gemm_warptiled(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages);

}  // namespace mlbench::kernels
