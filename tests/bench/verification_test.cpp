// Issue 13: verification catches any single wrong output element and any single ignored input
// element. Every workload with an exact twin, every precision, sizes below and above the
// exhaustive limit of the accuracy check: a correct output of the exact twin passes its exact
// check; the smallest corruptions that matter each fail it. Plus the runner's side: a variant
// with one element 0.1 % off, or whose timed runs differ from its verified output, is FAILED.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/convolution.h"
#include "bench/gemm.h"
#include "bench/reduction.h"
#include "bench/runner.h"
#include "bench/verification.h"
#include "bench/workloads.h"
#include "tests/test_support.h"

using namespace mlbench;
using mlbench::test_support::fresh_seed;

namespace {

// ---- fp64 references of a problem's output (any problem: random or exact twin) ----

// `skip_input`: index into A (GEMM) / input (convolution, reduction) treated as zero / absent,
// i.e. an implementation that ignores that one input element; -1: none.
HostBuffer gemm_reference(const GemmProblem& p, std::int64_t skip_input = -1) {
  const auto [m, n, k] = p.shape();
  HostBuffer out(p.output_precision(), p.output_size());
  std::vector<double> a(p.a().size()), b(p.b().size());
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = p.a().get(i);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = p.b().get(i);
  if (skip_input >= 0) a[static_cast<std::size_t>(skip_input)] = 0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::int64_t q = 0; q < k; ++q) acc += a[i * k + q] * b[q * n + j];
      out.set(static_cast<std::size_t>(i * n + j), acc);
    }
  return out;
}

