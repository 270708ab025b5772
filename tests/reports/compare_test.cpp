// reports::compare: row matching, ratios, the noise rule, the --fail-above gate, rows present
// in only one run; and the `compare` / `report` subcommands' exit codes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <cmath>
#include <filesystem>
#include <random>

#include "bench/analyze.h"
#include "cli/report_commands.h"
#include "reports/compare.h"
#include "reports/exporter.h"
#include "reports/rank_test.h"
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
  // Same rows with `runs` fresh repetition times each, real and CPU (CPU time a random share
  // of the real time, spread independently), spread by `spread` (relative, uniform +-spread
  // around the row's median), every time then multiplied by `factor`.
  RunReport resampled(RunReport r, double factor, double spread, int runs) {
    for (VariantResult& v : r.results) {
      if (!v.ok()) continue;
      const double centre = v.stats.median_s, cpu_share = uniform(0.2, 1.0);
      v.stats.run_times_s.clear();
      v.stats.run_cpu_times_s.clear();
      for (int i = 0; i < runs; ++i) {
        v.stats.run_times_s.push_back(centre * (1 + uniform(-spread, spread)));
        v.stats.run_cpu_times_s.push_back(centre * cpu_share * (1 + uniform(-spread, spread)));
      }
      restat(v, factor);
    }
    return r;
  }
  // Every repetition time, real and CPU, of every row multiplied by `factor` (what
  // `report --scale-times` does).
  static RunReport scaled(RunReport r, double factor) {
    for (VariantResult& v : r.results) restat(v, factor);
    return r;
  }
  static void restat(VariantResult& v, double factor) {
    for (double& t : v.stats.run_cpu_times_s) t *= factor;
    for (double& t : v.stats.run_times_s) t *= factor;
    std::vector<double> sorted = v.stats.run_times_s;
    std::sort(sorted.begin(), sorted.end());
    const std::size_t n = sorted.size();
    v.stats.runs = static_cast<int>(n);
    if (n == 0) return;
    v.stats.median_s = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    double sum = 0, sq = 0;
    for (double t : sorted) sum += t;
    v.stats.mean_s = sum / static_cast<double>(n);
    for (double t : sorted) sq += (t - v.stats.mean_s) * (t - v.stats.mean_s);
    v.stats.stddev_s = n > 1 ? std::sqrt(sq / static_cast<double>(n - 1)) : 0;
    v.stats.cv = n > 1 ? v.stats.stddev_s / v.stats.mean_s : 0;
  }
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
    restat(r, factors.back());
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

TEST_F(CompareTest, RankTestGivesItsExtremesAndIsSymmetric) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  for (int trial = 0; trial < 20; ++trial) {
    const int n_a = 1 + static_cast<int>(rng_() % 30), n_b = 1 + static_cast<int>(rng_() % 30);
    std::vector<double> a, b;
    for (int i = 0; i < n_a; ++i) a.push_back(uniform(1, 2));
    for (int i = 0; i < n_b; ++i) b.push_back(uniform(3, 4));  // every b above every a
    SCOPED_TRACE(std::to_string(n_a) + " vs " + std::to_string(n_b));
    EXPECT_DOUBLE_EQ(mann_whitney_p_greater(a, b), mann_whitney_min_p(n_a, n_b));
    EXPECT_GE(mann_whitney_p_greater(b, a), 1.0 - mann_whitney_min_p(n_a, n_b));  // 1 when exact
    if (n_a <= 8 || n_b <= 8) {                                                   // exact: 1 / C(n_a + n_b, n_a)
      double arrangements = 1;
      for (int k = 1; k <= n_a; ++k) arrangements = arrangements * (n_b + k) / k;
      EXPECT_NEAR(mann_whitney_min_p(n_a, n_b), 1 / arrangements, 1e-12 / arrangements);
    }
    // Shuffled into one pool and split again at random: the two one-sided p-values of a
    // continuous statistic cover every outcome (their sum is 1 + P(U = u)).
    std::vector<double> pool = a;
    pool.insert(pool.end(), b.begin(), b.end());
    std::shuffle(pool.begin(), pool.end(), rng_);
    std::vector<double> x(pool.begin(), pool.begin() + n_a), y(pool.begin() + n_a, pool.end());
    const double up = mann_whitney_p_greater(x, y), down = mann_whitney_p_greater(y, x);
    EXPECT_GE(up + down, 1.0 - 1e-12);
    EXPECT_LE(up, 1.0);
    EXPECT_LE(down, 1.0);
  }
  // Equal sets: nothing to see.
  std::vector<double> same(5 + rng_() % 10, uniform(1, 2));
  EXPECT_EQ(mann_whitney_p_greater(same, same), 1.0);
}

