// Row-wise softmax of a row-major rows x cols tensor: y[r][c] = exp(x[r][c] - m_r) / sum_c exp(x[r][c] - m_r),
// m_r the row's maximum (subtracted so that no exp overflows).
#pragma once

#include <memory>
#include <stdexcept>

#include "bench/problem.h"
#include "bench/workload.h"

namespace mlbench {

struct SoftmaxShape {
  std::int64_t rows = 0, cols = 0;
};

class SoftmaxProblem final : public Problem {
 public:
  // Inputs uniform in [-8, 8) (logits): the outputs of a row span e^16, so a kernel that
  // forgets the max or sums in the wrong order shows.
  SoftmaxProblem(SoftmaxShape shape, Precision precision, std::uint64_t seed, std::int64_t size);

  const SoftmaxShape& shape() const { return shape_; }
  const HostBuffer& input() const { return input_; }  // [rows][cols]

  std::string workload() const override { return "softmax"; }
  std::string shape_label() const override;  // "16384x4096"
  std::vector<std::pair<std::string, std::int64_t>> shape_fields() const override;
  // 5 per element: max, subtract, exp, sum, scale (exp counted as one operation).
  double flops() const override;
  double min_bytes() const override;  // input read once + output written once
  std::size_t output_size() const override;
  std::size_t input_bytes() const override;
  // Every element of every row against fp64; error |y - ref| / max(ref, smallest normal of the
  // output type) (relative, floored where the output format itself goes subnormal). Tolerance
  // 2 u_out + u_acc (64 + 4 sqrt(cols)) + 32 u_in: the stored rounding, the exp of an argument
  // up to 16 with its rounding, the fp32 sum of cols terms; u_in any input rounding.
  double tolerance(double input_rounding = 0.0) const override;
  // Exact twin: in every row k = 2^j equal maxima (j random, k <= min(cols, 1024)), evenly
  // spaced (the last one at the last column in every other row), of a random value c in
  // {-4..-1, 1..4}; every other element -1024, -1536, -2048 or -3072. exp(0) = 1 and
  // exp(<= -1020) = 0 in every precision's arithmetic (fp64 included), so the output is exactly
  // 1/k at the maxima and 0 elsewhere, in every output type. An element read as 0 instead of
  // its value (c != 0, the others far below) changes the row; so does any wrong element.
  std::unique_ptr<Problem> exact_twin() const override;

 protected:
  Verification check_output(const HostBuffer& output, double input_rounding) const override;
  // Every element equal to its exact value (1/k or 0; both matches alike: nothing rounds).
  Verification check_exact(const HostBuffer& output, ExactMatch match) const override;

 private:
  struct ExactTwinTag {};
  SoftmaxProblem(const SoftmaxProblem& of, ExactTwinTag);
  SoftmaxShape shape_;
  HostBuffer input_;
};

// Rows of a rows x cols tensor of `precision` that make it `bytes` large (at least 1).
std::int64_t rows_for_bytes(std::int64_t cols, Precision precision, std::int64_t bytes);

// Softmax and layer norm: --size is the row length (cols); their command-line options.
struct RowOptions {
  std::int64_t rows = 0;  // 0: as many rows as make the input kDefaultRowTensorBytes
  double epsilon = 1e-5;  // layer norm only
};
inline constexpr std::int64_t kDefaultRowTensorBytes = std::int64_t{256} << 20;

// What the softmax and layer-norm descriptors share (bench/softmax_workload.cpp): the --rows
// option, the row count it gives for a row length, the buffers of a rows x cols tensor (x, y,
// gamma, beta; `workload` names it in the tf32 refusal) and --preset quick's 1024 rows.
WorkloadOption rows_option();
std::int64_t row_count(std::int64_t cols, Precision precision, const RowOptions& options);
HostFootprint row_footprint(const std::string& workload, std::int64_t cols, Precision precision,
                            const RowOptions& options);
void quick_rows(WorkloadOptions& options);

}  // namespace mlbench
