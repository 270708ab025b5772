// Row-wise layer normalization forward of a row-major rows x cols tensor:
// y[r][c] = (x[r][c] - mean_r) * rstd_r * gamma[c] + beta[c], rstd_r = 1 / sqrt(var_r + epsilon),
// var_r the population variance of row r. Statistics in fp32 (fp64 for fp64).
#pragma once

#include <memory>
#include <stdexcept>

#include "bench/problem.h"

namespace mlbench {

struct LayerNormShape {
  std::int64_t rows = 0, cols = 0;
  double epsilon = 1e-5;
};

class LayerNormProblem final : public Problem {
 public:
  // Inputs uniform in [-2, 3) (activations with a non-zero mean, so a one-pass variance that
  // cancels shows), gamma in [0.5, 1.5), beta in [-0.5, 0.5).
  LayerNormProblem(LayerNormShape shape, Precision precision, std::uint64_t seed, std::int64_t size);

  const LayerNormShape& shape() const { return shape_; }
  const HostBuffer& input() const { return input_; }  // [rows][cols]
  const HostBuffer& gamma() const { return gamma_; }  // [cols]
  const HostBuffer& beta() const { return beta_; }    // [cols]

  std::string workload() const override { return "layernorm"; }
  std::string shape_label() const override;  // "16384x4096 eps=1e-05"
  std::vector<std::pair<std::string, std::int64_t>> shape_fields() const override;
  // 7 per element: the sum (1), (x - mean)^2 accumulated (2), (x - mean) * rstd * gamma + beta (4);
  // the per-row division and square root are not counted.
  double flops() const override;
  double min_bytes() const override;  // x, gamma, beta read once + y written once
  std::size_t output_size() const override;
  std::size_t input_bytes() const override;
  // Every element of every row against fp64; error |y - ref| / (|gamma| (1 + |z| + mean|x| rstd) + |beta|),
  // z the normalized value: the terms bound what the fp32 mean (relative to mean|x|), the
  // variance (relative to z) and the stored rounding can each contribute. Tolerance
  // 2 u_out + u_acc (32 + 4 sqrt(cols)) + 4 u_in.
  double tolerance(double input_rounding = 0.0) const override;
  // The twin: layer norm's output is not an integer for any useful input (1/sqrt of a variance,
  // and GPU kernels merge partial statistics with divisions), so this twin is checked against
  // fp64 with the same tolerance, not exactly. Its inputs make every element matter: x in
  // {-2, -1, 1, 2, 3, 4} (never 0, so an element read as 0, or skipped, moves its own output
  // by at least |gamma| rstd, far above the tolerance), gamma in {0.5, 0.75, ..., 1.5}, beta in
  // {-0.5, -0.25, ..., 0.5} (exact in every type).
  std::unique_ptr<Problem> exact_twin() const override;

 protected:
  Verification check_output(const HostBuffer& output, double input_rounding) const override;
  // check_output (every element, the fp64 tolerance) on the twin's inputs.
  Verification check_exact(const HostBuffer& output, ExactMatch match) const override;

 private:
  struct ExactTwinTag {};
  LayerNormProblem(const LayerNormProblem& of, ExactTwinTag);
  LayerNormShape shape_;
  HostBuffer input_, gamma_, beta_;
};

}  // namespace mlbench
