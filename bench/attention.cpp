#include "bench/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "bench/verification.h"

namespace mlbench {

namespace {
// Largest Euclidean norm of the D-element rows of a [rows][D] buffer.
double max_row_norm(const HostBuffer& b, std::int64_t rows, std::int64_t d) {
  double worst = 0;
#pragma omp parallel for reduction(max : worst) schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::int64_t c = 0; c < d; ++c) {
      const double x = b.get(static_cast<std::size_t>(r * d + c));
      s += x * x;
    }
    worst = std::max(worst, std::sqrt(s));
  }
  return worst;
}
}  // namespace

AttentionProblem::AttentionProblem(AttentionShape shape, Precision precision, std::uint64_t seed, std::int64_t size)
    : Problem(precision, seed, size), shape_(shape) {
  if (shape.batch <= 0 || shape.heads <= 0 || shape.seq <= 0 || shape.head_dim <= 0)
    throw InputError("attention dimensions (batch, heads, seq, head dim) must be positive");
  if (precision == Precision::tf32)
    throw InputError("attention takes fp64, fp32, bf16 or fp16 inputs (tf32 is a GEMM math mode)");
  const auto rows =
      checked_mul(checked_mul(shape.batch, shape.heads, "attention batch x heads"), shape.seq, "attention rows");
  const auto count = checked_mul(rows, shape.head_dim, "attention tensor");
  checked_mul(checked_mul(count, 4, "attention tensors"), static_cast<std::int64_t>(element_size(precision)),
              "attention bytes");
  checked_mul(checked_mul(shape.seq, shape.seq, "attention scores"), shape.head_dim, "attention work");
  q_ = HostBuffer(precision, static_cast<std::size_t>(count));
  k_ = HostBuffer(precision, static_cast<std::size_t>(count));
  v_ = HostBuffer(precision, static_cast<std::size_t>(count));
  fill_uniform(q_, seed, -2.0, 2.0);
  fill_uniform(k_, seed + 1, -2.0, 2.0);
  fill_uniform(v_, seed + 2, -1.0, 1.0);
  max_q_norm_ = max_row_norm(q_, rows, shape.head_dim);
  max_k_norm_ = max_row_norm(k_, rows, shape.head_dim);
}

namespace {
// The largest integer the input type holds exactly with every smaller one (the twin's c_j).
double twin_integer_limit(Precision p) {
  switch (p) {
    case Precision::bf16: return 256;
    case Precision::fp16: return 2048;
    default: return double(1 << 20);
  }
}
// L of the twin: the smallest power of two >= 1100 sqrt(D).
double twin_query_scale(std::int64_t head_dim) {
  double l = 1;
  while (l < 1100.0 * std::sqrt(static_cast<double>(head_dim))) l *= 2;
  return l;
}
}  // namespace

AttentionProblem::AttentionProblem(const AttentionProblem& of, ExactTwinTag)
    : Problem(of.precision(), of.seed(), of.size()), shape_(of.shape_) {
  mark_exact_twin();
  const std::int64_t S = shape_.seq, D = shape_.head_dim, BH = shape_.batch * shape_.heads;
  const std::int64_t groups = std::min(D, S);
  const double limit = twin_integer_limit(precision()), big = twin_query_scale(D);
  q_ = HostBuffer(precision(), of.q_.size());
  k_ = HostBuffer(precision(), of.k_.size());
  v_ = HostBuffer(precision(), of.v_.size());
  winner_.assign(static_cast<std::size_t>(BH * S), 0);
  const std::uint64_t base = seed() ^ 0xa77e1ULL;
  auto c_of = [&](std::int64_t j) {
    const double c = static_cast<double>(1 + j / groups);
    return c <= limit ? c : 0.0;
  };
#pragma omp parallel for schedule(static)
  for (std::int64_t row = 0; row < BH * S; ++row) {
    const std::int64_t i = row % S;
    const std::size_t at = static_cast<std::size_t>(row * D);
    const std::uint64_t h = twin_hash(base, static_cast<std::uint64_t>(row));
    for (std::int64_t d = 0; d < D; ++d) {
      q_.set(at + static_cast<std::size_t>(d), 0.0);
      k_.set(at + static_cast<std::size_t>(d), d == i % groups ? c_of(i) : 0.0);
      v_.set(at + static_cast<std::size_t>(d),
             static_cast<double>(static_cast<std::int64_t>(twin_hash(h, static_cast<std::uint64_t>(d)) % 17) - 8));
    }
    // the group of row i: random (causal: that of a random visible key)
    const std::int64_t pick =
        static_cast<std::int64_t>((h >> 16) % static_cast<std::uint64_t>(shape_.causal ? i + 1 : S));
    const std::int64_t group = pick % groups;
    q_.set(at + static_cast<std::size_t>(group), big);
    // winner: the latest visible key of the group whose c is not 0
    const std::int64_t last = shape_.causal ? i : S - 1;
    std::int64_t w = last - ((last - group) % groups + groups) % groups;  // latest key of the group <= last
    while (c_of(w) == 0) w -= groups;
    winner_[static_cast<std::size_t>(row)] = w;
  }
}

