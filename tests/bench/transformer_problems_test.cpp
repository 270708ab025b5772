// The attention, softmax and layer norm problems (issue 17): shapes, counts, and that their
// fp64 checks accept a correct output at every precision and fail a single wrong element, an
// input element a backend ignored, and an unwritten (NaN) element. The correct outputs come
// from the plain fp64 formulas here, written independently of bench/.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>

#include "bench/attention.h"
#include "bench/layernorm.h"
#include "bench/roofline.h"
#include "bench/softmax.h"
#include "bench/workloads.h"
#include "tests/test_support.h"

namespace mlbench {
namespace {

using test_support::fresh_seed;

const Precision kPrecisions[] = {Precision::fp64, Precision::fp32, Precision::bf16, Precision::fp16};

// ---- fp64 formulas, stored rounded to the output precision ----

HostBuffer softmax_output(const SoftmaxProblem& p, std::int64_t ignored_col = -1) {
  const auto rows = p.shape().rows, cols = p.shape().cols;
  HostBuffer out(p.output_precision(), p.output_size());
  for (std::int64_t r = 0; r < rows; ++r) {
    auto x = [&](std::int64_t c) {
      return c == ignored_col ? 0.0 : p.input().get(static_cast<std::size_t>(r * cols + c));
    };
    double m = -INFINITY, sum = 0;
    for (std::int64_t c = 0; c < cols; ++c) m = std::max(m, x(c));
    for (std::int64_t c = 0; c < cols; ++c) sum += std::exp(x(c) - m);
    for (std::int64_t c = 0; c < cols; ++c) out.set(static_cast<std::size_t>(r * cols + c), std::exp(x(c) - m) / sum);
  }
  return out;
}

HostBuffer layernorm_output(const LayerNormProblem& p, std::int64_t ignored_col = -1) {
  const auto rows = p.shape().rows, cols = p.shape().cols;
  HostBuffer out(p.output_precision(), p.output_size());
  for (std::int64_t r = 0; r < rows; ++r) {
    auto x = [&](std::int64_t c) {
      return c == ignored_col ? 0.0 : p.input().get(static_cast<std::size_t>(r * cols + c));
    };
    double mean = 0, var = 0;
    for (std::int64_t c = 0; c < cols; ++c) mean += x(c);
    mean /= static_cast<double>(cols);
    for (std::int64_t c = 0; c < cols; ++c) var += (x(c) - mean) * (x(c) - mean);
    const double rstd = 1.0 / std::sqrt(var / static_cast<double>(cols) + p.shape().epsilon);
    for (std::int64_t c = 0; c < cols; ++c)
      out.set(static_cast<std::size_t>(r * cols + c),
              (x(c) - mean) * rstd * p.gamma().get(static_cast<std::size_t>(c)) +
                  p.beta().get(static_cast<std::size_t>(c)));
  }
  return out;
}

// Three passes over the score matrix; `ignored_key`: that key left out of every row.
HostBuffer attention_output(const AttentionProblem& p, std::int64_t ignored_key = -1) {
  const auto& s = p.shape();
  const std::int64_t S = s.seq, D = s.head_dim;
  HostBuffer out(p.output_precision(), p.output_size());
  std::vector<double> w(static_cast<std::size_t>(S));
  for (std::int64_t bh = 0; bh < s.batch * s.heads; ++bh)
    for (std::int64_t i = 0; i < S; ++i) {
      auto at = [&](const HostBuffer& b, std::int64_t row, std::int64_t d) {
        return b.get(static_cast<std::size_t>((bh * S + row) * D + d));
      };
      const std::int64_t keys = s.causal ? i + 1 : S;
      double m = -INFINITY, l = 0;
      for (std::int64_t j = 0; j < keys; ++j) {
        double dot = 0;
        for (std::int64_t d = 0; d < D; ++d) dot += at(p.q(), i, d) * at(p.k(), j, d);
        w[j] = dot * p.scale();
        if (j != ignored_key) m = std::max(m, w[j]);
      }
      for (std::int64_t j = 0; j < keys; ++j) {
        w[j] = j == ignored_key ? 0.0 : std::exp(w[j] - m);
        l += w[j];
      }
      for (std::int64_t d = 0; d < D; ++d) {
        double o = 0;
        for (std::int64_t j = 0; j < keys; ++j) o += w[j] * at(p.v(), j, d);
        out.set(static_cast<std::size_t>((bh * S + i) * D + d), o / l);
      }
    }
  return out;
}

std::unique_ptr<AttentionProblem> attention(std::int64_t b, std::int64_t h, std::int64_t s, std::int64_t d, bool causal,
                                            Precision precision, std::uint64_t seed) {
  WorkloadOptions o;
  o.get<AttentionOptions>() = {b, h, d, causal};
  auto problem = make_problem("attention", s, precision, seed, o);
  return std::unique_ptr<AttentionProblem>(static_cast<AttentionProblem*>(problem.release()));
}

template <class P>
std::unique_ptr<P> rows_problem(const char* workload, std::int64_t rows, std::int64_t cols, Precision precision,
                                std::uint64_t seed) {
  WorkloadOptions o;
  o.get<RowOptions>().rows = rows;
  auto problem = make_problem(workload, cols, precision, seed, o);
  return std::unique_ptr<P>(static_cast<P*>(problem.release()));
}

void expect_pass(const Problem& p, const HostBuffer& out) {
  const Verification v = p.verify(out);
  EXPECT_TRUE(v.passed) << p.shape_label() << " " << to_string(p.precision()) << ": " << v.method << " error "
                        << v.max_error << " > " << v.tolerance << " " << v.detail;
}
void expect_fail(const Problem& p, const HostBuffer& out, const std::string& what) {
  const Verification v = p.verify(out);
  EXPECT_FALSE(v.passed) << what << " in " << p.shape_label() << " " << to_string(p.precision()) << " passed: error "
                         << v.max_error << " <= " << v.tolerance;
}

// ---- shapes and counts ----

TEST(AttentionProblem, CountsTheTwoProductsAndTheCausalPairs) {
  const auto p = attention(2, 3, 5, 4, false, Precision::fp32, 1);
  EXPECT_EQ(p->shape_label(), "B2 H3 S5 D4");
  EXPECT_DOUBLE_EQ(p->flops(), 4.0 * 2 * 3 * 5 * 5 * 4);
  EXPECT_DOUBLE_EQ(p->min_bytes(), 4.0 * 2 * 3 * 5 * 4 * 4);
  EXPECT_EQ(p->output_size(), 2u * 3 * 5 * 4);
  EXPECT_DOUBLE_EQ(p->scale(), 0.5);
  const auto c = attention(2, 3, 5, 4, true, Precision::bf16, 1);
  EXPECT_EQ(c->shape_label(), "B2 H3 S5 D4 causal");
  EXPECT_DOUBLE_EQ(c->flops(), 4.0 * 2 * 3 * 4 * (5 * 6 / 2));  // 15 of the 25 pairs
  EXPECT_DOUBLE_EQ(c->min_bytes(), 4.0 * 2 * 3 * 5 * 4 * 2);
}

TEST(RowProblems, DefaultRowsMakeA256MiBTensor) {
  WorkloadOptions o;
  EXPECT_EQ(
      dynamic_cast<const SoftmaxProblem&>(*make_problem("softmax", 4096 * 16, Precision::fp32, 1, o)).shape().rows,
      1024);
  EXPECT_EQ(rows_for_bytes(4096, Precision::fp32, kDefaultRowTensorBytes), 16384);
  EXPECT_EQ(rows_for_bytes(4096, Precision::bf16, kDefaultRowTensorBytes), 32768);
  EXPECT_EQ(rows_for_bytes(std::int64_t{1} << 30, Precision::fp64, kDefaultRowTensorBytes), 1);
  const auto ln = rows_problem<LayerNormProblem>("layernorm", 3, 7, Precision::fp16, 1);
  EXPECT_DOUBLE_EQ(ln->min_bytes(), (3.0 * 7 * 2 + 2 * 7) * 2);
  EXPECT_DOUBLE_EQ(rows_problem<SoftmaxProblem>("softmax", 3, 7, Precision::fp64, 1)->min_bytes(), 3.0 * 7 * 16);
}

TEST(TransformerProblems, RefuseTf32AndBadShapesWithAnInputError) {
  WorkloadOptions o;
  for (const char* w : {"attention", "softmax", "layernorm"}) {
    EXPECT_THROW(make_problem(w, 8, Precision::tf32, 1, o), InputError) << w;
    EXPECT_THROW(estimate_host_bytes(w, 8, Precision::tf32, o), InputError) << w;
  }
  WorkloadOptions bad = o;
  bad.get<AttentionOptions>().heads = 0;
  EXPECT_THROW(make_problem("attention", 8, Precision::fp32, 1, bad), InputError);
  bad = o;
  bad.get<RowOptions>().epsilon = -1;
  EXPECT_THROW(make_problem("layernorm", 8, Precision::fp32, 1, bad), InputError);
  bad = o;
  bad.get<AttentionOptions>().batch = bad.get<AttentionOptions>().heads = std::int64_t{1} << 40;
  EXPECT_THROW(make_problem("attention", std::int64_t{1} << 20, Precision::fp32, 1, bad), InputError);
  EXPECT_THROW(estimate_host_bytes("attention", std::int64_t{1} << 20, Precision::fp32, bad), InputError);
  EXPECT_NE(find_workload("sdpa"), nullptr);
  EXPECT_EQ(find_workload("layer-norm")->name, "layernorm");
}

TEST(TransformerProblems, HostEstimateCoversTheBuffersAndTheWorkspaces) {
  for (Precision precision : kPrecisions) {
    WorkloadOptions o;
    o.get<AttentionOptions>() = {2, 3, 40, false};
    o.get<RowOptions>().rows = 5;
    for (const char* w : {"attention", "softmax", "layernorm"}) {
      const auto p = make_problem(w, 300, precision, 1, o);
      // inputs, the backend's output and the copy read back for verification
      std::size_t need = p->input_bytes() + 2 * p->output_bytes();
      if (std::string(w) == "attention")  // openmp's packed K and V / openblas's 300 x 300 scores
        need += std::max<std::size_t>(2 * p->output_size() * std::max<std::size_t>(element_size(precision), 4),
                                      300 * 300 * std::max<std::size_t>(element_size(precision), 4));
      EXPECT_GE(estimate_host_bytes(w, 300, precision, o), need) << w << " " << to_string(precision);
    }
  }
}

TEST(TransformerProblems, RowOperationsAreHeldToTheReadWriteBandwidthNotTheReadOnlyOne) {
  PeakFigures peaks;
  peaks.cpu = CpuPeaks{};
  peaks.cpu->threads = 16;
  peaks.cpu->bandwidth_gbps_all = 100;
  peaks.cpu->read_gbps_all = 120;
  peaks.cpu->fp32_gflops_all = 1400;
  peaks.gpu = GpuPeaks{};
  peaks.gpu->copy_gbps = 4000;
  peaks.gpu->read_gbps = 4300;
  peaks.gpu->fp32_gflops = 60000;
  for (const char* w : {"softmax", "layernorm", "attention"}) {
    VariantResult r;
    r.workload = w;
    r.precision = Precision::fp32;
    r.backend_kind = BackendKind::cpu;
    r.threads = 16;
    const auto cpu = roof_for(r, peaks);
    ASSERT_TRUE(cpu.has_value()) << w;
    EXPECT_EQ(cpu->bandwidth_source, "triad") << w;
    EXPECT_DOUBLE_EQ(cpu->bandwidth_gbps, 100) << w;
    r.backend_kind = BackendKind::gpu;
    r.timing = TimingMode::kernel;
    const auto gpu = roof_for(r, peaks);
    ASSERT_TRUE(gpu.has_value()) << w;
    EXPECT_EQ(gpu->bandwidth_source, "copy") << w;
  }
}

// ---- verification ----

TEST(SoftmaxVerification, PassesTheFp64FormulaAndFailsAWrongElementOrAnIgnoredInput) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : kPrecisions)
    for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {7, 33}, {3, 257}, {2, 1000}}) {
      const auto p = rows_problem<SoftmaxProblem>("softmax", rows, cols, precision, seed);
      HostBuffer good = softmax_output(*p);
      expect_pass(*p, good);
      if (cols == 1) continue;  // a one-element row is 1 whatever its input
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, good.size() - 1)(rng);
      HostBuffer wrong = softmax_output(*p);
      wrong.set(at, good.get(at) * (1 + 8 * p->tolerance()) + 8 * p->tolerance() * 6.2e-5);
      expect_fail(*p, wrong, "one wrong element");
      wrong = softmax_output(*p);
      wrong.poison();
      expect_fail(*p, wrong, "NaN output");
      // column 0 read as 0 in every row: wrong wherever the input there is not close to 0
      expect_fail(*p, softmax_output(*p, 0), "ignored input column");
    }
}

