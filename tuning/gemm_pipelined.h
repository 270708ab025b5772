// Host entry of the cp.async-pipelined SGEMM (tuning/gemm_pipelined.cu), a tuning version: row-major C = A * B.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mlbench::kernels {

// The kernel copies 16-byte row pieces: N and K must be multiples of 4.
bool gemm_pipelined_supports(std::int64_t m, std::int64_t n, std::int64_t k);

// 128 x 128 block tile, K step `bk` (16 or 32), `stages` shared-memory buffers (3 or 4 with
// bk 16, 3 with bk 32). Throws std::invalid_argument for other combinations or shapes.
void launch_gemm_pipelined(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages);

}  // namespace mlbench::kernels
