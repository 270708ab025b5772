#include "bench/convolution.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <type_traits>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "bench/verification.h"

namespace mlbench {

void validate_shape(const ConvShape& s, Precision precision) {
  if (s.batch <= 0 || s.channels <= 0 || s.height <= 0 || s.width <= 0 || s.filters <= 0 || s.kernel <= 0)
    throw InputError("convolution dimensions (batch, channels, size, filters, kernel) must be positive");
  if (s.stride <= 0) throw InputError("convolution stride must be positive");
  if (s.pad < 0) throw InputError("convolution padding must not be negative");
  if (s.pad >= s.kernel)
    throw InputError(fmt::format("convolution padding {} must be smaller than the kernel {}", s.pad, s.kernel));
  if (s.height + 2 * s.pad < s.kernel || s.width + 2 * s.pad < s.kernel)
    throw InputError(fmt::format("a {}x{} kernel does not fit a {}x{} image padded by {}", s.kernel, s.kernel, s.height,
                                 s.width, s.pad));
  const auto es = static_cast<std::int64_t>(element_size(precision));
  checked_mul(
      checked_mul(checked_mul(checked_mul(s.batch, s.channels, "convolution input"), s.height, "convolution input"),
                  s.width, "convolution input"),
      es, "convolution input bytes");
  checked_mul(checked_mul(checked_mul(s.filters, s.channels, "convolution filters"), s.kernel, "convolution filters"),
              s.kernel, "convolution filters");
  checked_mul(checked_mul(checked_mul(checked_mul(s.batch, s.filters, "convolution output"), s.out_height(),
                                      "convolution output"),
                          s.out_width(), "convolution output"),
              es, "convolution output bytes");
}

ConvProblem::ConvProblem(ConvShape shape, Precision precision, std::uint64_t seed, std::int64_t size)
    : Problem(precision, seed, size), shape_(shape) {
  validate_shape(shape, precision);
  const ConvShape& s = shape;
  const std::int64_t in_count = s.batch * s.channels * s.height * s.width;
  const std::int64_t w_count = s.filters * s.channels * s.kernel * s.kernel;
  input_ = HostBuffer(precision, static_cast<std::size_t>(in_count));
  weights_ = HostBuffer(precision, static_cast<std::size_t>(w_count));
  fill_uniform(input_, input_stream(seed).seed, input_stream(seed).lo, input_stream(seed).hi);
  fill_uniform(weights_, weights_stream(seed).seed, weights_stream(seed).lo, weights_stream(seed).hi);
}

namespace {
std::vector<std::int8_t> small_integers(const HostBuffer& b) {
  std::vector<std::int8_t> v(b.size());
  visit_typed(b, [&](const auto* p) {
    const auto count = static_cast<std::int64_t>(v.size());
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i) v[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(to_double(p[i]));
  });
  return v;
}
}  // namespace

ConvProblem::ConvProblem(const ConvProblem& of, ExactTwinTag)
    : Problem(of.precision(), of.seed(), of.size()), shape_(of.shape_) {
  mark_exact_twin();
  const ConvShape& s = shape_;
  const std::int64_t taps = s.channels * s.kernel * s.kernel;
  band_ = std::min<std::int64_t>(taps, static_cast<std::int64_t>(exact_integer_limit(output_precision()) / 4));
  input_ = HostBuffer(precision(), of.input_.size());
  weights_ = HostBuffer(precision(), of.weights_.size());
  const std::uint64_t x_seed = seed() ^ 0x1a9e7ULL, w_seed = seed() ^ 0xf117e5ULL;
  visit_typed(input_, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    const auto count = static_cast<std::int64_t>(input_.size());
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i)
      p[i] = from_double<T>(1.0 + static_cast<double>(twin_hash(x_seed, static_cast<std::uint64_t>(i)) & 1));
  });
  const std::int64_t band = band_;
  visit_typed(weights_, [&](auto* p) {
    using T = std::remove_pointer_t<decltype(p)>;
    for (std::int64_t k = 0; k < s.filters; ++k) {
      const std::int64_t start = (k % taps) * (band % taps) % taps;
      for (std::int64_t t = 0; t < taps; ++t) {
        const std::int64_t offset = ((t - start) % taps + taps) % taps;
        const auto idx = static_cast<std::uint64_t>(k * taps + t);
        p[idx] = from_double<T>(offset < band ? 1.0 + static_cast<double>(twin_hash(w_seed, idx) & 1) : 0.0);
      }
    }
  });
  input_int_ = small_integers(input_);
  weights_int_ = small_integers(weights_);
}