TEST(LayerNormVerification, PassesTheFp64FormulaAndFailsAWrongElementOrAnIgnoredInput) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : kPrecisions)
    for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {7, 33}, {3, 257}, {2, 1000}}) {
      const auto p = rows_problem<LayerNormProblem>("layernorm", rows, cols, precision, seed);
      HostBuffer good = layernorm_output(*p);
      expect_pass(*p, good);
      if (cols == 1) continue;  // y = beta; the mean's error bound mean|x| rstd is 1/sqrt(eps) large there
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, good.size() - 1)(rng);
      HostBuffer wrong = layernorm_output(*p);
      // the scale of an element is at most |gamma| (1 + |z| + mean|x| rstd) + |beta| < 1.5 (2 + 2 sqrt(cols)) + 0.5
      const double bound = 1.5 * (2 + 2 * std::sqrt(static_cast<double>(cols))) + 0.5;
      wrong.set(at, good.get(at) + 8 * p->tolerance() * bound);
      expect_fail(*p, wrong, "one wrong element");
      expect_fail(*p, layernorm_output(*p, 0), "ignored input column");
    }
}

TEST(AttentionVerification, PassesTheFp64FormulaAtEveryPrecisionAndAwkwardShapes) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  for (Precision precision : kPrecisions)
    for (bool causal : {false, true})
      for (auto [b, h, s, d] :
           {std::tuple<int, int, int, int>{1, 1, 1, 1}, {1, 2, 7, 3}, {2, 1, 33, 16}, {1, 1, 257, 8}}) {
        const auto p = attention(b, h, s, d, causal, precision, seed);
        expect_pass(*p, attention_output(*p));
      }
}

