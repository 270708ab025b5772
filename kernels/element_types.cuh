// Device side of kernels/element_types.h: the CUDA type behind each host storage type, and
// the conversions kernels use to load 16-bit inputs as fp32 and store fp32 results as 16-bit.
// For float and double every conversion is the identity, so a kernel written against them
// compiles to the same code as before for fp32 and fp64.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/element_types.h"

namespace mlbench::kernels {

// The CUDA type with the bytes of a host storage type.
template <class T>
struct DeviceElement {
  using type = T;  // float, double
};
template <>
struct DeviceElement<bfloat16> {
  using type = __nv_bfloat16;
};
template <>
struct DeviceElement<float16> {
  using type = __half;
};
template <class T>
using device_element_t = typename DeviceElement<T>::type;
static_assert(sizeof(__nv_bfloat16) == sizeof(bfloat16) && sizeof(__half) == sizeof(float16),
              "host and device 16-bit types must have the same size");

template <class T>
const device_element_t<T>* device_pointer(const T* p) {
  return reinterpret_cast<const device_element_t<T>*>(p);
}
template <class T>
device_element_t<T>* device_pointer(T* p) {
  return reinterpret_cast<device_element_t<T>*>(p);
}

// A stored element widened to its accumulation type (exact).
__device__ __forceinline__ float widen(float x) { return x; }
__device__ __forceinline__ double widen(double x) { return x; }
__device__ __forceinline__ float widen(__half x) { return __half2float(x); }
__device__ __forceinline__ float widen(__nv_bfloat16 x) { return __bfloat162float(x); }

// An accumulated value rounded to the storage type (to nearest, ties to even).
template <class T>
__device__ __forceinline__ T narrow(accumulator_t<T> x);
template <>
__device__ __forceinline__ float narrow<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ double narrow<double>(double x) {
  return x;
}
template <>
__device__ __forceinline__ __half narrow<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 narrow<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

// Two 16-bit elements packed in one 32-bit word (element 0 in the low half) widened to fp32.
template <class T>
__device__ __forceinline__ float2 widen_pair(std::uint32_t bits);
template <>
__device__ __forceinline__ float2 widen_pair<__nv_bfloat16>(std::uint32_t bits) {
  // bf16 is the upper half of an fp32: widening is placing its bits there.
  return make_float2(__uint_as_float(bits << 16), __uint_as_float(bits & 0xffff0000u));
}
template <>
__device__ __forceinline__ float2 widen_pair<__half>(std::uint32_t bits) {
  __half2 pair;
  static_assert(sizeof pair == sizeof bits, "__half2 must be 32 bits");
  memcpy(&pair, &bits, sizeof bits);
  return __half22float2(pair);
}

// Two fp32 values rounded to 16 bits and packed (a in the low half).
template <class T>
__device__ __forceinline__ std::uint32_t narrow_pair(float a, float b);
template <>
__device__ __forceinline__ std::uint32_t narrow_pair<__nv_bfloat16>(float a, float b) {
  const __nv_bfloat162 pair = __floats2bfloat162_rn(a, b);
  std::uint32_t bits;
  memcpy(&bits, &pair, sizeof bits);
  return bits;
}
template <>
__device__ __forceinline__ std::uint32_t narrow_pair<__half>(float a, float b) {
  const __half2 pair = __floats2half2_rn(a, b);
  std::uint32_t bits;
  memcpy(&bits, &pair, sizeof bits);
  return bits;
}

// Four consecutive elements (one 8-byte load of 16-bit values, 16 bytes of fp32) as a float4;
// `src` aligned to the 4 elements.
template <class T>
__device__ __forceinline__ float4 load4_as_float4(const T* src) {
  const uint2 v = *reinterpret_cast<const uint2*>(src);
  const float2 lo = widen_pair<T>(v.x), hi = widen_pair<T>(v.y);
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}
template <>
__device__ __forceinline__ float4 load4_as_float4<float>(const float* src) {
  return *reinterpret_cast<const float4*>(src);
}

// Stores four fp32 values as four consecutive elements (one 8- or 16-byte store); `dst`
// aligned to the 4 elements.
template <class T>
__device__ __forceinline__ void store4_from_float4(T* dst, const float4& v) {
  *reinterpret_cast<uint2*>(dst) = make_uint2(narrow_pair<T>(v.x, v.y), narrow_pair<T>(v.z, v.w));
}
template <>
__device__ __forceinline__ void store4_from_float4<float>(float* dst, const float4& v) {
  *reinterpret_cast<float4*>(dst) = v;
}

}  // namespace mlbench::kernels
