// The runner's reliability hooks with test-only backends: results noisier than --cv-threshold
// are flagged; GPU rows get the device state read before and after each measurement
// (Registry::device_state_probe); a failed GPU variant is destroyed, then the device is
// recovered (Registry::device_recovery), the rows say so, and the next variant still runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "bench/gemm.h"
#include "bench/runner.h"
#include "tests/bench/gemm_reference.h"
#include "tests/test_support.h"

using namespace mlbench;
using ::mlbench::test_support::fresh_seed;
using ::mlbench::test_support::reference_product;

namespace {

// Reports the times it is given, in turn, instead of measuring: the cv is known in advance.
class ScriptedVariant : public Variant {
 public:
  ScriptedVariant(const Problem& p, std::vector<double> times, bool gpu, bool fail)
      : output_(reference_product(dynamic_cast<const GemmProblem&>(p))),
        times_(std::move(times)),
        gpu_(gpu),
        fail_(fail) {
    ++alive;
  }
  ~ScriptedVariant() override { --alive; }
  std::vector<TimingMode> timing_modes() const override {
    return gpu_ ? std::vector<TimingMode>{TimingMode::kernel, TimingMode::end_to_end}
                : std::vector<TimingMode>{TimingMode::host};
  }
  double run(TimingMode) override {
    if (fail_) throw std::runtime_error("an illegal memory access was encountered");
    return times_[next_++ % times_.size()];
  }
  void read_output(HostBuffer& out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out.set(i, output_.get(i));
  }
  static inline int alive = 0;

 private:
  HostBuffer output_;
  std::vector<double> times_;
  std::size_t next_ = 0;
  bool gpu_, fail_;
};

BackendInfo scripted_backend(std::string name, BackendKind kind, std::vector<double> times, bool fail = false) {
  BackendInfo b;
  b.name = std::move(name);
  b.workload = "gemm";
  b.kind = kind;
  b.availability = [] { return Availability::yes(); };
  b.prepare = [times, kind, fail](const Problem& p, const ExecutionConfig&) {
    return std::make_unique<ScriptedVariant>(p, times, is_gpu(kind), fail);
  };
  return b;
}

RunOptions options_for(std::vector<std::string> backends) {
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {8};
  o.backends = std::move(backends);
  o.seed = fresh_seed();
  o.repetitions = 6;
  o.time_budget_s = 0.01;  // the warm-up lasts a tenth of it
  return o;
}

const VariantResult& find(const std::vector<VariantResult>& results, const std::string& backend, TimingMode timing) {
  auto it = std::find_if(results.begin(), results.end(),
                         [&](const VariantResult& r) { return r.backend == backend && r.timing == timing; });
  if (it == results.end()) throw std::logic_error("no row " + backend);
  return *it;
}

}  // namespace

TEST(RunnerHooks, FlagsResultsWhoseCvExceedsTheThreshold) {
  Registry registry;
  registry.add(scripted_backend("serial", BackendKind::cpu, {2e-3}));
  registry.add(scripted_backend("jittery", BackendKind::cpu, {1e-3, 3e-3}));    // cv about 0.55
  registry.add(scripted_backend("slight", BackendKind::cpu, {1e-3, 1.06e-3}));  // cv about 0.03
  RunOptions o = options_for({});
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  for (double threshold : {0.01, 0.05, 0.9}) {
    SCOPED_TRACE("threshold=" + std::to_string(threshold));
    o.cv_threshold = threshold;
    Runner runner(registry, o);
    const auto results = runner.run(runner.plan());
    const VariantResult& steady = find(results, "serial", TimingMode::host);
    const VariantResult& jittery = find(results, "jittery", TimingMode::host);
    const VariantResult& slight = find(results, "slight", TimingMode::host);
    EXPECT_EQ(steady.stats.runs, 6);
    EXPECT_FALSE(steady.cv_above_threshold) << steady.stats.cv;
    EXPECT_EQ(jittery.cv_above_threshold, jittery.stats.cv > threshold) << jittery.stats.cv;
    EXPECT_EQ(slight.cv_above_threshold, slight.stats.cv > threshold) << slight.stats.cv;
    EXPECT_EQ(jittery.cv_above_threshold, threshold < 0.5);
    EXPECT_EQ(slight.cv_above_threshold, threshold < 0.02);
  }
}

