// The Hopper warpgroup-MMA (wgmma, sm_90a) tensor-core GEMM kernel, row-major C = A * B, bf16 or
// fp16 inputs and output, fp32 accumulation, with its stage count as a template parameter:
// kernels/gemm_tensor_core_wgmma.cu instantiates the product's 4 stages, tuning/
// gemm_tensor_core_wgmma_sweep.cu the 3 stages only the sweep times. Compiled for sm_90a only
// (each includer is a CMake object library of its own with CUDA_ARCHITECTURES 90a).
//
// Idea: a block of 2 warpgroups (256 threads) computes a 128 x 256 tile of C; each warpgroup
// owns 64 rows x 256 columns as 128 fp32 accumulators per thread and multiplies with
// `wgmma.mma_async.m64n256k16` (HGMMA in SASS), which reads both operands straight from shared
// memory through 64-bit matrix descriptors: no ldmatrix, no register fragments for A and B.
//  - Shared layout, 128-byte swizzle (the XOR pattern of tensor_core_ptx.cuh on 128-byte rows,
//    1024-byte aligned atoms of 8 rows): A (K-major) as 128 rows of 64 k; B (N-major, as B is
//    row-major K x N) as 4 column blocks of 64 n, each 64 k-rows of 128 bytes.
//  - Global -> shared: cp.async 16-byte copies into a ring of STAGES buffers, zero-filled past
//    the edges; `fence.proxy.async` makes them visible to the tensor cores.
//  - The MMAs of one K slice run asynchronously while the block waits for the next slice; one
//    slice of wgmma stays in flight (wait_group 1), so copies are issued STAGES - 2 ahead.
// Needs K and N multiples of 8 and 16-byte aligned rows (the caller falls back otherwise).
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

namespace mlbench::kernels::tensor_core_wgmma {

using namespace tensor_core;

constexpr int kBlockM = 128, kBlockN = 256, kBlockK = 64;
constexpr int kThreads = 256;                        // 2 warpgroups
constexpr int kStageBytesA = kBlockM * kBlockK * 2;  // 16 KiB
constexpr int kStageBytesB = kBlockK * kBlockN * 2;  // 32 KiB
constexpr int kStageBytes = kStageBytesA + kStageBytesB;
constexpr int kColumnBlockBytesB = kBlockK * 128;  // one 64-column block of B: 8 KiB

template <int STAGES>
constexpr int shared_bytes() {
  return STAGES * kStageBytes + 1024;
}  // + alignment slack

// ---------------------------------------------------------------- wgmma wrappers

// Matrix descriptor: start address, leading and stride byte offsets, 128-byte swizzle.
__device__ __forceinline__ std::uint64_t matrix_descriptor(unsigned address, unsigned leading_bytes,
                                                           unsigned stride_bytes) {
  return static_cast<std::uint64_t>((address & 0x3FFFF) >> 4) |
         static_cast<std::uint64_t>((leading_bytes & 0x3FFFF) >> 4) << 16 |
         static_cast<std::uint64_t>((stride_bytes & 0x3FFFF) >> 4) << 32 | std::uint64_t{1} << 62;
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}
// Ties the accumulators to this point of the program: the compiler may not move their reads or
// writes across it (they change behind its back while a wgmma is in flight).
__device__ __forceinline__ void pin_accumulators(float (&d)[128]) {
#pragma unroll
  for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(d[i])::"memory");
}
// cp.async writes are generic-proxy writes; the tensor cores read through the async proxy.
__device__ __forceinline__ void fence_async_proxy() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// One wgmma.mma_async m64n256k16 with fp32 accumulators; TYPES is "bf16.bf16" or "f16.f16" (the
// asm template must be a string literal, so the two input types share this one spelling).
#define MLBENCH_WGMMA_64X256X16(TYPES)                                                                               \
  asm volatile(                                                                                                      \
      "{\n.reg .pred accumulate;\nsetp.ne.b32 accumulate, %130, 0;\n"                                                \
      "wgmma.mma_async.sync.aligned.m64n256k16.f32." TYPES                                                           \
      " "                                                                                                            \
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                                      \
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "                             \
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "                             \
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "                             \
      "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "                             \
      "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "                             \
      "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "                 \
      "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "            \
      "%128, %129, accumulate, 1, 1, 0, 1;\n}\n"                                                                     \
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),  \
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),       \
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),      \
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),      \
        "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),      \
        "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),      \
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),      \
        "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]),      \
        "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]),      \
        "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]),      \
        "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]),      \
        "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]),      \
        "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), \
        "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]),            \
        "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]),            \
        "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]),            \
        "+f"(d[126]), "+f"(d[127])                                                                                   \
      : "l"(a_desc), "l"(b_desc), "r"(1))

// d (64 x 256 fp32, in wgmma's fragment order) += A (64 x 16, K-major) * B (16 x 256, N-major:
// imm-trans-b = 1), both read from shared memory through their descriptors.
template <class T>
__device__ __forceinline__ void wgmma_64x256x16(float (&d)[128], std::uint64_t a_desc, std::uint64_t b_desc) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    MLBENCH_WGMMA_64X256X16("bf16.bf16");
  } else {
    MLBENCH_WGMMA_64X256X16("f16.f16");
  }
}
#undef MLBENCH_WGMMA_64X256X16

// ---------------------------------------------------------------- the kernel

