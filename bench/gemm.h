// GEMM: C = A * B, all matrices row-major; A is M x K, B is K x N, C is M x N.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

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
  // The streams A and B are drawn from (row-major), for a process that builds only its shard.
  static UniformInput a_input(std::uint64_t seed) { return {seed, -1.0, 1.0}; }
  static UniformInput b_input(std::uint64_t seed) { return {seed + 1, -1.0, 1.0}; }

  std::string workload() const override { return "gemm"; }
  std::string shape_label() const override;
  std::vector<std::pair<std::string, std::int64_t>> shape_fields() const override;
  double flops() const override;      // 2*M*N*K
  double min_bytes() const override;  // (M*K + K*N) * input size + M*N * output size
  std::size_t output_size() const override;
  std::size_t input_bytes() const override;
  // Exhaustive fp64 check for small products; above that Freivalds' check with random Gaussian
  // vectors over the whole of C, plus exactly computed sampled entries (gemm.cpp: 4 vectors,
  // 1024 entries); errors are relative to sum_k |a_ik * b_kj|.
  double tolerance(double input_rounding = 0.0) const override;
  // Exact twin: A and B integers in {1, 2}; each row i of A holds them on a cyclic band of
  // band() columns starting at (i * band()) mod K (zeros elsewhere), B is dense. Every entry of
  // C is then an integer in [band(), 4 band()], exact in every precision and any summation order
  // (all partial sums are non-negative and at most 4 band() <= exact_integer_limit). band() = K
  // up to K = 64 (bf16), 512 (fp16), 2^22 (fp32/tf32), any K (fp64); every column of A is in
  // some row's band once M * band() >= K (M = K here, so always).
  std::unique_ptr<Problem> exact_twin() const override;
  std::int64_t band() const { return band_; }

 protected:
  Verification check_output(const HostBuffer& c, double input_rounding) const override;
  // Every element an integer (strict) or rounded (nearest_integer) within [0, 4 band()], then
  // Freivalds' check in exact int64 arithmetic with two random non-zero integer vectors x:
  // C x == A (B x). A single wrong entry e of C changes (C x)_i by e * x_j != 0, so it is always
  // caught; several wrong entries of one row escape a vector only if they cancel exactly
  // (probability below 2^-20 per vector).
  Verification check_exact(const HostBuffer& c, ExactMatch match) const override;

 public:
  // Largest error that passes, relative to sum_k |a_ik b_kj|: 4 (2 u_in + u_acc (2 + sqrt(K))) + 2 u_out,
  // u_acc the unit roundoff of the accumulation (fp32 for tf32/bf16/fp16), u_in that of any
  // input rounding the implementation adds (TF32 tensor cores on fp32 inputs), u_out that of
  // the stored output (2^-8 for bf16, 2^-11 for fp16).

 private:
  struct ExactTwinTag {};
  GemmProblem(const GemmProblem& of, ExactTwinTag);

  GemmShape shape_;
  HostBuffer a_, b_;
  std::int64_t band_ = 0;                   // exact twin only
  std::vector<std::int8_t> a_int_, b_int_;  // exact twin only: A and B as integers
};

}  // namespace mlbench
