// reports::compare: row matching, ratios, the noise rule, the --fail-above gate, rows present
// in only one run; and the `compare` / `report` subcommands' exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <random>

#include "cli/report_commands.h"
#include "reports/compare.h"
#include "reports/report_writer.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

namespace fs = std::filesystem;

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    rng_.seed(seed_);
  }
  RunReport make(fakes::ReportSpec spec = {}) { return fakes::random_report(rng_, spec); }
  // Same rows, every median scaled by `factor`, with a given cv and run count.
  static RunReport scaled(RunReport r, double factor, double cv, int runs) {
    for (VariantResult& v : r.results) {
      v.stats.median_s *= factor;
      v.stats.cv = cv;
      v.stats.runs = runs;
    }
    return r;
  }
  static RunReport with_cv(RunReport r, double cv, int runs) { return scaled(std::move(r), 1.0, cv, runs); }
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(CompareTest, MatchesRowsAndComputesTheRatio) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = make();
  RunReport next = base;
  std::vector<double> factors;
  for (VariantResult& r : next.results) {
    factors.push_back(uniform(0.5, 2.0));
    r.stats.median_s *= factors.back();
  }
  std::shuffle(next.results.begin(), next.results.end(), rng_);  // matching is by key, not position
  Comparison c = compare({{"base.json", base}, {"new.json", next}});
  ASSERT_EQ(c.matched.size(), base.results.size());
  EXPECT_TRUE(c.unmatched.empty());
  for (std::size_t i = 0; i < base.results.size(); ++i) {
    EXPECT_EQ(c.matched[i].backend, base.results[i].backend);
    EXPECT_EQ(c.matched[i].timing, base.results[i].timing);
    EXPECT_NEAR(c.matched[i].ratio[1], factors[i], 1e-12 * factors[i]);
  }
}

TEST_F(CompareTest, NoiseRuleSeparatesRealChangesFromNoise) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const double cv = uniform(0.01, 0.05);
  const int runs = 2 + static_cast<int>(rng_() % 20);
  const double noise = 2 * std::sqrt(2 * cv * cv);  // two spreads of single runs, whatever the run count
  RunReport base = with_cv(make(), cv, runs);
  auto verdict_for = [&](double factor, int new_runs) {
    Comparison c = compare({{"a.json", base}, {"b.json", scaled(base, factor, cv, new_runs)}});
    EXPECT_NEAR(c.matched.front().noise[1], new_runs >= 2 ? noise : NAN, 1e-12);
    return c.matched.front().verdict[1];
  };
  EXPECT_EQ(verdict_for(1 + noise * uniform(1.2, 3), runs), Verdict::slower);
  EXPECT_EQ(verdict_for(1 - noise * uniform(1.2, 3), runs), Verdict::faster);
  EXPECT_EQ(verdict_for(1 + noise * uniform(-0.8, 0.8), runs), Verdict::within_noise);
  Comparison single = compare({{"a.json", base}, {"b.json", scaled(base, uniform(1.1, 2), 0, 1)}});
  EXPECT_EQ(single.matched.front().verdict[1], Verdict::noise_unknown);
  EXPECT_TRUE(std::isnan(single.matched.front().noise[1]));
}

TEST_F(CompareTest, GateFailsAboveTheThresholdAndPassesBelow) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = with_cv(make(), 0.005, 10);
  const double slowdown_pct = uniform(10, 50);
  Comparison c = compare({{"a.json", base}, {"b.json", scaled(base, 1 + slowdown_pct / 100, 0.005, 10)}});
  EXPECT_EQ(gate_failures(c, slowdown_pct - 5).size(), c.matched.size());
  EXPECT_TRUE(gate_failures(c, slowdown_pct + 5).empty());
  // Faster is never a failure.
  Comparison faster = compare({{"a.json", base}, {"b.json", scaled(base, 1 / (1 + slowdown_pct / 100), 0.005, 10)}});
  EXPECT_TRUE(gate_failures(faster, 0).empty());
  // A slowdown within noise does not fail the gate.
  Comparison noisy = compare({{"a.json", with_cv(base, 0.5, 3)}, {"b.json", scaled(base, 1.1, 0.5, 3)}});
  EXPECT_TRUE(gate_failures(noisy, 5).empty());
  EXPECT_NE(render_compare_markdown(c, slowdown_pct - 5).find("FAILED"), std::string::npos);
}

TEST_F(CompareTest, GateFailsWhenARowStopsVerifying) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = make();
  RunReport next = base;
  std::size_t broken = rng_() % next.results.size();
  next.results[broken].status = ResultStatus::failed_verification;
  Comparison c = compare({{"a.json", base}, {"b.json", next}});
  auto failures = gate_failures(c, 1000);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures.front().find(next.results[broken].backend), std::string::npos);
}

