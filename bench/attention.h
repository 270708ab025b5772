// Scaled dot-product attention forward, per batch and head: O = softmax(Q K^T / sqrt(D)) V.
// Q, K, V and O are row-major [B][H][S][D]; with `causal`, query i attends to keys 0..i only.
// The log-sum-exp of each row (what training kernels keep for the backward pass) is not an
// output: mlbench measures the inference forward, and a Variant returns one verified buffer.
#pragma once

#include <memory>
#include <stdexcept>
#include <vector>

#include "bench/problem.h"

namespace mlbench {

struct AttentionShape {
  std::int64_t batch = 1, heads = 16, seq = 4096, head_dim = 128;
  bool causal = false;  // query i attends to keys 0..i only
};

class AttentionProblem final : public Problem {
 public:
  // Q and K uniform in [-2, 2) (scores with a spread of about 1.3, so the weights of a row
  // differ by e^4 and more, as trained attention's do), V uniform in [-1, 1).
  AttentionProblem(AttentionShape shape, Precision precision, std::uint64_t seed, std::int64_t size);

  const AttentionShape& shape() const { return shape_; }
  const HostBuffer& q() const { return q_; }  // [B][H][S][D]
  const HostBuffer& k() const { return k_; }  // [B][H][S][D]
  const HostBuffer& v() const { return v_; }  // [B][H][S][D]
  double scale() const;                       // 1 / sqrt(D)

  std::string workload() const override { return "attention"; }
  std::string shape_label() const override;  // "B1 H16 S4096 D128" (+ " causal")
  std::vector<std::pair<std::string, std::int64_t>> shape_fields() const override;
  // The two matrix products only, 2 FLOP per multiply-add: 4 B H D times the (query, key)
  // pairs computed, S^2, or S (S + 1) / 2 with causal masking. The softmax's max, exp, sum
  // and division (O(S^2), not O(S^2 D)) are not counted, as FlashAttention and cuDNN count.
  double flops() const override;
  double min_bytes() const override;  // Q, K, V read once and O written once
  std::size_t output_size() const override;
  std::size_t input_bytes() const override;
  // Error of O[i][d] relative to sum_j P_ij |V_jd| (P the fp64 attention weights). Tolerance
  // 2 u_out + 2 u_p + 4 u_acc (8 + sqrt(S) + 2 sqrt(D) (1 + A)) + u_in (4 + 4 A): the stored
  // rounding; the weights rounded to the storage type before the second product (what
  // FlashAttention kernels do, u_p = u_out for bf16/fp16, 0 otherwise); the fp32 sums over
  // keys and over D, with A = max|q| max|k| / sqrt(D) bounding |score| (Cauchy-Schwarz, from
  // the inputs); u_in any rounding of the inputs (TF32).
  double tolerance(double input_rounding = 0.0) const override;
  // Exact twin: attention whose weights are exactly one-hot, so that O_i is exactly one row of
  // V. Keys fall into G = min(D, S) groups (key j in group j mod G); k_j = c_j e_(j mod G) with
  // c_j = 1 + j / G (0 past the largest integer the input type holds); q_i = L e_h(i), L a power
  // of two >= 1100 sqrt(D), h(i) a random group (causal: the group of a random key <= i). Row i's
  // scores are L c_j / sqrt(D) for the keys of its group and 0 for all others; the latest visible
  // key of the group wins by >= 1100, so every other weight is exactly 0 (exp(-1100) underflows
  // in fp64 too) and its own exactly 1, in every precision, also after rounding P to 16 bits.
  // V holds integers in [-8, 8]. A causal kernel that looks at keys past i picks a later key of
  // the group; a wrong element, or a winner's V or K element ignored, changes O. Keys that win
  // no row are not tested by the twin (the fp64 check covers them). nullptr for fp16 when
  // D > 887 (L would pass fp16's range).
  std::unique_ptr<Problem> exact_twin() const override;

  // Up to this many multiply-adds of scores (B H S^2 D) every element of O is checked exactly.
  static constexpr double kDefaultExhaustiveWork = double(std::int64_t{1} << 36);
  // Tests lower it to run the sampled scheme at small sizes.
  void set_exhaustive_work(double multiply_adds) { exhaustive_work_ = multiply_adds; }

  // Above it, rows checked element by element: the first and last kCheckTileRows query
  // rows of every batch x head, and kSampledRows more drawn at random per batch x head.
  static constexpr std::int64_t kCheckTileRows = 128;
  static constexpr std::int64_t kSampledRows = 64;
  static constexpr int kProjections = 4;

 protected:
  // Every query row's scores are computed in fp64 (O(B H S^2 D), the cost of one fp64 forward
  // pass without the second product). Up to the exhaustive limit (the default shape, B1 H16
  // S4096 D128, is 2^35) every element of O is checked exactly, at twice that cost; above, the
  // rows above are, and every other row by kProjections random Gaussian projections:
  // O_i x == sum_j P_ij (V x)_j, error relative to sum_j P_ij (|V| |x|)_j. A wrong element
  // O_id off by e fails that when e |x_d| exceeds the tolerance times sum_d' (sum_j P_ij|V_jd'|) |x_d'|,
  // about D/2 times the tolerance of an exactly checked element.
  Verification check_output(const HostBuffer& output, double input_rounding) const override;
  // Every element of O_i equal to V_w(i), w(i) the winning key (both matches alike).
  Verification check_exact(const HostBuffer& output, ExactMatch match) const override;

 private:
  double score_bound() const;  // A above
  struct ExactTwinTag {};
  AttentionProblem(const AttentionProblem& of, ExactTwinTag);
  std::vector<std::int64_t> winner_;  // exact twin: the key each query row must copy
  AttentionShape shape_;
  HostBuffer q_, k_, v_;
  double max_q_norm_ = 0, max_k_norm_ = 0;
  double exhaustive_work_ = kDefaultExhaustiveWork;
};

// The command line's attention options (bench/attention_workload.cpp); --size is the sequence length S.
struct AttentionOptions {
  std::int64_t batch = 1;
  std::int64_t heads = 16;
  std::int64_t head_dim = 128;
  bool causal = false;
};

}  // namespace mlbench