std::unique_ptr<Problem> ConvProblem::exact_twin() const {
  return std::unique_ptr<Problem>(new ConvProblem(*this, ExactTwinTag{}));
}

Verification ConvProblem::check_exact(const HostBuffer& out, ExactMatch match) const {
  const ConvShape& s = shape_;
  const std::int64_t OH = s.out_height(), OW = s.out_width();
  const std::int64_t taps = s.channels * s.kernel * s.kernel, RR = s.kernel * s.kernel;
  const std::string method = fmt::format(
      "integer twin (input, filters in {{1,2}}, {} of {} taps per filter), exact int64 weighted sum per output row, {}",
      band_, taps, to_string(match));
  if (out.size() != output_size() || out.precision() != output_precision())
    return exact_verification(false, INFINITY, method, "output has the wrong size or precision");
  auto out_index = [&](std::int64_t n, std::int64_t k, std::int64_t oh, std::int64_t ow) {
    return ((n * s.filters + k) * OH + oh) * OW + ow;
  };
  auto position = [&](std::int64_t idx) {
    const std::int64_t ow = idx % OW, oh = idx / OW % OH, k = idx / (OW * OH) % s.filters,
                       n = idx / (OW * OH * s.filters);
    return fmt::format("out[{}][{}][{}][{}]", n, k, oh, ow);
  };
  std::string problem;
  const std::int64_t bad = first_non_integer(out, match, 4.0 * static_cast<double>(band_), problem);
  if (bad >= 0) return exact_verification(false, INFINITY, method, position(bad) + ": " + problem);

  if (tap_sums_.empty()) {
    // |v| <= range keeps every sum below 2^62: |sum v * out| <= 4 band * N * OW * range.
    const double largest = 4.0 * static_cast<double>(band_) * static_cast<double>(s.batch * OW);
    const auto range = static_cast<std::int64_t>(std::clamp(std::ldexp(1.0, 62) / largest, 1.0, std::ldexp(1.0, 20)));
    auto rng = verification_rng(seed());
    row_weights_ = nonzero_integers(rng, static_cast<std::size_t>(s.batch * OW), range);
    // T[tap][oh] = sum over (n, ow) of v[n][ow] * the input pixel that tap reads for (oh, ow)
    tap_sums_.assign(static_cast<std::size_t>(taps * OH), 0);
#pragma omp parallel for schedule(static)
    for (std::int64_t oh = 0; oh < OH; ++oh)
      for (std::int64_t t = 0; t < taps; ++t) {
        const std::int64_t c = t / RR, r = t / s.kernel % s.kernel, q = t % s.kernel;
        const std::int64_t ih = oh * s.stride - s.pad + r;
        if (ih < 0 || ih >= s.height) continue;
        std::int64_t sum = 0;
        for (std::int64_t n = 0; n < s.batch; ++n) {
          const std::int8_t* row = input_int_.data() + ((n * s.channels + c) * s.height + ih) * s.width;
          const std::int64_t* v = row_weights_.data() + n * OW;
          for (std::int64_t ow = 0; ow < OW; ++ow) {
            const std::int64_t iw = ow * s.stride - s.pad + q;
            if (iw >= 0 && iw < s.width) sum += v[ow] * row[iw];
          }
        }
        tap_sums_[static_cast<std::size_t>(t * OH + oh)] = sum;
      }
  }
  std::int64_t wrong = -1;
  visit_typed(out, [&](const auto* p) {
    std::int64_t first = s.filters * OH;
#pragma omp parallel for schedule(static) reduction(min : first)
    for (std::int64_t ko = 0; ko < s.filters * OH; ++ko) {
      const std::int64_t k = ko / OH, oh = ko % OH;
      std::int64_t got = 0, expected = 0;
      for (std::int64_t n = 0; n < s.batch; ++n) {
        const auto* row = p + out_index(n, k, oh, 0);
        const std::int64_t* v = row_weights_.data() + n * OW;
        for (std::int64_t ow = 0; ow < OW; ++ow) got += v[ow] * exact_integer(to_double(row[ow]));
      }
      for (std::int64_t t = 0; t < taps; ++t)
        expected +=
            weights_int_[static_cast<std::size_t>(k * taps + t)] * tap_sums_[static_cast<std::size_t>(t * OH + oh)];
      if (got != expected && ko < first) first = ko;
    }
    if (first < s.filters * OH) wrong = first;
  });
  if (wrong < 0) return exact_verification(true, 0, method, "");
  // Name the first wrong output of that row: exact values cost N * OW * taps.
  const std::int64_t k = wrong / OH, oh = wrong % OH;
  for (std::int64_t n = 0; n < s.batch; ++n)
    for (std::int64_t ow = 0; ow < OW; ++ow) {
      std::int64_t exact = 0;
      for (std::int64_t t = 0; t < taps; ++t) {
        const std::int64_t c = t / RR, r = t / s.kernel % s.kernel, q = t % s.kernel;
        const std::int64_t ih = oh * s.stride - s.pad + r, iw = ow * s.stride - s.pad + q;
        if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
        exact += weights_int_[static_cast<std::size_t>(k * taps + t)] *
                 input_int_[static_cast<std::size_t>(((n * s.channels + c) * s.height + ih) * s.width + iw)];
      }
      const double got = out.get(static_cast<std::size_t>(out_index(n, k, oh, ow)));
      if (exact_integer(got) != exact || (match == ExactMatch::strict && got != static_cast<double>(exact)))
        return exact_verification(false, std::fabs(got - static_cast<double>(exact)), method,
                                  fmt::format("out[{}][{}][{}][{}] = {:.9g}, exact {}", n, k, oh, ow, got, exact));
    }
  return exact_verification(false, INFINITY, method,
                            fmt::format("filter {} output row {}: weighted sum differs", k, oh));
}