TEST_F(CompareTest, RankTestSeparatesRealChangesFromNoise) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const double spread = uniform(0.01, 0.08);
  const int runs = 9 + static_cast<int>(rng_() % 12);
  RunReport base = resampled(make(), 1, spread, runs);
  auto verdicts = [&](const RunReport& next) {
    std::vector<Verdict> v;
    for (const CompareRow& row : compare({{"a.json", base}, {"b.json", next}}).matched) v.push_back(row.verdict[1]);
    return v;
  };
  const std::vector<Verdict> all_slower(base.results.size(), Verdict::slower);
  const std::vector<Verdict> all_faster(base.results.size(), Verdict::faster);
  const std::vector<Verdict> all_within(base.results.size(), Verdict::within_noise);
  const double shift = 1 + 2 * spread * uniform(1.2, 3);  // beyond the overlap of the two spreads
  EXPECT_EQ(verdicts(scaled(base, shift)), all_slower);
  EXPECT_EQ(verdicts(scaled(base, 1 / shift)), all_faster);
  // The same repetition times in another order: the same distribution.
  RunReport shuffled = base;
  for (VariantResult& r : shuffled.results) {
    std::shuffle(r.stats.run_times_s.begin(), r.stats.run_times_s.end(), rng_);
    std::shuffle(r.stats.run_cpu_times_s.begin(), r.stats.run_cpu_times_s.end(), rng_);
  }
  EXPECT_EQ(verdicts(shuffled), all_within);
}

TEST_F(CompareTest, ANoisyRowIsGatedWithAWiderBound) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // Repetitions spread +-60 % (cv about 35 %), flagged noisy by any threshold under 30 %.
  const int runs = 12 + static_cast<int>(rng_() % 8);
  RunReport base = resampled(make(), 1, 0.6, runs);
  flag_noisy_results(base.results, 0.05);
  RunReport slower = scaled(base, 3);
  Comparison c = compare({{"a.json", base}, {"b.json", slower}});
  for (const CompareRow& row : c.matched) {
    if (!(row.ratio[1] > 0)) continue;
    EXPECT_TRUE(row.cells[0].noisy);
    EXPECT_EQ(row.verdict[1], Verdict::slower) << row.backend;
  }
  EXPECT_EQ(gate_failures(c, 10).size(), c.matched.size());
  // The same times in another order are no finding, however noisy.
  RunReport shuffled = scaled(base, 1.0);
  for (VariantResult& r : shuffled.results) {
    std::shuffle(r.stats.run_times_s.begin(), r.stats.run_times_s.end(), rng_);
    std::shuffle(r.stats.run_cpu_times_s.begin(), r.stats.run_cpu_times_s.end(), rng_);
  }
  EXPECT_TRUE(gate_failures(compare({{"a.json", base}, {"b.json", shuffled}}), 5).empty());
}

TEST_F(CompareTest, RatioIntervalIsTheRankTestInverted) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  for (int trial = 0; trial < 40; ++trial) {
    const int n_a = 1 + static_cast<int>(rng_() % 30), n_b = 1 + static_cast<int>(rng_() % 30);
    const double alpha = uniform(0.005, 0.2), shift = std::exp(uniform(-1, 1)), spread = uniform(0.01, 1.0);
    std::vector<double> a, b;
    for (int i = 0; i < n_a; ++i) a.push_back(std::exp(uniform(-spread, spread)));
    for (int i = 0; i < n_b; ++i) b.push_back(shift * std::exp(uniform(-spread, spread)));
    SCOPED_TRACE(fmt::format("{} vs {}, alpha {}, shift {}, spread {}", n_a, n_b, alpha, shift, spread));
    const RatioInterval interval = ratio_interval(a, b, alpha);
    auto times = [](std::vector<double> v, double r) {
      for (double& t : v) t *= r;
      return v;
    };
    if (mann_whitney_min_p(n_a, n_b) >= alpha) {  // no outcome could be significant: no bound
      EXPECT_EQ(interval.lower, 0);
      EXPECT_EQ(interval.upper, INFINITY);
      continue;
    }
    ASSERT_GT(interval.lower, 0);
    ASSERT_TRUE(std::isfinite(interval.upper));
    EXPECT_LE(interval.lower, interval.estimate);
    EXPECT_LE(interval.estimate, interval.upper);
    // b is slower than a by more than r (the test of b / r over a is significant) exactly
    // for r below the lower bound; faster by more than r exactly above the upper bound.
    EXPECT_LT(mann_whitney_p_greater(times(a, interval.lower * (1 - 1e-9)), b), alpha);
    EXPECT_GE(mann_whitney_p_greater(times(a, interval.lower * (1 + 1e-9)), b), alpha);
    EXPECT_LT(mann_whitney_p_greater(b, times(a, interval.upper * (1 + 1e-9))), alpha);
    EXPECT_GE(mann_whitney_p_greater(b, times(a, interval.upper * (1 - 1e-9))), alpha);
  }
}

