#include "bench/layernorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "bench/verification.h"

namespace mlbench {

LayerNormProblem::LayerNormProblem(LayerNormShape shape, Precision precision, std::uint64_t seed, std::int64_t size)
    : Problem(precision, seed, size), shape_(shape) {
  if (shape.rows <= 0 || shape.cols <= 0) throw InputError("layer norm dimensions must be positive");
  if (!(shape.epsilon > 0) || !std::isfinite(shape.epsilon))
    throw InputError(fmt::format("layer norm epsilon must be positive and finite, got {}", shape.epsilon));
  if (precision == Precision::tf32)
    throw InputError("layernorm takes fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)");
  const auto count = checked_mul(shape.rows, shape.cols, "layer norm input");
  checked_mul(count, static_cast<std::int64_t>(element_size(precision)), "layer norm input bytes");
  input_ = HostBuffer(precision, static_cast<std::size_t>(count));
  gamma_ = HostBuffer(precision, static_cast<std::size_t>(shape.cols));
  beta_ = HostBuffer(precision, static_cast<std::size_t>(shape.cols));
  fill_uniform(input_, seed, -2.0, 3.0);
  fill_uniform(gamma_, seed + 1, 0.5, 1.5);
  fill_uniform(beta_, seed + 2, -0.5, 0.5);
}

LayerNormProblem::LayerNormProblem(const LayerNormProblem& of, ExactTwinTag)
    : Problem(of.precision(), of.seed(), of.size()), shape_(of.shape_) {
  mark_exact_twin();
  input_ = HostBuffer(precision(), of.input_.size());
  gamma_ = HostBuffer(precision(), of.gamma_.size());
  beta_ = HostBuffer(precision(), of.beta_.size());
  const std::uint64_t base = seed() ^ 0x1a7e2ULL;
  constexpr double kValues[6] = {-2, -1, 1, 2, 3, 4};
  const auto n = static_cast<std::int64_t>(input_.size());
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i)
    input_.set(static_cast<std::size_t>(i), kValues[twin_hash(base, static_cast<std::uint64_t>(i)) % 6]);
  for (std::int64_t c = 0; c < shape_.cols; ++c) {
    const std::uint64_t h = twin_hash(base ^ 0x9a33aULL, static_cast<std::uint64_t>(c));
    gamma_.set(static_cast<std::size_t>(c), 0.5 + 0.25 * static_cast<double>(h % 5));
    beta_.set(static_cast<std::size_t>(c), -0.5 + 0.25 * static_cast<double>((h >> 8) % 5));
  }
}

std::unique_ptr<Problem> LayerNormProblem::exact_twin() const {
  return std::unique_ptr<Problem>(new LayerNormProblem(*this, ExactTwinTag{}));
}

Verification LayerNormProblem::check_exact(const HostBuffer& out, ExactMatch) const {
  Verification v = check_output(out, 0.0);
  v.method = "twin (x in {-2,-1,1,2,3,4}: no element is 0), not exact: " + v.method;
  return v;
}

std::string LayerNormProblem::shape_label() const {
  return fmt::format("{}x{} eps={:g}", shape_.rows, shape_.cols, shape_.epsilon);
}

std::vector<std::pair<std::string, std::int64_t>> LayerNormProblem::shape_fields() const {
  return {{"rows", shape_.rows}, {"cols", shape_.cols}};
}

double LayerNormProblem::flops() const { return 7.0 * static_cast<double>(input_.size()); }

double LayerNormProblem::min_bytes() const {
  const double es = static_cast<double>(element_size(precision()));
  return static_cast<double>(input_.size() + 2 * static_cast<std::size_t>(shape_.cols)) * es +
         static_cast<double>(input_.size()) * static_cast<double>(element_size(output_precision()));
}

std::size_t LayerNormProblem::output_size() const { return input_.size(); }
std::size_t LayerNormProblem::input_bytes() const { return input_.bytes() + gamma_.bytes() + beta_.bytes(); }

double LayerNormProblem::tolerance(double input_rounding) const {
  return 2.0 * unit_roundoff(output_precision()) +
         accumulation_roundoff(precision()) * (32.0 + 4.0 * std::sqrt(static_cast<double>(shape_.cols))) +
         4.0 * input_rounding;
}

Verification LayerNormProblem::check_output(const HostBuffer& out, double input_rounding) const {
  const double tol = tolerance(input_rounding);
  if (out.size() != output_size() || out.precision() != output_precision())
    return make_verification(INFINITY, tol, "shape", "output has the wrong size or precision", 0, -1);
  std::int64_t first_bad = -1;
  const std::size_t non_finite = count_non_finite(out, first_bad);
  if (non_finite > 0) return make_verification(0, tol, "finite", "", non_finite, first_bad);

  const std::int64_t rows = shape_.rows, cols = shape_.cols;
  std::vector<double> gamma(static_cast<std::size_t>(cols)), beta(static_cast<std::size_t>(cols));
  for (std::int64_t c = 0; c < cols; ++c) {
    gamma[c] = gamma_.get(static_cast<std::size_t>(c));
    beta[c] = beta_.get(static_cast<std::size_t>(c));
  }
  std::vector<double> row_error(static_cast<std::size_t>(rows));
  std::vector<std::int64_t> row_worst_col(static_cast<std::size_t>(rows));
#pragma omp parallel
  {
    std::vector<double> x(static_cast<std::size_t>(cols));
#pragma omp for schedule(dynamic, 16)
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::size_t base = static_cast<std::size_t>(r * cols);
      double sum = 0, abs_sum = 0;
      for (std::int64_t c = 0; c < cols; ++c) {
        x[c] = input_.get(base + c);
        sum += x[c];
        abs_sum += std::fabs(x[c]);
      }
      const double mean = sum / static_cast<double>(cols);
      double squares = 0;  // two passes: no cancellation in the reference
      for (std::int64_t c = 0; c < cols; ++c) squares += (x[c] - mean) * (x[c] - mean);
      const double rstd = 1.0 / std::sqrt(squares / static_cast<double>(cols) + shape_.epsilon);
      const double mean_abs_scaled = abs_sum / static_cast<double>(cols) * rstd;
      double worst = 0;
      std::int64_t worst_col = 0;
      for (std::int64_t c = 0; c < cols; ++c) {
        const double z = (x[c] - mean) * rstd;
        const double ref = z * gamma[c] + beta[c];
        const double scale = std::fabs(gamma[c]) * (1.0 + std::fabs(z) + mean_abs_scaled) + std::fabs(beta[c]);
        const double err = std::fabs(out.get(base + c) - ref) / scale;
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
  return make_verification(worst, tol,
                           "every element fp64 (two-pass statistics), |error| / (|gamma|(1+|z|+mean|x| rstd)+|beta|)",
                           fmt::format("worst at y[{}][{}]", worst_row, row_worst_col[worst_row]), 0, -1);
}

}  // namespace mlbench
