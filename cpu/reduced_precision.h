// Internal to cpu/: how the CPU kernels run the 16-bit precisions. No CPU here does bf16/fp16
// arithmetic in the vector units mlbench uses, so every kernel is written for an arithmetic
// type (float for bf16 and fp16, the storage type otherwise): it widens the 16-bit inputs to
// fp32 as it loads or packs them, accumulates in fp32, and rounds to the 16-bit output type
// as it stores. tf32 problems hold fp32 values and run the fp32 kernels unchanged.
//
// The conversions round to nearest, ties to even, exactly like bench/reduced_float.h (the
// tests compare them): bf16 with integer SIMD on the fp32 bit pattern, fp16 with the F16C /
// AVX-512 conversion instructions where the build targets them.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "bench/problem.h"
#include "bench/reduced_float.h"
#include "bench/types.h"
#include "cpu/cpu_backends.h"

namespace mlbench::cpu {

// The type a kernel computes in for storage type T: fp32 for the 16-bit types.
template <class T>
struct Arithmetic {
  using type = T;
};
template <>
struct Arithmetic<bfloat16> {
  using type = float;
};
template <>
struct Arithmetic<float16> {
  using type = float;
};
template <class T>
using arithmetic_t = typename Arithmetic<T>::type;

// True for bfloat16 and float16: storage that must be converted on the way in and out.
template <class T>
inline constexpr bool kConverted = !std::is_same_v<T, arithmetic_t<T>>;

// The precision of a buffer of T (workspaces allocated as HostBuffers).
template <class T>
constexpr Precision precision_of() {
  if constexpr (std::is_same_v<T, double>)
    return Precision::fp64;
  else if constexpr (std::is_same_v<T, bfloat16>)
    return Precision::bf16;
  else if constexpr (std::is_same_v<T, float16>)
    return Precision::fp16;
  else
    return Precision::fp32;
}

// ---- scalars ----

inline float widen(float x) { return x; }
inline double widen(double x) { return x; }
inline float widen(bfloat16 x) { return to_float(x); }
inline float widen(float16 x) {
#if defined(__F16C__)
  return _cvtsh_ss(x.bits);
#else
  return to_float(x);
#endif
}

template <class T>
inline T narrow(arithmetic_t<T> x) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    return to_bfloat16(x);
  } else if constexpr (std::is_same_v<T, float16>) {
#if defined(__F16C__)
    return {static_cast<std::uint16_t>(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT))};
#else
    return to_float16(x);
#endif
  } else {
    return x;
  }
}

// ---- SIMD: one vector of fp32 lanes from kLanes<float> stored 16-bit elements, and back ----

