// The block tiles of the CUDA-core GEMM kernel (kernels/gemm_tiled.cuh) that the sweep times
// besides the product's (kernels/gemm_tiled.h, gemm_tiled_tile<T>()), instantiated only here.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

#include "kernels/gemm_tiled.h"

namespace mlbench::tuning {

// The sweep-only tiles for T: fp32 128x128x8, 128x64x16, 64x64x16; fp64 64x64x8.
template <class T>
std::vector<kernels::GemmTileShape> gemm_sweep_tiles();

// Launches a tile of gemm_sweep_tiles<T>() on `stream`; M, N, K >= 1. Throws
// std::invalid_argument for any other tile.
template <class T>
void launch_gemm_sweep_tile(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                            kernels::GemmTileShape tile, cudaStream_t stream);

}  // namespace mlbench::tuning
