// Host entries of the tuning SGEMMs that feed shared memory through a cp.async ring
// (tuning/cp_async_pipeline.cuh): row-major C = A * B, fp32. Both copy 16-byte row pieces, so N
// and K must be multiples of 4; each throws std::invalid_argument for other shapes and for a
// K step / stage count it does not instantiate.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mlbench::kernels {

inline bool gemm_cp_async_supports(std::int64_t /*m*/, std::int64_t n, std::int64_t k) {
  return n % 4 == 0 && k % 4 == 0;
}

// tuning/gemm_pipelined.cu: the product's 128 x 128 tile and 8 x 8 per thread; `bk` 16 with 3
// or 4 stages, or 32 with 3.
void launch_gemm_pipelined(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages);

// tuning/gemm_warptiled.cu: 256 x 128 tile, 64 x 64 per warp, 16 x 8 per thread; `bk` 8 with 3
// or 4 stages, or 16 with 3.
void launch_gemm_warptiled(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages);

}  // namespace mlbench::kernels
