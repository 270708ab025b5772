// 16-byte vector types of each precision: float4 holds 4 floats, double2 holds 2 doubles.
// Kernels written against Vec16<T> issue one 16-byte load/store per access in both precisions.
#pragma once

#include <cuda_runtime.h>

namespace mlbench::kernels {

template <class T>
struct Vec16;
template <>
struct Vec16<float> {
  using type = float4;
  static constexpr int size = 4;
};
template <>
struct Vec16<double> {
  using type = double2;
  static constexpr int size = 2;
};

// Element e of a vector (e must be a compile-time constant after unrolling, or the vector
// leaves registers for local memory).
template <class V, class T>
__device__ __forceinline__ T& element(V& v, int e) {
  return reinterpret_cast<T*>(&v)[e];
}

}  // namespace mlbench::kernels