TEST(RunnerHooks, RefusesAThresholdThatIsNotPositive) {
  Registry registry;
  registry.add(scripted_backend("serial", BackendKind::cpu, {1e-3}));
  RunOptions o = options_for({});
  for (double bad : {0.0, -0.05, std::nan("")}) {
    o.cv_threshold = bad;
    EXPECT_THROW(Runner(registry, o).plan(), InputError) << bad;
  }
}

TEST(RunnerHooks, ReadsTheDeviceStateAroundEachGpuMeasurement) {
  Registry registry;
  registry.add(scripted_backend("serial", BackendKind::cpu, {1e-3}));
  registry.add(scripted_backend("fakegpu", BackendKind::gpu, {1e-4}));
  int readings = 0;
  std::vector<int> devices_read;
  // Every reading: clocks fall, the power-limiter time grows; the last one says "thermal".
  registry.device_state_probe = [&](int device) {
    devices_read.push_back(device);
    GpuStateSample s;
    s.available = true;
    s.sm_clock_mhz = 1980 - 100 * readings;
    s.power_w = 300 + 50 * readings;
    s.power_violation_ns = 1e6 * readings;
    s.thermal_violation_ns = 0;
    if (readings == 3) s.throttle_reasons = {"thermal"};
    ++readings;
    return s;
  };
  RunOptions o = options_for({});
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  EXPECT_EQ(readings, 4);  // before and after each of the two timing modes
  EXPECT_EQ(devices_read, std::vector<int>(4, 0));
  EXPECT_FALSE(find(results, "serial", TimingMode::host).gpu_state.has_value());
  const VariantResult& kernel = find(results, "fakegpu", TimingMode::kernel);
  const VariantResult& e2e = find(results, "fakegpu", TimingMode::end_to_end);
  ASSERT_TRUE(kernel.gpu_state && e2e.gpu_state);
  EXPECT_EQ(kernel.gpu_state->before.sm_clock_mhz, 1980);
  EXPECT_EQ(kernel.gpu_state->after.sm_clock_mhz, 1880);
  EXPECT_EQ(e2e.gpu_state->before.power_w, 400);
  EXPECT_EQ(kernel.gpu_state->throttled, std::vector<std::string>({"power cap"}));
  EXPECT_EQ(e2e.gpu_state->throttled, std::vector<std::string>({"thermal", "power cap"}));
}

TEST(RunnerHooks, NoThrottleWhenTheLimiterTimesStayPut) {
  GpuStateSample before, after;
  before.available = after.available = true;
  before.power_violation_ns = after.power_violation_ns = 5e9;  // throttled long ago, not now
  before.thermal_violation_ns = after.thermal_violation_ns = 0;
  EXPECT_TRUE(throttling_between(before, after).empty());
  after.thermal_violation_ns = 1;
  EXPECT_EQ(throttling_between(before, after), std::vector<std::string>({"thermal"}));
  GpuStateSample unknown;  // -1: the driver does not say
  EXPECT_TRUE(throttling_between(unknown, unknown).empty());
}

TEST(RunnerHooks, RecoversTheDeviceAfterAFailedGpuVariantAndRunsTheNextOne) {
  Registry registry;
  registry.add(scripted_backend("serial", BackendKind::cpu, {1e-3}));
  registry.add(scripted_backend("cpufail", BackendKind::cpu, {1e-3}, true));
  registry.add(scripted_backend("gpufail", BackendKind::gpu, {1e-4}, true));
  registry.add(scripted_backend("fakegpu", BackendKind::gpu, {1e-4}));
  BackendInfo no_memory = scripted_backend("nomemory", BackendKind::gpu, {1e-4});
  no_memory.prepare = [](const Problem&, const ExecutionConfig&) -> std::unique_ptr<Variant> {
    throw std::runtime_error("cudaMalloc failed: out of memory");
  };
  registry.add(std::move(no_memory));
  registry.add(scripted_backend("aftergpu", BackendKind::gpu, {2e-4}));

  struct Call {
    std::vector<int> devices;
    std::string failure;
    int variants_alive;
  };
  std::vector<Call> calls;
  registry.device_recovery = [&](const std::vector<int>& devices, std::exception_ptr failure) {
    std::string what;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      what = e.what();
    }
    calls.push_back({devices, what, ScriptedVariant::alive});
    return "device 0 reset (test)";
  };
  RunOptions o = options_for({});
  o.repetitions = 2;
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());

  // Called once per failed GPU variant (not for the CPU failure), after it was destroyed.
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].devices, std::vector<int>({0}));
  EXPECT_EQ(calls[0].failure, "an illegal memory access was encountered");
  EXPECT_EQ(calls[0].variants_alive, 0);
  EXPECT_EQ(calls[1].failure, "cudaMalloc failed: out of memory");

  auto note_of = [](const VariantResult& r) {
    for (const auto& [key, value] : r.notes)
      if (key == "device_reset") return value;
    return std::string();
  };
  for (const char* failed : {"gpufail", "nomemory"})
    for (TimingMode mode : {TimingMode::kernel, TimingMode::end_to_end}) {
      const VariantResult& r = find(results, failed, mode);
      EXPECT_EQ(r.status, ResultStatus::error) << failed;
      EXPECT_FALSE(r.error_message.empty());
      EXPECT_EQ(note_of(r), "device 0 reset (test)") << failed;
    }
  EXPECT_EQ(find(results, "cpufail", TimingMode::host).status, ResultStatus::error);
  EXPECT_EQ(note_of(find(results, "cpufail", TimingMode::host)), "");
  for (const char* fine : {"fakegpu", "aftergpu"})
    for (TimingMode mode : {TimingMode::kernel, TimingMode::end_to_end}) {
      const VariantResult& r = find(results, fine, mode);
      EXPECT_TRUE(r.ok()) << fine << " " << r.error_message;
      EXPECT_TRUE(r.verification.passed);
      EXPECT_EQ(note_of(r), "");
    }
}