// Repetition times spread evenly over +-spread around `centre` (real) and `cpu_centre` (CPU),
// in random order: their quantiles are fixed, so the interval is the same for every seed.
void set_even_samples(VariantResult& v, double centre, double cpu_centre, double spread, int runs,
                      std::mt19937_64& rng) {
  v.stats.run_times_s.clear();
  v.stats.run_cpu_times_s.clear();
  for (int i = 0; i < runs; ++i) {
    const double offset = spread * (2 * (i + 0.5) / runs - 1);
    v.stats.run_times_s.push_back(centre * (1 + offset));
    v.stats.run_cpu_times_s.push_back(cpu_centre * (1 + offset));
  }
  std::shuffle(v.stats.run_times_s.begin(), v.stats.run_times_s.end(), rng);
  std::shuffle(v.stats.run_cpu_times_s.begin(), v.stats.run_cpu_times_s.end(), rng);
  v.stats.runs = runs;
  v.stats.median_s = centre;
}

TEST_F(CompareTest, TheGateFailsARowOnlyWhenItsChangeIsAboveTheLimitBeyondNoise) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const double limit_pct = uniform(5, 30);
  const double slowdown = 1 + (limit_pct + uniform(1, 3)) / 100;  // just above the limit
  const int runs = 10 + static_cast<int>(rng_() % 20);
  RunReport base = make();
  for (VariantResult& v : base.results)
    if (v.ok()) set_even_samples(v, v.stats.median_s, v.stats.median_s * 0.5, 0.3, runs, rng_);
  RunReport noisy_next = base;  // spread +-30 %: the interval reaches below the limit
  for (VariantResult& v : noisy_next.results)
    if (v.ok()) set_even_samples(v, v.stats.median_s * slowdown, v.stats.median_s * 0.5 * slowdown, 0.3, runs, rng_);
  Comparison noisy = compare({{"a.json", base}, {"b.json", noisy_next}});
  EXPECT_TRUE(gate_failures(noisy, limit_pct).empty());
  for (const CompareRow& row : noisy.matched) {
    if (!(row.ratio[1] > 0)) continue;
    EXPECT_NEAR(row.ratio[1], slowdown, 1e-9);  // the medians did move past the limit
    EXPECT_LT(row.interval[1].lower, 1 + limit_pct / 100);
    EXPECT_GT(row.interval[1].upper, slowdown);
  }
  // The same change with repetitions spread +-0.5 %: beyond noise, every row fails.
  RunReport quiet_base = base, quiet_next = base;
  for (std::size_t i = 0; i < base.results.size(); ++i) {
    VariantResult& v = quiet_base.results[i];
    if (!v.ok()) continue;
    set_even_samples(v, v.stats.median_s, v.stats.median_s * 0.5, 0.005, runs, rng_);
    set_even_samples(quiet_next.results[i], v.stats.median_s * slowdown, v.stats.median_s * 0.5 * slowdown, 0.005, runs,
                     rng_);
  }
  Comparison quiet = compare({{"a.json", quiet_base}, {"b.json", quiet_next}});
  std::size_t ok_rows = 0;
  for (const CompareRow& row : quiet.matched) ok_rows += row.ratio[1] > 0;
  EXPECT_EQ(gate_failures(quiet, limit_pct).size(), ok_rows);
  EXPECT_NE(render_compare_markdown(quiet, limit_pct).find("with 95 % confidence"), std::string::npos);
}