std::string ConvProblem::shape_label() const {
  const ConvShape& s = shape_;
  return fmt::format("N{} C{} H{} W{} K{} {}x{} s{} p{}", s.batch, s.channels, s.height, s.width, s.filters, s.kernel,
                     s.kernel, s.stride, s.pad);
}

std::vector<std::pair<std::string, std::int64_t>> ConvProblem::shape_fields() const {
  const ConvShape& s = shape_;
  return {{"N", s.batch},   {"C", s.channels}, {"H", s.height},      {"W", s.width},
          {"K", s.filters}, {"R", s.kernel},   {"stride", s.stride}, {"pad", s.pad}};
}

std::size_t ConvProblem::output_size() const {
  const ConvShape& s = shape_;
  return static_cast<std::size_t>(s.batch * s.filters * s.out_height() * s.out_width());
}

double ConvProblem::flops() const {
  const ConvShape& s = shape_;
  return 2.0 * static_cast<double>(output_size()) * static_cast<double>(s.channels * s.kernel * s.kernel);
}

double ConvProblem::min_bytes() const {
  return static_cast<double>(input_.size() + weights_.size()) * static_cast<double>(element_size(precision())) +
         static_cast<double>(output_size()) * static_cast<double>(element_size(output_precision()));
}

std::size_t ConvProblem::input_bytes() const { return input_.bytes() + weights_.bytes(); }

double ConvProblem::tolerance(double input_rounding) const {
  const ConvShape& s = shape_;
  // as GEMM's: C*R*S-term dot products, extra input rounding, rounding of the stored output
  return 4.0 * (2.0 * input_rounding + accumulation_roundoff(precision()) *
                                           (2.0 + std::sqrt(static_cast<double>(s.channels * s.kernel * s.kernel)))) +
         2.0 * unit_roundoff(output_precision());
}

