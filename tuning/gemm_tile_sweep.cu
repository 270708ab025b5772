// Sweep-only instances of the tiled GEMM kernel (kernels/gemm_tiled.cuh). Measured at 4096 on the
// H100 (kernels/NOTES.md): 128x128x16 (the product's fp32 tile) 41.6, 128x128x8 39.0, 128x64x16
// 37.1, 64x64x16 30.1 TFLOP/s; `mlbench_tune_gemm` repeats the measurement.
#include <stdexcept>

#include "kernels/gemm_tiled.cuh"
#include "tuning/gemm_tile_sweep.h"

namespace mlbench::tuning {

namespace {

bool same(kernels::GemmTileShape a, kernels::GemmTileShape b) { return a.bm == b.bm && a.bn == b.bn && a.bk == b.bk; }

}  // namespace

template <>
std::vector<kernels::GemmTileShape> gemm_sweep_tiles<float>() {
  return {{128, 128, 8}, {128, 64, 16}, {64, 64, 16}};
}
template <>
std::vector<kernels::GemmTileShape> gemm_sweep_tiles<double>() {
  return {{64, 64, 8}};
}

template <>
void launch_gemm_sweep_tile<float>(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n,
                                   std::int64_t k, kernels::GemmTileShape tile, cudaStream_t stream) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  if (same(tile, {128, 128, 8})) return kernels::launch_gemm_tile<float, 128, 128, 8>(a, b, c, mi, ni, ki, stream);
  if (same(tile, {128, 64, 16})) return kernels::launch_gemm_tile<float, 128, 64, 16>(a, b, c, mi, ni, ki, stream);
  if (same(tile, {64, 64, 16})) return kernels::launch_gemm_tile<float, 64, 64, 16>(a, b, c, mi, ni, ki, stream);
  throw std::invalid_argument("fp32 GEMM sweep has no tile " + kernels::to_string(tile));
}

template <>
void launch_gemm_sweep_tile<double>(const double* a, const double* b, double* c, std::int64_t m, std::int64_t n,
                                    std::int64_t k, kernels::GemmTileShape tile, cudaStream_t stream) {
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  if (same(tile, {64, 64, 8})) return kernels::launch_gemm_tile<double, 64, 64, 8>(a, b, c, mi, ni, ki, stream);
  throw std::invalid_argument("fp64 GEMM sweep has no tile " + kernels::to_string(tile));
}

}  // namespace mlbench::tuning
