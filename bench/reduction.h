// Reduction of a row-major rows x cols tensor: over all elements (one output) or per row
// (`rows` outputs, as softmax and layer norm need them).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>
#include <string_view>

#include "bench/problem.h"

namespace mlbench {

enum class ReduceOp { sum, max, mean };
enum class ReduceAxis { all, rows };
std::string to_string(ReduceOp op);
std::string to_string(ReduceAxis axis);
std::optional<ReduceOp> parse_reduce_op(std::string_view text);
std::optional<ReduceAxis> parse_reduce_axis(std::string_view text);

struct ReductionShape {
  std::int64_t rows = 0, cols = 0;
  ReduceOp op = ReduceOp::sum;
  ReduceAxis axis = ReduceAxis::all;
};

class ReductionProblem final : public Problem {
 public:
  // Input uniform in [0, 1) (like post-ReLU activations): the sum has no cancellation, so
  // its error can be measured relative to the sum itself and a lost block of elements shows.
  ReductionProblem(ReductionShape shape, Precision precision, std::uint64_t seed, std::int64_t size);

  const ReductionShape& shape() const { return shape_; }
  const HostBuffer& input() const { return input_; }
  // The stream the input (row-major) is drawn from, for a process that builds only its shard.
  static UniformInput input_stream(std::uint64_t seed) { return {seed, 0.0, 1.0}; }

  std::string workload() const override { return "reduction"; }
  std::string shape_label() const override;
  std::vector<std::pair<std::string, std::int64_t>> shape_fields() const override;
  double flops() const override;             // one operation per input element
  double min_bytes() const override;         // input + output
  std::size_t output_size() const override;  // 1 or rows
  // fp32 for bf16/fp16 inputs (fp32 accumulation; a 16-bit sum of many elements overflows).
  Precision output_precision() const override { return is_16bit(precision()) ? Precision::fp32 : precision(); }
  std::size_t input_bytes() const override;
  // Reference by compensated (Neumaier) fp64 summation / exact max. Sum and mean errors are
  // relative to sum |x| of the reduced elements (tolerance u_acc * (2 log2 n + 256), u_acc
  // 2^-24 for fp32, bf16 and fp16 inputs, which a blocked or tree summation meets); max must be
  // exact.
  double tolerance(double input_rounding = 0.0) const override;
  // Exact twin. Sum and mean: integers in {0, 1, 2}, non-zero at the first and last element of
  // every reduced segment (a row, or the whole tensor), at both sides of every boundary_period()
  // elements, and at one random place in every block of block() elements (block() = 1, i.e.
  // every element non-zero, up to 2^17 elements per segment); fewer than 2^18 non-zeros per
  // segment, so every partial sum is an exact integer below 2^19 in any order. Max: every
  // element -3 or -2 (negative: a maximum started at 0 shows) and one unique maximum -1 per
  // segment, at its last element in every other segment (for the whole tensor: on every other
  // seed), elsewhere at a random place.
  std::unique_ptr<Problem> exact_twin() const override;
  std::int64_t block() const { return block_; }
  std::int64_t boundary_period() const { return 256 * block_; }

 protected:
  Verification check_output(const HostBuffer& output, double input_rounding) const override;
  // Per segment: sum == the exact integer (strict) or rounds to it (nearest_integer); mean:
  // within 4 units of roundoff of the output type of exact sum / count; max: equal. Any ignored non-zero input changes
  // the exact sum by at least 1.
  Verification check_exact(const HostBuffer& output, ExactMatch match) const override;

 private:
  struct ExactTwinTag {};
  ReductionProblem(const ReductionProblem& of, ExactTwinTag);

  ReductionShape shape_;
  HostBuffer input_;
  std::int64_t block_ = 1;           // exact twin only
  std::vector<std::int64_t> exact_;  // exact twin only: sum (sum, mean) or max per segment
};

// The command line's reduction options (bench/reduction_workload.cpp).
struct ReductionOptions {
  ReduceOp op = ReduceOp::sum;
  ReduceAxis axis = ReduceAxis::all;
};

}  // namespace mlbench