TEST_F(CompareTest, SingleThreadedCpuRowsAreComparedOnTheirCpuTime) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const int runs = 8 + static_cast<int>(rng_() % 20);
  RunReport base = make();
  for (VariantResult& v : base.results)
    if (v.ok()) set_even_samples(v, v.stats.median_s, v.stats.median_s * uniform(0.2, 1), 0.02, runs, rng_);
  // Other programs held the CPU: every wall-clock time 2-4x, the CPU times as before.
  const double load = uniform(2, 4);
  RunReport loaded = base;
  for (VariantResult& v : loaded.results) {
    for (double& t : v.stats.run_times_s) t *= load;
    v.stats.median_s *= load;
    std::shuffle(v.stats.run_cpu_times_s.begin(), v.stats.run_cpu_times_s.end(), rng_);
  }
  auto single_thread_cpu = [](const VariantResult& r) {
    return is_cpu(r.backend_kind) && r.timing == TimingMode::host && r.threads == 1 && r.gpus == 0 && r.ranks == 0;
  };
  Comparison c = compare({{"a.json", base}, {"b.json", loaded}});
  Comparison real = compare({{"a.json", base}, {"b.json", loaded}}, {0.05, false, GateTime::real});
  std::size_t single = 0, others = 0;
  for (std::size_t i = 0; i < c.matched.size(); ++i) {
    const CompareRow& row = c.matched[i];
    if (!(row.ratio[1] > 0)) continue;
    const VariantResult& r = base.results[i];
    ASSERT_EQ(row.backend, r.backend);
    EXPECT_FALSE(real.matched[i].on_cpu_time[1]);
    EXPECT_EQ(real.matched[i].verdict[1], Verdict::slower) << r.name();
    if (single_thread_cpu(r)) {
      ++single;
      EXPECT_TRUE(row.on_cpu_time[1]) << r.name();
      EXPECT_EQ(row.verdict[1], Verdict::within_noise) << r.name();
    } else {
      ++others;
      EXPECT_FALSE(row.on_cpu_time[1]) << r.name();
      EXPECT_EQ(row.verdict[1], Verdict::slower) << r.name();
    }
  }
  EXPECT_GT(single, 0u);
  EXPECT_GT(others, 0u);
  EXPECT_EQ(gate_failures(c, 10).size(), others);
  EXPECT_EQ(gate_failures(real, 10).size(), single + others);
  EXPECT_NE(render_compare_markdown(c).find("CPU time"), std::string::npos);
  EXPECT_NE(render_compare_csv(c).find(",cpu,"), std::string::npos);
  // A slower single-threaded row is slower in its CPU time too, and fails.
  Comparison slower = compare({{"a.json", base}, {"b.json", scaled(base, 1.5)}});
  EXPECT_EQ(gate_failures(slower, 10).size(), single + others);
}

TEST_F(CompareTest, ThreadedRowsMeasuredWhileOtherProgramsHeldTheCpusAreNotedNotExempt) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = resampled(make(), 1, 0.01, 10);
  const int cpus = base.machine.logical_cpus;
  std::size_t threaded = 0;
  for (VariantResult& v : base.results) {
    v.other_load_cores = uniform(0, 0.4);  // a quiet machine
    threaded += v.ok() && is_cpu(v.backend_kind) && v.threads > 1;
  }
  ASSERT_GT(threaded, 0u);
  RunReport slower = scaled(base, 3);
  EXPECT_EQ(gate_oversubscription_note(compare({{"a.json", base}, {"b.json", slower}})), "");
  // Other programs on all but a fraction of a CPU in the newer run.
  const double load = cpus - uniform(0.05, 0.4);
  for (VariantResult& v : slower.results) v.other_load_cores = load;
  Comparison c = compare({{"a.json", base}, {"b.json", slower}});
  const std::string note = gate_oversubscription_note(c);
  EXPECT_EQ(note.rfind(std::to_string(threaded) + " threaded row", 0), 0u) << note;
  EXPECT_NE(note.find(fmt::format("{:.1f} of {} CPUs", load, cpus)), std::string::npos) << note;
  EXPECT_NE(render_compare_markdown(c, 10.0).find("Note: " + note), std::string::npos);
  std::size_t ok_rows = 0;
  for (const CompareRow& row : c.matched) ok_rows += row.ratio[1] > 0;
  EXPECT_EQ(gate_failures(c, 10).size(), ok_rows);  // every row still gated
}

