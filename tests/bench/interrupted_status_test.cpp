// A signal stops a run: the row it stopped is recorded as `interrupted` (its own status, not
// a failure), rows finished before keep their times, a row measured in earlier rounds keeps
// those rounds, and `compare --fail-above` does not gate an interrupted row. Test-only
// backends request the stop themselves at a chosen point (Runner::request_stop is what the
// CLI's signal handler calls).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <thread>

#include "bench/gemm.h"
#include "bench/runner.h"
#include "reports/compare.h"
#include "reports/json_report.h"
#include "reports/markdown.h"
#include "reports/text_format.h"
#include "tests/bench/gemm_reference.h"
#include "tests/test_support.h"

using namespace mlbench;
using ::mlbench::test_support::fresh_seed;
using ::mlbench::test_support::reference_product;

namespace {

// When the stop is requested, counted in calls to run() of this backend (0: never) or in
// prepares (round_to_stop: the first run() of that prepare, i.e. of that round).
struct StopPlan {
  int stop_at_run = 0;
  int stop_in_prepare = 0;
};

class StoppingVariant : public Variant {
 public:
  StoppingVariant(const Problem& p, StopPlan plan, int prepare_index)
      : output_(reference_product(dynamic_cast<const GemmProblem&>(p))), plan_(plan), prepare_index_(prepare_index) {}
  // Each run lasts at least 1 ms, longer than the warm-up's share of the 1 ms budget: the
  // warm-up and the re-warm after verification are one run each, so runs are countable.
  double run(TimingMode) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++runs_;
    if ((plan_.stop_at_run > 0 && runs_ == plan_.stop_at_run) ||
        (plan_.stop_in_prepare > 0 && prepare_index_ == plan_.stop_in_prepare))
      Runner::request_stop();
    return 1e-3;
  }
  void read_output(HostBuffer& out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out.set(i, output_.get(i));
  }

 private:
  HostBuffer output_;
  StopPlan plan_;
  int prepare_index_;
  int runs_ = 0;
};

BackendInfo stopping_backend(std::string name, StopPlan plan) {
  BackendInfo b;
  b.name = std::move(name);
  b.workload = "gemm";
  b.kind = BackendKind::cpu;
  b.availability = [] { return Availability::yes(); };
  auto prepares = std::make_shared<int>(0);
  b.prepare = [plan, prepares](const Problem& p, const ExecutionConfig&) {
    // the runner's exact check prepares and runs the variant on the exact twin first: its run
    // is not one of the runs the plan counts, and never asks to stop
    if (p.is_exact_twin()) return std::make_unique<StoppingVariant>(p, StopPlan{}, 0);
    return std::make_unique<StoppingVariant>(p, plan, ++*prepares);
  };
  return b;
}

RunOptions options_for(std::vector<std::string> backends, int repetitions, int rounds) {
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {8};
  o.backends = std::move(backends);
  o.seed = fresh_seed();
  o.repetitions = repetitions;
  o.rounds = rounds;
  o.time_budget_s = 0.001;
  return o;
}

const VariantResult* find(const std::vector<VariantResult>& results, const std::string& backend) {
  auto it = std::find_if(results.begin(), results.end(), [&](const VariantResult& r) { return r.backend == backend; });
  return it == results.end() ? nullptr : &*it;
}

class InterruptedStatus : public ::testing::Test {
 protected:
  void SetUp() override { Runner::clear_stop_request(); }
  void TearDown() override { Runner::clear_stop_request(); }
};

}  // namespace

TEST_F(InterruptedStatus, StopDuringWarmUpIsInterruptedNotFailed) {
  Registry registry;
  registry.add(stopping_backend("serial", {1, 0}));  // the first warm-up run asks to stop
  RunOptions o = options_for({"serial"}, 4, 1);
  o.warmup = 3;
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, ResultStatus::interrupted);
  EXPECT_NE(results[0].error_message.find("warm-up"), std::string::npos) << results[0].error_message;
  EXPECT_EQ(results[0].stats.runs, 0);
  EXPECT_EQ(reports::status_mark(results[0]), "INTERRUPTED");
}

