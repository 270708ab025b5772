// The warp-level tensor-core GEMM kernel (mma.sync), row-major C = A * B, bf16 or fp16 inputs
// and output, fp32 accumulation, with its block tile, warp layout and stage count as template
// parameters: kernels/gemm_tensor_core.cu instantiates the tiles the product's picker chooses
// (pick_tensor_core_tile), tuning/gemm_tensor_core_sweep.cu the one only the sweep times.
//
// Idea (the Ampere-style warp-level path, cf. siboehm/SGEMM_CUDA for the tiling vocabulary):
// each block computes a BM x BN tile of C; its warps each own a WM x WN piece, held as fp32
// accumulators in registers and updated with `mma.sync.aligned.m16n8k16` (HMMA in SASS).
//  - Global -> shared: `cp.async` 16-byte copies into a ring of STAGES shared-memory buffers,
//    so that STAGES-1 K slices are in flight while one is multiplied; copies past the matrix
//    edges are zero-filled through cp.async's src-size operand.
//  - Shared -> registers: `ldmatrix` (x4) gives each thread exactly its mma fragment; A
//    (M x K, k-contiguous) is loaded as is, B (K x N, n-contiguous) with `.trans`.
//  - Bank conflicts: each 16-byte chunk of a shared row is stored at an XOR-swizzled position,
//    so that the 8 row addresses of one ldmatrix phase hit 8 different 16-byte bank groups.
//  - Block order: blocks are numbered in groups of kGroupRows tile rows, so that the blocks in
//    flight at one time share their A rows and B columns in L2.
// When K or N is not a multiple of 8 (rows not 16-byte aligned) the same kernel runs with
// element-wise guarded loads (kVectorized = false); any M, N, K >= 1 works.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

#include "kernels/cuda_check.h"
#include "kernels/tensor_core_ptx.cuh"

namespace mlbench::kernels::tensor_core_mma {

using namespace tensor_core;

// The PTX wrappers (cp.async, ldmatrix, mma.sync m16n8k16) are tensor_core_ptx.cuh's, shared
// with the wgmma GEMM and the attention kernel.

// ---------------------------------------------------------------- shared-memory layout

template <int BM, int BN, int BK, int WARPS_M, int WARPS_N, int STAGES>
struct TileConfig {
  static constexpr int kThreads = WARPS_M * WARPS_N * 32;
  static constexpr int kWarpM = BM / WARPS_M, kWarpN = BN / WARPS_N;  // a warp's piece of C
  static constexpr int kMmaM = kWarpM / 16, kMmaN = kWarpN / 8;       // mma tiles per warp
  static constexpr int kChunksA = BK / 8, kChunksB = BN / 8;          // 16-byte chunks per shared row
  static constexpr int kStageElements = BM * BK + BK * BN;
  static constexpr int kSharedBytes = STAGES * kStageElements * 2;
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0 && BK % 16 == 0, "warp tile must hold whole mma tiles");
  static_assert((BM * kChunksA) % kThreads == 0 && (BK * kChunksB) % kThreads == 0, "copies must divide evenly");
};

// ---------------------------------------------------------------- the kernel

template <class T, int BM, int BN, int BK, int WARPS_M, int WARPS_N, int STAGES, bool kVectorized>
__global__ void __launch_bounds__(WARPS_M* WARPS_N * 32, 1)
    gemm_tensor_core_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c, int m, int n, int k) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
  __trap();  // bf16 mma.sync and cp.async need sm_80; the backend refuses older devices
#else
  using Config = TileConfig<BM, BN, BK, WARPS_M, WARPS_N, STAGES>;
  constexpr int kThreads = Config::kThreads;
  constexpr int kMmaM = Config::kMmaM, kMmaN = Config::kMmaN;
  constexpr int kChunksA = Config::kChunksA, kChunksB = Config::kChunksB;

  extern __shared__ __align__(128) unsigned char shared_bytes[];
  T* const shared = reinterpret_cast<T*>(shared_bytes);

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int warp_row = (warp / WARPS_N) * Config::kWarpM, warp_col = (warp % WARPS_N) * Config::kWarpN;

  const TilePosition tile = grouped_tile<BM, BN>(blockIdx.x, m, n);
  const int block_row = tile.row, block_col = tile.col;

  // Load tile: the BM x BK slice of A and the BK x BN slice of B starting at k0 into `stage`.
  auto load_tile = [&](int stage, int k0) {
    T* const a_tile = shared + stage * Config::kStageElements;
    T* const b_tile = a_tile + BM * BK;
#pragma unroll
    for (int i = 0; i < BM * kChunksA / kThreads; ++i) {
      const int idx = tid + i * kThreads;
      const int row = idx / kChunksA, chunk = idx % kChunksA;
      const int global_row = block_row + row, global_k = k0 + chunk * 8;
      T* const dst = a_tile + row * BK + swizzle<kChunksA>(row, chunk) * 8;
      const T* const src = a + static_cast<long long>(global_row) * k + global_k;
      if constexpr (kVectorized) {
        const bool valid = global_row < m && global_k < k;  // K % 8 == 0: a chunk is all in or all out
        copy_async_16(shared_address(dst), valid ? src : a, valid);
      } else {
        alignas(16) T values[8];
#pragma unroll
        for (int e = 0; e < 8; ++e) values[e] = (global_row < m && global_k + e < k) ? src[e] : from_float<T>(0.0f);
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(values);
      }
    }
#pragma unroll
    for (int i = 0; i < BK * kChunksB / kThreads; ++i) {
      const int idx = tid + i * kThreads;
      const int row = idx / kChunksB, chunk = idx % kChunksB;
      const int global_k = k0 + row, global_col = block_col + chunk * 8;
      T* const dst = b_tile + row * BN + swizzle<kChunksB>(row, chunk) * 8;
      const T* const src = b + static_cast<long long>(global_k) * n + global_col;
      if constexpr (kVectorized) {
        const bool valid = global_k < k && global_col < n;  // N % 8 == 0
        copy_async_16(shared_address(dst), valid ? src : b, valid);
      } else {
        alignas(16) T values[8];
#pragma unroll
        for (int e = 0; e < 8; ++e) values[e] = (global_k < k && global_col + e < n) ? src[e] : from_float<T>(0.0f);
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(values);
      }
    }
  };

  float acc[kMmaM][kMmaN][4];
