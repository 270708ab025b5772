// The warp-specialized Hopper GEMM (sm_90a): row-major C = A * B, bf16 or fp16 inputs and output,
// fp32 accumulation, tiles loaded by the tensor memory accelerator (TMA). A tuning-lab kernel:
// tuning/gemm_tensor_core_wgmma_sweep.cu instantiates it (persistent grid, and one block per tile)
// for mlbench_tune_gemm (tc-wgmma-ws-*), which times it against the product's wgmma kernel
// (kernels/gemm_tensor_core_wgmma.cuh) and cuBLAS; it moves into kernels/ as a TensorCoreTile once
// an H200 run shows it verified and faster at 4096 and 8192 (docs/performance.md, issue 20).
// Compiled for sm_90a only (its includer is a CMake object library with CUDA_ARCHITECTURES 90a).
//
// Idea (lineage: CUTLASS's warp-specialized sm90 "cooperative" kernel, and the public "outperforming
// cuBLAS on H100" walk-throughs): the product kernel (kernels/gemm_tensor_core_wgmma.cuh) makes every
// thread both copy and multiply, so the copies' address arithmetic, the cp.async waits and a
// block-wide barrier per K slice sit between the wgmma groups. Here the roles are split:
//  - 3 warpgroups (384 threads). Warpgroup 0 is the producer: one thread issues the TMA copies
//    (`cp.async.bulk.tensor.2d`, one box of A 64 k x 128 rows and four boxes of B 64 n x 64 k per
//    K slice, 128-byte swizzle, zero-filled past the matrix edges); it gives its registers away
//    (`setmaxnreg.dec` to 40). Warpgroups 1 and 2 are the consumers (`setmaxnreg.inc` to 232): each
//    owns 64 rows x 256 columns of the 128 x 256 block tile as 128 fp32 accumulators per thread and
//    runs `wgmma.mma_async.m64n256k16` from shared memory (the shared layout of the product
//    kernel: A K-major, B N-major as 4 column blocks of 64 n; imm-trans-b = 1).
//  - A ring of STAGES shared-memory stages guarded by mbarriers: full[s] completes when the TMA
//    bytes of stage s have landed (expect_tx), empty[s] when both consumers have read it. A
//    consumer keeps one wgmma group in flight and releases a stage once `wgmma.wait_group 1`
//    says the group that read it is done. No block-wide barrier in the main loop.
//  - PERSISTENT: one block per multiprocessor loops over the tiles in grouped order (block b
//    takes tiles b, b + grid, ...), so the producer already loads the next tile while the
//    consumers store the last one, and no block is launched or set up per tile; otherwise one
//    block per tile. The tiles still split unevenly over the SMs (at 8192: 2048 tiles on 132
//    SMs, 68 blocks take 16, 64 take 15). Both consumers share each tile, so the tensor cores
//    idle while they store it (CUTLASS's "pingpong" variant gives each consumer its own tile
//    to hide that: not tried).
// Needs K and N multiples of 8 and 16-byte aligned pointers (the TMA's 16-byte global strides;
// the caller falls back otherwise); any M.
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/cuda_check.h"
#include "kernels/gemm_tensor_core_wgmma.cuh"
#include "kernels/tensor_core_ptx.cuh"

namespace mlbench::tuning::tensor_core_wgmma_ws {

using namespace kernels::tensor_core;
using kernels::tensor_core_wgmma::kBlockK;
using kernels::tensor_core_wgmma::kBlockM;
using kernels::tensor_core_wgmma::kBlockN;
using kernels::tensor_core_wgmma::kColumnBlockBytesB;
using kernels::tensor_core_wgmma::kStageBytes;
using kernels::tensor_core_wgmma::kStageBytesA;

constexpr int kThreads = 384;  // producer warpgroup + 2 consumer warpgroups
constexpr int kProducerRegisters = 40, kConsumerRegisters = 232;

template <int STAGES>
constexpr int shared_bytes() {
  return STAGES * kStageBytes + 1024;  // the stages, plus slack for 1024-byte alignment
}

// ---------------------------------------------------------------- mbarrier and TMA wrappers

__device__ __forceinline__ void mbarrier_init(unsigned bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Makes the initialized barriers visible to the async proxy (the TMA unit) and the other threads.
__device__ __forceinline__ void fence_barrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
// One arrival that also announces `bytes` of TMA traffic the current phase must wait for.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarrier_arrive(unsigned bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Spins until the phase of parity `parity` has completed (parity 1 on a fresh barrier returns at
// once: the phase before the first counts as completed).
__device__ __forceinline__ void mbarrier_wait(unsigned bar, unsigned parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}

// TMA: the box of `map` whose first element is (inner, outer) into shared `dst`, completing on
// barrier `bar`; elements past the tensor's edges arrive as zeros.
__device__ __forceinline__ void tma_load_2d(unsigned dst, const CUtensorMap* map, int inner, int outer, unsigned bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
          dst),
      "l"(map), "r"(inner), "r"(outer), "r"(bar)
      : "memory");
}
__device__ __forceinline__ void prefetch_tensor_map(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(map) : "memory");
}