TEST_F(CompareTest, RowsWithTooFewRunsAreUndecidedAndFailTheGateOnlyWithStrict) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const int runs = 1 + static_cast<int>(rng_() % 3);  // 1 to 3: the test cannot reach p < 0.05
  RunReport base = resampled(make(), 1, 0.01, runs);
  RunReport slower = scaled(base, 3);
  Comparison c = compare({{"a.json", base}, {"b.json", slower}});
  for (const CompareRow& row : c.matched) EXPECT_EQ(row.verdict[1], Verdict::too_few_runs);
  EXPECT_TRUE(gate_failures(c, 10).empty());
  EXPECT_EQ(gate_undecided_rows(c).size(), c.matched.size());
  EXPECT_EQ(gate_failures(c, 10, true).size(), c.matched.size());
  const std::string md = render_compare_markdown(c, 10.0);
  EXPECT_NE(md.find("too few runs to decide"), std::string::npos) << md;
  // Four on each side are enough at alpha 0.05 (p = 1/70), not at 0.01.
  RunReport four = resampled(make(), 1, 0.01, 4);
  EXPECT_EQ(compare({{"a.json", four}, {"b.json", scaled(four, 3)}}).matched.front().verdict[1], Verdict::slower);
  EXPECT_EQ(compare({{"a.json", four}, {"b.json", scaled(four, 3)}}, {0.01, false}).matched.front().verdict[1],
            Verdict::too_few_runs);
}

TEST_F(CompareTest, GateFailsAboveTheThresholdAndPassesBelow) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = resampled(make(), 1, 0.005, 10);
  const double slowdown_pct = uniform(10, 50);
  Comparison c = compare({{"a.json", base}, {"b.json", scaled(base, 1 + slowdown_pct / 100)}});
  EXPECT_EQ(gate_failures(c, slowdown_pct - 5).size(), c.matched.size());
  EXPECT_TRUE(gate_failures(c, slowdown_pct + 5).empty());
  // Faster is never a failure.
  Comparison faster = compare({{"a.json", base}, {"b.json", scaled(base, 1 / (1 + slowdown_pct / 100))}});
  EXPECT_TRUE(gate_failures(faster, 0).empty());
  EXPECT_NE(render_compare_markdown(c, slowdown_pct - 5).find("FAILED"), std::string::npos);
}

TEST_F(CompareTest, ContextDifferencesArePrintedAndHardwareOrThreadsRefuseTheGate) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = resampled(make(), 1, 0.01, 10);
  RunReport same = base;
  Comparison alike = compare({{"a.json", base}, {"b.json", same}});
  EXPECT_TRUE(alike.differences.empty());
  EXPECT_EQ(gate_refusal(alike), "");
  EXPECT_NE(render_compare_markdown(alike).find("Same CPU, cores, GPU, thread count"), std::string::npos);

  // Build and version differ: shown, not refused.
  RunReport rebuilt = base;
  rebuilt.machine.compiler = "Clang 14.0." + std::to_string(rng_() % 10);
  rebuilt.run.mlbench_version = "0.2." + std::to_string(rng_() % 10);
  Comparison c = compare({{"a.json", base}, {"b.json", rebuilt}});
  ASSERT_EQ(c.differences.size(), 2u);
  EXPECT_EQ(c.differences[0].what, "build");
  EXPECT_EQ(c.differences[1].what, "mlbench");
  EXPECT_EQ(gate_refusal(c), "");
  EXPECT_NE(render_compare_markdown(c).find(rebuilt.machine.compiler), std::string::npos);

  // Another CPU, or another thread count: a gate would compare hardware, not code.
  RunReport other_cpu = base;
  other_cpu.machine.cpu_model = "AMD EPYC 7763 " + std::to_string(rng_() % 100);
  const std::string refusal = gate_refusal(compare({{"a.json", base}, {"b.json", other_cpu}}));
  EXPECT_NE(refusal.find("different hardware"), std::string::npos);
  EXPECT_NE(refusal.find(other_cpu.machine.cpu_model), std::string::npos);
  EXPECT_EQ(refusal.find('\n'), std::string::npos);
  RunReport other_threads = base;
  other_threads.machine.threads_used = base.machine.threads_used + 1 + static_cast<int>(rng_() % 8);
  EXPECT_NE(gate_refusal(compare({{"a.json", base}, {"b.json", other_threads}})).find("threads"), std::string::npos);
}

