// Host entry of the tensor-core GEMM (kernels/gemm_tensor_core.cu): row-major C = A * B with
// bf16 or fp16 inputs and output (A: M x K, B: K x N, C: M x N), fp32 accumulation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/reduced_float.h"

namespace mlbench::kernels {

// Block tile (BM x BN, K step BK) and number of shared-memory stages of the kernel: warp-level
// mma.sync tiles (gemm_tensor_core.cu, any GPU from sm_80) and the Hopper warpgroup wgmma tile
// (gemm_tensor_core_wgmma.cu, compute capability 9.0 only). These are the tiles the product
// instantiates, the ones pick_tensor_core_tile can choose (`automatic`); mlbench_tune_gemm
// (tuning/) times each of them forced, and the ones it alone instantiates
// (tuning/gemm_tensor_core_sweep.h: wgmma 3-stage, mma.sync 128x256x32 3-stage, the
// warp-specialized TMA kernel).
enum class TensorCoreTile {
  automatic,
  wgmma_m128n256k64s4,  // 2 warpgroups of 64x256, 4 stages (192 KiB shared)
  m128n128k32s4,        // mma.sync: 4 warps of 64x64, 4 stages (64 KiB)
  m64n64k32s4,          // mma.sync: 4 warps of 32x32, 4 stages (32 KiB): small problems
};
std::string to_string(TensorCoreTile tile);
std::vector<TensorCoreTile> tensor_core_tiles();  // every explicit tile
bool is_wgmma(TensorCoreTile tile);

// Whether `device` can run the wgmma tiles (compute capability 9.0: H100, H200).
bool tensor_core_wgmma_available(int device);

// The tile `automatic` runs for an M x N output on a device with `sm_count` multiprocessors:
// on Hopper (`wgmma`) the wgmma tile once it gives at least half the multiprocessors a block;
// otherwise the largest mma.sync tile that gives every multiprocessor one (measurements in
// kernels/NOTES.md).
TensorCoreTile pick_tensor_core_tile(std::int64_t m, std::int64_t n, int sm_count, bool wgmma);

// Whether the 16-byte cp.async path runs (K and N multiples of 8, 16-byte aligned pointers);
// otherwise the kernel loads element by element, zero-filling past the edges, with the
// 64x64x32 tile whatever `tile` says (a correctness path).
bool tensor_core_vectorized(const void* a, const void* b, std::int64_t n, std::int64_t k);

// T: mlbench::bfloat16 or mlbench::float16 (the bytes of __nv_bfloat16 / __half). Launches on
// `stream`; M, N, K >= 1 and each < 2^31. `tile` must not be automatic (resolve it with
// pick_tensor_core_tile); a wgmma tile on a device without wgmma throws std::invalid_argument.
template <class T>
void launch_gemm_tensor_core(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                             cudaStream_t stream, TensorCoreTile tile);

}  // namespace mlbench::kernels
