#include "bench/reduction.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
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
  fill_uniform(input_, input_stream(seed).seed, input_stream(seed).lo, input_stream(seed).hi);
}

ReductionProblem::ReductionProblem(const ReductionProblem& of, ExactTwinTag)
    : Problem(of.precision(), of.seed(), of.size()), shape_(of.shape_) {
  mark_exact_twin();
  input_ = HostBuffer(precision(), of.input_.size());
  const auto segments = static_cast<std::int64_t>(output_size());
  const auto length = static_cast<std::int64_t>(input_.size()) / segments;
  block_ = std::max<std::int64_t>(1, (length + (std::int64_t{1} << 17) - 1) >> 17);
  const std::int64_t block = block_, period = boundary_period();
  const std::uint64_t x_seed = seed() ^ 0x5ed0c7ULL;
  const bool max = shape_.op == ReduceOp::max;
  exact_.assign(static_cast<std::size_t>(segments), 0);
  visit_typed(input_, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t seg = 0; seg < segments; ++seg) {
      T* x = p + seg * length;
      std::int64_t exact = 0;
      const std::uint64_t seg_hash = twin_hash(x_seed, static_cast<std::uint64_t>(seg));
      if (max) {
        // the unique maximum: in the tail of every other segment (whole tensor: every other seed)
        const bool in_tail = ((static_cast<std::uint64_t>(seg) + seed()) & 1) == 0;
        const std::int64_t at =
            in_tail ? length - 1 : static_cast<std::int64_t>(seg_hash % static_cast<std::uint64_t>(length));
        for (std::int64_t j = 0; j < length; ++j) {
          const auto h = twin_hash(seg_hash, static_cast<std::uint64_t>(j));
          x[j] = from_double<T>(j == at ? -1.0 : -2.0 - static_cast<double>(h & 1));
        }
        exact = -1;
      } else {
        for (std::int64_t j = 0; j < length; ++j) {
          const auto h = twin_hash(seg_hash, static_cast<std::uint64_t>(j));
          const std::int64_t in_block = j % block, in_period = j % period;
          const std::uint64_t chosen = twin_hash(seg_hash ^ 0xb10cULL, static_cast<std::uint64_t>(j / block)) %
                                       static_cast<std::uint64_t>(block);
          const bool nonzero = j == 0 || j == length - 1 || in_period == 0 || in_period == period - 1 ||
                               in_block == static_cast<std::int64_t>(chosen);
          const std::int64_t value = nonzero ? 1 + static_cast<std::int64_t>(h & 1) : 0;
          x[j] = from_double<T>(static_cast<double>(value));
          exact += value;
        }
      }
      exact_[static_cast<std::size_t>(seg)] = exact;
    }
  });
}

std::unique_ptr<Problem> ReductionProblem::exact_twin() const {
  return std::unique_ptr<Problem>(new ReductionProblem(*this, ExactTwinTag{}));
}

Verification ReductionProblem::check_exact(const HostBuffer& out, ExactMatch match) const {
  const bool max = shape_.op == ReduceOp::max, mean = shape_.op == ReduceOp::mean;
  const std::string method =
      max ? "integer twin (-3/-2 and one unique max -1 per segment), exact max"
          : fmt::format(
                "integer twin ({{0,1,2}}, non-zero at both ends of each segment and every {} elements, "
                "1 per {} elements elsewhere), exact {}{}",
                boundary_period(), block_, to_string(shape_.op),
                mean                          ? " (within 4 units of roundoff of the exact sum / count)"
                : match == ExactMatch::strict ? ""
                                              : ", rounded");
  if (out.size() != output_size() || out.precision() != output_precision())
    return exact_verification(false, INFINITY, method, "output has the wrong size or precision");
  const std::int64_t length = static_cast<std::int64_t>(input_.size() / output_size());
  // An ignored non-zero element moves the mean by 1 / S >= 2^-19 of itself, far above this.
  const double mean_slack = 4.0 * unit_roundoff(output_precision());
  for (std::size_t seg = 0; seg < exact_.size(); ++seg) {
    const double got = out.get(seg);
    const auto exact = static_cast<double>(exact_[seg]);
    bool right = false;
    if (mean)  // S / n rounded once or twice (a reciprocal): within 4 u of it
      right = std::fabs(got - exact / static_cast<double>(length)) <=
              mean_slack * std::fabs(exact / static_cast<double>(length));
    else if (max || match == ExactMatch::strict)
      right = got == exact;
    else
      right = std::isfinite(got) && std::nearbyint(got) == exact;
    if (!right) {
      const std::string where = exact_.size() > 1 ? fmt::format("row {}: ", seg) : "";
      return exact_verification(
          false, std::isfinite(got) ? std::fabs(got - (mean ? exact / static_cast<double>(length) : exact)) : INFINITY,
          method,
          fmt::format(
              "{}{} is {:.9g}, exact {}", where, to_string(shape_.op), got,
              mean ? fmt::format("{:.9g}", exact / static_cast<double>(length)) : fmt::format("{}", exact_[seg])));
    }
  }
  return exact_verification(true, 0, method, "");
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
  const double n =
      shape_.axis == ReduceAxis::rows ? static_cast<double>(shape_.cols) : static_cast<double>(input_.size());
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
    const auto ref =
        reference(input_, static_cast<std::size_t>(s) * length, (static_cast<std::size_t>(s) + 1) * length, shape_.op);
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
  const std::string method =
      shape_.op == ReduceOp::max ? "exact fp64 max, absolute error" : "compensated fp64 sum, error / sum|x|";
  const std::string where = segments > 1 ? fmt::format("worst in row {}", worst_at) : "";
  return make_verification(worst, tol, method, where, 0, -1);
}

}  // namespace mlbench
