#include "bench/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <fmt/format.h>

#include "bench/verification.h"

namespace mlbench {

std::int64_t rows_for_bytes(std::int64_t cols, Precision precision, std::int64_t bytes) {
  const std::int64_t row_bytes = checked_mul(cols, static_cast<std::int64_t>(element_size(precision)), "row bytes");
  return std::max<std::int64_t>(1, bytes / row_bytes);
}

namespace {
void check_row_precision(Precision precision, const char* workload) {
  if (precision == Precision::tf32)
    throw InputError(
        fmt::format("{} takes fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)", workload));
}

// The smallest normal number of the output format: below it the format itself loses relative
// precision, so errors are measured against it there.
double smallest_normal(Precision p) {
  switch (p) {
    case Precision::fp64: return std::numeric_limits<double>::min();
    case Precision::fp16: return 6.103515625e-05;  // 2^-14
    default: return std::numeric_limits<float>::min();
  }
}
}  // namespace

SoftmaxProblem::SoftmaxProblem(SoftmaxShape shape, Precision precision, std::uint64_t seed, std::int64_t size)
    : Problem(precision, seed, size), shape_(shape) {
  if (shape.rows <= 0 || shape.cols <= 0) throw InputError("softmax dimensions must be positive");
  check_row_precision(precision, "softmax");
  const auto count = checked_mul(shape.rows, shape.cols, "softmax input");
  checked_mul(count, static_cast<std::int64_t>(element_size(precision)), "softmax input bytes");
  input_ = HostBuffer(precision, static_cast<std::size_t>(count));
  fill_uniform(input_, seed, -8.0, 8.0);
}

SoftmaxProblem::SoftmaxProblem(const SoftmaxProblem& of, ExactTwinTag)
    : Problem(of.precision(), of.seed(), of.size()), shape_(of.shape_) {
  mark_exact_twin();
  input_ = HostBuffer(precision(), of.input_.size());
  const std::int64_t rows = shape_.rows, cols = shape_.cols;
  int largest_power = 0;  // k = 2^j <= min(cols, 1024)
  while (largest_power < 10 && (std::int64_t{2} << largest_power) <= cols) ++largest_power;
  const std::uint64_t base = seed() ^ 0x50f7a11ULL;
  constexpr double kLow[4] = {-1024, -1536, -2048, -3072};  // exact in bf16 and fp16
  visit_typed(input_, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      T* x = p + r * cols;
      const std::uint64_t h = twin_hash(base, static_cast<std::uint64_t>(r));
      const std::int64_t k = std::int64_t{1} << (h % static_cast<std::uint64_t>(largest_power + 1));
      const std::int64_t step = cols / k, span = (k - 1) * step;
      const std::int64_t first =
          r % 2 == 0 ? cols - 1 - span : static_cast<std::int64_t>((h >> 8) % static_cast<std::uint64_t>(cols - span));
      const double c = static_cast<double>(1 + (h >> 40) % 4) * (((h >> 50) & 1) != 0 ? -1.0 : 1.0);
      for (std::int64_t j = 0; j < cols; ++j)
        x[j] = from_double<T>(kLow[twin_hash(h, static_cast<std::uint64_t>(j)) % 4]);
      for (std::int64_t t = 0; t < k; ++t) x[first + t * step] = from_double<T>(c);
    }
  });
}

std::unique_ptr<Problem> SoftmaxProblem::exact_twin() const {
  return std::unique_ptr<Problem>(new SoftmaxProblem(*this, ExactTwinTag{}));
}

