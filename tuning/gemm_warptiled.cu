// Warp-tiled SGEMM with a cp.async pipeline, row-major C = A * B, fp32. A tuning version.
//
// Idea (the shape of cuBLAS's sm80 FFMA kernel that ncu shows at 4096, "tilesize256x128x8_stage3
// _warpsize4x2x1"; warp tiling as in siboehm/SGEMM_CUDA kernel 10): the product's kernel
// (kernels/gemm_tiled.cuh, 128 x 128 tile, 8 x 8 per thread) needs two blocks per SM to hide
// latency and issues an instruction only every 5 cycles per warp. Here one block of 8 warps
// computes a 256 x 128 tile; each warp a 64 x 64 sub-tile (4 x 2 warps), each thread a 16 x 8
// block of it (128 accumulators, one block per SM, up to 255 registers), so that a thread does
// 128 FMAs per k for 6 16-byte shared loads and there is enough independent work per warp to
// issue at a high rate with 2 warps per scheduler. Slices arrive through the cp.async ring of
// tuning/cp_async_pipeline.cuh (A k-contiguous, 4 consecutive k of a row per 16-byte load).
// Lanes of a quarter-warp share their A rows (broadcast) and read 128 contiguous bytes of B: no
// bank conflicts on the compute loads. Blocks run in the grouped order of the tensor-core
// kernels (kernels/tensor_core_ptx.cuh) for L2 reuse.
#include <stdexcept>
#include <string>

#include "tuning/cp_async_pipeline.cuh"
#include "tuning/gemm_cp_async.h"

namespace mlbench::kernels {

namespace {

constexpr int kThreads = 256;                  // 8 warps: 4 along M x 2 along N
constexpr int kWarpRows = 64, kWarpCols = 64;  // each warp's sub-tile
constexpr int kThreadRows = 16, kThreadCols = 8;

template <int BM, int BN, int BK, int STAGES>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_warptiled_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, int m, int n,
                          int k) {
  static_assert(BM == 4 * kWarpRows && BN == 2 * kWarpCols, "8 warps, 4 x 2, cover the tile");
  constexpr int kStrideA = cp_async::RingLayout<BM, BN, BK, STAGES>::kStrideA;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // This thread's rows: warp_row0 + q*16 + {0..3} (q = 0..3); columns: warp_col0 + h*32 + {0..3} (h = 0, 1).
  const int warp_row0 = (warp / 2) * kWarpRows + (lane / 8) * 4;
  const int warp_col0 = (warp % 2) * kWarpCols + (lane % 8) * 4;
  auto row_in_tile = [&](int i) { return warp_row0 + (i / 4) * 16 + i % 4; };
  const tensor_core::TilePosition tile = tensor_core::grouped_tile<BM, BN>(blockIdx.x, m, n);

  float acc[kThreadRows][kThreadCols] = {};
  cp_async::run_slices<BM, BN, BK, STAGES, kThreads>(
      a, b, m, n, k, tile.row, tile.col, [&](const float* a_slot, const float* b_slot) {
  // Compute in registers, 4 k at a time: B's 4 x 8 values for them (8 loads), then one
  // 16-byte load of A per row, each used for 4 rank-1 updates of that row.
#pragma unroll
        for (int kq = 0; kq < BK; kq += 4) {
          float4 b_frag[4][2];
#pragma unroll
          for (int e = 0; e < 4; ++e)
#pragma unroll
            for (int h = 0; h < 2; ++h)
              b_frag[e][h] = *reinterpret_cast<const float4*>(b_slot + (kq + e) * BN + warp_col0 + h * 32);
#pragma unroll
          for (int i = 0; i < kThreadRows; ++i) {
            const float4 a4 = *reinterpret_cast<const float4*>(a_slot + row_in_tile(i) * kStrideA + kq);
            const float av[4] = {a4.x, a4.y, a4.z, a4.w};
#pragma unroll
            for (int e = 0; e < 4; ++e)
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                acc[i][h * 4 + 0] += av[e] * b_frag[e][h].x;
                acc[i][h * 4 + 1] += av[e] * b_frag[e][h].y;
                acc[i][h * 4 + 2] += av[e] * b_frag[e][h].z;
                acc[i][h * 4 + 3] += av[e] * b_frag[e][h].w;
              }
          }
        }
      });
  cp_async::store_block(
      c, m, n, acc, [&](int i) { return tile.row + row_in_tile(i); },
      [&](int h) { return tile.col + warp_col0 + h * 32; });
}

template <int BM, int BN, int BK, int STAGES>
void launch_warptiled(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                      cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(((m + BM - 1) / BM) * ((n + BN - 1) / BN)));
  cp_async::launch<BM, BN, BK, STAGES>(gemm_warptiled_kernel<BM, BN, BK, STAGES>, grid, kThreads, a, b, c, m, n, k,
                                       stream);
}

}  // namespace

void launch_gemm_warptiled(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages) {
  if (!gemm_cp_async_supports(m, n, k)) throw std::invalid_argument("warp-tiled SGEMM needs N and K multiples of 4");
  if (bk == 8 && stages == 3) return launch_warptiled<256, 128, 8, 3>(a, b, c, m, n, k, stream);
  if (bk == 8 && stages == 4) return launch_warptiled<256, 128, 8, 4>(a, b, c, m, n, k, stream);
  if (bk == 16 && stages == 3) return launch_warptiled<256, 128, 16, 3>(a, b, c, m, n, k, stream);
  throw std::invalid_argument("warp-tiled SGEMM has no BK/stages combination " + std::to_string(bk) + "/" +
                              std::to_string(stages));
}

}  // namespace mlbench::kernels
