// The tiles of the tensor-core GEMM kernels (kernels/gemm_tensor_core.cuh, mma.sync, and
// kernels/gemm_tensor_core_wgmma.cuh, Hopper wgmma) that the sweep times besides the product's
// (kernels/gemm_tensor_core.h, TensorCoreTile: the ones pick_tensor_core_tile can choose),
// instantiated only here, and the tuning lab's warp-specialized TMA kernel
// (tuning/gemm_tensor_core_wgmma_ws.cuh). Measured at 8192 bf16 on the H100 (kernels/NOTES.md):
// wgmma 3-stage 526-533 TFLOP/s against the product's 4-stage 628-639; mma.sync 128x256x32
// 3-stage 344-350 against 128x128x32 4-stage 387-390. The warp-specialized tiles are not yet
// measured (written 2026-12-04 without a GPU: docs/performance.md, issue 20).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench/reduced_float.h"

namespace mlbench::tuning {

enum class TensorCoreSweepTile {
  wgmma_m128n256k64s3,          // 2 warpgroups of 64x256, 3 stages (144 KiB shared)
  m128n256k32s3,                // mma.sync: 8 warps of 64x64, 3 stages (72 KiB)
  wgmma_ws_m128n256k64s4,       // warp-specialized TMA: 1 producer + 2 consumer warpgroups of
                                // 64x256, 4 stages (192 KiB), persistent grid
  wgmma_ws_m128n256k64s4_grid,  // the same kernel with one block per tile
};
std::string to_string(TensorCoreSweepTile tile);
std::vector<TensorCoreSweepTile> tensor_core_sweep_tiles();
bool is_wgmma(TensorCoreSweepTile tile);

// As kernels::launch_gemm_tensor_core with a sweep tile: T bfloat16 or float16, M, N, K in
// [1, 2^31); rows that are not 16-byte aligned take the product's element-wise path whatever
// the tile; a wgmma tile on a device without wgmma throws std::invalid_argument.
template <class T>
void launch_gemm_tensor_core_sweep(const T* a, const T* b, T* c, std::int64_t m, std::int64_t n, std::int64_t k,
                                   cudaStream_t stream, TensorCoreSweepTile tile);

// The 3-stage wgmma instance (gemm_tensor_core_wgmma_sweep.cu, built for sm_90a only): K and N
// multiples of 8, 16-byte aligned pointers.
template <class T>
void launch_gemm_wgmma_3_stages(const T* a, const T* b, T* c, int m, int n, int k, cudaStream_t stream);
// The warp-specialized TMA kernel (tuning/gemm_tensor_core_wgmma_ws.cuh; same file, same
// requirements, compute capability 9.0): `persistent` one block per multiprocessor looping over
// the tiles, otherwise one block per tile.
template <class T>
void launch_gemm_wgmma_ws(const T* a, const T* b, T* c, int m, int n, int k, bool persistent, cudaStream_t stream);

}  // namespace mlbench::tuning
