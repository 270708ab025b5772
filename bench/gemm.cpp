#include "bench/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "bench/verification.h"

namespace mlbench {

GemmProblem::GemmProblem(GemmShape shape, Precision precision, std::uint64_t seed, std::int64_t size)
    : Problem(precision, seed, size), shape_(shape) {
  if (shape.m <= 0 || shape.n <= 0 || shape.k <= 0) throw InputError("GEMM dimensions must be positive");
  const auto a_count = checked_mul(shape.m, shape.k, "GEMM A size");
  const auto b_count = checked_mul(shape.k, shape.n, "GEMM B size");
  checked_mul(checked_mul(shape.m, shape.n, "GEMM C size"), static_cast<std::int64_t>(element_size(precision)),
              "GEMM C bytes");
  a_ = HostBuffer(precision, static_cast<std::size_t>(a_count));
  b_ = HostBuffer(precision, static_cast<std::size_t>(b_count));
  fill_uniform(a_, a_input(seed).seed, a_input(seed).lo, a_input(seed).hi);
  fill_uniform(b_, b_input(seed).seed, b_input(seed).lo, b_input(seed).hi);
}

namespace {
// The integers an exact twin's inputs hold (0, 1 or 2), for the integer sums of its check.
std::vector<std::int8_t> small_integers(const HostBuffer& b) {
  std::vector<std::int8_t> v(b.size());
  visit_typed(b, [&](const auto* p) {
    const auto count = static_cast<std::int64_t>(v.size());
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i) v[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(to_double(p[i]));
  });
  return v;
}
}  // namespace

GemmProblem::GemmProblem(const GemmProblem& of, ExactTwinTag)
    : Problem(of.precision(), of.seed(), of.size()), shape_(of.shape_) {
  mark_exact_twin();
  const std::int64_t m = shape_.m, n = shape_.n, k = shape_.k;
  band_ = std::min<std::int64_t>(k, static_cast<std::int64_t>(exact_integer_limit(output_precision()) / 4));
  a_ = HostBuffer(precision(), of.a_.size());
  b_ = HostBuffer(precision(), of.b_.size());
  const std::uint64_t a_seed = seed() ^ 0xa11ce5ULL, b_seed = seed() ^ 0xb0b5ULL;
  const std::int64_t band = band_;
  visit_typed(a_, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < m; ++i) {
      const std::int64_t start = (i % k) * (band % k) % k;  // (i * band) mod K without overflow
      for (std::int64_t q = 0; q < k; ++q) {
        const std::int64_t offset = ((q - start) % k + k) % k;
        const auto idx = static_cast<std::uint64_t>(i * k + q);
        p[idx] = from_double<T>(offset < band ? 1.0 + static_cast<double>(twin_hash(a_seed, idx) & 1) : 0.0);
      }
    }
  });
  visit_typed(b_, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    const auto count = static_cast<std::int64_t>(k * n);
#pragma omp parallel for schedule(static)
    for (std::int64_t idx = 0; idx < count; ++idx)
      p[idx] = from_double<T>(1.0 + static_cast<double>(twin_hash(b_seed, static_cast<std::uint64_t>(idx)) & 1));
  });
  a_int_ = small_integers(a_);
  b_int_ = small_integers(b_);
}

std::unique_ptr<Problem> GemmProblem::exact_twin() const {
  return std::unique_ptr<Problem>(new GemmProblem(*this, ExactTwinTag{}));
}

