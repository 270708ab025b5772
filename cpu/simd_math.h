// Internal to cpu/: vectorized exp / exp2 and streaming stores for the row kernels (softmax,
// layer norm) and attention. GCC/Clang vector extensions, so every ISA the build targets gets
// the same code at its own width.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"

namespace mlbench::cpu {

template <class A>
struct Exp2Constants;
// fp32: 2^f on [-1/2, 1/2] by its degree-7 Taylor polynomial in f ln2 (truncation error below
// 2^-27 there), 2^n put into the exponent bits.
template <>
struct Exp2Constants<float> {
  using Bits = std::int32_t;
  static constexpr float kMin = -126.0f;  // below: 0 (softmax weights this small do not matter)
  static constexpr float kMax = 127.0f;
  static constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  static constexpr int kMantissaBits = 23;
  static constexpr Bits kBias = 127;
  static constexpr int kDegree = 7;
  // (ln 2)^k / k!, k = 0..7
  static constexpr float kCoefficients[kDegree + 1] = {1.0f,
                                                       0.693147180559945f,
                                                       0.240226506959101f,
                                                       0.0555041086648216f,
                                                       0.00961812910762848f,
                                                       0.00133335581464284f,
                                                       0.000154035303933816f,
                                                       1.52527338040598e-05f};
};
// fp64: the same with the Taylor polynomial to degree 13 (truncation error below 2^-60).
template <>
struct Exp2Constants<double> {
  using Bits = std::int64_t;
  static constexpr double kMin = -1022.0;
  static constexpr double kMax = 1023.0;
  static constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr int kMantissaBits = 52;
  static constexpr Bits kBias = 1023;
  static constexpr int kDegree = 13;
  static constexpr double kCoefficients[kDegree + 1] = {1.0,
                                                        0.6931471805599453,
                                                        0.2402265069591007,
                                                        0.05550410866482158,
                                                        0.009618129107628477,
                                                        0.0013333558146428443,
                                                        0.00015403530393381606,
                                                        1.525273380405984e-05,
                                                        1.3215486790144307e-06,
                                                        1.0178086009239699e-07,
                                                        7.054911620801123e-09,
                                                        4.445538271870811e-10,
                                                        2.567843599348821e-11,
                                                        1.3691488853904124e-12};
};

// 2^x lane by lane; 0 below kMin (and for -inf), NaN stays NaN.
template <class A>
inline typename Simd<A>::Vector exp2_vector(typename Simd<A>::Vector x) {
  using C = Exp2Constants<A>;
  using Vector = typename Simd<A>::Vector;
  // unsigned: the exponent arithmetic wraps instead of overflowing in NaN lanes
  typedef std::make_unsigned_t<typename C::Bits> BitsVector __attribute__((vector_size(kVectorBytes)));
  const Vector clamped = x > C::kMax ? Vector{} + C::kMax : x;  // NaN compares false: kept
  const Vector bounded = clamped < C::kMin ? Vector{} + C::kMin : clamped;
  // n = round(x) by the 1.5 * 2^k trick (exact for |x| < 2^(k-1)); its bits hold n as an integer
  const Vector shifted = bounded + C::kRound;
  const Vector n = shifted - C::kRound;
  const Vector f = bounded - n;  // in [-1/2, 1/2]
  Vector p = Vector{} + C::kCoefficients[C::kDegree];
  for (int k = C::kDegree - 1; k >= 0; --k) p = p * f + C::kCoefficients[k];
  const BitsVector integer = reinterpret_cast<BitsVector>(shifted) - reinterpret_cast<BitsVector>(Vector{} + C::kRound);
  const BitsVector scale_bits = (integer + static_cast<std::make_unsigned_t<typename C::Bits>>(C::kBias))
                                << C::kMantissaBits;
  const Vector result = p * reinterpret_cast<Vector>(scale_bits);
  return x < C::kMin ? Vector{} : result;
}

// e^x lane by lane (x scaled by log2 e, one extra rounding).
template <class A>
inline typename Simd<A>::Vector exp_vector(typename Simd<A>::Vector x) {
  return exp2_vector<A>(x * static_cast<A>(1.4426950408889634));
}

template <class A>
inline A exp2_scalar(A x) {
  return std::exp2(x);
}

// Stores one vector of results, rounded to T for a 16-bit T, with a non-temporal store when
// the address is aligned for one: outputs far larger than the caches, never read back here,
// skip the read-for-ownership that would add a third of the memory traffic.
template <class T>
inline void store_streaming(T* p, typename Simd<arithmetic_t<T>>::Vector v) {
  if constexpr (kConverted<T>) {
    const auto lanes = narrowed_lanes<T>(v);
#if defined(__AVX512F__)
    if (reinterpret_cast<std::uintptr_t>(p) % 32 == 0) {
      _mm256_stream_si256(reinterpret_cast<__m256i*>(p), reinterpret_cast<__m256i>(lanes));
      return;
    }
#elif defined(__AVX__)
    if (reinterpret_cast<std::uintptr_t>(p) % 16 == 0) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(p), reinterpret_cast<__m128i>(lanes));
      return;
    }
#endif
    std::memcpy(static_cast<void*>(p), &lanes, sizeof lanes);
  } else {
#if defined(__AVX512F__)
    if (reinterpret_cast<std::uintptr_t>(p) % 64 == 0) {
      if constexpr (std::is_same_v<T, float>)
        _mm512_stream_ps(p, reinterpret_cast<__m512>(v));
      else
        _mm512_stream_pd(p, reinterpret_cast<__m512d>(v));
      return;
    }
#elif defined(__AVX__)
    if (reinterpret_cast<std::uintptr_t>(p) % 32 == 0) {
      if constexpr (std::is_same_v<T, float>)
        _mm256_stream_ps(p, reinterpret_cast<__m256>(v));
      else
        _mm256_stream_pd(p, reinterpret_cast<__m256d>(v));
      return;
    }
#endif
    store_unaligned(p, v);
  }
}

// Orders this thread's streaming stores before whatever follows (the end of a parallel region).
inline void fence_streaming_stores() {
#if defined(__AVX512F__) || defined(__AVX__)
  _mm_sfence();
#endif
}

// Stores v at p (rounded to T), streaming or not.
template <class T, bool Streaming>
inline void store_vector(T* p, typename Simd<arithmetic_t<T>>::Vector v) {
  if constexpr (Streaming)
    store_streaming(p, v);
  else
    store_narrowed(p, v);
}

// Sum and maximum of the lanes of a vector, as a tree (log2(lanes) dependent steps instead of
// a chain through every lane).
template <class A>
inline A lane_sum(typename Simd<A>::Vector v) {
  A lanes[kLanes<A>];
  std::memcpy(lanes, &v, sizeof lanes);
  for (int width = kLanes<A> / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  return lanes[0];
}
template <class A>
inline A lane_max(typename Simd<A>::Vector v) {
  A lanes[kLanes<A>];
  std::memcpy(lanes, &v, sizeof lanes);
  for (int width = kLanes<A> / 2; width >= 1; width /= 2)
    for (int l = 0; l < width; ++l) lanes[l] = lanes[l] > lanes[l + width] ? lanes[l] : lanes[l + width];
  return lanes[0];
}

}  // namespace mlbench::cpu