std::unique_ptr<Problem> AttentionProblem::exact_twin() const {
  if (precision() == Precision::fp16 && twin_query_scale(shape_.head_dim) > 32768) return nullptr;
  return std::unique_ptr<Problem>(new AttentionProblem(*this, ExactTwinTag{}));
}

Verification AttentionProblem::check_exact(const HostBuffer& out, ExactMatch) const {
  // 16-bit inputs: FlashAttention-2-style kernels fold the scale into one FMA (exp2(s*k - m*k),
  // m*k rounded) and round P to the input type for P.V while the row sum stays fp32. The
  // winner's weight is then exp2 of that FMA's rounding residual, not exactly 1, so O_i is
  // V_w * fl16(p) / p, in V_w * [1 - u, 1 + u] before the output's own rounding: at most one
  // step of the 16-bit grid from V_w, which is within 2u of it (seen on the H200: fp16, S 1000,
  // 0.99951 for 1). A wrong or ignored key is off by a whole integer in some column.
  const double relative = is_16bit(precision()) ? 2 * unit_roundoff(output_precision()) : 0.0;
  const std::string method =
      "twin (one-hot attention: each row's weights exactly 1 on one key, 0 elsewhere), O_i " +
      std::string(relative > 0 ? "within one 16-bit rounding step of that key's V row (P rounded to 16 bits)"
                               : "exactly equal to that key's V row");
  if (out.size() != output_size() || out.precision() != output_precision())
    return exact_verification(false, INFINITY, method, "output has the wrong size or precision");
  const std::int64_t S = shape_.seq, D = shape_.head_dim, BH = shape_.batch * shape_.heads;
  for (std::int64_t row = 0; row < BH * S; ++row) {
    const std::int64_t bh = row / S, w = winner_[static_cast<std::size_t>(row)];
    for (std::int64_t d = 0; d < D; ++d) {
      const double got = out.get(static_cast<std::size_t>(row * D + d));
      const double exact = v_.get(static_cast<std::size_t>((bh * S + w) * D + d));
      if (!(std::fabs(got - exact) <= relative * std::fabs(exact)))
        return exact_verification(
            false, std::isfinite(got) ? std::fabs(got - exact) : INFINITY, method,
            fmt::format("O[bh {}][{}][{}] is {:.9g}, V[{}][{}] is {:.9g}", bh, row % S, d, got, w, d, exact));
    }
  }
  return exact_verification(true, 0, method, "");
}

double AttentionProblem::scale() const { return 1.0 / std::sqrt(static_cast<double>(shape_.head_dim)); }

std::string AttentionProblem::shape_label() const {
  return fmt::format("B{} H{} S{} D{}{}", shape_.batch, shape_.heads, shape_.seq, shape_.head_dim,
                     shape_.causal ? " causal" : "");
}