TEST(RunnerHooks, NothingIsNotedWhenRecoveryHadNothingToDo) {
  Registry registry;
  registry.add(scripted_backend("serial", BackendKind::cpu, {1e-3}));
  registry.add(scripted_backend("gpufail", BackendKind::gpu, {1e-4}, true));
  int calls = 0;
  registry.device_recovery = [&](const std::vector<int>&, std::exception_ptr) {
    ++calls;
    return std::string();
  };
  RunOptions o = options_for({});
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  EXPECT_EQ(calls, 1);
  for (const VariantResult& r : results)
    for (const auto& note : r.notes) EXPECT_NE(note.first, "device_reset");
}

namespace {

// Each preparation is one round: the variant runs at 1, 2, 3 ms in rounds 1, 2, 3 and, in the
// round `wrong_in_round` (1-based; 0: never), writes a wrong output.
class PerRoundVariant : public Variant {
 public:
  PerRoundVariant(const Problem& p, int round, int wrong_in_round)
      : output_(reference_product(dynamic_cast<const GemmProblem&>(p))),
        round_(round),
        wrong_(round == wrong_in_round) {}
  std::vector<TimingMode> timing_modes() const override { return {TimingMode::host}; }
  double run(TimingMode) override { return 1e-3 * round_; }
  void read_output(HostBuffer& out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out.set(i, output_.get(i) + (wrong_ && i == 0 ? 1e3 : 0.0));
  }

 private:
  HostBuffer output_;
  int round_;
  bool wrong_;
};

BackendInfo per_round_backend(int* prepared, int wrong_in_round) {
  BackendInfo b = scripted_backend("rounds", BackendKind::cpu, {1e-3});
  b.prepare = [prepared, wrong_in_round](const Problem& p, const ExecutionConfig&) {
    // the runner also prepares each round's variant on the exact twin: not a round of its own
    return std::make_unique<PerRoundVariant>(p, p.is_exact_twin() ? -1 : ++*prepared, wrong_in_round);
  };
  return b;
}

}  // namespace

TEST(RunnerRounds, PoolTheSamplesOfEveryRoundEachPreparedAndVerifiedAfresh) {
  int prepared = 0;
  Registry registry;
  registry.add(per_round_backend(&prepared, 0));
  RunOptions o = options_for({});
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  o.rounds = 3;
  o.repetitions = 7;  // all rounds together: ceil(7 / 3) = 3 per round
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 1u);
  const VariantResult& r = results.front();
  EXPECT_EQ(prepared, 3);
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.stats.rounds, 3);
  EXPECT_EQ(r.stats.runs, 9);
  for (double round_time : {1e-3, 2e-3, 3e-3})
    EXPECT_EQ(std::count_if(r.stats.run_times_s.begin(), r.stats.run_times_s.end(),
                            [&](double t) { return std::fabs(t - round_time) < 1e-12; }),
              3)
        << round_time;
  // Statistics of the pooled samples: 1, 1, 1, 2, 2, 2, 3, 3, 3 ms.
  EXPECT_NEAR(r.stats.median_s, 2e-3, 1e-12);
  EXPECT_NEAR(r.stats.mean_s, 2e-3, 1e-12);
  EXPECT_NEAR(r.stats.stddev_s, std::sqrt(6e-6 / 8), 1e-12);  // sample stddev, n - 1 = 8
  EXPECT_NEAR(r.stats.cv, r.stats.stddev_s / r.stats.mean_s, 1e-12);
}

