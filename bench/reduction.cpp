#include "bench/reduction.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "bench/verification.h"

namespace mlbench {

std::string to_string(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::max: return "max";
    case ReduceOp::mean: return "mean";
  }
  return "sum";
}

std::string to_string(ReduceAxis axis) { return axis == ReduceAxis::rows ? "rows" : "all"; }

std::optional<ReduceOp> parse_reduce_op(std::string_view text) {
  for (auto op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean})
    if (text == to_string(op)) return op;
  return std::nullopt;
}

std::optional<ReduceAxis> parse_reduce_axis(std::string_view text) {
  for (auto axis : {ReduceAxis::all, ReduceAxis::rows})
    if (text == to_string(axis)) return axis;
  return std::nullopt;
}

ReductionProblem::ReductionProblem(ReductionShape shape, Precision precision, std::uint64_t seed, std::int64_t size)
    : Problem(precision, seed, size), shape_(shape) {
  if (shape.rows <= 0 || shape.cols <= 0) throw InputError("reduction dimensions must be positive");
  if (precision == Precision::tf32)
    throw InputError("reductions take fp64, fp32, bf16 or fp16 inputs (tf32 only changes multiplications)");
  const auto count = checked_mul(shape.rows, shape.cols, "reduction input");
  checked_mul(count, static_cast<std::int64_t>(element_size(precision)), "reduction input bytes");
  input_ = HostBuffer(precision, static_cast<std::size_t>(count));
  fill_uniform(input_, seed, 0.0, 1.0);
}

std::string ReductionProblem::shape_label() const {
  return fmt::format("{}x{} {} over {}", shape_.rows, shape_.cols, to_string(shape_.op),
                     shape_.axis == ReduceAxis::rows ? "rows" : "all");
}

std::vector<std::pair<std::string, std::int64_t>> ReductionProblem::shape_fields() const {
  return {{"rows", shape_.rows},
          {"cols", shape_.cols},
          {"op", static_cast<std::int64_t>(shape_.op)},
          {"axis", static_cast<std::int64_t>(shape_.axis)}};
}

double ReductionProblem::flops() const { return static_cast<double>(input_.size()); }

double ReductionProblem::min_bytes() const {
  return static_cast<double>(input_.size()) * static_cast<double>(element_size(precision())) +
         static_cast<double>(output_size()) * static_cast<double>(element_size(output_precision()));
}

std::size_t ReductionProblem::output_size() const {
  return shape_.axis == ReduceAxis::rows ? static_cast<std::size_t>(shape_.rows) : 1;
}

std::size_t ReductionProblem::input_bytes() const { return input_.bytes(); }

double ReductionProblem::tolerance(double input_rounding) const {
  if (shape_.op == ReduceOp::max) return 0.0;  // max is exact in any precision
  const double n = shape_.axis == ReduceAxis::rows ? static_cast<double>(shape_.cols)
                                                   : static_cast<double>(input_.size());
  return accumulation_roundoff(precision()) * (2.0 * std::log2(std::max(n, 2.0)) + 256.0) + 2.0 * input_rounding;
}

namespace {
// Neumaier's compensated sum of [begin, end), with the sum of magnitudes beside it.
struct CompensatedSum {
  double sum = 0, compensation = 0, abs_sum = 0;
  void add(double x) {
    const double t = sum + x;
    compensation += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
    abs_sum += std::fabs(x);
  }
  double value() const { return sum + compensation; }
};

struct SegmentReference {
  double value = 0;  // exact sum / mean / max of the segment
  double scale = 0;  // what errors are relative to (sum |x|, or count for the mean)
};

SegmentReference reference(const HostBuffer& in, std::size_t begin, std::size_t end, ReduceOp op) {
  SegmentReference ref;
  if (op == ReduceOp::max) {
    double m = -std::numeric_limits<double>::infinity();
    for (std::size_t i = begin; i < end; ++i) m = std::max(m, in.get(i));
    ref.value = m;
    ref.scale = 1.0;
    return ref;
  }
  CompensatedSum s;
  for (std::size_t i = begin; i < end; ++i) s.add(in.get(i));
  const double count = static_cast<double>(end - begin);
  ref.value = op == ReduceOp::mean ? s.value() / count : s.value();
  ref.scale = op == ReduceOp::mean ? s.abs_sum / count : s.abs_sum;
  return ref;
}
}  // namespace

Verification ReductionProblem::check_output(const HostBuffer& out, double input_rounding) const {
  const double tol = tolerance(input_rounding);
  if (out.size() != output_size() || out.precision() != output_precision())
    return make_verification(INFINITY, tol, "shape", "output has the wrong size or precision", 0, -1);
  std::int64_t first_bad = -1;
  const std::size_t non_finite = count_non_finite(out, first_bad);
  if (non_finite > 0) return make_verification(0, tol, "finite", "", non_finite, first_bad);

  const std::size_t segments = output_size();
  const std::size_t length = input_.size() / segments;
  std::vector<double> errors(segments);
#pragma omp parallel for schedule(dynamic, 16)
  for (std::int64_t s = 0; s < static_cast<std::int64_t>(segments); ++s) {
    const auto ref = reference(input_, static_cast<std::size_t>(s) * length, (static_cast<std::size_t>(s) + 1) * length,
                               shape_.op);
    const double err = std::fabs(out.get(static_cast<std::size_t>(s)) - ref.value);
    errors[s] = shape_.op == ReduceOp::max ? err : err / std::max(ref.scale, 1e-300);
  }
  double worst = 0;
  std::size_t worst_at = 0;
  for (std::size_t s = 0; s < segments; ++s)
    if (!(errors[s] <= worst)) {
      worst = errors[s];
      worst_at = s;
    }
  const std::string method = shape_.op == ReduceOp::max ? "exact fp64 max, absolute error"
                                                        : "compensated fp64 sum, error / sum|x|";
  const std::string where = segments > 1 ? fmt::format("worst in row {}", worst_at) : "";
  return make_verification(worst, tol, method, where, 0, -1);
}

}  // namespace mlbench