template <int kRegisters>
__device__ __forceinline__ void registers_decrease() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
}
template <int kRegisters>
__device__ __forceinline__ void registers_increase() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
}

// ---------------------------------------------------------------- the kernel

template <class T, int STAGES, bool PERSISTENT>
__global__ void __launch_bounds__(kThreads, 1)
    gemm_wgmma_ws_kernel(const __grid_constant__ CUtensorMap a_map, const __grid_constant__ CUtensorMap b_map,
                         T* __restrict__ c, int m, int n, int k) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
  __trap();  // wgmma, setmaxnreg exist on sm_90a only; the launcher checks the device first
#else
  extern __shared__ unsigned char shared_raw[];
  __shared__ std::uint64_t full[STAGES], empty[STAGES];
  // 128-byte swizzle atoms (and TMA boxes with that swizzle) start at 1024-byte boundaries.
  const unsigned shared_base = (shared_address(shared_raw) + 1023u) & ~1023u;
  const unsigned full_bar = shared_address(full), empty_bar = shared_address(empty);

  const int tid = threadIdx.x, warpgroup = tid / 128;
  const int tiles = ((m + kBlockM - 1) / kBlockM) * ((n + kBlockN - 1) / kBlockN);
  const int k_tiles = (k + kBlockK - 1) / kBlockK;
  const int first_tile = blockIdx.x, tile_step = PERSISTENT ? gridDim.x : tiles;

  if (tid == 0) {
    prefetch_tensor_map(&a_map);
    prefetch_tensor_map(&b_map);
#pragma unroll
    for (int s = 0; s < STAGES; ++s) {
      mbarrier_init(full_bar + 8 * s, 1);   // the producer's arrive.expect_tx (+ the TMA bytes)
      mbarrier_init(empty_bar + 8 * s, 2);  // one arrival per consumer warpgroup
    }
    fence_barrier_init();
  }
  __syncthreads();

  if (warpgroup == 0) {
    // ---- producer: one thread walks the same (tile, K slice) sequence as the consumers and
    // refills each stage once both consumers released it.
    registers_decrease<kProducerRegisters>();
    if (tid == 0) {
      int stage = 0;
      unsigned phase = 0;
      for (int tile = first_tile; tile < tiles; tile += tile_step) {
        const TilePosition pos = grouped_tile<kBlockM, kBlockN>(tile, m, n);
        for (int t = 0; t < k_tiles; ++t) {
          mbarrier_wait(empty_bar + 8 * stage, phase ^ 1);
          const unsigned a_tile = shared_base + stage * kStageBytes, b_tile = a_tile + kStageBytesA;
          const unsigned bar = full_bar + 8 * stage;
          mbarrier_arrive_expect_tx(bar, kStageBytes);
          tma_load_2d(a_tile, &a_map, t * kBlockK, pos.row, bar);
#pragma unroll
          for (int cb = 0; cb < kBlockN / 64; ++cb)
            tma_load_2d(b_tile + cb * kColumnBlockBytesB, &b_map, pos.col + cb * 64, t * kBlockK, bar);
          if (++stage == STAGES) stage = 0, phase ^= 1;
        }
      }
    }
  } else {
    // ---- consumers: warpgroup 1 takes rows 0-63 of the block tile, warpgroup 2 rows 64-127.
    registers_increase<kConsumerRegisters>();
    const int consumer = warpgroup - 1, lane = tid % 32, warp_in_group = (tid % 128) / 32;
    const bool signals = tid % 128 == 0;  // the thread that releases stages for its warpgroup
    int stage = 0;
    unsigned phase = 0;
    float acc[128];
    for (int tile = first_tile; tile < tiles; tile += tile_step) {
      const TilePosition pos = grouped_tile<kBlockM, kBlockN>(tile, m, n);
#pragma unroll
      for (int i = 0; i < 128; ++i) acc[i] = 0.0f;
      int previous = -1;  // the stage the wgmma group still in flight reads
      for (int t = 0; t < k_tiles; ++t) {
        mbarrier_wait(full_bar + 8 * stage, phase);
        // 4 wgmma of K = 16: A advances 32 bytes inside its 128-byte rows, B 16 rows (2 swizzle
        // atoms) per step.
        const unsigned a_tile = shared_base + stage * kStageBytes + consumer * 64 * 128;
        const unsigned b_tile = shared_base + stage * kStageBytes + kStageBytesA;
        kernels::tensor_core_wgmma::wgmma_fence();
        kernels::tensor_core_wgmma::pin_accumulators(acc);
#pragma unroll
        for (int kk = 0; kk < kBlockK / 16; ++kk) {
          const std::uint64_t a_desc = kernels::tensor_core_wgmma::matrix_descriptor(a_tile + kk * 32, 16, 1024);
          const std::uint64_t b_desc =
              kernels::tensor_core_wgmma::matrix_descriptor(b_tile + kk * 16 * 128, kColumnBlockBytesB, 1024);
          kernels::tensor_core_wgmma::wgmma_64x256x16<T>(acc, a_desc, b_desc);
        }
        kernels::tensor_core_wgmma::wgmma_commit();
        kernels::tensor_core_wgmma::pin_accumulators(acc);
        // The group of the previous slice is done: its stage may be refilled.
        kernels::tensor_core_wgmma::wgmma_wait<1>();
        if (previous >= 0 && signals) mbarrier_arrive(empty_bar + 8 * previous);
        previous = stage;
        if (++stage == STAGES) stage = 0, phase ^= 1;
      }
      kernels::tensor_core_wgmma::wgmma_wait<0>();
      kernels::tensor_core_wgmma::pin_accumulators(acc);
      if (previous >= 0 && signals) mbarrier_arrive(empty_bar + 8 * previous);

      // Write back (the producer is already loading the next tile): warp w of the warpgroup holds
      // rows 16w + lane/4 (+ 8); accumulator 4j + e is column 8j + 2*(lane%4) + e%2 of row (+8 for
      // e >= 2). store_pair masks what lies outside M x N.
      const int row = pos.row + consumer * 64 + warp_in_group * 16 + lane / 4;
#pragma unroll
      for (int j = 0; j < kBlockN / 8; ++j) {
        const int col = pos.col + j * 8 + (lane % 4) * 2;
        store_pair<T>(c, m, n, row, col, acc[4 * j], acc[4 * j + 1]);
        store_pair<T>(c, m, n, row + 8, col, acc[4 * j + 2], acc[4 * j + 3]);
      }
    }
  }