TEST_F(InterruptedStatus, StopDuringMeasurementKeepsFinishedRowsAndStopsTheRest) {
  Registry registry;
  registry.add(stopping_backend("serial", {}));
  // Warm-up (1 run: the budget is tiny), re-warm (1 run), then the 4th run is the 2nd measured one.
  registry.add(stopping_backend("stopper", {4, 0}));
  registry.add(stopping_backend("never_reached", {}));
  const RunOptions o = options_for({"serial", "stopper", "never_reached"}, 6, 1);
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  const VariantResult* serial = find(results, "serial");
  const VariantResult* stopper = find(results, "stopper");
  ASSERT_NE(serial, nullptr);
  ASSERT_NE(stopper, nullptr);
  EXPECT_EQ(serial->status, ResultStatus::ok);
  EXPECT_EQ(serial->stats.runs, 6);
  EXPECT_GT(serial->stats.median_s, 0);
  EXPECT_EQ(stopper->status, ResultStatus::interrupted) << stopper->error_message;
  EXPECT_NE(stopper->error_message.find("measured runs"), std::string::npos) << stopper->error_message;
  EXPECT_LT(stopper->stats.runs, 6);
  EXPECT_EQ(find(results, "never_reached"), nullptr) << "a variant started after the stop";
}

TEST_F(InterruptedStatus, EarlierRoundsKeepTheirTimesWhenALaterRoundIsInterrupted) {
  Registry registry;
  registry.add(stopping_backend("serial", {0, 2}));  // stops in its second prepare: round 2
  const RunOptions o = options_for({"serial"}, 8, 2);
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 1u);
  const VariantResult& r = results[0];
  EXPECT_EQ(r.status, ResultStatus::ok) << r.error_message;
  EXPECT_EQ(r.stats.runs, 4) << "round 1's share of 8 repetitions over 2 rounds";
  EXPECT_EQ(r.stats.rounds, 1);
  EXPECT_GT(r.stats.median_s, 0);
  const bool noted =
      std::any_of(r.notes.begin(), r.notes.end(), [](const auto& n) { return n.first == "interrupted"; });
  EXPECT_TRUE(noted);
}

TEST_F(InterruptedStatus, StopDuringVerificationStopsBeforeTiming) {
  Registry registry;
  registry.add(stopping_backend("serial", {1, 0}));  // the only warm-up run asks; checked after verifying
  const RunOptions o = options_for({"serial"}, 4, 1);
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].status, ResultStatus::interrupted);
  EXPECT_TRUE(results[0].verification.passed);
  EXPECT_EQ(results[0].stats.runs, 0);
}

TEST_F(InterruptedStatus, SurvivesTheJsonRoundTripAndIsNotGated) {
  Registry registry;
  registry.add(stopping_backend("serial", {}));
  registry.add(stopping_backend("stopper", {1, 0}));
  const RunOptions o = options_for({"serial", "stopper"}, 3, 1);
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  Runner first(registry, o);
  RunReport base;
  base.results = first.run(first.plan());
  base.run.interrupted = true;
  ASSERT_EQ(base.results.size(), 2u);
  const RunReport read = reports::parse_report(reports::render_json(base), "interrupted.json");
  ASSERT_EQ(read.results.size(), 2u);
  EXPECT_EQ(find(read.results, "stopper")->status, ResultStatus::interrupted);
  EXPECT_NE(reports::render_markdown(read).find("INTERRUPTED"), std::string::npos);

  // The base measured both rows; the new run was interrupted in one: nothing to gate.
  RunReport complete = read;
  for (VariantResult& r : complete.results)
    if (r.backend == "stopper") r = *find(read.results, "serial"), r.backend = "stopper";
  const reports::Comparison c = reports::compare({{"base.json", complete}, {"new.json", read}});
  EXPECT_TRUE(reports::gate_failures(c, 10).empty());
}
