// SGEMM with an asynchronous copy pipeline, row-major C = A * B, fp32.
//
// A tuning version, not in the product: measured slower than the product's register-staged
// kernel at 4096 on the H100 (docs/performance.md); `mlbench_tune_gemm` validates and times it.
//
// Idea: the same 128x128 block tile and 8x8-per-thread register block as kernels/gemm_tiled.cuh, but
// global -> shared copies go through the cp.async ring of tuning/cp_async_pipeline.cuh, so that
// no registers stage the next slice and STAGES-1 slices are in flight while one is multiplied.
// A is kept k-contiguous in shared memory (no transposing store, which cp.async cannot do);
// each thread reads 4 consecutive k of one of its rows with one 16-byte load and uses them over
// 4 rank-1 updates, so shared-memory reads per FMA stay those of the transposed layout.
#include <stdexcept>
#include <string>

#include "tuning/cp_async_pipeline.cuh"
#include "tuning/gemm_cp_async.h"

namespace mlbench::kernels {

namespace {

constexpr int kThreads = 256;  // 16 x 16 threads, each an 8 x 8 block of C

template <int BM, int BN, int BK, int STAGES>
__global__ void __launch_bounds__(kThreads, 2)
    gemm_pipelined_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, int m, int n,
                          int k) {
  static_assert(BM == 128 && BN == 128, "the thread grid below is laid out for 128 x 128 tiles");
  constexpr int kStrideA = cp_async::RingLayout<BM, BN, BK, STAGES>::kStrideA;
  const int thread_col = threadIdx.x % 16;  // columns thread_col*4 + {0..3} and + 64
  const int thread_row = threadIdx.x / 16;  // rows    thread_row*4 + {0..3} and + 64
  const int block_row = blockIdx.y * BM;
  const int block_col = blockIdx.x * BN;
  auto row_in_tile = [&](int i) { return thread_row * 4 + (i / 4) * (BM / 2) + i % 4; };

  float acc[8][8] = {};
  cp_async::run_slices<BM, BN, BK, STAGES, kThreads>(
      a, b, m, n, k, block_row, block_col, [&](const float* a_slot, const float* b_slot) {
  // Compute in registers: 4 k at a time, one 16-byte read per row of A, two per k of B.
#pragma unroll
        for (int kq = 0; kq < BK; kq += 4) {
          float4 a_frag[8];
#pragma unroll
          for (int i = 0; i < 8; ++i)
            a_frag[i] = *reinterpret_cast<const float4*>(a_slot + row_in_tile(i) * kStrideA + kq);
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const float4 b0 = *reinterpret_cast<const float4*>(b_slot + (kq + e) * BN + thread_col * 4);
            const float4 b1 = *reinterpret_cast<const float4*>(b_slot + (kq + e) * BN + thread_col * 4 + BN / 2);
            const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; ++i) {
              const float av = e == 0 ? a_frag[i].x : e == 1 ? a_frag[i].y : e == 2 ? a_frag[i].z : a_frag[i].w;
#pragma unroll
              for (int j = 0; j < 8; ++j) acc[i][j] += av * bv[j];
            }
          }
        }
      });
  cp_async::store_block(
      c, m, n, acc, [&](int i) { return block_row + row_in_tile(i); },
      [&](int h) { return block_col + thread_col * 4 + h * (BN / 2); });
}

template <int BM, int BN, int BK, int STAGES>
void launch_pipelined(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                      cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((n + BN - 1) / BN), static_cast<unsigned>((m + BM - 1) / BM));
  cp_async::launch<BM, BN, BK, STAGES>(gemm_pipelined_kernel<BM, BN, BK, STAGES>, grid, kThreads, a, b, c, m, n, k,
                                       stream);
}

}  // namespace

void launch_gemm_pipelined(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages) {
  if (!gemm_cp_async_supports(m, n, k)) throw std::invalid_argument("pipelined SGEMM needs N and K multiples of 4");
  if (bk == 16 && stages == 3) return launch_pipelined<128, 128, 16, 3>(a, b, c, m, n, k, stream);
  if (bk == 16 && stages == 4) return launch_pipelined<128, 128, 16, 4>(a, b, c, m, n, k, stream);
  if (bk == 32 && stages == 3) return launch_pipelined<128, 128, 32, 3>(a, b, c, m, n, k, stream);
  throw std::invalid_argument("pipelined SGEMM has no BK/stages combination " + std::to_string(bk) + "/" +
                              std::to_string(stages));
}

}  // namespace mlbench::kernels
