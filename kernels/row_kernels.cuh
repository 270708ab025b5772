// Device helpers shared by the row-wise kernels (softmax_rows.cu, layernorm_rows.cu): the
// register-resident row layout, vector loads/stores of 1 or 16/sizeof(T) elements widened to
// the accumulation type, and a reduction over the warps that share one row.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/element_types.cuh"

namespace mlbench::kernels::rows {

// kVec consecutive elements of T, aligned to their size, so that a 16-byte group is one load.
template <class T, int kVec>
struct alignas(sizeof(T) * kVec) Pack {
  T v[kVec];
};

// Loads kVec elements at `src` (aligned to the pack) widened to Acc.
template <class T, int kVec, class Acc>
__device__ __forceinline__ void load_pack(const T* src, Acc* out) {
  const Pack<T, kVec> p = *reinterpret_cast<const Pack<T, kVec>*>(src);
#pragma unroll
  for (int e = 0; e < kVec; ++e) out[e] = static_cast<Acc>(widen(p.v[e]));
}

// Rounds kVec accumulated values to T and stores them at `dst` (aligned to the pack).
template <class T, int kVec, class Acc>
__device__ __forceinline__ void store_pack(T* dst, const Acc* in) {
  Pack<T, kVec> p;
#pragma unroll
  for (int e = 0; e < kVec; ++e) p.v[e] = narrow<T>(static_cast<accumulator_t<T>>(in[e]));
  *reinterpret_cast<Pack<T, kVec>*>(dst) = p;
}

// Two or three statistics combined as one (softmax: max and sum; layer norm: count, mean, M2).
template <class A>
struct Stats2 {
  A a, b;
};
template <class A>
struct Stats3 {
  A a, b, c;
};

__device__ __forceinline__ float shuffle_xor(float v, int offset) { return __shfl_xor_sync(0xffffffffu, v, offset); }
__device__ __forceinline__ double shuffle_xor(double v, int offset) { return __shfl_xor_sync(0xffffffffu, v, offset); }
template <class A>
__device__ __forceinline__ Stats2<A> shuffle_xor(const Stats2<A>& v, int offset) {
  return {shuffle_xor(v.a, offset), shuffle_xor(v.b, offset)};
}
template <class A>
__device__ __forceinline__ Stats3<A> shuffle_xor(const Stats3<A>& v, int offset) {
  return {shuffle_xor(v.a, offset), shuffle_xor(v.b, offset), shuffle_xor(v.c, offset)};
}

// Combines `value` over the kWarps warps of one row group (rows are handled by kWarps
// consecutive warps). Every thread of the group gets the result. `scratch` holds kWarps values
// per row group of the block; `group` is this thread's row group in the block. Every thread
// of the block must call it (it contains a barrier when kWarps > 1).
template <int kWarps, class V, class Combine>
__device__ __forceinline__ V row_group_reduce(V value, V* scratch, int group, Combine combine) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) {
    value = combine(value, shuffle_xor(value, offset));
  }
  if constexpr (kWarps > 1) {
    const int warp_in_group = (threadIdx.x / 32) % kWarps;
    if (threadIdx.x % 32 == 0) scratch[group * kWarps + warp_in_group] = value;
    __syncthreads();
    value = scratch[group * kWarps];
#pragma unroll
    for (int w = 1; w < kWarps; ++w) value = combine(value, scratch[group * kWarps + w]);
  }
  return value;
}

}  // namespace mlbench::kernels::rows
