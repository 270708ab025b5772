// Host storage types for the 16-bit precisions and the roundings the reduced types imply.
//
// The host has no arithmetic bf16/fp16 type in C++17, and CUDA is optional, so these are plain
// 16-bit containers with round-to-nearest-even conversions from and to float. They have the same
// layout as CUDA's __nv_bfloat16 and __half, so device code reads the same bytes.
#pragma once

#include <cstdint>
#include <cstring>

namespace mlbench {

struct bfloat16 {
  std::uint16_t bits = 0;
};
struct float16 {
  std::uint16_t bits = 0;
};
static_assert(sizeof(bfloat16) == 2 && sizeof(float16) == 2, "16-bit storage types must be 2 bytes");

namespace detail {
inline std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
inline float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
}  // namespace detail

// bf16 is the upper half of an fp32: widening is a shift, narrowing rounds the lower half
// to nearest, ties to even; NaN stays NaN (quiet).
inline float to_float(bfloat16 h) { return detail::bits_float(static_cast<std::uint32_t>(h.bits) << 16); }
inline bfloat16 to_bfloat16(float f) {
  const std::uint32_t u = detail::float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return {static_cast<std::uint16_t>((u >> 16) | 0x0040u)};
  const std::uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
  return {static_cast<std::uint16_t>(rounded >> 16)};
}

// IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits; subnormals below 2^-14;
// values past 65504 round to infinity.
float to_float(float16 h);
float16 to_float16(float f);

// Rounds an fp32 value to TF32 (8-bit exponent, 10-bit mantissa), to nearest, ties to even,
// kept in fp32 storage: the value tensor cores multiply exactly.
inline float round_to_tf32(float f) {
  const std::uint32_t u = detail::float_bits(f);
  if ((u & 0x7f800000u) == 0x7f800000u) return f;  // inf, NaN
  const std::uint32_t rounded = (u + 0xfffu + ((u >> 13) & 1u)) & 0xffffe000u;
  return detail::bits_float(rounded);
}

inline double to_double(float x) { return x; }
inline double to_double(double x) { return x; }
inline double to_double(bfloat16 x) { return to_float(x); }
inline double to_double(float16 x) { return to_float(x); }

// Converts a double to storage type T with one rounding for float/double; 16-bit types round
// through fp32 first (double rounding is harmless here: inputs and outputs are checked with
// tolerances far above it).
template <class T>
T from_double(double v);
template <>
inline float from_double<float>(double v) {
  return static_cast<float>(v);
}
template <>
inline double from_double<double>(double v) {
  return v;
}
template <>
inline bfloat16 from_double<bfloat16>(double v) {
  return to_bfloat16(static_cast<float>(v));
}
template <>
inline float16 from_double<float16>(double v) {
  return to_float16(static_cast<float>(v));
}

}  // namespace mlbench