TEST(AttentionVerification, FailsOneWrongElementAnIgnoredKeyOrNaNExhaustiveAndSampled) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : kPrecisions)
    for (bool sampled : {false, true}) {
      // 300 rows: with the sampled scheme, rows 128..171 are checked by projection unless drawn
      const auto p = attention(1, 2, 300, 16, sampled && precision == Precision::fp32, precision, seed);
      if (sampled) p->set_exhaustive_work(0);
      const HostBuffer good = attention_output(*p);
      expect_pass(*p, good);
      // An element far off (4 where |O| <= 1): what a projection row must catch for any x.
      // Elements of the middle rows too, as those are the ones the sampled scheme projects.
      for (int trial = 0; trial < 4; ++trial) {
        const std::int64_t row = trial < 2 ? std::uniform_int_distribution<std::int64_t>(128, 171)(rng)
                                           : std::uniform_int_distribution<std::int64_t>(0, 599)(rng);
        const std::size_t at = static_cast<std::size_t>(row * 16 + std::uniform_int_distribution<int>(0, 15)(rng));
        HostBuffer wrong = attention_output(*p);
        wrong.set(at, good.get(at) + 4.0);
        expect_fail(*p, wrong, "one wrong element (row " + std::to_string(row) + ")");
      }
      if (!sampled) {
        // slightly wrong, where every element is checked exactly: 8 tolerances (|scale| <= 1)
        const std::size_t at = std::uniform_int_distribution<std::size_t>(0, good.size() - 1)(rng);
        HostBuffer wrong = attention_output(*p);
        wrong.set(at, good.get(at) + 8 * p->tolerance());
        expect_fail(*p, wrong, "one slightly wrong element");
      }
      expect_fail(*p, attention_output(*p, std::uniform_int_distribution<std::int64_t>(0, 299)(rng)), "ignored key");
      HostBuffer nan = attention_output(*p);
      nan.set(std::uniform_int_distribution<std::size_t>(0, good.size() - 1)(rng), NAN);
      expect_fail(*p, nan, "NaN element");
    }
}

