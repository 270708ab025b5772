// Warp-tiled SGEMM with a cp.async pipeline, row-major C = A * B, fp32. A tuning version.
//
// Idea (the shape of cuBLAS's sm80 FFMA kernel that ncu shows at 4096, "tilesize256x128x8_stage3
// _warpsize4x2x1"; warp tiling as in siboehm/SGEMM_CUDA kernel 10): the product's kernel
// (kernels/gemm_tiled.cuh, 128 x 128 tile, 8 x 8 per thread) needs two blocks per SM to hide
// latency and issues an instruction only every 5 cycles per warp. Here one block of 8 warps
// computes a 256 x 128 tile; each warp a 64 x 64 sub-tile (4 x 2 warps), each thread a 16 x 8
// block of it (128 accumulators, one block per SM, up to 255 registers), so that a thread does
// 128 FMAs per k for 6 16-byte shared loads and there is enough independent work per warp to
// issue at a high rate with 2 warps per scheduler. Global -> shared copies go through cp.async
// into a ring of STAGES buffers (no staging registers); A is kept k-contiguous (cp.async cannot
// transpose) and each thread reads 4 consecutive k of a row with one 16-byte load. Lanes of a
// quarter-warp share their A rows (broadcast) and read 128 contiguous bytes of B: no bank
// conflicts on the compute loads. Blocks run in the grouped order of the tensor-core kernels
// (kernels/tensor_core_ptx.cuh) for L2 reuse. Only for N and K multiples of 4.
#include <stdexcept>
#include <string>

#include "kernels/cuda_check.h"
#include "kernels/tensor_core_ptx.cuh"
#include "tuning/gemm_warptiled.h"

namespace mlbench::kernels {

namespace {

using tensor_core::commit_copies;
using tensor_core::copy_async_16;
using tensor_core::shared_address;
using tensor_core::wait_copies;

constexpr int kThreads = 256;                  // 8 warps: 4 along M x 2 along N
constexpr int kWarpRows = 64, kWarpCols = 64;  // each warp's sub-tile
constexpr int kThreadRows = 16, kThreadCols = 8;

template <int BM, int BN, int BK, int STAGES>
struct WarptiledLayout {
  static constexpr int kStrideA = BK + 4;  // k-contiguous rows of A, padded by 16 bytes
  static constexpr int kFloatsA = BM * kStrideA;
  static constexpr int kFloatsB = BK * BN;
  static constexpr int kBytes = STAGES * (kFloatsA + kFloatsB) * static_cast<int>(sizeof(float));
};

template <int BM, int BN, int BK, int STAGES>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_warptiled_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, int m, int n,
                          int k) {
  using Layout = WarptiledLayout<BM, BN, BK, STAGES>;
  static_assert(BM == 4 * kWarpRows && BN == 2 * kWarpCols, "8 warps, 4 x 2, cover the tile");
  static_assert(BK % 4 == 0, "A is read 4 k at a time");
  constexpr int kCopiesA = BM * BK / 4 / kThreads;  // 16-byte copies per thread per slice
  constexpr int kCopiesB = BK * BN / 4 / kThreads;
  static_assert(kCopiesA * 4 * kThreads == BM * BK && kCopiesB * 4 * kThreads == BK * BN, "tile not divisible");

  extern __shared__ __align__(16) float shared[];
  float* a_ring = shared;                              // STAGES x [BM][kStrideA]
  float* b_ring = shared + STAGES * Layout::kFloatsA;  // STAGES x [BK][BN]

  const int tid = threadIdx.x;
  const int warp = tid / 32, lane = tid % 32;
  // This thread's rows: warp_row0 + q*16 + {0..3} (q = 0..3); columns: warp_col0 + h*32 + {0..3} (h = 0, 1).
  const int warp_row0 = (warp / 2) * kWarpRows + (lane / 8) * 4;
  const int warp_col0 = (warp % 2) * kWarpCols + (lane % 8) * 4;
  const tensor_core::TilePosition tile = tensor_core::grouped_tile<BM, BN>(blockIdx.x, m, n);
  const int tiles = (k + BK - 1) / BK;

  // Load tile: issue the copies of slice `t` into its ring slot (zero-filled outside the matrices).
  auto load_slice = [&](int t) {
    const int k0 = t * BK;
    float* a_slot = a_ring + (t % STAGES) * Layout::kFloatsA;
    float* b_slot = b_ring + (t % STAGES) * Layout::kFloatsB;
#pragma unroll
    for (int i = 0; i < kCopiesA; ++i) {
      const int idx = tid + i * kThreads;
      const int r = idx / (BK / 4), col = (idx % (BK / 4)) * 4;
      const int row = tile.row + r;
      const bool valid = row < m && k0 + col < k;
      const float* src = valid ? a + static_cast<long long>(row) * k + k0 + col : a;
      copy_async_16(shared_address(a_slot + r * Layout::kStrideA + col), src, valid);
    }
#pragma unroll
    for (int i = 0; i < kCopiesB; ++i) {
      const int idx = tid + i * kThreads;
      const int r = idx / (BN / 4), col = (idx % (BN / 4)) * 4;
      const bool valid = k0 + r < k && tile.col + col < n;
      const float* src = valid ? b + static_cast<long long>(k0 + r) * n + tile.col + col : b;
      copy_async_16(shared_address(b_slot + r * BN + col), src, valid);
    }
  };

  float acc[kThreadRows][kThreadCols] = {};

  // Fill the pipeline: STAGES-1 slices in flight (a group is committed even when empty, so
  // that wait_group counts stay aligned with slice numbers).
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < tiles) load_slice(s);
    commit_copies();
  }

  for (int t = 0; t < tiles; ++t) {
    // Slice t has landed; the barrier also means every thread finished slice t-1, whose slot
    // the next copies overwrite.
    wait_copies<STAGES - 2>();
    __syncthreads();

    // Advance: start slice t+STAGES-1.
    if (t + STAGES - 1 < tiles) load_slice(t + STAGES - 1);
    commit_copies();

    // Compute in registers, 4 k at a time: B's 4 x 8 values for them (8 loads), then one
    // 16-byte load of A per row, each used for 4 rank-1 updates of that row.
    const float* a_slot = a_ring + (t % STAGES) * Layout::kFloatsA;
    const float* b_slot = b_ring + (t % STAGES) * Layout::kFloatsB;
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
        const int r = warp_row0 + (i / 4) * 16 + i % 4;
        const float4 a4 = *reinterpret_cast<const float4*>(a_slot + r * Layout::kStrideA + kq);
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
  }
  wait_copies<0>();  // no copy may still target shared memory when the block exits

  // Write back: 16-byte stores, 4 contiguous columns at a time.
