// Host entry of the product's CUDA-core GEMM (kernel: kernels/gemm_tiled.cuh, instances:
// kernels/gemm_tiled.cu): row-major C = A * B, fp32 (and tf32 values) and fp64.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

namespace mlbench::kernels {

// A block tile of the kernel: BM x BN outputs per block, K step BK.
struct GemmTileShape {
  int bm, bn, bk;
};
std::string to_string(const GemmTileShape& tile);  // "128x128x16"

// The one tile the product instantiates per element type: the fastest of the sweep at 4096 on
// the H100/H200 (kernels/NOTES.md; `mlbench_tune_gemm` times the others).
template <class T>
constexpr GemmTileShape gemm_tiled_tile();
template <>
constexpr GemmTileShape gemm_tiled_tile<float>() {
  return {128, 128, 16};
}
template <>
constexpr GemmTileShape gemm_tiled_tile<double>() {
  return {64, 64, 16};
}

// Launches the product tile on `stream`; M, N, K >= 1. T: float, double.
template <class T>
void launch_gemm_tiled(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                       cudaStream_t stream);

}  // namespace mlbench::kernels