// ---- exact twins (issue 13's mechanism) ----

template <class P>
const P& twin_of(const std::unique_ptr<Problem>& twin) {
  return dynamic_cast<const P&>(*twin);
}

void expect_twin_pass(const Problem& twin, const HostBuffer& out) {
  const Verification v = twin.verify_exact(out);
  EXPECT_TRUE(v.passed) << twin.shape_label() << " " << to_string(twin.precision()) << ": " << v.method << " "
                        << v.detail;
}
void expect_twin_fail(const Problem& twin, const HostBuffer& out, const std::string& what) {
  EXPECT_FALSE(twin.verify_exact(out).passed)
      << what << " in the twin of " << twin.shape_label() << " " << to_string(twin.precision()) << " passed";
}

TEST(SoftmaxTwin, ExactOutputPassesAndAnyWrongOrIgnoredElementFails) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : kPrecisions)
    for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {7, 33}, {4, 257}, {3, 3000}}) {
      const auto p = rows_problem<SoftmaxProblem>("softmax", rows, cols, precision, seed);
      const auto twin_holder = p->exact_twin();
      ASSERT_NE(twin_holder, nullptr);
      const auto& twin = twin_of<SoftmaxProblem>(twin_holder);
      EXPECT_TRUE(twin.is_exact_twin());
      const HostBuffer good = softmax_output(twin);
      expect_twin_pass(twin, good);
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, good.size() - 1)(rng);
      HostBuffer wrong = softmax_output(twin);
      wrong.set(at, good.get(at) == 0 ? 1e-3 : good.get(at) * 1.01);
      expect_twin_fail(twin, wrong, "one wrong element");
      if (cols == 1) continue;  // a one-element row is 1 whatever its input
      // any one input read as 0: its row changes
      const std::int64_t col = std::uniform_int_distribution<std::int64_t>(0, cols - 1)(rng);
      expect_twin_fail(twin, softmax_output(twin, col), "input column " + std::to_string(col) + " read as 0");
    }
}

