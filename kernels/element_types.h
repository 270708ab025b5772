// Host-side element types of each precision and the type each accumulates in, shared by the
// convolution and reduction backends and their kernels' host entries.
//
// Storage: fp64 double, fp32 and tf32 float (tf32 values are fp32 numbers with a 10-bit
// mantissa), bf16 mlbench::bfloat16, fp16 mlbench::float16 (the bytes of CUDA's __nv_bfloat16
// and __half). Accumulation: double for fp64, float for everything else.
#pragma once

#include "bench/reduced_float.h"
#include "bench/types.h"

namespace mlbench::kernels {

template <class T>
struct Accumulate {
  using type = float;  // float, bf16, fp16 (and their CUDA device types)
};
template <>
struct Accumulate<double> {
  using type = double;
};
template <class T>
using accumulator_t = typename Accumulate<T>::type;

// Calls f(T{}) with the storage type T of precision p, so that one generic lambda dispatches
// every precision: with_element_type(p, [&](auto tag) { using T = decltype(tag); ... }).
template <class F>
decltype(auto) with_element_type(Precision p, F&& f) {
  switch (p) {
    case Precision::fp64: return f(double{});
    case Precision::bf16: return f(bfloat16{});
    case Precision::fp16: return f(float16{});
    case Precision::fp32:
    case Precision::tf32: break;
  }
  return f(float{});
}

}  // namespace mlbench::kernels
