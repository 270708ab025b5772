// GEMM: C = A * B, all matrices row-major; A is M x K, B is K x N, C is M x N.
#pragma once

#include "bench/problem.h"

namespace mlbench {

struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0;
};

class GemmProblem final : public Problem {
 public:
  // Square problem M = N = K = size with inputs uniform in [-1, 1).
  GemmProblem(GemmShape shape, Precision precision, std::uint64_t seed, std::int64_t size);

  const GemmShape& shape() const { return shape_; }
  const HostBuffer& a() const { return a_; }
  const HostBuffer& b() const { return b_; }

  std::string workload() const override { return "gemm"; }
  std::string shape_label() const override;
  std::vector<std::pair<std::string, std::int64_t>> shape_fields() const override;
  double flops() const override;      // 2*M*N*K
  double min_bytes() const override;  // (M*K + K*N) * input size + M*N * output size
  std::size_t output_size() const override;
  std::size_t input_bytes() const override;
  // Freivalds' check with random +-1 vectors over the whole of C, plus exactly computed
  // sampled entries; errors are relative to sum_k |a_ik * b_kj|.
  double tolerance(double input_rounding = 0.0) const override;

 protected:
  Verification check_output(const HostBuffer& c, double input_rounding) const override;

 public:
  // Largest error that passes, relative to sum_k |a_ik b_kj|: 4 (2 u_in + u_acc (2 + sqrt(K))) + 2 u_out,
  // u_acc the unit roundoff of the accumulation (fp32 for tf32/bf16/fp16), u_in that of any
  // input rounding the implementation adds (TF32 tensor cores on fp32 inputs), u_out that of
  // the stored output (2^-8 for bf16, 2^-11 for fp16).

 private:
  GemmShape shape_;
  HostBuffer a_, b_;
};

}  // namespace mlbench