#pragma unroll
  for (int i = 0; i < kThreadRows; ++i) {
    const int row = tile.row + warp_row0 + (i / 4) * 16 + i % 4;
    if (row >= m) continue;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int col = tile.col + warp_col0 + h * 32;
      if (col >= n) continue;  // n % 4 == 0, so a vector is wholly in or out
      *reinterpret_cast<float4*>(c + static_cast<long long>(row) * n + col) =
          make_float4(acc[i][h * 4], acc[i][h * 4 + 1], acc[i][h * 4 + 2], acc[i][h * 4 + 3]);
    }
  }
}

template <int BM, int BN, int BK, int STAGES>
void launch_warptiled(const float* a, const float* b, float* c, int m, int n, int k, cudaStream_t stream) {
  constexpr int bytes = WarptiledLayout<BM, BN, BK, STAGES>::kBytes;
  auto* kernel = gemm_warptiled_kernel<BM, BN, BK, STAGES>;
  // More than 48 KB of dynamic shared memory must be asked for per kernel.
  MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const int blocks = ((m + BM - 1) / BM) * ((n + BN - 1) / BN);
  kernel<<<blocks, kThreads, bytes, stream>>>(a, b, c, m, n, k);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool gemm_warptiled_supports(std::int64_t /*m*/, std::int64_t n, std::int64_t k) { return n % 4 == 0 && k % 4 == 0; }

void launch_gemm_warptiled(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages) {
  if (!gemm_warptiled_supports(m, n, k)) throw std::invalid_argument("warp-tiled SGEMM needs N and K multiples of 4");
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  if (bk == 8 && stages == 3) return launch_warptiled<256, 128, 8, 3>(a, b, c, mi, ni, ki, stream);
  if (bk == 8 && stages == 4) return launch_warptiled<256, 128, 8, 4>(a, b, c, mi, ni, ki, stream);
  if (bk == 16 && stages == 3) return launch_warptiled<256, 128, 16, 3>(a, b, c, mi, ni, ki, stream);
  throw std::invalid_argument("warp-tiled SGEMM has no BK/stages combination " + std::to_string(bk) + "/" +
                              std::to_string(stages));
}

}  // namespace mlbench::kernels
