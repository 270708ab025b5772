// Internal to cpu/: the per-row softmax and layer norm kernels the serial and openmp backends
// share (serial runs them on one thread with ordinary stores; openmp over rows in parallel,
// streaming its output). A row is read from memory once: the later passes find it in L1/L2
// (rows up to ~64K fp32 elements; longer ones are read again from L3 or memory).
// Storage type T, arithmetic A = arithmetic_t<T> (fp32 for bf16/fp16, widened as loaded).
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/cpu_backends.h"
#include "cpu/reduced_precision.h"
#include "cpu/simd_math.h"

namespace mlbench::cpu {

// y = softmax(x) over n elements: pass 1 the maximum, pass 2 e = exp(x - max) into `scratch`
// (n elements of A) and its sum, pass 3 y = e / sum. Four vector accumulators per reduction,
// so the adds overlap.
template <class T, bool Streaming>
void softmax_row(const T* x, T* y, std::int64_t n, arithmetic_t<T>* scratch) {
  using A = arithmetic_t<T>;
  using Vector = typename Simd<A>::Vector;
  constexpr int L = kLanes<A>;
  std::int64_t i = 0;
  A m = -INFINITY;
  if (n >= 4 * L) {
    Vector m0 = load_widened(x), m1 = m0, m2 = m0, m3 = m0;
    for (; i + 4 * L <= n; i += 4 * L) {
      const Vector a = load_widened(x + i), b = load_widened(x + i + L), c = load_widened(x + i + 2 * L),
                   d = load_widened(x + i + 3 * L);
      m0 = a > m0 ? a : m0;
      m1 = b > m1 ? b : m1;
      m2 = c > m2 ? c : m2;
      m3 = d > m3 ? d : m3;
    }
    m0 = m1 > m0 ? m1 : m0;
    m2 = m3 > m2 ? m3 : m2;
    m = lane_max<A>(m2 > m0 ? m2 : m0);
  }
  for (; i < n; ++i) m = std::max<A>(m, widen(x[i]));

  Vector s0{}, s1{}, s2{}, s3{};
  i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    const Vector a = exp_vector<A>(load_widened(x + i) - m), b = exp_vector<A>(load_widened(x + i + L) - m),
                 c = exp_vector<A>(load_widened(x + i + 2 * L) - m), d = exp_vector<A>(load_widened(x + i + 3 * L) - m);
    store_unaligned(scratch + i, a);
    store_unaligned(scratch + i + L, b);
    store_unaligned(scratch + i + 2 * L, c);
    store_unaligned(scratch + i + 3 * L, d);
    s0 += a;
    s1 += b;
    s2 += c;
    s3 += d;
  }
  for (; i + L <= n; i += L) {
    const Vector a = exp_vector<A>(load_widened(x + i) - m);
    store_unaligned(scratch + i, a);
    s0 += a;
  }
  A sum = lane_sum<A>((s0 + s1) + (s2 + s3));
  for (; i < n; ++i) {
    scratch[i] = std::exp(widen(x[i]) - m);
    sum += scratch[i];
  }

  const A inverse = A(1) / sum;
  i = 0;
  for (; i + L <= n; i += L) store_vector<T, Streaming>(y + i, load_unaligned(scratch + i) * inverse);
  for (; i < n; ++i) y[i] = narrow<T>(scratch[i] * inverse);
}

// y = (x - mean) * rstd * gamma + beta over n elements: pass 1 the mean, pass 2 the variance
// as the mean of (x - mean)^2 (two passes: no cancellation when the mean is large), pass 3
// the output.
template <class T, bool Streaming>
void layernorm_row(const T* x, const T* gamma, const T* beta, T* y, std::int64_t n, double epsilon) {
  using A = arithmetic_t<T>;
  using Vector = typename Simd<A>::Vector;
  constexpr int L = kLanes<A>;
  Vector s0{}, s1{}, s2{}, s3{};
  std::int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    s0 += load_widened(x + i);
    s1 += load_widened(x + i + L);
    s2 += load_widened(x + i + 2 * L);
    s3 += load_widened(x + i + 3 * L);
  }
  for (; i + L <= n; i += L) s0 += load_widened(x + i);
  A sum = lane_sum<A>((s0 + s1) + (s2 + s3));
  for (; i < n; ++i) sum += widen(x[i]);
  const A mean = sum / static_cast<A>(n);

  s0 = s1 = s2 = s3 = Vector{};
  i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    const Vector a = load_widened(x + i) - mean, b = load_widened(x + i + L) - mean,
                 c = load_widened(x + i + 2 * L) - mean, d = load_widened(x + i + 3 * L) - mean;
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (; i + L <= n; i += L) {
    const Vector a = load_widened(x + i) - mean;
    s0 += a * a;
  }
  A squares = lane_sum<A>((s0 + s1) + (s2 + s3));
  for (; i < n; ++i) {
    const A a = widen(x[i]) - mean;
    squares += a * a;
  }
  const A rstd = A(1) / std::sqrt(squares / static_cast<A>(n) + static_cast<A>(epsilon));

  i = 0;
  for (; i + L <= n; i += L) {
    const Vector z = (load_widened(x + i) - mean) * rstd;
    store_vector<T, Streaming>(y + i, z * load_widened(gamma + i) + load_widened(beta + i));
  }
  for (; i < n; ++i) y[i] = narrow<T>((widen(x[i]) - mean) * rstd * widen(gamma[i]) + widen(beta[i]));
}

}  // namespace mlbench::cpu