HostBuffer conv_reference(const ConvProblem& p, std::int64_t skip_input = -1) {
  const ConvShape& s = p.shape();
  const std::int64_t OH = s.out_height(), OW = s.out_width();
  HostBuffer out(p.output_precision(), p.output_size());
  std::vector<double> x(p.input().size()), w(p.weights().size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = p.input().get(i);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = p.weights().get(i);
  if (skip_input >= 0) x[static_cast<std::size_t>(skip_input)] = 0;
  for (std::int64_t n = 0; n < s.batch; ++n)
    for (std::int64_t k = 0; k < s.filters; ++k)
      for (std::int64_t oh = 0; oh < OH; ++oh)
        for (std::int64_t ow = 0; ow < OW; ++ow) {
          double acc = 0;
          for (std::int64_t c = 0; c < s.channels; ++c)
            for (std::int64_t r = 0; r < s.kernel; ++r)
              for (std::int64_t q = 0; q < s.kernel; ++q) {
                const std::int64_t ih = oh * s.stride - s.pad + r, iw = ow * s.stride - s.pad + q;
                if (ih < 0 || ih >= s.height || iw < 0 || iw >= s.width) continue;
                acc += w[((k * s.channels + c) * s.kernel + r) * s.kernel + q] *
                       x[((n * s.channels + c) * s.height + ih) * s.width + iw];
              }
          out.set(static_cast<std::size_t>(((n * s.filters + k) * OH + oh) * OW + ow), acc);
        }
  return out;
}

HostBuffer reduction_reference(const ReductionProblem& p, std::int64_t skip_input = -1) {
  HostBuffer out(p.output_precision(), p.output_size());
  const std::size_t segments = p.output_size(), length = p.input().size() / segments;
  for (std::size_t seg = 0; seg < segments; ++seg) {
    double sum = 0, max = -INFINITY;
    for (std::size_t j = seg * length; j < (seg + 1) * length; ++j) {
      if (static_cast<std::int64_t>(j) == skip_input) continue;
      sum += p.input().get(j);
      max = std::max(max, p.input().get(j));
    }
    const ReduceOp op = p.shape().op;
    out.set(seg, op == ReduceOp::max ? max : op == ReduceOp::mean ? sum / static_cast<double>(length) : sum);
  }
  return out;
}

HostBuffer reference(const Problem& p, std::int64_t skip_input = -1) {
  if (auto* g = dynamic_cast<const GemmProblem*>(&p)) return gemm_reference(*g, skip_input);
  if (auto* c = dynamic_cast<const ConvProblem*>(&p)) return conv_reference(*c, skip_input);
  return reduction_reference(dynamic_cast<const ReductionProblem&>(p), skip_input);
}

// An input element the twin holds as non-zero, near the end (the classic dropped tail): GEMM the
// last non-zero of A's last column, convolution the last input pixel, reduction the last input
// element (for max: the segment's unique maximum).
std::int64_t last_nonzero_input(const Problem& p) {
  const HostBuffer* in = nullptr;
  if (auto* g = dynamic_cast<const GemmProblem*>(&p)) {
    const auto [m, n, k] = g->shape();
    for (std::int64_t i = m - 1; i >= 0; --i)
      if (g->a().get(static_cast<std::size_t>(i * k + k - 1)) != 0) return i * k + k - 1;
    return -1;
  }
  if (auto* c = dynamic_cast<const ConvProblem*>(&p)) in = &c->input();
  if (auto* r = dynamic_cast<const ReductionProblem*>(&p)) {
    in = &r->input();
    if (r->shape().op == ReduceOp::max) {  // the maximum of the last segment
      const std::size_t length = in->size() / r->output_size(), begin = in->size() - length;
      for (std::size_t j = begin; j < in->size(); ++j)
        if (in->get(j) == -1.0) return static_cast<std::int64_t>(j);
    }
  }
  for (std::size_t j = in->size(); j-- > 0;)
    if (in->get(j) != 0) return static_cast<std::int64_t>(j);
  return -1;
}

// The value `v` changed by 0.1 % of its magnitude, or by one step of the storage type where
// 0.1 % is below half a step (bf16: 0.4 %; fp16 near powers of two): the smallest change the
// output type can hold.
double nudged(double v, Precision storage) {
  HostBuffer one(storage, 1);
  one.set(0, v * 1.001 + (v == 0 ? 1e-3 : 0.0));
  if (one.get(0) != v) return one.get(0);
  for (double step = std::fabs(v) * 1e-3; one.get(0) == v; step *= 2) one.set(0, v + step);
  return one.get(0);
}

struct Case {
  std::string workload;
  std::int64_t size;
  Precision precision;
  WorkloadOptions options;
  std::string label() const {
    return workload + "/" + to_string(precision) + "/" + std::to_string(size) + "/" +
           to_string(options.get<ReductionOptions>().op) + "/" + to_string(options.get<ReductionOptions>().axis);
  }
};

// Every workload with an exact twin at every precision it takes, below and above the accuracy
// check's exhaustive limit (2^26 multiply-adds: GEMM 420^3, convolution 400^2 * 16 * 27).
std::vector<Case> cases() {
  std::vector<Case> list;
  for (const WorkloadInfo& w : workloads()) {
    for (Precision precision : all_precisions()) {
      std::array<std::int64_t, 2> sizes{};  // below and above the exhaustive limit
      std::vector<WorkloadOptions> variants(1);
      if (w.name == "gemm")
        sizes = {33, 420};
      else if (w.name == "convolution")
        sizes = {33, 400};
      else if (w.name == "reduction") {
        if (precision == Precision::tf32) continue;
        sizes = {7, 1001};
        variants.clear();
        for (ReduceOp op : {ReduceOp::sum, ReduceOp::max, ReduceOp::mean})
          for (ReduceAxis axis : {ReduceAxis::all, ReduceAxis::rows}) {
            WorkloadOptions o;
            o.get<ReductionOptions>() = {op, axis};
            variants.push_back(o);
          }
      } else {
        continue;  // no exact twin yet (make_problem(...)->exact_twin() is nullptr): see ExactTwinExistsFor...
      }
      for (std::int64_t size : sizes)
        for (const WorkloadOptions& o : variants) list.push_back({w.name, size, precision, o});
    }
  }
  return list;
}

}  // namespace