TEST_F(CompareTest, RowsInOnlyOneRunAreListed) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = make();
  RunReport next = base;
  std::size_t dropped = rng_() % next.results.size();
  VariantResult gone = next.results[dropped];
  next.results.erase(next.results.begin() + static_cast<long>(dropped));
  VariantResult added = next.results.front();
  added.backend = "newbackend" + std::to_string(rng_() % 100);
  next.results.push_back(added);
  Comparison c = compare({{"a.json", base}, {"b.json", next}});
  EXPECT_EQ(c.matched.size(), base.results.size() - 1);
  ASSERT_EQ(c.unmatched.size(), 2u);
  const std::string md = render_compare_markdown(c);
  EXPECT_NE(md.find(gone.backend + " (" + timing_label(gone.timing) + "): only in a.json"), std::string::npos) << md;
  EXPECT_NE(md.find(added.backend + " (" + timing_label(added.timing) + "): only in b.json"), std::string::npos) << md;
  const std::string csv = render_compare_csv(c);
  EXPECT_NE(csv.find("only_in_base"), std::string::npos);
  EXPECT_NE(csv.find("only_in_new"), std::string::npos);
  EXPECT_EQ(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')), 1 + c.matched.size() + 2);
}

TEST_F(CompareTest, RunsWithNothingInCommonAreAnInputError) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec small, large;
  small.sizes = {64 + static_cast<std::int64_t>(rng_() % 64)};
  large.sizes = {1024};
  EXPECT_THROW(compare({{"a.json", make(small)}, {"b.json", make(large)}}), InputError);
  EXPECT_THROW(compare({{"a.json", make(small)}}), InputError);
}

TEST_F(CompareTest, ColumnsAreNamedByMachineOrByFile) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec other;
  other.host = "host-" + std::to_string(rng_() % 1000);
  RunReport a = make(), b = make(other);
  Comparison machines = compare({{"x/run.json", a}, {"y/run.json", b}});
  EXPECT_EQ(machines.labels, (std::vector<std::string>{a.machine.hostname, b.machine.hostname}));
  EXPECT_NE(render_compare_markdown(machines).find(machine_label(b.machine)), std::string::npos);
  RunReport a2 = a;
  Comparison same_machine = compare({{"dir/before.json", a}, {"dir/after.json", a2}});
  EXPECT_EQ(same_machine.labels, (std::vector<std::string>{"before.json", "after.json"}));
  EXPECT_NE(render_compare_markdown(same_machine).find("median after.json"), std::string::npos);
}

// Runs the CLI subcommands as the mlbench executable would.
int run_cli(std::vector<std::string> args) {
  CLI::App app;
  app.require_subcommand(1);
  int exit_code = -1;
  cli::add_report_commands(app, exit_code);
  std::vector<const char*> argv = {"mlbench"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
  return exit_code;
}

TEST_F(CompareTest, CompareCommandExitCodes) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fs::path dir = fs::temp_directory_path() / ("mlbench_compare_test_" + std::to_string(seed_) + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  RunReport base = with_cv(make(), 0.005, 10);
  const double slowdown_pct = uniform(10, 50);
  write_file_atomically((dir / "base.json").string(), render_json(base));
  write_file_atomically((dir / "new.json").string(), render_json(scaled(base, 1 + slowdown_pct / 100, 0.005, 10)));
  const std::string b = (dir / "base.json").string(), n = (dir / "new.json").string();
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_cli({"compare", b, n, "--fail-above", std::to_string(slowdown_pct - 5)}), 1);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("mlbench: gate: "), std::string::npos);
  EXPECT_EQ(run_cli({"compare", b, n, "--fail-above", std::to_string(slowdown_pct + 5), "--csv", (dir / "c.csv").string()}), 0);
  EXPECT_EQ(run_cli({"compare", b, n}), 0);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("| Workload |"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "c.csv"));
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_cli({"compare", b, (dir / "missing.json").string()}), 2);
  EXPECT_EQ(run_cli({"compare", b}), 2);
  EXPECT_EQ(run_cli({"report", (dir / "missing.json").string()}), 2);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("mlbench: error: "), std::string::npos);
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_cli({"report", b, "--markdown", (dir / "r.md").string(), "--chart", (dir / "charts").string()}), 0);
  ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(fs::exists(dir / "r.md"));
  EXPECT_FALSE(fs::is_empty(dir / "charts"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mlbench::reports
