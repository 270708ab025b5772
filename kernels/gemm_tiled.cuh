// The CUDA-core tiled GEMM kernel, row-major C = A * B (A: M x K, B: K x N), fp32 and fp64,
// with its block tile as template parameters: kernels/gemm_tiled.cu instantiates the tiles the
// product picks, tuning/gemm_tile_sweep.cu the others the sweep times.
//
// Idea (after siboehm/SGEMM_CUDA kernels 6-10): each block computes a BM x BN tile of C.
// Per K step it stages a BM x BK slice of A (transposed, so that a thread's rows are
// contiguous) and a BK x BN slice of B in shared memory, double-buffered: the next slice is
// loaded from global memory into registers while the current one is multiplied. Each thread
// accumulates a (2V) x (2V) block of C in registers, V = elements per 16-byte vector (8x8 for
// fp32, 4x4 for fp64), as four V x V sub-blocks half a tile apart, so that a warp's 16-byte
// shared-memory reads hit consecutive addresses (no bank conflicts) and its stores to C are
// contiguous. Global loads are 16 bytes wide when rows are 16-byte aligned (K and N multiples
// of V); otherwise a scalar path loads element by element. Edge tiles are bounds-checked and
// padded with zeros, so any M, N, K >= 1 works.
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/cuda_check.h"
#include "kernels/device_vectors.cuh"
#include "kernels/register_tile.cuh"

namespace mlbench::kernels {

// Threads per block: each owns a (2V) x (2V) block of the BM x BN tile.
template <class T, int BM, int BN>
__host__ __device__ constexpr int gemm_tiled_threads() {
  constexpr int v = Vec16<T>::size;
  return BM * BN / (4 * v * v);
}

// Blocks per SM the register budget must allow (2 blocks of 256 threads: <= 128 registers).
template <class T, int BM, int BN, int BK, bool kVectorized>
__global__ void __launch_bounds__(gemm_tiled_threads<T, BM, BN>(), 2)
    gemm_tiled_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c, int m, int n, int k) {
  using Vec = typename Vec16<T>::type;
  constexpr int V = Vec16<T>::size;
  constexpr int kThreads = gemm_tiled_threads<T, BM, BN>();
  constexpr int kPadA = V;  // shifts the transposed A rows across banks; keeps 16-byte alignment
  constexpr int kLoadsA = BM * BK / V / kThreads;
  constexpr int kLoadsB = BK * BN / V / kThreads;
  static_assert(kLoadsA * V * kThreads == BM * BK && kLoadsB * V * kThreads == BK * BN, "tile not divisible");
  static_assert((BN / (2 * V)) * (BM / (2 * V)) == kThreads, "thread grid must cover the tile");

  __shared__ __align__(16) T a_tile[2][BK][BM + kPadA];
  __shared__ __align__(16) T b_tile[2][BK][BN];

  const int tid = threadIdx.x;
  const int thread_col = tid % (BN / (2 * V));  // this thread's columns: thread_col*V (+ BN/2)
  const int thread_row = tid / (BN / (2 * V));  // this thread's rows:    thread_row*V (+ BM/2)
  const int block_row = blockIdx.y * BM;
  const int block_col = blockIdx.x * BN;

  Vec next_a[kLoadsA], next_b[kLoadsB];

  // Load tile: global -> registers, zero outside the matrices.
  auto load_tile = [&](int k0) {
#pragma unroll
    for (int i = 0; i < kLoadsA; ++i) {
      const int idx = tid + i * kThreads;
      const int r = idx / (BK / V), col = k0 + (idx % (BK / V)) * V;
      const int row = block_row + r;
      const T* src = a + static_cast<long long>(row) * k + col;
      if constexpr (kVectorized) {
        next_a[i] = (row < m && col < k) ? *reinterpret_cast<const Vec*>(src) : Vec{};
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) element<Vec, T>(next_a[i], e) = (row < m && col + e < k) ? src[e] : T(0);
      }
    }
#pragma unroll
    for (int i = 0; i < kLoadsB; ++i) {
      const int idx = tid + i * kThreads;
      const int row = k0 + idx / (BN / V), col = block_col + (idx % (BN / V)) * V;
      const T* src = b + static_cast<long long>(row) * n + col;
      if constexpr (kVectorized) {
        next_b[i] = (row < k && col < n) ? *reinterpret_cast<const Vec*>(src) : Vec{};
      } else {
#pragma unroll
        for (int e = 0; e < V; ++e) element<Vec, T>(next_b[i], e) = (row < k && col + e < n) ? src[e] : T(0);
      }
    }
  };
  // Store tile: registers -> shared buffer `buf`, A transposed.
  auto store_tile = [&](int buf) {
#pragma unroll
    for (int i = 0; i < kLoadsA; ++i) {
      const int idx = tid + i * kThreads;
      const int r = idx / (BK / V), kk = (idx % (BK / V)) * V;
#pragma unroll
      for (int e = 0; e < V; ++e) a_tile[buf][kk + e][r] = element<Vec, T>(next_a[i], e);
    }
#pragma unroll
    for (int i = 0; i < kLoadsB; ++i) {
      const int idx = tid + i * kThreads;
      *reinterpret_cast<Vec*>(&b_tile[buf][idx / (BN / V)][(idx % (BN / V)) * V]) = next_b[i];
    }
  };

  T acc[2 * V][2 * V] = {};
  const int tiles = (k + BK - 1) / BK;
  load_tile(0);
  store_tile(0);
  __syncthreads();

  for (int t = 0; t < tiles; ++t) {
    const int buf = t & 1;
    // Advance: start the global loads of the next slice; they land while we compute.
    if (t + 1 < tiles) load_tile((t + 1) * BK);

    // Compute in registers: a rank-1 update of the thread's (2V) x (2V) block per k.
    accumulate_register_tile<T, Vec, V, BM, BN, BK, BM + kPadA>(acc, a_tile[buf], b_tile[buf], thread_row, thread_col);

    // The other buffer was last read in iteration t-1, before the barrier that ended it.
    if (t + 1 < tiles) store_tile(buf ^ 1);
    __syncthreads();
  }

  // Write back: one 16-byte store per V contiguous columns where the row allows it.