// One pass per case (the fp64 references are the cost): the twin exists and matches the
// problem; its correct output passes; each smallest corruption fails.
TEST(ExactCheck, FailsOneElementOffByATenthOfAPercentOrReplacedByItsNeighbourOrOneIgnoredInput) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  int neighbours_tried = 0;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.label());
    const auto problem = make_problem(c.workload, c.size, c.precision, seed, c.options);
    const auto twin = problem->exact_twin();
    ASSERT_NE(twin, nullptr);
    EXPECT_TRUE(twin->is_exact_twin());
    EXPECT_FALSE(problem->is_exact_twin());
    EXPECT_EQ(twin->shape_label(), problem->shape_label());
    EXPECT_EQ(twin->output_size(), problem->output_size());
    EXPECT_EQ(twin->output_precision(), problem->output_precision());
    EXPECT_THROW(problem->verify_exact(HostBuffer(problem->output_precision(), problem->output_size())),
                 std::logic_error);

    const HostBuffer correct = reference(*twin);
    const Verification strict = twin->verify_exact(correct, ExactMatch::strict);
    EXPECT_TRUE(strict.passed) << strict.detail;
    EXPECT_TRUE(twin->verify_exact(correct, ExactMatch::nearest_integer).passed);
    EXPECT_NE(strict.method.find("integer twin"), std::string::npos) << strict.method;

    HostBuffer out = reference(*twin);
    // one element 0.1 % off: a random one and the last one (the tail a vector loop or an edge
    // tile drops)
    std::uniform_int_distribution<std::size_t> pick(0, correct.size() - 1);
    for (std::size_t at : {pick(rng), correct.size() - 1}) {
      out.set(at, nudged(correct.get(at), out.precision()));
      ASSERT_NE(out.get(at), correct.get(at));
      EXPECT_FALSE(twin->verify_exact(out, ExactMatch::strict).passed)
          << "element " << at << ": " << correct.get(at) << " -> " << out.get(at);
      out.set(at, correct.get(at));
    }
    // one element replaced by its right-hand neighbour holding another value (a store one
    // place off); a single output has no neighbour
    if (correct.size() >= 2) {
      std::uniform_int_distribution<std::size_t> pick_pair(0, correct.size() - 2);
      std::size_t at = pick_pair(rng);
      for (std::size_t step = 0; step < correct.size() && correct.get(at) == correct.get(at + 1); ++step)
        at = (at + 1) % (correct.size() - 1);
      if (correct.get(at) != correct.get(at + 1)) {  // max rows are all -1: nothing to replace
        out.set(at, correct.get(at + 1));
        EXPECT_FALSE(twin->verify_exact(out, ExactMatch::strict).passed) << "element " << at;
        EXPECT_FALSE(twin->verify_exact(out, ExactMatch::nearest_integer).passed) << "element " << at;
        out.set(at, correct.get(at));
        ++neighbours_tried;
      }
    }
    // one input element ignored: the last non-zero one
    const std::int64_t ignored = last_nonzero_input(*twin);
    ASSERT_GE(ignored, 0);
    const HostBuffer without = reference(*twin, ignored);
    EXPECT_FALSE(twin->verify_exact(without, ExactMatch::strict).passed) << "input " << ignored;
    EXPECT_FALSE(twin->verify_exact(without, ExactMatch::nearest_integer).passed) << "input " << ignored;
  }
  EXPECT_GT(neighbours_tried, 0);
}

TEST(ExactCheck, FailsANonIntegerOrHugeElementAndNamesIt) {
  const std::uint64_t seed = fresh_seed();
  const auto twin = make_problem("gemm", 64, Precision::fp32, seed, {})->exact_twin();
  HostBuffer out = reference(*twin);
  out.set(65, out.get(65) + 0.25);
  Verification v = twin->verify_exact(out, ExactMatch::strict);
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.detail.find("C[1][1]"), std::string::npos) << v.detail;
  // rounded, 0.25 off is within the half unit an FFT/Winograd algorithm may be off: passes
  EXPECT_TRUE(twin->verify_exact(out, ExactMatch::nearest_integer).passed);
  out.set(65, 1e30);
  v = twin->verify_exact(out, ExactMatch::nearest_integer);
  EXPECT_FALSE(v.passed);
  EXPECT_NE(v.detail.find("outside"), std::string::npos) << v.detail;
}

TEST(ExactCheck, FftAndWinogradAlgorithmsAreComparedRounded) {
  EXPECT_EQ(exact_match_for({{"algorithm", "WINOGRAD_NONFUSED"}}), ExactMatch::nearest_integer);
  EXPECT_EQ(exact_match_for({{"algorithm", "FFT_TILING"}}), ExactMatch::nearest_integer);
  EXPECT_EQ(exact_match_for({{"algorithm", "IMPLICIT_PRECOMP_GEMM"}}), ExactMatch::strict);
  EXPECT_EQ(exact_match_for({{"math", "fft"}}), ExactMatch::strict);  // only the algorithm note counts
}

// Today's large corruptions stay caught by the accuracy check on random inputs (above the
// exhaustive limit too), and the accuracy check still passes a correct output.
TEST(AccuracyCheck, PassesTheCorrectOutputAndFailsALargeSingleError) {
  const std::uint64_t seed = fresh_seed();
  for (const Case& c : cases()) {
    if (c.precision != Precision::fp32) continue;
    SCOPED_TRACE(c.label());
    const auto problem = make_problem(c.workload, c.size, c.precision, seed, c.options);
    HostBuffer out = reference(*problem);
    EXPECT_TRUE(problem->verify(out).passed);
    out.set(out.size() - 1, out.get(out.size() - 1) + 1e3);
    EXPECT_FALSE(problem->verify(out).passed);
  }
}

