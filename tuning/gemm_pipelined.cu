// SGEMM with an asynchronous copy pipeline, row-major C = A * B, fp32.
//
// A tuning version, not in the product: measured slower than the product's register-staged
// kernel at 4096 on the H100 (docs/performance.md); `mlbench_tune_gemm` validates and times it.
//
// Idea: the same 128x128 block tile and 8x8-per-thread register block as kernels/gemm_tiled.cuh, but
// global -> shared copies go through cp.async (LDGSTS) into a ring of STAGES shared-memory
// buffers, so that no registers stage the next slice and STAGES-1 slices are in flight while
// one is multiplied. A is kept k-contiguous in shared memory (no transposing store, which
// cp.async cannot do); each thread reads 4 consecutive k of one of its rows with one 16-byte
// load and uses them over 4 rank-1 updates, so shared-memory reads per FMA stay those of the
// transposed layout. Only for K and N multiples of 4 (16-byte aligned rows); the tuning program
// reports it as not applicable otherwise. Edge tiles are zero-filled by cp.async's src-size.
#include <stdexcept>

#include "kernels/cuda_check.h"
#include "tuning/gemm_pipelined.h"

namespace mlbench::kernels {

namespace {

constexpr int kThreads = 256;  // 16 x 16 threads, each an 8 x 8 block of C

// 16-byte global -> shared copy; bytes past `valid` (0 or 16) are filled with zeros.
__device__ __forceinline__ void copy_async_16(void* shared_dst, const void* global_src, bool valid) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(shared_dst));
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(global_src), "r"(src_bytes));
}
__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::); }
template <int kPending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

template <int BM, int BN, int BK, int STAGES>
struct PipelineLayout {
  static constexpr int kStrideA = BK + 4;  // k-contiguous rows of A, padded by 16 bytes
  static constexpr int kFloatsA = BM * kStrideA;
  static constexpr int kFloatsB = BK * BN;
  static constexpr int kBytes = STAGES * (kFloatsA + kFloatsB) * static_cast<int>(sizeof(float));
};

template <int BM, int BN, int BK, int STAGES>
__global__ void __launch_bounds__(kThreads, 2)
    gemm_pipelined_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, int m, int n,
                          int k) {
  using Layout = PipelineLayout<BM, BN, BK, STAGES>;
  static_assert(BM == 128 && BN == 128, "the thread grid below is laid out for 128 x 128 tiles");
  static_assert(BK % 4 == 0, "A is read 4 k at a time");
  constexpr int kCopiesA = BM * BK / 4 / kThreads;  // 16-byte copies per thread per slice
  constexpr int kCopiesB = BK * BN / 4 / kThreads;
  static_assert(kCopiesA * 4 * kThreads == BM * BK && kCopiesB * 4 * kThreads == BK * BN, "tile not divisible");

  extern __shared__ __align__(16) float shared[];
  float* a_ring = shared;                              // STAGES x [BM][kStrideA]
  float* b_ring = shared + STAGES * Layout::kFloatsA;  // STAGES x [BK][BN]

  const int tid = threadIdx.x;
  const int thread_col = tid % 16;  // columns thread_col*4 + {0..3} and + 64
  const int thread_row = tid / 16;  // rows    thread_row*4 + {0..3} and + 64
  const int block_row = blockIdx.y * BM;
  const int block_col = blockIdx.x * BN;
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
      const int row = block_row + r;
      const bool valid = row < m && k0 + col < k;
      const float* src = valid ? a + static_cast<long long>(row) * k + k0 + col : a;
      copy_async_16(a_slot + r * Layout::kStrideA + col, src, valid);
    }