Verification GemmProblem::check_exact(const HostBuffer& c, ExactMatch match) const {
  const std::int64_t m = shape_.m, n = shape_.n, k = shape_.k;
  const std::string method = fmt::format(
      "integer twin (A, B in {{1,2}}, {} nonzeros per row of A), freivalds int64 (2 nonzero integer vectors), {}",
      band_, to_string(match));
  if (c.size() != output_size() || c.precision() != output_precision())
    return exact_verification(false, INFINITY, method, "output has the wrong size or precision");
  const double bound = 4.0 * static_cast<double>(band_);
  std::string problem;
  const std::int64_t bad = first_non_integer(c, match, bound, problem);
  if (bad >= 0)
    return exact_verification(false, INFINITY, method, fmt::format("C[{}][{}]: {}", bad / n, bad % n, problem));
  // |x| <= range keeps every sum below 2^62: |C x|, |A (B x)| <= 4 band * max(N, K) * range.
  const double largest = 4.0 * static_cast<double>(band_) * static_cast<double>(std::max(n, k));
  const auto range = static_cast<std::int64_t>(std::clamp(std::ldexp(1.0, 62) / largest, 1.0, std::ldexp(1.0, 20)));
  auto rng = verification_rng(seed());
  const std::vector<std::int8_t>& a_int = a_int_;
  const std::vector<std::int8_t>& b_int = b_int_;
  std::int64_t wrong_row = m;
  std::int64_t residual = 0;
  for (int vector = 0; vector < 2 && wrong_row == m; ++vector) {
    const std::vector<std::int64_t> x = nonzero_integers(rng, static_cast<std::size_t>(n), range);
    std::vector<std::int64_t> bx(static_cast<std::size_t>(k));
#pragma omp parallel for schedule(static)
    for (std::int64_t q = 0; q < k; ++q) {
      std::int64_t s = 0;
      for (std::int64_t j = 0; j < n; ++j)
        s += b_int[static_cast<std::size_t>(q * n + j)] * x[static_cast<std::size_t>(j)];
      bx[static_cast<std::size_t>(q)] = s;
    }
    std::vector<std::int64_t> row_residual(static_cast<std::size_t>(m));
    visit_typed(c, [&](const auto* p) {
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < m; ++i) {
        std::int64_t got = 0, expected = 0;
        for (std::int64_t j = 0; j < n; ++j)
          got += exact_integer(to_double(p[i * n + j])) * x[static_cast<std::size_t>(j)];
        for (std::int64_t q = 0; q < k; ++q)
          expected += a_int[static_cast<std::size_t>(i * k + q)] * bx[static_cast<std::size_t>(q)];
        row_residual[static_cast<std::size_t>(i)] = got - expected;
      }
    });
    for (std::int64_t i = 0; i < m; ++i)
      if (row_residual[static_cast<std::size_t>(i)] != 0) {
        wrong_row = i;
        residual = row_residual[static_cast<std::size_t>(i)];
        break;
      }
  }
  if (wrong_row == m) return exact_verification(true, 0, method, "");
  // Name the first wrong entry of that row: its exact value costs K * N.
  const std::int64_t i = wrong_row;
  for (std::int64_t j = 0; j < n; ++j) {
    std::int64_t exact = 0;
    for (std::int64_t q = 0; q < k; ++q)
      exact += a_int[static_cast<std::size_t>(i * k + q)] * b_int[static_cast<std::size_t>(q * n + j)];
    const double got = c.get(static_cast<std::size_t>(i * n + j));
    if (got != static_cast<double>(exact) && !(match == ExactMatch::nearest_integer && exact_integer(got) == exact))
      return exact_verification(false, std::fabs(got - static_cast<double>(exact)), method,
                                fmt::format("C[{}][{}] = {:.9g}, exact {}", i, j, got, exact));
  }
  return exact_verification(false, static_cast<double>(std::llabs(residual)), method,
                            fmt::format("row {} of C x differs from A (B x) by {}", i, residual));
}

std::string GemmProblem::shape_label() const {
  if (shape_.m == shape_.n && shape_.n == shape_.k) return fmt::format("M=N=K={}", shape_.m);
  return fmt::format("M={} N={} K={}", shape_.m, shape_.n, shape_.k);
}

std::vector<std::pair<std::string, std::int64_t>> GemmProblem::shape_fields() const {
  return {{"M", shape_.m}, {"N", shape_.n}, {"K", shape_.k}};
}

double GemmProblem::flops() const {
  return 2.0 * static_cast<double>(shape_.m) * static_cast<double>(shape_.n) * static_cast<double>(shape_.k);
}

double GemmProblem::min_bytes() const {
  const double inputs = static_cast<double>(shape_.m) * shape_.k + static_cast<double>(shape_.k) * shape_.n;
  const double outputs = static_cast<double>(shape_.m) * shape_.n;
  return inputs * static_cast<double>(element_size(precision())) +
         outputs * static_cast<double>(element_size(output_precision()));
}

std::size_t GemmProblem::output_size() const { return static_cast<std::size_t>(shape_.m * shape_.n); }
std::size_t GemmProblem::input_bytes() const { return a_.bytes() + b_.bytes(); }

double GemmProblem::tolerance(double input_rounding) const {
  // accumulation error of a K-term dot product (fp32 for the reduced types), any extra input
  // rounding the implementation applies, and the rounding of the stored result (bf16: 2^-8)
  return 4.0 * (2.0 * input_rounding +
                accumulation_roundoff(precision()) * (2.0 + std::sqrt(static_cast<double>(shape_.k)))) +
         2.0 * unit_roundoff(output_precision());
}