namespace half_lanes {
// kLanes<float> 16-bit values, and the same lanes widened to 32 bits.
typedef std::uint16_t HalfLanes __attribute__((vector_size(kVectorBytes / 2)));
typedef std::uint32_t WordLanes __attribute__((vector_size(kVectorBytes)));
using FloatVector = Simd<float>::Vector;

inline HalfLanes load_half_lanes(const void* p) {
  HalfLanes h;
  std::memcpy(&h, p, sizeof h);  // an unaligned vector load
  return h;
}

// The bits of `v` rounded to bf16 (to nearest even; NaN stays a quiet NaN), as to_bfloat16 does.
inline HalfLanes bf16_lanes(FloatVector v) {
  const WordLanes u = reinterpret_cast<WordLanes>(v);
  const WordLanes rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const WordLanes quiet_nan = (u >> 16) | 0x0040u;
  const auto nan_mask = reinterpret_cast<WordLanes>((u & 0x7fffffffu) > 0x7f800000u);  // all ones in NaN lanes
  const WordLanes bits = (quiet_nan & nan_mask) | (rounded & ~nan_mask);
  return __builtin_convertvector(bits, HalfLanes);
}

// The bits of `v` rounded to fp16 (to nearest even, overflow to infinity, subnormals kept).
inline HalfLanes fp16_lanes(FloatVector v) {
  HalfLanes h;
#if defined(__AVX512F__)
  // The all-lanes maskz form is the same instruction as _mm512_cvtps_ph, whose gcc 12 header
  // (self-initialized _mm256_undefined_si256) warns "may be used uninitialized" at every use.
  const __m256i bits = _mm512_maskz_cvtps_ph(static_cast<__mmask16>(-1), reinterpret_cast<__m512>(v),
                                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  std::memcpy(&h, &bits, sizeof h);
#elif defined(__AVX__) && defined(__F16C__)
  const __m128i bits = _mm256_cvtps_ph(reinterpret_cast<__m256>(v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  std::memcpy(&h, &bits, sizeof h);
#else
  alignas(64) float lanes[kLanes<float>];
  std::memcpy(lanes, &v, sizeof lanes);
  for (int l = 0; l < kLanes<float>; ++l) h[l] = narrow<float16>(lanes[l]).bits;
#endif
  return h;
}
}  // namespace half_lanes

// kLanes<A> elements at p (any alignment) as a vector of the arithmetic type A.
template <class T>
inline typename Simd<arithmetic_t<T>>::Vector load_widened(const T* p) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    // bf16 is the upper half of an fp32: widening is a 16-bit shift
    using half_lanes::WordLanes;
    const WordLanes words = __builtin_convertvector(half_lanes::load_half_lanes(p), WordLanes) << 16;
    return reinterpret_cast<half_lanes::FloatVector>(words);
  } else if constexpr (std::is_same_v<T, float16>) {
#if defined(__AVX512F__)
    const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    // maskz, all lanes: _mm512_cvtph_ps's instruction without gcc 12's uninitialized warning
    return reinterpret_cast<half_lanes::FloatVector>(_mm512_maskz_cvtph_ps(static_cast<__mmask16>(-1), bits));
#elif defined(__AVX__) && defined(__F16C__)
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return reinterpret_cast<half_lanes::FloatVector>(_mm256_cvtph_ps(bits));
#else
    half_lanes::FloatVector v;
    for (int l = 0; l < kLanes<float>; ++l) v[l] = widen(p[l]);
    return v;
#endif
  } else {
    return load_unaligned(p);
  }
}

// The 16-bit bits of vector v rounded to T (bfloat16 or float16).
template <class T>
inline half_lanes::HalfLanes narrowed_lanes(half_lanes::FloatVector v) {
  if constexpr (std::is_same_v<T, bfloat16>)
    return half_lanes::bf16_lanes(v);
  else
    return half_lanes::fp16_lanes(v);
}

// Stores vector v of the arithmetic type at p (any alignment), rounded to T.
template <class T>
inline void store_narrowed(T* p, typename Simd<arithmetic_t<T>>::Vector v) {
  if constexpr (kConverted<T>) {
    const half_lanes::HalfLanes h = narrowed_lanes<T>(v);
    std::memcpy(static_cast<void*>(p), &h, sizeof h);
  } else {
    store_unaligned(p, v);
  }
}

// ---- arrays ----

// out[0, count) = in[0, count) widened to the arithmetic type.
template <class T>
inline void widen(const T* in, arithmetic_t<T>* out, std::int64_t count) {
  using A = arithmetic_t<T>;
  constexpr int L = kLanes<A>;
  std::int64_t i = 0;
  for (; i + L <= count; i += L) store_unaligned(out + i, load_widened(in + i));
  for (; i < count; ++i) out[i] = widen(in[i]);
}

// out[0, count) = in[0, count) rounded to T.
template <class T>
inline void narrow(const arithmetic_t<T>* in, T* out, std::int64_t count) {
  using A = arithmetic_t<T>;
  constexpr int L = kLanes<A>;
  std::int64_t i = 0;
  for (; i + L <= count; i += L) store_narrowed(out + i, load_unaligned(in + i));
  for (; i < count; ++i) out[i] = narrow<T>(in[i]);
}

// The variant note that says how a kernel treats the problem's precision (none for fp32 and
// fp64): `where` names the place the 16-bit inputs are widened, e.g. "while packing panels".
inline std::vector<std::pair<std::string, std::string>> precision_notes(const Problem& problem,
                                                                        const std::string& where) {
  const Precision in = problem.precision(), out = problem.output_precision();
  if (in == Precision::tf32)
    return {{"compute", "tf32-valued fp32 inputs, fp32 arithmetic and output (no TF32 units on the CPU)"}};
  if (!is_16bit(in)) return {};
  const std::string output = out == in ? "output rounded to " + to_string(out) : to_string(out) + " output";
  return {{"compute", to_string(in) + " inputs converted to fp32 " + where + ", fp32 accumulation, " + output}};
}

}  // namespace mlbench::cpu