#endif
}

// ---------------------------------------------------------------- host side

// cuTensorMapEncodeTiled through the runtime's driver entry point (no link against libcuda).
inline PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static const PFN_cuTensorMapEncodeTiled_v12000 encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    MLBENCH_CUDA_CHECK(
        cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || fn == nullptr)
      throw std::runtime_error("wgmma GEMM: the driver has no cuTensorMapEncodeTiled");
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  }();
  return encode;
}

// A row-major rows x cols matrix of 16-bit elements read in boxes of box_cols x box_rows with the
// 128-byte swizzle (box_cols * 2 bytes must be 128); out-of-bounds elements read as zero.
template <class T>
CUtensorMap tensor_map_2d(const T* base, int rows, int cols, int box_rows, int box_cols) {
  static_assert(sizeof(T) == 2, "16-bit elements");
  CUtensorMap map{};
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cols), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(cols) * sizeof(T)};  // bytes, multiple of 16
  const cuuint32_t box[2] = {static_cast<cuuint32_t>(box_cols), static_cast<cuuint32_t>(box_rows)};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult result = tensor_map_encoder()(
      &map, std::is_same_v<T, __nv_bfloat16> ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2,
      const_cast<T*>(base), dims, strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS)
    throw std::runtime_error("wgmma GEMM: cuTensorMapEncodeTiled failed (" + std::to_string(result) + ")");
  return map;
}

// Launches the kernel; the tensor maps are rebuilt per launch (host-side work, expected to hide
// behind the previous launch's GPU time; not measured yet, nor a per-(pointer, shape) cache).
template <class T, int STAGES, bool PERSISTENT>
void launch(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream) {
  const long long tiles = static_cast<long long>((m + kBlockM - 1) / kBlockM) * ((n + kBlockN - 1) / kBlockN);
  if (tiles > INT_MAX) throw std::invalid_argument("wgmma GEMM: too many tiles for one grid");
  constexpr auto kernel = gemm_wgmma_ws_kernel<T, STAGES, PERSISTENT>;
  constexpr int bytes = shared_bytes<STAGES>();
  int device = 0, sm_count = 0;
  MLBENCH_CUDA_CHECK(cudaGetDevice(&device));
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device));
  // A block gets more than 48 KiB of shared memory only after this (cheap; set every launch
  // rather than tracked per device).
  MLBENCH_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const CUtensorMap a_map = tensor_map_2d(a, m, k, kBlockM, kBlockK);  // A: M x K, boxes 64 k x 128 rows
  const CUtensorMap b_map = tensor_map_2d(b, k, n, kBlockK, 64);       // B: K x N, boxes 64 n x 64 k
  const long long blocks = PERSISTENT ? std::min<long long>(tiles, sm_count) : tiles;
  kernel<<<static_cast<unsigned>(blocks), kThreads, bytes, stream>>>(a_map, b_map, c, m, n, k);
  MLBENCH_CUDA_CHECK_LAUNCH();
}

}  // namespace mlbench::tuning::tensor_core_wgmma_ws