std::vector<std::pair<std::string, std::int64_t>> AttentionProblem::shape_fields() const {
  return {{"B", shape_.batch},
          {"H", shape_.heads},
          {"S", shape_.seq},
          {"D", shape_.head_dim},
          {"causal", shape_.causal ? 1 : 0}};
}

double AttentionProblem::flops() const {
  const double s = static_cast<double>(shape_.seq);
  const double pairs = shape_.causal ? s * (s + 1.0) / 2.0 : s * s;
  return 4.0 * static_cast<double>(shape_.batch) * static_cast<double>(shape_.heads) *
         static_cast<double>(shape_.head_dim) * pairs;
}

double AttentionProblem::min_bytes() const {
  return static_cast<double>(q_.size()) *
         (3.0 * static_cast<double>(element_size(precision())) + static_cast<double>(element_size(output_precision())));
}

std::size_t AttentionProblem::output_size() const { return q_.size(); }
std::size_t AttentionProblem::input_bytes() const { return q_.bytes() + k_.bytes() + v_.bytes(); }

double AttentionProblem::score_bound() const { return max_q_norm_ * max_k_norm_ * scale(); }

double AttentionProblem::tolerance(double input_rounding) const {
  const double u_out = unit_roundoff(output_precision());
  const double u_p = is_16bit(precision()) ? u_out : 0.0;
  const double a = score_bound();
  const double s = static_cast<double>(shape_.seq), d = static_cast<double>(shape_.head_dim);
  return 2.0 * u_out + 2.0 * u_p +
         4.0 * accumulation_roundoff(precision()) * (8.0 + std::sqrt(s) + 2.0 * std::sqrt(d) * (1.0 + a)) +
         input_rounding * (4.0 + 4.0 * a);
}