TEST(LayerNormTwin, Fp64OutputPassesAndAnyWrongOrIgnoredElementFails) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : kPrecisions)
    for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{7, 33}, {4, 257}, {3, 3000}}) {
      const auto p = rows_problem<LayerNormProblem>("layernorm", rows, cols, precision, seed);
      const auto twin_holder = p->exact_twin();
      ASSERT_NE(twin_holder, nullptr);
      const auto& twin = twin_of<LayerNormProblem>(twin_holder);
      const HostBuffer good = layernorm_output(twin);
      expect_twin_pass(twin, good);
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, good.size() - 1)(rng);
      HostBuffer wrong = layernorm_output(twin);
      wrong.set(at, good.get(at) + 0.1);  // the tolerance is below 0.01 of a scale below 10
      expect_twin_fail(twin, wrong, "one wrong element");
      const std::int64_t col = std::uniform_int_distribution<std::int64_t>(0, cols - 1)(rng);
      expect_twin_fail(twin, layernorm_output(twin, col), "input column " + std::to_string(col) + " read as 0");
    }
}

// What the fp16 tensor-core kernel wrote on the H200 (0.99951 for V = 1): one step of the 16-bit
// grid from the exact value passes; two steps, or any step at fp32/fp64, fail.
TEST(AttentionTwin, SixteenBitOutputsMayMissByOneRoundingStepAndNoMore) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : kPrecisions) {
    SCOPED_TRACE(to_string(precision));
    const auto p = attention(1, 2, 33, 16, false, precision, seed);
    const auto twin_holder = p->exact_twin();
    ASSERT_NE(twin_holder, nullptr);
    const auto& twin = twin_of<AttentionProblem>(twin_holder);
    const HostBuffer good = attention_output(twin);
    std::vector<std::size_t> nonzero;
    for (std::size_t i = 0; i < good.size(); ++i)
      if (good.get(i) != 0) nonzero.push_back(i);
    ASSERT_FALSE(nonzero.empty());
    const std::size_t at = nonzero[std::uniform_int_distribution<std::size_t>(0, nonzero.size() - 1)(rng)];
    const double exact = good.get(at);
    // One step of the output type's grid towards zero (half a step below a power of two) and
    // away from it, and two steps away. V is a small integer: none of these crosses a binade.
    const double step = std::ldexp(1.0, std::ilogb(exact) + 1) * unit_roundoff(twin.output_precision());
    const bool power_of_two = std::fabs(exact) == std::ldexp(1.0, std::ilogb(exact));
    const double sign = std::copysign(1.0, exact);
    const std::pair<double, bool> moves[] = {{exact - sign * step * (power_of_two ? 0.5 : 1.0), true},
                                             {exact + sign * step, true},
                                             {exact + sign * 2 * step, false}};
    for (const auto& [moved, one_step] : moves) {
      HostBuffer near = attention_output(twin);
      near.set(at, moved);
      ASSERT_EQ(near.get(at), moved) << "the planted value is not representable";
      if (is_16bit(precision) && one_step)
        expect_twin_pass(twin, near);
      else
        expect_twin_fail(twin, near, "output " + std::to_string(moved) + " for " + std::to_string(exact));
    }
    // an exact zero must stay exactly zero
    for (std::size_t i = 0; i < good.size(); ++i)
      if (good.get(i) == 0) {
        HostBuffer off = attention_output(twin);
        off.set(i, std::ldexp(1.0, -12));
        expect_twin_fail(twin, off, "zero output written as 2^-12");
        break;
      }
  }
}