TEST_F(CompareTest, RowsOfOtherThreadCountsPairOnlyInAHardwareComparison) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec other_host;
  other_host.host = "host-" + std::to_string(rng_() % 1000);
  RunReport base = resampled(make(), 1, 0.01, 10);
  RunReport other = resampled(make(other_host), 1, 0.01, 10);
  const int threads = 9 + static_cast<int>(rng_() % 60);  // not the fakes' 8
  std::size_t multi_threaded = 0;
  for (VariantResult& r : other.results)
    if (r.threads > 1) r.threads = threads, ++multi_threaded;
  other.machine.threads_used = threads;
  ASSERT_GT(multi_threaded, 0u);
  // Like with like: a row run with other threads is another benchmark.
  Comparison plain = compare({{"a.json", base}, {"b.json", other}});
  EXPECT_EQ(plain.matched.size(), base.results.size() - multi_threaded);
  EXPECT_NE(gate_refusal(plain), "");
  // Across machines, each with its own threads.
  Comparison hardware = compare({{"a.json", base}, {"b.json", other}}, {0.05, true});
  EXPECT_EQ(hardware.matched.size(), base.results.size());
  EXPECT_TRUE(gate_failures(hardware, 0).empty());
  const std::string md = render_compare_markdown(hardware);
  EXPECT_NE(md.find("# mlbench hardware comparison"), std::string::npos);
  EXPECT_NE(md.find("speedup"), std::string::npos);
  EXPECT_NE(render_compare_csv(hardware).find(",hardware_comparison\n"), std::string::npos);
}

TEST_F(CompareTest, BenchmarkNamesCarryTheThreadCount) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  for (const VariantResult& r : make().results) {
    const std::string suffix = "/threads:" + std::to_string(r.threads);
    const bool has = r.name().find(suffix) != std::string::npos;
    EXPECT_EQ(has, is_cpu(r.backend_kind)) << r.name();
  }
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
  EXPECT_NE(md.find(gone.backend), std::string::npos) << md;
  EXPECT_NE(md.find("(" + timing_label(gone.timing) + "): only in a.json"), std::string::npos) << md;
  EXPECT_NE(md.find(added.backend), std::string::npos) << md;
  EXPECT_NE(md.find("(" + timing_label(added.timing) + "): only in b.json"), std::string::npos) << md;
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

TEST_F(CompareTest, EveryComparisonFileFormatIsAnOptionOfCompareCheckedAsTheRunExporterOfItsName) {
  CLI::App app("mlbench (test)");
  int exit_code = -1;
  cli::add_report_commands(app, exit_code);
  const CLI::App* compare_command = app.get_subcommand("compare");
  std::size_t consoles = 0;
  for (const ComparisonExporter& e : comparison_exporters()) {
    SCOPED_TRACE(e.name);
    EXPECT_TRUE(e.render);
    EXPECT_FALSE(e.help.empty());
    const CLI::Option* option = compare_command->get_option_no_throw(e.option());
    if (e.target == ComparisonExporter::Target::console) {
      ++consoles;
      EXPECT_EQ(option, nullptr);
      continue;
    }
    ASSERT_NE(option, nullptr);
    EXPECT_EQ(option->get_description(), e.help);
    const Exporter* run_exporter = find_exporter(e.name);  // whose path checks it shares
    ASSERT_NE(run_exporter, nullptr);
    EXPECT_EQ(run_exporter->target, Exporter::Target::file);
  }
  EXPECT_EQ(consoles, 1u);
}

// One print of the console: its text and stream.
struct ConsolePrint {
  std::string text;
  bool to_stderr = false;
};