Verification AttentionProblem::check_output(const HostBuffer& out, double input_rounding) const {
  const double tol = tolerance(input_rounding);
  if (out.size() != output_size() || out.precision() != output_precision())
    return make_verification(INFINITY, tol, "shape", "output has the wrong size or precision", 0, -1);
  std::int64_t first_bad = -1;
  const std::size_t non_finite = count_non_finite(out, first_bad);
  if (non_finite > 0) return make_verification(0, tol, "finite", "", non_finite, first_bad);

  const std::int64_t S = shape_.seq, D = shape_.head_dim, BH = shape_.batch * shape_.heads;
  const double work =
      static_cast<double>(BH) * static_cast<double>(S) * static_cast<double>(S) * static_cast<double>(D);
  const bool exhaustive = work <= exhaustive_work_;
  const double sc = scale();

  auto rng = verification_rng(seed());
  std::normal_distribution<double> gaussian;
  std::vector<double> x(static_cast<std::size_t>(kProjections * D)), abs_x(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = gaussian(rng);
    abs_x[i] = std::fabs(x[i]);
  }
  std::uniform_int_distribution<std::int64_t> pick_row(0, S - 1);

  std::vector<double> row_error(static_cast<std::size_t>(BH * S));
  std::vector<std::int64_t> row_worst_col(row_error.size());
  std::vector<double> kd(static_cast<std::size_t>(S * D)), vd(kd.size()), abs_vd(kd.size());
  std::vector<double> vx(static_cast<std::size_t>(kProjections * S)), vax(vx.size());
  std::vector<char> exact_row(static_cast<std::size_t>(S));
  for (std::int64_t bh = 0; bh < BH; ++bh) {
    const std::size_t base = static_cast<std::size_t>(bh * S * D);
#pragma omp parallel for schedule(static)
    for (std::int64_t j = 0; j < S; ++j) {
      for (std::int64_t d = 0; d < D; ++d) {
        kd[j * D + d] = k_.get(base + static_cast<std::size_t>(j * D + d));
        vd[j * D + d] = v_.get(base + static_cast<std::size_t>(j * D + d));
        abs_vd[j * D + d] = std::fabs(vd[j * D + d]);
      }
      for (int r = 0; r < kProjections; ++r) {
        double p = 0, pa = 0;
        for (std::int64_t d = 0; d < D; ++d) {
          p += vd[j * D + d] * x[r * D + d];
          pa += std::fabs(vd[j * D + d]) * abs_x[r * D + d];
        }
        vx[r * S + j] = p;
        vax[r * S + j] = pa;
      }
    }
    for (std::int64_t i = 0; i < S; ++i) exact_row[i] = exhaustive || i < kCheckTileRows || i >= S - kCheckTileRows;
    for (std::int64_t n = 0; n < kSampledRows; ++n) exact_row[pick_row(rng)] = 1;

    // Blocks of kCheckBlock rows: each K and V row is loaded once for the whole block (the
    // check streams K and V of a batch x head once per block instead of once per row); fewer
    // rows when S is so long that a block's weights would pass 32 MiB.
    const std::int64_t kCheckBlock = std::clamp<std::int64_t>((std::int64_t{1} << 22) / S, 1, 16);
    const std::int64_t blocks = (S + kCheckBlock - 1) / kCheckBlock;
#pragma omp parallel
    {
      std::vector<double> p(static_cast<std::size_t>(kCheckBlock * S)), qb(static_cast<std::size_t>(kCheckBlock * D)),
          ref(static_cast<std::size_t>(kCheckBlock * D)), ref_scale(ref.size());
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t b = 0; b < blocks; ++b) {
        const std::int64_t i0 = b * kCheckBlock, rows = std::min(kCheckBlock, S - i0);
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t d = 0; d < D; ++d)
            qb[r * D + d] = q_.get(base + static_cast<std::size_t>((i0 + r) * D + d));
        auto keys_of = [&](std::int64_t r) { return shape_.causal ? i0 + r + 1 : S; };
        const std::int64_t keys_max = keys_of(rows - 1);
        // scores (scaled), row maxima
        for (std::int64_t j = 0; j < keys_max; ++j) {
          const double* kj = &kd[static_cast<std::size_t>(j * D)];
          for (std::int64_t r = 0; r < rows; ++r) {
            const double* qi = &qb[static_cast<std::size_t>(r * D)];
            double dot = 0;
#pragma omp simd reduction(+ : dot)
            for (std::int64_t d = 0; d < D; ++d) dot += qi[d] * kj[d];
            p[r * S + j] = dot * sc;
          }
        }
        std::vector<double> l(static_cast<std::size_t>(rows));
        bool any_exact = false;
        for (std::int64_t r = 0; r < rows; ++r) {
          double* pr = &p[static_cast<std::size_t>(r * S)];
          const std::int64_t keys = keys_of(r);
          double m = -INFINITY;
          for (std::int64_t j = 0; j < keys; ++j) m = std::max(m, pr[j]);
          double sum = 0;
          for (std::int64_t j = 0; j < keys; ++j) {
            pr[j] = std::exp(pr[j] - m);
            sum += pr[j];
          }
          for (std::int64_t j = keys; j < keys_max; ++j) pr[j] = 0;  // masked (causal)
          l[r] = sum;
          any_exact = any_exact || exact_row[i0 + r];
        }
        // every element of the exact rows: sum_j p_j V_j and sum_j p_j |V_j|, V rows shared
        if (any_exact) {
          std::fill(ref.begin(), ref.end(), 0.0);
          std::fill(ref_scale.begin(), ref_scale.end(), 0.0);
          // keys in chunks that stay in L1/L2, each row's sums over a chunk in registers
          constexpr std::int64_t kKeyChunk = 64, kLanes = 16;
          for (std::int64_t j0 = 0; j0 < keys_max; j0 += kKeyChunk) {
            const std::int64_t jn = std::min(kKeyChunk, keys_max - j0);
            for (std::int64_t r = 0; r < rows; ++r) {
              if (!exact_row[i0 + r]) continue;
              const double* pr = &p[static_cast<std::size_t>(r * S + j0)];
              double* acc = &ref[static_cast<std::size_t>(r * D)];
              double* acc_scale = &ref_scale[static_cast<std::size_t>(r * D)];
              std::int64_t d0 = 0;
              for (; d0 + kLanes <= D; d0 += kLanes) {
                double sum[kLanes], scale_sum[kLanes];
                for (std::int64_t e = 0; e < kLanes; ++e) {
                  sum[e] = acc[d0 + e];
                  scale_sum[e] = acc_scale[d0 + e];
                }
                for (std::int64_t j = 0; j < jn; ++j) {
                  const double pj = pr[j];
                  const double* vj = &vd[static_cast<std::size_t>((j0 + j) * D + d0)];
                  const double* avj = &abs_vd[static_cast<std::size_t>((j0 + j) * D + d0)];
#pragma omp simd
                  for (std::int64_t e = 0; e < kLanes; ++e) {
                    sum[e] += pj * vj[e];
                    scale_sum[e] += pj * avj[e];
                  }
                }
                for (std::int64_t e = 0; e < kLanes; ++e) {
                  acc[d0 + e] = sum[e];
                  acc_scale[d0 + e] = scale_sum[e];
                }
              }
              for (std::int64_t j = 0; j < jn && d0 < D; ++j) {
                const double pj = pr[j];
                for (std::int64_t d = d0; d < D; ++d) {
                  acc[d] += pj * vd[static_cast<std::size_t>((j0 + j) * D + d)];
                  acc_scale[d] += pj * abs_vd[static_cast<std::size_t>((j0 + j) * D + d)];
                }
              }
            }
          }
        }
        for (std::int64_t r = 0; r < rows; ++r) {
          const std::int64_t i = i0 + r;
          const std::size_t row = base + static_cast<std::size_t>(i * D);
          const double* pr = &p[static_cast<std::size_t>(r * S)];
          const std::int64_t keys = keys_of(r);
          double worst = 0;
          std::int64_t worst_col = -1;
          if (exact_row[i]) {
            for (std::int64_t d = 0; d < D; ++d) {
              const double err = std::fabs(out.get(row + static_cast<std::size_t>(d)) - ref[r * D + d] / l[r]) /
                                 std::max(ref_scale[r * D + d] / l[r], 1e-300);
              if (!(err <= worst)) {
                worst = err;
                worst_col = d;
              }
            }
          } else {
            for (int k = 0; k < kProjections; ++k) {
              double expected = 0, expected_scale = 0, got = 0;
              for (std::int64_t j = 0; j < keys; ++j) {
                expected += pr[j] * vx[k * S + j];
                expected_scale += pr[j] * vax[k * S + j];
              }
              for (std::int64_t d = 0; d < D; ++d) got += out.get(row + static_cast<std::size_t>(d)) * x[k * D + d];
              const double err = std::fabs(got - expected / l[r]) / std::max(expected_scale / l[r], 1e-300);
              if (!(err <= worst)) worst = err;
            }
          }
          row_error[bh * S + i] = worst;
          row_worst_col[bh * S + i] = worst_col;
        }
      }
    }
  }
  double worst = 0;
  std::int64_t worst_row = 0;
  for (std::size_t r = 0; r < row_error.size(); ++r)
    if (!(row_error[r] <= worst)) {
      worst = row_error[r];
      worst_row = static_cast<std::int64_t>(r);
    }
  const std::string method =
      exhaustive ? "every element fp64, error / sum_j P_ij |V_jd|"
                 : fmt::format(
                       "every row's scores fp64; every element of the first and last {} rows and {} sampled "
                       "rows per batch x head, {} Gaussian projections of every other row; error / sum_j "
                       "P_ij |V_jd|",
                       kCheckTileRows, kSampledRows, kProjections);
  const std::int64_t bh = worst_row / S, i = worst_row % S;
  const std::int64_t col = row_worst_col[static_cast<std::size_t>(worst_row)];
  const std::string where = col >= 0 ? fmt::format("worst at O[bh {}][{}][{}]", bh, i, col)
                                     : fmt::format("worst in O[bh {}][{}] (projection)", bh, i);
  return make_verification(worst, tol, method, where, 0, -1);
}

}  // namespace mlbench
