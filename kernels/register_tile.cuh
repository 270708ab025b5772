// The inner step shared by the tiled GEMM and the implicit-GEMM convolution: with one BK-deep
// slice of A (stored k-major, BM rows wide) and of B (BN columns wide) in shared memory, each
// thread adds the outer products into its (2V) x (2V) block of C held in registers. The block
// is split in two halves BM/2 (BN/2) apart, so that a warp's 16-byte shared loads hit distinct
// banks.
#pragma once

#include "kernels/device_vectors.cuh"

namespace mlbench::kernels {

template <class T, class Vec, int V, int BM, int BN, int BK, int A_STRIDE>
__device__ __forceinline__ void accumulate_register_tile(T (&acc)[2 * V][2 * V], const T (&a_tile)[BK][A_STRIDE],
                                                         const T (&b_tile)[BK][BN], int thread_row, int thread_col) {
#pragma unroll
  for (int kk = 0; kk < BK; ++kk) {
    Vec a_frag[2], b_frag[2];
    a_frag[0] = *reinterpret_cast<const Vec*>(&a_tile[kk][thread_row * V]);
    a_frag[1] = *reinterpret_cast<const Vec*>(&a_tile[kk][thread_row * V + BM / 2]);
    b_frag[0] = *reinterpret_cast<const Vec*>(&b_tile[kk][thread_col * V]);
    b_frag[1] = *reinterpret_cast<const Vec*>(&b_tile[kk][thread_col * V + BN / 2]);
#pragma unroll
    for (int i = 0; i < 2 * V; ++i) {
      const T a_value = element<Vec, T>(a_frag[i / V], i % V);
#pragma unroll
      for (int j = 0; j < 2 * V; ++j) acc[i][j] += a_value * element<Vec, T>(b_frag[j / V], j % V);
    }
  }
}

}  // namespace mlbench::kernels