#pragma unroll
    for (int i = 0; i < kCopiesB; ++i) {
      const int idx = tid + i * kThreads;
      const int r = idx / (BN / 4), col = (idx % (BN / 4)) * 4;
      const bool valid = k0 + r < k && block_col + col < n;
      const float* src = valid ? b + static_cast<long long>(k0 + r) * n + block_col + col : b;
      copy_async_16(b_slot + r * BN + col, src, valid);
    }
  };

  float acc[8][8] = {};

  // Fill the pipeline: STAGES-1 slices in flight (a group is committed even when empty, so
  // that wait_group counts stay aligned with slice numbers).
#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < tiles) load_slice(s);
    commit_copies();
  }

  for (int t = 0; t < tiles; ++t) {
    // Slice t has landed (at most STAGES-2 younger groups pending); the barrier also means
    // every thread finished slice t-1, whose slot the next copies overwrite.
    wait_copies<STAGES - 2>();
    __syncthreads();

    // Advance: start slice t+STAGES-1.
    if (t + STAGES - 1 < tiles) load_slice(t + STAGES - 1);
    commit_copies();

    // Compute in registers: 4 k at a time, one 16-byte read per row of A, two per k of B.
    const float* a_slot = a_ring + (t % STAGES) * Layout::kFloatsA;
    const float* b_slot = b_ring + (t % STAGES) * Layout::kFloatsB;
#pragma unroll
    for (int kq = 0; kq < BK; kq += 4) {
      float4 a_frag[8];
#pragma unroll
      for (int i = 0; i < 8; ++i) {
        const int r = thread_row * 4 + (i / 4) * (BM / 2) + i % 4;
        a_frag[i] = *reinterpret_cast<const float4*>(a_slot + r * Layout::kStrideA + kq);
      }
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
  }
  wait_copies<0>();  // no copy may still target shared memory when the block exits

  // Write back: 16-byte stores, 4 contiguous columns at a time.
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = block_row + thread_row * 4 + (i / 4) * (BM / 2) + i % 4;
    if (row >= m) continue;
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int col = block_col + thread_col * 4 + half * (BN / 2);
      if (col >= n) continue;  // n % 4 == 0, so a vector is wholly in or out
      *reinterpret_cast<float4*>(c + static_cast<long long>(row) * n + col) =
          make_float4(acc[i][half * 4], acc[i][half * 4 + 1], acc[i][half * 4 + 2], acc[i][half * 4 + 3]);
    }
  }
}

template <int BM, int BN, int BK, int STAGES>
void launch_pipelined(const float* a, const float* b, float* c, int m, int n, int k, cudaStream_t stream) {
  constexpr int bytes = PipelineLayout<BM, BN, BK, STAGES>::kBytes;
  auto* kernel = gemm_pipelined_kernel<BM, BN, BK, STAGES>;
  // More than 48 KB of dynamic shared memory must be asked for per kernel.
  MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid((n + BN - 1) / BN, (m + BM - 1) / BM);
  kernel<<<grid, kThreads, bytes, stream>>>(a, b, c, m, n, k);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool gemm_pipelined_supports(std::int64_t /*m*/, std::int64_t n, std::int64_t k) { return n % 4 == 0 && k % 4 == 0; }

void launch_gemm_pipelined(const float* a, const float* b, float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                           cudaStream_t stream, int bk, int stages) {
  if (!gemm_pipelined_supports(m, n, k)) throw std::invalid_argument("pipelined SGEMM needs N and K multiples of 4");
  const int mi = static_cast<int>(m), ni = static_cast<int>(n), ki = static_cast<int>(k);
  if (bk == 16 && stages == 3) return launch_pipelined<128, 128, 16, 3>(a, b, c, mi, ni, ki, stream);
  if (bk == 16 && stages == 4) return launch_pipelined<128, 128, 16, 4>(a, b, c, mi, ni, ki, stream);
  if (bk == 32 && stages == 3) return launch_pipelined<128, 128, 32, 3>(a, b, c, mi, ni, ki, stream);
  throw std::invalid_argument("pipelined SGEMM has no BK/stages combination " + std::to_string(bk) + "/" +
                              std::to_string(stages));
}

}  // namespace mlbench::kernels