Verification GemmProblem::check_output(const HostBuffer& c, double input_rounding) const {
  const double tol = tolerance(input_rounding);
  const std::int64_t m = shape_.m, n = shape_.n, k = shape_.k;
  if (c.size() != output_size() || c.precision() != output_precision())
    return make_verification(INFINITY, tol, "shape", "output has the wrong size or precision", 0, -1);
  std::int64_t first_bad = -1;
  const std::size_t non_finite = count_non_finite(c, first_bad);
  if (non_finite > 0) return make_verification(0, tol, "finite", "", non_finite, first_bad);

  auto A = [&](std::int64_t i, std::int64_t p) { return a_.get(static_cast<std::size_t>(i * k + p)); };
  auto B = [&](std::int64_t p, std::int64_t j) { return b_.get(static_cast<std::size_t>(p * n + j)); };
  auto C = [&](std::int64_t i, std::int64_t j) { return c.get(static_cast<std::size_t>(i * n + j)); };

  // Exact fp64 value of entry (i, j), its error relative to sum_k |a_ik b_kj|.
  auto entry_error = [&](std::int64_t i, std::int64_t j) {
    double ref = 0, scale = 0;
    for (std::int64_t p = 0; p < k; ++p) {
      const double prod = A(i, p) * B(p, j);
      ref += prod;
      scale += std::fabs(prod);
    }
    return std::fabs(C(i, j) - ref) / std::max(scale, 1e-300);
  };

  double worst = 0;
  std::int64_t worst_i = 0, worst_j = 0;
  auto note = [&](double err, std::int64_t i, std::int64_t j) {
    if (!(err <= worst)) {  // also catches NaN
      worst = err;
      worst_i = i;
      worst_j = j;
    }
  };

  const double work = static_cast<double>(m) * n * k;
  std::string method;
  if (work <= kExhaustiveCheckWork) {
    // Small enough to check every entry exactly.
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) note(entry_error(i, j), i, j);
    method = "exhaustive fp64, error / sum|a*b|";
  } else {
    // Freivalds: C x == A (B x) for random Gaussian vectors x catches an error anywhere in C;
    // the error of row i is relative to (|A| |B| |x|)_i, which bounds it when every entry
    // of C is within tolerance.
    constexpr int kVectors = 4;
    constexpr int kSamples = 1024;
    auto rng = verification_rng(seed());
    std::normal_distribution<double> gaussian;
    for (int v = 0; v < kVectors; ++v) {
      std::vector<double> x(static_cast<std::size_t>(n)), bx(static_cast<std::size_t>(k), 0.0),
          abs_bx(static_cast<std::size_t>(k), 0.0), scale(static_cast<std::size_t>(m), 0.0);
      for (auto& xi : x) xi = gaussian(rng);
#pragma omp parallel for schedule(static)
      for (std::int64_t p = 0; p < k; ++p) {
        double s = 0, sa = 0;
        for (std::int64_t j = 0; j < n; ++j) {
          s += B(p, j) * x[j];
          sa += std::fabs(B(p, j) * x[j]);
        }
        bx[p] = s;
        abs_bx[p] = sa;
      }
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < m; ++i) {
        double sa = 0;
        for (std::int64_t p = 0; p < k; ++p) sa += std::fabs(A(i, p)) * abs_bx[p];
        scale[i] = sa;
      }
      std::vector<double> row_err(static_cast<std::size_t>(m));
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < m; ++i) {
        double cx = 0, abx = 0;
        for (std::int64_t j = 0; j < n; ++j) cx += C(i, j) * x[j];
        for (std::int64_t p = 0; p < k; ++p) abx += A(i, p) * bx[p];
        row_err[i] = std::fabs(cx - abx) / std::max(scale[i], 1e-300);
      }
      for (std::int64_t i = 0; i < m; ++i) note(row_err[i], i, -1);
    }
    // Sampled entries, computed exactly: the tight per-entry check.
    std::uniform_int_distribution<std::int64_t> pick_i(0, m - 1), pick_j(0, n - 1);
    for (int s = 0; s < kSamples; ++s) {
      const auto i = pick_i(rng), j = pick_j(rng);
      note(entry_error(i, j), i, j);
    }
    method = fmt::format("freivalds({} vectors)+sampled({} entries) fp64, error / sum|a*b|", kVectors, kSamples);
  }
  const std::string where = worst_j >= 0 ? fmt::format("worst at C[{}][{}]", worst_i, worst_j)
                                         : fmt::format("worst in row {} (freivalds)", worst_i);
  return make_verification(worst, tol, method, where, 0, -1);
}

}  // namespace mlbench