#pragma unroll
  for (int i = 0; i < kMmaM; ++i)
#pragma unroll
    for (int j = 0; j < kMmaN; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

  // Prologue: start the copies of the first STAGES-1 slices (one commit group each, empty
  // groups past the end keep the group count uniform).
  const int k_tiles = (k + BK - 1) / BK;
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < k_tiles) load_tile(s, s * BK);
    commit_copies();
  }

  for (int t = 0; t < k_tiles; ++t) {
    // Wait for slice t; the barrier also ends every warp's reads of the stage refilled below.
    wait_copies<STAGES - 2>();
    __syncthreads();

    // Advance: start the copy of slice t + STAGES - 1 into the stage slice t - 1 used.
    const int next = t + STAGES - 1;
    if (next < k_tiles) load_tile(next % STAGES, next * BK);
    commit_copies();

    // Compute: per 16-deep step, ldmatrix the warp's A and B fragments and issue its mma tiles.
    const T* const a_tile = shared + (t % STAGES) * Config::kStageElements;
    const T* const b_tile = a_tile + BM * BK;
#pragma unroll
    for (int kk = 0; kk < BK / 16; ++kk) {
      std::uint32_t a_frag[kMmaM][4];
      std::uint32_t b_frag[kMmaN][2];
#pragma unroll
      for (int i = 0; i < kMmaM; ++i) {
        // lanes 0-15: rows 0-15 at k 0-7; lanes 16-31: rows 0-15 at k 8-15
        const int row = warp_row + i * 16 + (lane & 15);
        const int chunk = kk * 2 + (lane >> 4);
        ldmatrix_x4(a_frag[i], shared_address(a_tile + row * BK + swizzle<kChunksA>(row, chunk) * 8));
      }
#pragma unroll
      for (int j = 0; j < kMmaN; j += 2) {
        // lanes 0-15: k 0-15 of columns j*8..; lanes 16-31: k 0-15 of columns (j+1)*8..
        const int row = kk * 16 + (lane & 15);
        const int chunk = (warp_col + j * 8) / 8 + (lane >> 4);
        std::uint32_t r[4];
        ldmatrix_x4_trans(r, shared_address(b_tile + row * BN + swizzle<kChunksB>(row, chunk) * 8));
        b_frag[j][0] = r[0];
        b_frag[j][1] = r[1];
        b_frag[j + 1][0] = r[2];
        b_frag[j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < kMmaM; ++i)
#pragma unroll
        for (int j = 0; j < kMmaN; ++j) mma_m16n8k16<T>(acc[i][j], a_frag[i], b_frag[j][0], b_frag[j][1]);
    }
  }
  wait_copies<0>();  // no copy may still target shared memory when the block exits

  // Write back: each thread holds rows lane/4 and lane/4 + 8, columns 2*(lane%4) + {0, 1} of
  // every mma tile.
#pragma unroll
  for (int i = 0; i < kMmaM; ++i) {
#pragma unroll
    for (int j = 0; j < kMmaN; ++j) {
      const int row = block_row + warp_row + i * 16 + lane / 4;
      const int col = block_col + warp_col + j * 8 + (lane % 4) * 2;
      store_pair<T>(c, m, n, row, col, acc[i][j][0], acc[i][j][1]);
      store_pair<T>(c, m, n, row + 8, col, acc[i][j][2], acc[i][j][3]);
    }
  }
#endif
}

// ---------------------------------------------------------------- launch configuration

// Raises the dynamic shared-memory limit of `kernel` once per device (a block gets more than
// 48 KiB only after that).
template <class Kernel>
void allow_shared_bytes(Kernel kernel, int bytes, std::atomic<std::uint64_t>& done_devices) {
  int device = 0;
  MLBENCH_CUDA_CHECK(cudaGetDevice(&device));
  const std::uint64_t bit = device < 64 ? (std::uint64_t{1} << device) : 0;
  if (bit != 0 && (done_devices.load() & bit) != 0) return;
  MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  done_devices.fetch_or(bit);
}

template <class T, int BM, int BN, int BK, int WARPS_M, int WARPS_N, int STAGES, bool kVectorized>
void launch_tile(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream) {
  using Config = TileConfig<BM, BN, BK, WARPS_M, WARPS_N, STAGES>;
  const long long blocks = static_cast<long long>((m + BM - 1) / BM) * ((n + BN - 1) / BN);
  if (blocks > INT_MAX) throw std::invalid_argument("tensor-core GEMM: too many tiles for one grid");
  const dim3 grid(static_cast<unsigned>(blocks)), block(Config::kThreads);
  constexpr auto kernel = gemm_tensor_core_kernel<T, BM, BN, BK, WARPS_M, WARPS_N, STAGES, kVectorized>;
  static std::atomic<std::uint64_t> configured{0};
  allow_shared_bytes(kernel, Config::kSharedBytes, configured);
  kernel<<<grid, block, Config::kSharedBytes, stream>>>(a, b, c, m, n, k);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace mlbench::kernels::tensor_core_mma