TEST(AttentionTwin, ExactOutputPassesAndAWrongElementIgnoredMaskOrIgnoredKeyFails) {
  const auto seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (Precision precision : kPrecisions)
    for (bool causal : {false, true})
      for (auto [b, h, s, d] :
           {std::tuple<int, int, int, int>{1, 1, 1, 1}, {1, 2, 7, 3}, {2, 1, 33, 16}, {1, 1, 300, 2}}) {
        const auto p = attention(b, h, s, d, causal, precision, seed);
        const auto twin_holder = p->exact_twin();
        ASSERT_NE(twin_holder, nullptr);
        const auto& twin = twin_of<AttentionProblem>(twin_holder);
        const HostBuffer good = attention_output(twin);
        expect_twin_pass(twin, good);
        const std::size_t at = std::uniform_int_distribution<std::size_t>(0, good.size() - 1)(rng);
        HostBuffer wrong = attention_output(twin);
        wrong.set(at, good.get(at) + 1);
        expect_twin_fail(twin, wrong, "one wrong element");
        if (s > 1) {
          // the winner of a random row of batch x head 0 (the V row its output copies) left out
          const std::int64_t row = std::uniform_int_distribution<std::int64_t>(0, s - 1)(rng);
          std::int64_t winner = -1;
          for (std::int64_t j = 0; j < s && winner < 0; ++j) {
            bool same = true;
            for (std::int64_t e = 0; e < d; ++e)
              same = same && good.get(static_cast<std::size_t>(row * d + e)) ==
                                 twin.v().get(static_cast<std::size_t>(j * d + e));
            if (same) winner = j;
          }
          ASSERT_GE(winner, 0);
          // (a key whose V equals the winner's could hide it; V rows of d >= 3 random integers rarely repeat)
          if (d >= 3) expect_twin_fail(twin, attention_output(twin, winner), "winning key ignored");
        }
      }
  // a causal kernel that ignores the mask attends to a later key of the group
  const auto p = attention(1, 1, 64, 4, true, Precision::fp32, seed);
  const auto twin_holder = p->exact_twin();
  const auto& twin = twin_of<AttentionProblem>(twin_holder);
  // the twin's inputs without the mask: what a kernel that ignores it writes
  HostBuffer no_mask(twin.output_precision(), twin.output_size());
  {
    const std::int64_t S = 64, D = 4;
    for (std::int64_t i = 0; i < S; ++i) {
      double m = -INFINITY;
      std::vector<double> w(S);
      for (std::int64_t j = 0; j < S; ++j) {
        double dot = 0;
        for (std::int64_t e = 0; e < D; ++e)
          dot += twin.q().get(static_cast<std::size_t>(i * D + e)) * twin.k().get(static_cast<std::size_t>(j * D + e));
        w[j] = dot * twin.scale();
        m = std::max(m, w[j]);
      }
      double l = 0;
      for (auto& x : w) l += (x = std::exp(x - m));
      for (std::int64_t e = 0; e < D; ++e) {
        double o_value = 0;
        for (std::int64_t j = 0; j < S; ++j) o_value += w[j] * twin.v().get(static_cast<std::size_t>(j * D + e));
        no_mask.set(static_cast<std::size_t>(i * D + e), o_value / l);
      }
    }
  }
  expect_twin_fail(twin, no_mask, "the causal mask ignored");
}

}  // namespace
}  // namespace mlbench
