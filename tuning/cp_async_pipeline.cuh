// The cp.async machinery of the tuning SGEMMs (gemm_pipelined.cu, gemm_warptiled.cu): a ring of
// STAGES shared-memory slices of A (k-contiguous rows, padded) and B, filled by 16-byte
// asynchronous copies (LDGSTS, no staging registers), the loop that keeps STAGES-1 slices in
// flight while one is multiplied, the 16-byte write-back of a thread's register block, and the
// launch. The kernels differ only in how a thread's rows and columns are laid out and how it
// multiplies a slice.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda_check.h"
#include "kernels/tensor_core_ptx.cuh"

namespace mlbench::kernels::cp_async {

template <int BM, int BN, int BK, int STAGES>
struct RingLayout {
  static constexpr int kStrideA = BK + 4;  // k-contiguous rows of A, padded by 16 bytes
  static constexpr int kFloatsA = BM * kStrideA;
  static constexpr int kFloatsB = BK * BN;
  static constexpr int kBytes = STAGES * (kFloatsA + kFloatsB) * static_cast<int>(sizeof(float));
};

// Runs the pipeline of one block over all K slices of its BM x BN tile at (row0, col0):
// `multiply(a_slot, b_slot)` is called once per slice, with A's slice as [BM][kStrideA] and B's as
// [BK][BN] in shared memory. Copies outside the matrices are zero-filled by cp.async's src-size.
template <int BM, int BN, int BK, int STAGES, int kThreads, class Multiply>
__device__ __forceinline__ void run_slices(const float* __restrict__ a, const float* __restrict__ b, int m, int n,
                                           int k, int row0, int col0, Multiply&& multiply) {
  using Layout = RingLayout<BM, BN, BK, STAGES>;
  static_assert(BK % 4 == 0, "A is read 4 k at a time");
  constexpr int kCopiesA = BM * BK / 4 / kThreads;  // 16-byte copies per thread per slice
  constexpr int kCopiesB = BK * BN / 4 / kThreads;
  static_assert(kCopiesA * 4 * kThreads == BM * BK && kCopiesB * 4 * kThreads == BK * BN, "tile not divisible");
  using tensor_core::copy_async_16;
  using tensor_core::shared_address;

  extern __shared__ __align__(16) float shared[];
  float* a_ring = shared;                              // STAGES x [BM][kStrideA]
  float* b_ring = shared + STAGES * Layout::kFloatsA;  // STAGES x [BK][BN]
  const int tid = threadIdx.x;
  const int tiles = (k + BK - 1) / BK;

  // Load tile: issue the copies of slice `t` into its ring slot.
  auto load_slice = [&](int t) {
    const int k0 = t * BK;
    float* a_slot = a_ring + (t % STAGES) * Layout::kFloatsA;
    float* b_slot = b_ring + (t % STAGES) * Layout::kFloatsB;
#pragma unroll
    for (int i = 0; i < kCopiesA; ++i) {
      const int idx = tid + i * kThreads;
      const int r = idx / (BK / 4), col = (idx % (BK / 4)) * 4;
      const bool valid = row0 + r < m && k0 + col < k;
      const float* src = valid ? a + static_cast<long long>(row0 + r) * k + k0 + col : a;
      copy_async_16(shared_address(a_slot + r * Layout::kStrideA + col), src, valid);
    }
#pragma unroll
    for (int i = 0; i < kCopiesB; ++i) {
      const int idx = tid + i * kThreads;
      const int r = idx / (BN / 4), col = (idx % (BN / 4)) * 4;
      const bool valid = k0 + r < k && col0 + col < n;
      const float* src = valid ? b + static_cast<long long>(k0 + r) * n + col0 + col : b;
      copy_async_16(shared_address(b_slot + r * BN + col), src, valid);
    }
  };

  // Fill the pipeline: STAGES-1 slices in flight (a group is committed even when empty, so
  // that wait_group counts stay aligned with slice numbers).
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < tiles) load_slice(s);
    tensor_core::commit_copies();
  }
  for (int t = 0; t < tiles; ++t) {
    // Slice t has landed; the barrier also means every thread finished slice t-1, whose slot
    // the next copies overwrite.
    tensor_core::wait_copies<STAGES - 2>();
    __syncthreads();
    // Advance: start slice t+STAGES-1, then multiply slice t.
    if (t + STAGES - 1 < tiles) load_slice(t + STAGES - 1);
    tensor_core::commit_copies();
    multiply(a_ring + (t % STAGES) * Layout::kFloatsA, b_ring + (t % STAGES) * Layout::kFloatsB);
  }
  tensor_core::wait_copies<0>();  // no copy may still target shared memory when the block exits
}

// Write back: acc[i][4 h .. 4 h + 3] goes to row row_of(i), columns col_of(h) .. + 3, as one
// 16-byte store (n % 4 == 0, so a vector is wholly inside or outside the matrix).
template <int kRows, int kCols, class RowOf, class ColOf>
__device__ __forceinline__ void store_block(float* __restrict__ c, int m, int n, const float (&acc)[kRows][kCols],
                                            RowOf row_of, ColOf col_of) {
  static_assert(kCols % 4 == 0, "columns in groups of 4");
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const int row = row_of(i);
    if (row >= m) continue;
#pragma unroll
    for (int h = 0; h < kCols / 4; ++h) {
      const int col = col_of(h);
      if (col >= n) continue;
      *reinterpret_cast<float4*>(c + static_cast<long long>(row) * n + col) =
          make_float4(acc[i][h * 4], acc[i][h * 4 + 1], acc[i][h * 4 + 2], acc[i][h * 4 + 3]);
    }
  }
}

// Launches `kernel` with the ring's dynamic shared memory (more than 48 KB must be asked for per kernel).
template <int BM, int BN, int BK, int STAGES>
void launch(void (*kernel)(const float*, const float*, float*, int, int, int), dim3 grid, int threads, const float* a,
            const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k, cudaStream_t stream) {
  constexpr int bytes = RingLayout<BM, BN, BK, STAGES>::kBytes;
  MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  kernel<<<grid, threads, bytes, stream>>>(a, b, c, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k));
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace mlbench::kernels::cp_async