TEST(RunnerRounds, AWrongOutputInALaterRoundFailsTheRowAndDropsItsTimes) {
  int prepared = 0;
  Registry registry;
  registry.add(per_round_backend(&prepared, 2));
  RunOptions o = options_for({});
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  o.rounds = 3;
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 1u);
  const VariantResult& r = results.front();
  EXPECT_EQ(r.status, ResultStatus::failed_verification);
  EXPECT_FALSE(r.verification.passed);
  EXPECT_EQ(r.stats.runs, 0);
  EXPECT_TRUE(r.stats.run_times_s.empty());
  EXPECT_EQ(prepared, 3);  // the suite still ran every round
}

// `mlbench report --pool`: separate runs pool as rounds: every repetition kept, the statistics
// recomputed, a failure in any run failing the row with no time left.
TEST(PoolRuns, PoolsSeparateRunsAsRoundsAndAFailureInAnyRunStands) {
  RunOptions o = options_for({});
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  o.rounds = 3;
  o.repetitions = 6;  // 2 per round
  const auto run_once = [&](int wrong_in_round) {
    int prepared = 0;
    Registry registry;
    registry.add(per_round_backend(&prepared, wrong_in_round));
    Runner runner(registry, o);
    RunReport report;
    report.results = runner.run(runner.plan());
    report.run.rounds = o.rounds;
    return report;
  };
  const RunReport first = run_once(0), second = run_once(0), broken = run_once(2);
  ASSERT_TRUE(first.results.at(0).ok());

  const RunReport pooled = pool_runs({first, second});
  ASSERT_EQ(pooled.results.size(), 1u);
  const VariantResult& r = pooled.results.front();
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(pooled.run.pooled_runs, 2);
  EXPECT_EQ(pooled.run.rounds, 6);
  EXPECT_EQ(r.stats.rounds, 6);
  EXPECT_EQ(r.stats.runs, 12);
  ASSERT_EQ(r.stats.run_times_s.size(), 12u);
  // Each run's rounds took 1, 2, 3 ms: the pooled median is 2 ms, the mean 2 ms.
  EXPECT_NEAR(r.stats.median_s, 2e-3, 1e-12);
  EXPECT_NEAR(r.stats.mean_s, 2e-3, 1e-12);

  const RunReport with_failure = pool_runs({first, broken, second});
  const VariantResult& failed = with_failure.results.at(0);
  EXPECT_EQ(failed.status, ResultStatus::failed_verification);
  EXPECT_EQ(failed.stats.runs, 0);
  EXPECT_TRUE(failed.stats.run_times_s.empty());
  EXPECT_EQ(with_failure.run.pooled_runs, 3);
}

TEST(RunnerRounds, MinRepetitionsFloorsTheAdaptiveCountUpToItsCap) {
  auto runs_with = [](int min_repetitions, int max_repetitions, int rounds) {
    int prepared = 0;
    Registry registry;
    registry.add(per_round_backend(&prepared, 0));  // 1, 2, 3 ms in rounds 1, 2, 3
    RunOptions o = options_for({});
    SCOPED_TRACE("seed=" + std::to_string(o.seed));
    o.repetitions = 0;  // adaptive: as many as fit the budget
    o.time_budget_s = 0.004 * rounds;
    o.rounds = rounds;
    o.min_repetitions = min_repetitions;
    o.max_repetitions = max_repetitions;
    Runner runner(registry, o);
    const auto results = runner.run(runner.plan());
    EXPECT_EQ(results.size(), 1u);
    EXPECT_TRUE(results.front().ok()) << results.front().error_message;
    return results.front().stats.runs;
  };
  const int by_budget = runs_with(1, 20, 1);  // a few runs of 1 ms in a 4 ms budget
  ASSERT_GE(by_budget, 1);
  ASSERT_LT(by_budget, 10);
  EXPECT_EQ(runs_with(by_budget + 5, 20, 1), by_budget + 5);
  EXPECT_EQ(runs_with(50, 20, 1), 20);  // never above the cap
  // With rounds, each takes its share: 12 over 3 rounds is 4 a round, 12 in all.
  EXPECT_EQ(runs_with(12, 12, 3), 12);
}
