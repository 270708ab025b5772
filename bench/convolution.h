// 2D convolution forward (cross-correlation, as ML frameworks define it), NCHW layout:
// input  [N][C][H][W], filters [K][C][R][R], output [N][K][OH][OW],
// OH = (H + 2*pad - R) / stride + 1 (likewise OW). No bias.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "bench/problem.h"

namespace mlbench {

struct ConvShape {
  std::int64_t batch = 1;     // N
  std::int64_t channels = 3;  // C
  std::int64_t height = 0;    // H
  std::int64_t width = 0;     // W
  std::int64_t filters = 16;  // K
  std::int64_t kernel = 3;    // R (square filter R x R)
  std::int64_t stride = 1;
  std::int64_t pad = 1;
  std::int64_t out_height() const { return (height + 2 * pad - kernel) / stride + 1; }
  std::int64_t out_width() const { return (width + 2 * pad - kernel) / stride + 1; }
  // "same" padding for an odd kernel: (R - 1) / 2.
  static std::int64_t same_padding(std::int64_t kernel) { return (kernel - 1) / 2; }
};

// Throws InputError when the shape is not a valid convolution (non-positive dimensions, a
// kernel that does not fit the padded image, sizes whose products overflow).
void validate_shape(const ConvShape& shape, Precision precision);

class ConvProblem final : public Problem {
 public:
  // Validates the shape (positive dims, output at least 1x1, no overflow) and draws
  // input and filters uniform in [-1, 1).
  ConvProblem(ConvShape shape, Precision precision, std::uint64_t seed, std::int64_t size);

  const ConvShape& shape() const { return shape_; }
  const HostBuffer& input() const { return input_; }
  const HostBuffer& weights() const { return weights_; }
  // The streams input (NCHW) and filters (KCRR) are drawn from, for a process that builds only
  // its shard.
  static UniformInput input_stream(std::uint64_t seed) { return {seed, -1.0, 1.0}; }
  static UniformInput weights_stream(std::uint64_t seed) { return {seed + 1, -1.0, 1.0}; }

  std::string workload() const override { return "convolution"; }
  std::string shape_label() const override;
  std::vector<std::pair<std::string, std::int64_t>> shape_fields() const override;
  double flops() const override;      // 2 * N*K*OH*OW * C*R*R
  double min_bytes() const override;  // (input + filters + output) * element size
  std::size_t output_size() const override;
  std::size_t input_bytes() const override;
  // Every element finite, plus exactly computed random samples of the output; errors relative
  // to sum |w * x| over the window.
  double tolerance(double input_rounding = 0.0) const override;
  // Exact twin: every input pixel an integer in {1, 2}; each filter k holds integers in {1, 2}
  // on a cyclic band of band() of its C*R*R taps starting at (k * band()) mod (C*R*R), zeros
  // elsewhere. Every output is then an integer in [0, 4 band()], exact in every precision and
  // summation order. band() = C*R*R up to C*R*R = 64 (bf16), 512 (fp16), 2^22 (fp32/tf32), any
  // (fp64); every tap is in some filter's band once K * band() >= C*R*R.
  std::unique_ptr<Problem> exact_twin() const override;
  std::int64_t band() const { return band_; }

 protected:
  Verification check_output(const HostBuffer& output, double input_rounding) const override;
  // Every element an integer (strict) or rounded (nearest_integer) within [0, 4 band()], then
  // one exact int64 weighted sum per output row (k, oh) with random non-zero integer weights
  // v[n][ow]: sum v * out == sum_taps w * T. A single wrong output changes its row's sum by
  // e * v != 0, so it is always caught; several wrong outputs of one row escape only if they
  // cancel exactly (probability below 2^-20).
  Verification check_exact(const HostBuffer& output, ExactMatch match) const override;

 private:
  struct ExactTwinTag {};
  ConvProblem(const ConvProblem& of, ExactTwinTag);

  ConvShape shape_;
  HostBuffer input_, weights_;
  // exact twin only: band, the inputs as integers, and T[tap][oh] of the weighted sums
  // (computed on the first check; the vector v is the same for every check of this twin)
  std::int64_t band_ = 0;
  std::vector<std::int8_t> input_int_, weights_int_;
  mutable std::vector<std::int64_t> tap_sums_, row_weights_;
  // the accuracy check's T and sum |T| per Gaussian vector, likewise computed once
  mutable std::vector<std::vector<double>> accuracy_tap_sums_, accuracy_abs_tap_sums_;
};

// The command line's convolution options (bench/convolution_workload.cpp); --size is the image side.
struct ConvolutionOptions {
  std::int64_t batch = 1;
  std::int64_t channels = 3;
  std::int64_t filters = 16;
  std::int64_t kernel = 3;
  std::int64_t stride = 1;
  std::int64_t pad = -1;  // -1: "same" padding, (kernel - 1) / 2
};

}  // namespace mlbench