template <class T, int STAGES>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_wgmma_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c, int m, int n, int k) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __trap();  // wgmma exists on sm_90a only; the launcher checks the device first
#else
  constexpr int kAhead = STAGES - 2;  // K slices whose copies are in flight ahead of the MMAs
  static_assert(kAhead >= 1, "at least 3 stages");
  extern __shared__ unsigned char shared_raw[];
  // 128-byte swizzle atoms must start at 1024-byte boundaries.
  const unsigned shared_base = (shared_address(shared_raw) + 1023u) & ~1023u;

  const int tid = threadIdx.x, lane = tid % 32;
  const int warpgroup = tid / 128, warp_in_group = (tid % 128) / 32;
  const TilePosition tile = grouped_tile<kBlockM, kBlockN>(blockIdx.x, m, n);

  // Load tile: the 128 x 64 slice of A and the 64 x 256 slice of B starting at k0 into `stage`.
  auto load_tile = [&](int stage, int k0) {
    const unsigned a_tile = shared_base + stage * kStageBytes, b_tile = a_tile + kStageBytesA;
#pragma unroll
    for (int i = 0; i < kBlockM * 8 / kThreads; ++i) {  // 8 chunks of 16 bytes per A row
      const int idx = tid + i * kThreads;
      const int row = idx / 8, chunk = idx % 8;
      const int global_row = tile.row + row, global_k = k0 + chunk * 8;
      const bool valid = global_row < m && global_k < k;
      copy_async_16(a_tile + row * 128 + swizzle<8>(row, chunk) * 16,
                    valid ? a + static_cast<long long>(global_row) * k + global_k : a, valid);
    }
#pragma unroll
    for (int i = 0; i < kBlockK * kBlockN / 8 / kThreads; ++i) {  // 32 chunks per B row
      const int idx = tid + i * kThreads;
      const int row = idx / 32, chunk = idx % 32;
      const int global_k = k0 + row, global_col = tile.col + chunk * 8;
      const bool valid = global_k < k && global_col < n;
      copy_async_16(b_tile + (chunk / 8) * kColumnBlockBytesB + row * 128 + swizzle<8>(row, chunk % 8) * 16,
                    valid ? b + static_cast<long long>(global_k) * n + global_col : b, valid);
    }
  };

  float acc[128];
#pragma unroll
  for (int i = 0; i < 128; ++i) acc[i] = 0.0f;

  // Prologue: copies of the first kAhead slices, one commit group each.
  const int k_tiles = (k + kBlockK - 1) / kBlockK;
#pragma unroll
  for (int s = 0; s < kAhead; ++s) {
    if (s < k_tiles) load_tile(s, s * kBlockK);
    commit_copies();
  }

  for (int t = 0; t < k_tiles; ++t) {
    // Wait for slice t, hand it to the async proxy; the barrier also guarantees that the
    // wgmma of slice t - 2 finished in both warpgroups (each waited for it below).
    wait_copies<kAhead - 1>();
    fence_async_proxy();
    __syncthreads();

    // Advance: copy slice t + kAhead into the stage slice t - 2 used.
    const int next = t + kAhead;
    if (next < k_tiles) load_tile(next % STAGES, next * kBlockK);
    commit_copies();

    // Compute: 4 wgmma of K = 16 on this warpgroup's 64 rows; A advances 32 bytes inside its
    // 128-byte rows, B 16 rows (2 swizzle atoms) per step.
    const unsigned a_tile = shared_base + (t % STAGES) * kStageBytes + warpgroup * 64 * 128;
    const unsigned b_tile = shared_base + (t % STAGES) * kStageBytes + kStageBytesA;
    wgmma_fence();
    pin_accumulators(acc);
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk) {
      const std::uint64_t a_desc = matrix_descriptor(a_tile + kk * 32, 16, 1024);
      const std::uint64_t b_desc = matrix_descriptor(b_tile + kk * 16 * 128, kColumnBlockBytesB, 1024);
      wgmma_64x256x16<T>(acc, a_desc, b_desc);
    }
    wgmma_commit();
    pin_accumulators(acc);
    wgmma_wait<1>();
  }
  wgmma_wait<0>();
  pin_accumulators(acc);
  wait_copies<0>();

  // Write back: warp w of the warpgroup holds rows 16w + lane/4 (+ 8); accumulator 4j + e is
  // column 8j + 2*(lane%4) + e%2 of row (+8 for e >= 2).
  const int row = tile.row + warpgroup * 64 + warp_in_group * 16 + lane / 4;
#pragma unroll
  for (int j = 0; j < kBlockN / 8; ++j) {
    const int col = tile.col + j * 8 + (lane % 4) * 2;
    store_pair<T>(c, m, n, row, col, acc[4 * j], acc[4 * j + 1]);
    store_pair<T>(c, m, n, row + 8, col, acc[4 * j + 2], acc[4 * j + 3]);
  }
#endif
}

// ---------------------------------------------------------------- launch configuration

template <class T, int STAGES>
void launch_stages(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream) {
  const long long blocks = static_cast<long long>((m + kBlockM - 1) / kBlockM) * ((n + kBlockN - 1) / kBlockN);
  if (blocks > INT_MAX) throw std::invalid_argument("wgmma GEMM: too many tiles for one grid");
  constexpr auto kernel = gemm_wgmma_kernel<T, STAGES>;
  constexpr int bytes = shared_bytes<STAGES>();
  // A block gets more than 48 KiB of shared memory only after this; once per device.
  static std::atomic<std::uint64_t> configured{0};
  int device = 0;
  MLBENCH_CUDA_CHECK(cudaGetDevice(&device));
  const std::uint64_t bit = device < 64 ? std::uint64_t{1} << device : 0;
  if (bit == 0 || (configured.load() & bit) == 0) {
    MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    configured.fetch_or(bit);
  }
  kernel<<<static_cast<unsigned>(blocks), kThreads, bytes, stream>>>(a, b, c, m, n, k);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace mlbench::kernels::tensor_core_wgmma