// ---- the runner: exact check before timing, re-check after it ----
namespace {

// Computes the fp64 reference of whatever problem it is prepared on; `corrupt(problem, out,
// read)` may change what the `read`-th read_output of this preparation returns (1: the one the
// runner verifies, 2: the re-check after timing).
class ReferenceVariant : public Variant {
 public:
  ReferenceVariant(const Problem& p, std::function<void(const Problem&, HostBuffer&, int)> corrupt, bool reproducible)
      : problem_(p), correct_(reference(p)), corrupt_(std::move(corrupt)), reproducible_(reproducible) {}
  double run(TimingMode) override { return 1e-4; }
  void read_output(HostBuffer& out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out.set(i, correct_.get(i));
    if (corrupt_) corrupt_(problem_, out, ++reads_);
  }
  bool reproducible() const override { return reproducible_; }

 private:
  const Problem& problem_;
  HostBuffer correct_;
  std::function<void(const Problem&, HostBuffer&, int)> corrupt_;
  bool reproducible_;
  int reads_ = 0;
};

std::vector<VariantResult> run_with(std::function<void(const Problem&, HostBuffer&, int)> corrupt, bool reproducible,
                                    const std::string& workload, std::int64_t size) {
  Registry registry;
  BackendInfo b;
  b.name = "reference";
  b.workload = workload;
  b.kind = BackendKind::cpu;
  b.availability = [] { return Availability::yes(); };
  b.prepare = [corrupt, reproducible](const Problem& p, const ExecutionConfig&) {
    return std::make_unique<ReferenceVariant>(p, corrupt, reproducible);
  };
  registry.add(b);
  RunOptions o;
  o.workloads = {workload};
  o.sizes = {size};
  o.seed = fresh_seed();
  o.repetitions = 3;
  o.time_budget_s = 0.001;
  Runner runner(registry, o);
  return runner.run(runner.plan());
}

}  // namespace

TEST(RunnerExactCheck, AVariantWithOneElementATenthOfAPercentOffIsFailedAndUntimed) {
  // gemm 420 is above the exhaustive limit: only the exact twin sees 0.1 % of one entry
  const auto results = run_with(
      [](const Problem& p, HostBuffer& out, int) {
        const std::size_t at = out.size() / 2 + 7;
        out.set(at, nudged(out.get(at), out.precision()));
        (void)p;
      },
      true, "gemm", 420);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, ResultStatus::failed_verification);
  EXPECT_EQ(results[0].stats.runs, 0);
  EXPECT_NE(results[0].verification.method.find("exact:"), std::string::npos);
  EXPECT_GT(results[0].verification_s, 0);
}

TEST(RunnerExactCheck, ACorrectVariantSaysWhichChecksRan) {
  const auto results = run_with(nullptr, true, "convolution", 40);
  ASSERT_EQ(results.size(), 1u);
  ASSERT_TRUE(results[0].ok()) << results[0].verification.detail;
  const std::string& method = results[0].verification.method;
  EXPECT_NE(method.find("exact: integer twin"), std::string::npos) << method;
  EXPECT_NE(method.find("accuracy: "), std::string::npos) << method;
  EXPECT_NE(method.find("re-check after timing: bitwise equal"), std::string::npos) << method;
  EXPECT_GT(results[0].verification_s, 0);
}

TEST(RunnerRecheck, TimedRunsThatDropTheLastElementAreFailed) {
  // correct on the exact twin and in warm-up, then a tail element goes missing (a variant that
  // computes correctly once and then does less work); the change is far below the tolerance
  const auto results = run_with(
      [](const Problem& p, HostBuffer& out, int read) {
        if (!p.is_exact_twin() && read >= 2) out.set(out.size() - 1, out.get(out.size() - 1) * (1 - 1e-6));
      },
      true, "reduction", 300);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, ResultStatus::failed_verification);
  EXPECT_EQ(results[0].stats.runs, 0);
  EXPECT_NE(results[0].verification.detail.find("last timed run"), std::string::npos) << results[0].verification.detail;
}

TEST(RunnerRecheck, ANonReproducibleVariantPassesWithinTheToleranceAndFailsOutsideIt) {
  auto drift = [](double relative) {
    return [relative](const Problem& p, HostBuffer& out, int read) {
      if (!p.is_exact_twin() && read >= 2) out.set(0, out.get(0) * (1 + relative));
    };
  };
  auto within = run_with(drift(1e-6), false, "gemm", 64);
  ASSERT_EQ(within.size(), 1u);
  EXPECT_TRUE(within[0].ok()) << within[0].verification.detail;
  EXPECT_NE(within[0].verification.method.find("not reproducible"), std::string::npos);
  auto outside = run_with(drift(0.5), false, "gemm", 64);
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].status, ResultStatus::failed_verification);
}