#pragma unroll
  for (int i = 0; i < 2 * V; ++i) {
    const int row = block_row + thread_row * V + (i / V) * (BM / 2) + i % V;
    if (row >= m) continue;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = block_col + thread_col * V + half * (BN / 2);
      T* dst = c + static_cast<long long>(row) * n + col;
      if (kVectorized && col < n) {
        Vec out;
#pragma unroll
        for (int e = 0; e < V; ++e) element<Vec, T>(out, e) = acc[i][half * V + e];
        *reinterpret_cast<Vec*>(dst) = out;
      } else if (!kVectorized) {
#pragma unroll
        for (int e = 0; e < V; ++e)
          if (col + e < n) dst[e] = acc[i][half * V + e];
      }
    }
  }
}

// Launches the BM x BN x BK instance on `stream`: the 16-byte-load kernel when every row is
// 16-byte aligned, else the scalar one. M, N, K >= 1 and int-sized.
template <class T, int BM, int BN, int BK>
void launch_gemm_tile(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream) {
  constexpr int V = Vec16<T>::size;
  const dim3 grid((n + BN - 1) / BN, (m + BM - 1) / BM);
  const dim3 block(gemm_tiled_threads<T, BM, BN>());
  // 16-byte loads need every row start aligned: cudaMalloc aligns the base, K and N the rows.
  if (k % V == 0 && n % V == 0) {
    gemm_tiled_kernel<T, BM, BN, BK, true><<<grid, block, 0, stream>>>(a, b, c, m, n, k);
  } else {
    gemm_tiled_kernel<T, BM, BN, BK, false><<<grid, block, 0, stream>>>(a, b, c, m, n, k);
  }
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace mlbench::kernels