Verification ConvProblem::check_output(const HostBuffer& out, double input_rounding) const {
  const double tol = tolerance(input_rounding);
  const ConvShape& s = shape_;
  const std::int64_t OH = s.out_height(), OW = s.out_width();
  if (out.size() != output_size() || out.precision() != output_precision())
    return make_verification(INFINITY, tol, "shape", "output has the wrong size or precision", 0, -1);
  std::int64_t first_bad = -1;
  const std::size_t non_finite = count_non_finite(out, first_bad);
  if (non_finite > 0) return make_verification(0, tol, "finite", "", non_finite, first_bad);

  auto X = [&](std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    return input_.get(static_cast<std::size_t>(((n * s.channels + c) * s.height + h) * s.width + w));
  };
  auto Wt = [&](std::int64_t k, std::int64_t c, std::int64_t r, std::int64_t q) {
    return weights_.get(static_cast<std::size_t>(((k * s.channels + c) * s.kernel + r) * s.kernel + q));
  };
  auto out_index = [&](std::int64_t n, std::int64_t k, std::int64_t oh, std::int64_t ow) {
    return static_cast<std::size_t>(((n * s.filters + k) * OH + oh) * OW + ow);
  };
  // Exact fp64 value of one output, its error relative to sum |w * x| over the window.
  auto output_error = [&](std::int64_t n, std::int64_t k, std::int64_t oh, std::int64_t ow) {
    double ref = 0, scale = 0;
    for (std::int64_t c = 0; c < s.channels; ++c)
      for (std::int64_t r = 0; r < s.kernel; ++r) {
        const std::int64_t ih = oh * s.stride - s.pad + r;
        if (ih < 0 || ih >= s.height) continue;
        for (std::int64_t q = 0; q < s.kernel; ++q) {
          const std::int64_t iw = ow * s.stride - s.pad + q;
          if (iw < 0 || iw >= s.width) continue;
          const double prod = Wt(k, c, r, q) * X(n, c, ih, iw);
          ref += prod;
          scale += std::fabs(prod);
        }
      }
    const double err = std::fabs(out.get(out_index(n, k, oh, ow)) - ref);
    return scale > 0 ? err / scale : (err == 0 ? 0.0 : INFINITY);
  };

  double worst = 0;
  std::string where;
  auto note = [&](double err, const std::string& at) {
    if (!(err <= worst)) {
      worst = err;
      where = at;
    }
  };

  std::string method;
  if (flops() / 2 <= kExhaustiveCheckWork) {
    for (std::int64_t n = 0; n < s.batch; ++n)
      for (std::int64_t k = 0; k < s.filters; ++k)
        for (std::int64_t oh = 0; oh < OH; ++oh)
          for (std::int64_t ow = 0; ow < OW; ++ow) {
            const double e = output_error(n, k, oh, ow);
            if (!(e <= worst)) note(e, fmt::format("worst at out[{}][{}][{}][{}]", n, k, oh, ow));
          }
    method = "exhaustive fp64, error / sum|w*x|";
  } else {
    // Convolution is linear, so for random Gaussian weights v over (n, ow) and each output
    // row (k, oh):  sum_{n,ow} v[n][ow] * out[n][k][oh][ow]
    //            == sum_{c,r,q} w[k][c][r][q] * T[c][r][q][oh],
    // where T weights the input pixel each output position reads with the same v. Every output
    // takes part, and an error in any row of any filter shows; the cost is a 1/K share of the
    // convolution per vector. Errors are relative to the same sums taken over magnitudes.
    constexpr int kVectors = 2;
    constexpr int kSamples = 2048;
    auto rng = verification_rng(seed());
    std::normal_distribution<double> gaussian;
    const std::int64_t window = s.channels * s.kernel * s.kernel;
    for (int vec = 0; vec < kVectors; ++vec) {
      std::vector<double> v(static_cast<std::size_t>(s.batch * OW));
      for (auto& x : v) x = gaussian(rng);
      // T depends only on the inputs and v (the same on every check of this problem: the same
      // seed): computed on the first check, reused by the other variants' checks.
      if (accuracy_tap_sums_.size() <= static_cast<std::size_t>(vec)) {
        accuracy_tap_sums_.emplace_back(static_cast<std::size_t>(window * OH), 0.0);
        accuracy_abs_tap_sums_.emplace_back(static_cast<std::size_t>(window * OH), 0.0);
        std::vector<double>& T = accuracy_tap_sums_.back();
        std::vector<double>& Tabs = accuracy_abs_tap_sums_.back();
#pragma omp parallel for schedule(static)
        for (std::int64_t oh = 0; oh < OH; ++oh) {
          for (std::int64_t idx = 0; idx < window; ++idx) {
            const std::int64_t c = idx / (s.kernel * s.kernel), r = (idx / s.kernel) % s.kernel, q = idx % s.kernel;
            const std::int64_t ih = oh * s.stride - s.pad + r;
            if (ih < 0 || ih >= s.height) continue;
            double t = 0, tabs = 0;
            for (std::int64_t n = 0; n < s.batch; ++n)
              for (std::int64_t ow = 0; ow < OW; ++ow) {
                const std::int64_t iw = ow * s.stride - s.pad + q;
                if (iw < 0 || iw >= s.width) continue;
                const double x = X(n, c, ih, iw), weight = v[static_cast<std::size_t>(n * OW + ow)];
                t += weight * x;
                tabs += std::fabs(weight * x);
              }
            T[static_cast<std::size_t>(idx * OH + oh)] = t;
            Tabs[static_cast<std::size_t>(idx * OH + oh)] = tabs;
          }
        }
      }
      const std::vector<double>& T = accuracy_tap_sums_[static_cast<std::size_t>(vec)];
      const std::vector<double>& Tabs = accuracy_abs_tap_sums_[static_cast<std::size_t>(vec)];
      std::vector<double> row_error(static_cast<std::size_t>(s.filters * OH));
      visit_typed(out, [&](const auto* typed_out) {
#pragma omp parallel for schedule(static)
        for (std::int64_t ko = 0; ko < s.filters * OH; ++ko) {
          const std::int64_t k = ko / OH, oh = ko % OH;
          double got = 0, expected = 0, scale = 0;
          for (std::int64_t n = 0; n < s.batch; ++n) {
            const auto* row = typed_out + out_index(n, k, oh, 0);
            const double* weights = v.data() + n * OW;
            for (std::int64_t ow = 0; ow < OW; ++ow) got += weights[ow] * to_double(row[ow]);
          }
          for (std::int64_t idx = 0; idx < window; ++idx) {
            const double w = Wt(k, idx / (s.kernel * s.kernel), (idx / s.kernel) % s.kernel, idx % s.kernel);
            expected += w * T[static_cast<std::size_t>(idx * OH + oh)];
            scale += std::fabs(w) * Tabs[static_cast<std::size_t>(idx * OH + oh)];
          }
          const double err = std::fabs(got - expected);
          row_error[static_cast<std::size_t>(ko)] = scale > 0 ? err / scale : (err == 0 ? 0.0 : INFINITY);
        }
      });
      for (std::int64_t ko = 0; ko < s.filters * OH; ++ko) {
        const double e = row_error[static_cast<std::size_t>(ko)];
        if (!(e <= worst)) note(e, fmt::format("worst in filter {} output row {} (weighted sum)", ko / OH, ko % OH));
      }
    }
    std::uniform_int_distribution<std::int64_t> pick_n(0, s.batch - 1), pick_k(0, s.filters - 1), pick_h(0, OH - 1),
        pick_w(0, OW - 1);
    for (int i = 0; i < kSamples; ++i) {
      const auto n = pick_n(rng), k = pick_k(rng), oh = pick_h(rng), ow = pick_w(rng);
      const double e = output_error(n, k, oh, ow);
      if (!(e <= worst)) note(e, fmt::format("worst at out[{}][{}][{}][{}]", n, k, oh, ow));
    }
    method = fmt::format(
        "weighted-sum check per output row ({} Gaussian vectors) + sampled({} outputs) fp64, error / sum|w*x|",
        kVectors, kSamples);
  }
  return make_verification(worst, tol, method, where, 0, -1);
}

}  // namespace mlbench
