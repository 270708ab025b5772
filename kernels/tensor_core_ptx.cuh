// Device helpers shared by the tensor-core GEMM kernels (gemm_tensor_core.cu, mma.sync, and
// gemm_tensor_core_wgmma.cu, wgmma) and the attention kernel (attention_flash_tc.cu): cp.async
// copies, ldmatrix and mma.sync wrappers, 16-bit conversions, the XOR swizzle of shared rows
// and the grouped block order.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

namespace mlbench::kernels::tensor_core {

__device__ __forceinline__ unsigned shared_address(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy that bypasses L1; `valid` false writes 16 zero bytes and
// reads nothing.
__device__ __forceinline__ void copy_async_16(unsigned shared_dst, const void* global_src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_dst), "l"(global_src), "r"(valid ? 16 : 0)
               : "memory");
}
__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most kPending of this thread's commit groups are still in flight.
template <int kPending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Four 8x8 b16 matrices from shared memory; lanes 8i..8i+7 give the row addresses of matrix i,
// register i of lane l holds row l/4, columns 2(l%4), 2(l%4)+1 of matrix i (transposed: the
// matrix is read column by column).
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], unsigned shared_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_row));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], unsigned shared_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_row));
}

// d += a * b for one 16x8x16 tile (mma.sync, HMMA): a row-major 16x16 (4 registers), b
// column-major 16x8 (2 registers), d fp32 16x8; T __nv_bfloat16 or __half.
template <class T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const std::uint32_t (&a)[4], std::uint32_t b0,
                                             std::uint32_t b1) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
}

template <class T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}

// Two fp32 values rounded to T and packed into one 32-bit word (lo at the lower address).
template <class T>
__device__ __forceinline__ std::uint32_t pack2(float lo, float hi) {
  T pair[2] = {from_float<T>(lo), from_float<T>(hi)};
  std::uint32_t bits;
  memcpy(&bits, pair, sizeof bits);
  return bits;
}

// Position of 16-byte chunk `chunk` of shared row `row` (rows of kChunks chunks), chosen so
// that 8 consecutive rows at one logical chunk land in 8 different 16-byte bank groups. Rows
// of 4 chunks (64 bytes) pair up in a 128-byte bank line, hence the (row / 2) for them. With
// 8-chunk (128-byte) rows this is exactly Hopper's 128-byte swizzle mode that wgmma reads.
template <int kChunks>
__device__ __forceinline__ int swizzle(int row, int chunk) {
  static_assert(kChunks == 4 || kChunks % 8 == 0, "rows of 4 or a multiple of 8 chunks");
  if constexpr (kChunks == 4)
    return chunk ^ ((row >> 1) & 3);
  else
    return chunk ^ (row & 7);
}

// Block order: blocks are numbered in groups of kGroupRows tile rows, column by column inside a
// group, so that the blocks resident at one time share A rows and B columns in L2.
struct TilePosition {
  int row, col;  // first row and column of the block's C tile
};
template <int BM, int BN, int kGroupRows = 8>
__device__ __forceinline__ TilePosition grouped_tile(int block, int m, int n) {
  const int tiles_m = (m + BM - 1) / BM, tiles_n = (n + BN - 1) / BN;
  const int per_group = kGroupRows * tiles_n;
  const int first_tile_row = (block / per_group) * kGroupRows;
  const int group_rows = min(tiles_m - first_tile_row, kGroupRows);
  const int in_group = block % per_group;
  return {(first_tile_row + in_group % group_rows) * BM, (in_group / group_rows) * BN};
}

// Stores C[row][col], C[row][col + 1] (as one 4-byte word where the row allows it), skipping
// whatever lies outside the M x N matrix.
template <class T>
__device__ __forceinline__ void store_pair(T* c, int m, int n, int row, int col, float v0, float v1) {
  if (row >= m || col >= n) return;
  T* const dst = c + static_cast<long long>(row) * n + col;
  if (n % 2 == 0 && col + 1 < n) {
    *reinterpret_cast<std::uint32_t*>(dst) = pack2<T>(v0, v1);
  } else {
    dst[0] = from_float<T>(v0);
    if (col + 1 < n) dst[1] = from_float<T>(v1);
  }
}

}  // namespace mlbench::kernels::tensor_core
