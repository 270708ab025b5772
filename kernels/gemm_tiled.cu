// The product's instances of the tiled GEMM kernel (kernels/gemm_tiled.cuh): one block tile per
// element type, gemm_tiled_tile<T>() (kernels/gemm_tiled.h). The tiles only the sweep times are
// instantiated in tuning/gemm_tile_sweep.cu, not here.
#include "kernels/gemm_tiled.cuh"
#include "kernels/gemm_tiled.h"

namespace mlbench::kernels {

namespace {

template <class T>
void launch_product_tile(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                         cudaStream_t stream) {
  constexpr GemmTileShape tile = gemm_tiled_tile<T>();
  launch_gemm_tile<T, tile.bm, tile.bn, tile.bk>(a, b, c, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                                                 stream);
}

}  // namespace

std::string to_string(const GemmTileShape& tile) {
  return std::to_string(tile.bm) + "x" + std::to_string(tile.bn) + "x" + std::to_string(tile.bk);
}

template <>
void launch_gemm_tiled<float>(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                              cudaStream_t stream) {
  launch_product_tile<float>(a, b, c, m, n, k, stream);
}

template <>
void launch_gemm_tiled<double>(const double* a, const double* b, double* c, std::int64_t m, std::int64_t n,
                               std::int64_t k, cudaStream_t stream) {
  launch_product_tile<double>(a, b, c, m, n, k, stream);
}

}  // namespace mlbench::kernels