Verification SoftmaxProblem::check_exact(const HostBuffer& out, ExactMatch) const {
  const std::string method = "twin (2^j equal maxima per row, the rest <= max - 1020), exactly 2^-j or 0";
  if (out.size() != output_size() || out.precision() != output_precision())
    return exact_verification(false, INFINITY, method, "output has the wrong size or precision");
  const std::int64_t rows = shape_.rows, cols = shape_.cols;
  std::int64_t bad = -1;
  double deviation = 0, bad_got = 0, bad_exact = 0;
  for (std::int64_t r = 0; r < rows && bad < 0; ++r) {
    const std::size_t base = static_cast<std::size_t>(r * cols);
    std::int64_t k = 0;
    for (std::int64_t j = 0; j < cols; ++j) k += input_.get(base + j) > -512 ? 1 : 0;
    for (std::int64_t j = 0; j < cols; ++j) {
      const double exact = input_.get(base + j) > -512 ? 1.0 / static_cast<double>(k) : 0.0;
      const double got = out.get(base + j);
      if (!(got == exact)) {
        bad = r * cols + j;
        deviation = std::isfinite(got) ? std::fabs(got - exact) : INFINITY;
        bad_got = got;
        bad_exact = exact;
        break;
      }
    }
  }
  if (bad >= 0)
    return exact_verification(
        false, deviation, method,
        fmt::format("y[{}][{}] is {:.9g}, exact {:.9g}", bad / cols, bad % cols, bad_got, bad_exact));
  return exact_verification(true, 0, method, "");
}

std::string SoftmaxProblem::shape_label() const { return fmt::format("{}x{}", shape_.rows, shape_.cols); }

std::vector<std::pair<std::string, std::int64_t>> SoftmaxProblem::shape_fields() const {
  return {{"rows", shape_.rows}, {"cols", shape_.cols}};
}

double SoftmaxProblem::flops() const { return 5.0 * static_cast<double>(input_.size()); }

double SoftmaxProblem::min_bytes() const {
  return static_cast<double>(input_.size()) *
         static_cast<double>(element_size(precision()) + element_size(output_precision()));
}

std::size_t SoftmaxProblem::output_size() const { return input_.size(); }
std::size_t SoftmaxProblem::input_bytes() const { return input_.bytes(); }

double SoftmaxProblem::tolerance(double input_rounding) const {
  return 2.0 * unit_roundoff(output_precision()) +
         accumulation_roundoff(precision()) * (64.0 + 4.0 * std::sqrt(static_cast<double>(shape_.cols))) +
         32.0 * input_rounding;
}

Verification SoftmaxProblem::check_output(const HostBuffer& out, double input_rounding) const {
  const double tol = tolerance(input_rounding);
  if (out.size() != output_size() || out.precision() != output_precision())
    return make_verification(INFINITY, tol, "shape", "output has the wrong size or precision", 0, -1);
  std::int64_t first_bad = -1;
  const std::size_t non_finite = count_non_finite(out, first_bad);
  if (non_finite > 0) return make_verification(0, tol, "finite", "", non_finite, first_bad);

  const std::int64_t rows = shape_.rows, cols = shape_.cols;
  const double floor = smallest_normal(output_precision());
  std::vector<double> row_error(static_cast<std::size_t>(rows));
  std::vector<std::int64_t> row_worst_col(static_cast<std::size_t>(rows));
#pragma omp parallel
  {
    std::vector<double> x(static_cast<std::size_t>(cols));
#pragma omp for schedule(dynamic, 16)
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::size_t base = static_cast<std::size_t>(r * cols);
      double m = -INFINITY;
      for (std::int64_t c = 0; c < cols; ++c) {
        x[c] = input_.get(base + c);
        m = std::max(m, x[c]);
      }
      double sum = 0;
      for (std::int64_t c = 0; c < cols; ++c) {
        x[c] = std::exp(x[c] - m);
        sum += x[c];  // terms in (0, 1], sum >= 1: fp64 rounding is far below any tolerance
      }
      double worst = 0;
      std::int64_t worst_col = 0;
      for (std::int64_t c = 0; c < cols; ++c) {
        const double ref = x[c] / sum;
        const double err = std::fabs(out.get(base + c) - ref) / std::max(ref, floor);
        if (!(err <= worst)) {
          worst = err;
          worst_col = c;
        }
      }
      row_error[r] = worst;
      row_worst_col[r] = worst_col;
    }
  }
  double worst = 0;
  std::int64_t worst_row = 0;
  for (std::int64_t r = 0; r < rows; ++r)
    if (!(row_error[r] <= worst)) {
      worst = row_error[r];
      worst_row = r;
    }
  return make_verification(worst, tol, "every element fp64, |error| / max(ref, smallest normal)",
                           fmt::format("worst at y[{}][{}]", worst_row, row_worst_col[worst_row]), 0, -1);
}

}  // namespace mlbench