TEST_F(CompareTest, WriteComparisonWritesEachOutputAndPrintsTheMarkdownOnceOnTheConsole) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport base = resampled(make(), 1, 0.01, 6);
  const Comparison c = compare({{"base.json", base}, {"new.json", resampled(base, uniform(0.5, 2), 0.01, 6)}});
  const CompareGate gate{uniform(1, 20), rng_() % 2 == 0};
  const std::string markdown = render_compare_markdown(c, gate.fail_above_pct, gate.strict);
  const std::string csv = render_compare_csv(c);
  const fs::path dir = fs::temp_directory_path() / ("mlbench_compare_outputs_" + std::to_string(seed_));
  fs::create_directories(dir);
  struct Case {
    std::string markdown_path, csv_path;
    std::string stdout_text;            // what lands on standard output
    std::vector<ConsolePrint> console;  // what the console prints
  };
  const std::string md_file = (dir / "c.md").string(), csv_file = (dir / "c.csv").string();
  const std::vector<Case> cases = {
      {md_file, csv_file, "", {{markdown, false}}},
      {"", "", "", {{markdown, false}}},
      {md_file, "-", csv, {{markdown, true}}},  // beside the CSV on stdout: on stderr
      {"-", csv_file, markdown, {}},            // the markdown is on stdout already: once
  };
  for (const Case& k : cases) {
    SCOPED_TRACE("--markdown '" + k.markdown_path + "' --csv '" + k.csv_path + "'");
    fs::remove(md_file);
    fs::remove(csv_file);
    OutputPaths paths;
    if (!k.markdown_path.empty()) paths.outputs["markdown"] = k.markdown_path;
    if (!k.csv_path.empty()) paths.outputs["csv"] = k.csv_path;
    std::vector<ConsolePrint> printed;
    paths.console = [&printed](const std::string& text, bool to_stderr) { printed.push_back({text, to_stderr}); };
    ::testing::internal::CaptureStdout();
    const WriteOutcome written = write_comparison(c, gate, paths);
    EXPECT_EQ(::testing::internal::GetCapturedStdout(), k.stdout_text);
    EXPECT_TRUE(written.ok());
    ASSERT_EQ(printed.size(), k.console.size());
    for (std::size_t i = 0; i < printed.size(); ++i) {
      EXPECT_EQ(printed[i].text, k.console[i].text);
      EXPECT_EQ(printed[i].to_stderr, k.console[i].to_stderr);
    }
    if (k.markdown_path == md_file) {
      EXPECT_EQ(test_support::slurp(md_file), markdown);
    }
    if (k.csv_path == csv_file) {
      EXPECT_EQ(test_support::slurp(csv_file), csv);
    }
  }
  OutputPaths unknown;
  unknown.outputs["html"] = (dir / "c.html").string();  // a run's format, not a comparison's
  EXPECT_THROW(write_comparison(c, gate, unknown), std::logic_error);
  fs::remove_all(dir);
}

TEST_F(CompareTest, CompareCommandExitCodes) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fs::path dir =
      fs::temp_directory_path() / ("mlbench_compare_test_" + std::to_string(seed_) + "_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  RunReport base = resampled(make(), 1, 0.005, 10);
  const double slowdown_pct = uniform(10, 50);
  write_file_atomically((dir / "base.json").string(), render_json(base));
  write_file_atomically((dir / "new.json").string(), render_json(scaled(base, 1 + slowdown_pct / 100)));
  RunReport elsewhere = scaled(base, 1 + slowdown_pct / 100);
  elsewhere.machine.cpu_model += " v" + std::to_string(2 + rng_() % 5);
  write_file_atomically((dir / "elsewhere.json").string(), render_json(elsewhere));
  const std::string b = (dir / "base.json").string(), n = (dir / "new.json").string();
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_cli({"compare", b, n, "--fail-above", std::to_string(slowdown_pct - 5)}), 1);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("mlbench: gate: "), std::string::npos);
  EXPECT_EQ(
      run_cli({"compare", b, n, "--fail-above", std::to_string(slowdown_pct + 5), "--csv", (dir / "c.csv").string()}),
      0);
  EXPECT_EQ(run_cli({"compare", b, n}), 0);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("| Workload |"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "c.csv"));
  // Another CPU: the gate refuses in one line, a hardware comparison shows it and never gates.
  const std::string e = (dir / "elsewhere.json").string();
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_cli({"compare", b, e, "--fail-above", "1"}), 2);
  const std::string refusal = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(refusal.find("different hardware"), std::string::npos) << refusal;
  EXPECT_EQ(std::count(refusal.begin(), refusal.end(), '\n'), 1) << refusal;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(run_cli({"compare", b, e, "--hardware-comparison"}), 0);
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("hardware comparison"), std::string::npos);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_cli({"compare", b, e, "--hardware-comparison", "--fail-above", "10"}), 2);
  EXPECT_EQ(run_cli({"compare", b, n, "--strict"}), 2);  // --strict needs a gate
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
