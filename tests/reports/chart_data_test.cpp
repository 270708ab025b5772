// reports/chart_data: what each chart shows, chosen from the results without drawing: the
// rows, series and values, which rows stay off the plot, and what stands in their place.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/analyze.h"
#include "bench/roofline.h"
#include "reports/chart_data.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

namespace cs = chart_style;

class ChartDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    rng_.seed(seed_);
  }
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }

  // A verified GEMM row of `median_s` with three repetitions around it.
  VariantResult row(const std::string& backend, BackendKind kind, TimingMode timing, std::int64_t size, double median_s,
                    bool baseline = false) {
    VariantResult r;
    r.workload = "gemm";
    r.backend = backend;
    r.backend_kind = kind;
    r.is_baseline = baseline;
    r.timing = timing;
    r.size = size;
    r.shape_label = "M=N=K=" + std::to_string(size);
    r.flops = 2.0 * static_cast<double>(size) * static_cast<double>(size) * static_cast<double>(size);
    r.bytes = 12.0 * static_cast<double>(size) * static_cast<double>(size);
    r.stats.median_s = median_s;
    r.stats.runs = 3;
    r.stats.run_times_s = {median_s * uniform(0.9, 0.99), median_s, median_s * uniform(1.01, 1.1)};
    r.verification = {true, 1e-7, 1e-5, "sampled", ""};
    return r;
  }
  VariantResult failed(const std::string& backend, BackendKind kind, std::int64_t size, double median_s) {
    VariantResult r =
        row(backend, kind, kind == BackendKind::cpu ? TimingMode::host : TimingMode::kernel, size, median_s);
    r.status = ResultStatus::failed_verification;
    r.verification = {false, 0.25, 1e-5, "sampled", "C[0,1] = 3 expected 2"};
    return r;
  }
  // serial (the baseline), openmp and cuda (kernel, end to end) at `size`, openmp `openmp_speed`
  // times faster than serial.
  std::vector<VariantResult> family_rows(std::int64_t size, double openmp_speed) {
    const double serial_s = uniform(1e-3, 1e-1), kernel_s = serial_s / uniform(50, 500);
    return {row("serial", BackendKind::cpu, TimingMode::host, size, serial_s, true),
            row("openmp", BackendKind::cpu, TimingMode::host, size, serial_s / openmp_speed),
            row("cuda", BackendKind::gpu, TimingMode::end_to_end, size, kernel_s + uniform(1e-4, 1e-3)),
            row("cuda", BackendKind::gpu, TimingMode::kernel, size, kernel_s)};
  }
  static RunReport report_of(std::vector<VariantResult> results, const std::string& host = "host-a") {
    RunReport report;
    report.machine.hostname = host;
    report.results = std::move(results);
    finalize_results(report.results);
    return report;
  }
  // The row of `label` (at `size`, when not 0).
  static const VariantResult& find(const RunReport& report, const std::string& label, std::int64_t size = 0) {
    for (const VariantResult& r : report.results)
      if (backend_label(r) == label && (size == 0 || r.size == size)) return r;
    throw std::runtime_error("no row " + label);
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(ChartDataTest, SpeedupRowsGoByFamilyAndCarryTheSpeedupsOverTheBestCpu) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = report_of(family_rows(256, uniform(2, 8)));
  const std::vector<SpeedupChartData> charts = speedup_chart_data(report);
  ASSERT_EQ(charts.size(), 1u);
  const SpeedupChartData& d = charts[0];
  EXPECT_EQ(d.best_cpu, "openmp");
  EXPECT_EQ(d.reference, "best CPU: openmp = 1x");
  EXPECT_EQ(d.file_name, "speedup_gemm_fp32_M_N_K_256.svg");
  // Families in legend order, a backend's kernel row above its end-to-end row.
  ASSERT_EQ(d.rows.size(), 4u);
  const std::vector<std::string> labels = {"serial", "openmp", "cuda (kernel)", "cuda (end to end)"};
  const std::vector<cs::Family> families = {cs::Family::serial, cs::Family::openmp, cs::Family::gpu, cs::Family::gpu};
  const double serial_s = find(report, "serial").stats.median_s, openmp_s = find(report, "openmp").stats.median_s;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const SpeedupRow& r = d.rows[i];
    SCOPED_TRACE(labels[i]);
    EXPECT_EQ(r.label, labels[i]);
    EXPECT_EQ(r.family, families[i]);
    EXPECT_TRUE(r.bar);
    const double median_s = find(report, labels[i]).stats.median_s;
    EXPECT_DOUBLE_EQ(r.value, openmp_s / median_s);
    EXPECT_EQ(r.factor, format_factor(r.value));
    // Three repetitions: a whisker around the bar's end, the analysis's spread of the runs.
    EXPECT_TRUE(r.spread);
    EXPECT_LT(r.lo, r.value);
    EXPECT_GT(r.hi, r.value);
    EXPECT_EQ(r.lo, find(report, labels[i]).run_speedup_vs_best_cpu_min);
    EXPECT_EQ(r.hi, find(report, labels[i]).run_speedup_vs_best_cpu_max);
    // The factor over serial beside every bar but the baseline's.
    EXPECT_EQ(r.vs_serial, i == 0 ? "" : "(" + format_factor(serial_s / median_s) + " vs serial)");
    EXPECT_EQ(r.end_to_end, i == 3);
    EXPECT_EQ(r.warning, "");
  }
  EXPECT_EQ(d.families, (std::set<cs::Family>{cs::Family::serial, cs::Family::openmp, cs::Family::gpu}));
  EXPECT_TRUE(d.any_end_to_end);
  EXPECT_TRUE(d.any_spread);
  EXPECT_EQ(d.note, "");

  // When serial itself is the best CPU backend, no bar repeats its factor "vs serial".
  const RunReport slow_openmp = report_of(family_rows(256, uniform(0.2, 0.9)));
  const SpeedupChartData s = speedup_chart_data(slow_openmp).at(0);
  EXPECT_EQ(s.best_cpu, "serial");
  for (const SpeedupRow& r : s.rows) EXPECT_EQ(r.vs_serial, "") << r.label;
  EXPECT_LT(s.rows[1].value, 1);  // openmp: left of 1x
}

TEST_F(ChartDataTest, ARowThatFailedVerificationIsNeverPlotted) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::vector<std::int64_t> sizes = {128, 256, 512};
  std::vector<VariantResult> results;
  for (std::int64_t size : sizes) {
    for (VariantResult& r : family_rows(size, uniform(2, 8))) results.push_back(r);
    // Far faster than anything else, had it verified.
    results.push_back(failed("broken", BackendKind::cpu, size, 1e-9));
  }
  // cuda's kernel row fails at one size.
  const std::int64_t bad_size = sizes[rng_() % sizes.size()];
  for (VariantResult& r : results)
    if (r.backend == "cuda" && r.timing == TimingMode::kernel && r.size == bad_size) {
      r.status = ResultStatus::error;
      r.error_message = "out of device memory";
    }
  const RunReport report = report_of(results);

  const std::vector<SpeedupChartData> speedups = speedup_chart_data(report);
  ASSERT_EQ(speedups.size(), sizes.size());
  for (const SpeedupChartData& d : speedups) {
    EXPECT_EQ(d.best_cpu, "openmp") << d.title;
    EXPECT_EQ(d.families.count(cs::Family::gpu), 1u);
    const auto broken =
        std::find_if(d.rows.begin(), d.rows.end(), [](const SpeedupRow& r) { return r.label == "broken"; });
    ASSERT_NE(broken, d.rows.end());
    EXPECT_FALSE(broken->bar);
    EXPECT_TRUE(broken->failed);
    EXPECT_EQ(broken->message.rfind("FAILED (error ", 0), 0u) << broken->message;
    EXPECT_EQ(broken->factor, "");
  }
  const SpeedupChartData& at_bad =
      speedups[static_cast<std::size_t>(std::find(sizes.begin(), sizes.end(), bad_size) - sizes.begin())];
  const auto kernel = std::find_if(at_bad.rows.begin(), at_bad.rows.end(),
                                   [](const SpeedupRow& r) { return r.label == "cuda (kernel)"; });
  ASSERT_NE(kernel, at_bad.rows.end());
  EXPECT_FALSE(kernel->bar);
  EXPECT_EQ(kernel->message, "ERROR: out of device memory");

  // Scaling: no line for the row that never verified, no point where cuda's kernel failed.
  const std::vector<ScalingChartData> scaling = scaling_chart_data(report);
  ASSERT_EQ(scaling.size(), 1u);
  std::vector<std::string> series;
  for (const ScalingSeries& s : scaling[0].series) {
    series.push_back(s.label);
    std::vector<std::int64_t> at;
    for (const ScalingPoint& p : s.points) at.push_back(p.size);
    std::vector<std::int64_t> expected = sizes;
    if (s.label == "cuda (kernel)") expected.erase(std::find(expected.begin(), expected.end(), bad_size));
    EXPECT_EQ(at, expected) << s.label;
  }
  EXPECT_EQ(series, (std::vector<std::string>{"serial", "openmp", "cuda (kernel)", "cuda (end to end)"}));

  // Comparison: the failed row's bar is its status mark, not a value.
  std::vector<RunReport> machines = {report, report};
  machines[1].machine.hostname = "host-b";
  for (const ComparisonChartData& d : comparison_chart_data(machines))
    for (const ComparisonCategory& c : d.categories)
      if (c.label == "broken")
        for (const ComparisonBar& b : c.bars) {
          EXPECT_EQ(b.kind, ComparisonBar::Kind::failed);
          EXPECT_EQ(b.text, "FAILED");
          EXPECT_EQ(b.value, 0);
        }
}

TEST_F(ChartDataTest, WithoutAVerifiedCpuRowTheRowsSayWhyInsteadOfABar) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::int64_t size = 64 << (rng_() % 4);
  std::vector<VariantResult> results = {
      failed("serial", BackendKind::cpu, size, uniform(1e-3, 1e-2)),
      failed("openmp", BackendKind::cpu, size, uniform(1e-4, 1e-3)),
      row("cuda", BackendKind::gpu, TimingMode::kernel, size, uniform(1e-6, 1e-5)),
  };
  results[0].is_baseline = true;
  const RunReport report = report_of(results);
  // No chart: nothing to measure the bars against.
  EXPECT_TRUE(speedup_chart_data(report).empty());
  // Drawn all the same, each row says why it has no bar.
  const SpeedupChartData d = speedup_chart_data(group_by_shape(report.results).at(0), report.machine, 0.05);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.best_cpu, "");
  EXPECT_TRUE(d.families.empty());
  for (const SpeedupRow& r : d.rows) {
    EXPECT_FALSE(r.bar) << r.label;
    EXPECT_EQ(r.value, 1) << r.label;
    EXPECT_EQ(r.failed, r.label != "cuda (kernel)") << r.label;
  }
  EXPECT_EQ(d.rows[2].message, "no verified CPU result to compare with");

  // Without a baseline row (no is_baseline), the bars stand but no "vs serial" note.
  std::vector<VariantResult> no_baseline = family_rows(size, uniform(2, 8));
  no_baseline.erase(no_baseline.begin());
  const SpeedupChartData n = speedup_chart_data(report_of(no_baseline)).at(0);
  ASSERT_EQ(n.rows.size(), 3u);
  for (const SpeedupRow& r : n.rows) {
    EXPECT_TRUE(r.bar) << r.label;
    EXPECT_EQ(r.vs_serial, "") << r.label;
  }
}

TEST_F(ChartDataTest, ScalingSeriesAreRatesOrTimesByWhatEveryRowHas) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  std::vector<VariantResult> results;
  const std::size_t n = 2 + rng_() % 4;
  for (std::size_t i = 0; i < n; ++i)
    for (VariantResult& r : family_rows(std::int64_t(32) << i, uniform(2, 8))) results.push_back(r);
  std::shuffle(results.begin(), results.end(), rng_);
  const RunReport report = report_of(results);
  const ScalingChartData d = scaling_chart_data(report).at(0);
  EXPECT_TRUE(d.gflops);
  EXPECT_EQ(d.y_title, "GFLOP/s (log scale)");
  EXPECT_EQ(d.sizes.size(), n);
  ASSERT_EQ(d.series.size(), 4u);
  for (const ScalingSeries& s : d.series) {
    ASSERT_EQ(s.points.size(), n) << s.label;
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(s.points[i].size, std::int64_t(32) << i);  // by size, whatever the rows' order
      const VariantResult& r = find(report, s.label, s.points[i].size);
      EXPECT_DOUBLE_EQ(s.points[i].value, r.gflops);
      // The whisker: the analysis's slowest and fastest run as rates.
      EXPECT_TRUE(s.points[i].spread);
      EXPECT_EQ(s.points[i].lo, r.run_gflops_min);
      EXPECT_EQ(s.points[i].hi, r.run_gflops_max);
    }
  }
  EXPECT_TRUE(d.series[3].end_to_end);
  EXPECT_TRUE(d.any_end_to_end);

  // A verified row without a rate (no FLOP count) turns the whole chart into median times.
  RunReport untimed = report;
  untimed.results.front().flops = 0;
  finalize_results(untimed.results);
  const ScalingChartData t = scaling_chart_data(untimed).at(0);
  EXPECT_FALSE(t.gflops);
  EXPECT_EQ(t.y_title, "median time, ms (log scale)");
  for (const ScalingSeries& s : t.series)
    for (const ScalingPoint& p : s.points)
      EXPECT_DOUBLE_EQ(p.value, find(untimed, s.label, p.size).stats.median_s * 1e3);
}

TEST_F(ChartDataTest, ComparisonHasOneBarPerMachineAndSaysWhereARowWasNotRun) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport a = report_of(family_rows(512, uniform(2, 8)), "host-a");
  std::vector<VariantResult> cpu_only = family_rows(512, uniform(2, 8));
  cpu_only.resize(2);  // serial, openmp
  const RunReport b = report_of(cpu_only, "host-b");
  const std::vector<ComparisonChartData> charts = comparison_chart_data({a, b});
  ASSERT_EQ(charts.size(), 1u);
  const ComparisonChartData& d = charts[0];
  EXPECT_EQ(d.machines, (std::vector<std::string>{machine_label(a.machine), machine_label(b.machine)}));
  EXPECT_EQ(d.subtitle, "host-a vs host-b");
  EXPECT_NE(d.title.find("2 machines"), std::string::npos);
  ASSERT_EQ(d.categories.size(), 4u);
  for (const ComparisonCategory& c : d.categories) {
    ASSERT_EQ(c.bars.size(), 2u);
    EXPECT_EQ(c.bars[0].kind, ComparisonBar::Kind::value) << c.label;
    EXPECT_DOUBLE_EQ(c.bars[0].value, find(a, c.label).gflops);
    EXPECT_EQ(c.bars[0].lo, std::min(find(a, c.label).run_gflops_min, c.bars[0].value));
    EXPECT_EQ(c.bars[0].hi, std::max(find(a, c.label).run_gflops_max, c.bars[0].value));
    EXPECT_EQ(c.bars[0].text, format_number(c.bars[0].value));
    const bool gpu = c.label.rfind("cuda", 0) == 0;
    EXPECT_EQ(c.bars[1].kind, gpu ? ComparisonBar::Kind::not_run : ComparisonBar::Kind::value) << c.label;
    EXPECT_EQ(c.bars[1].text, gpu ? "not run" : format_number(c.bars[1].value));
  }
  // A shape present on one machine only gets no comparison chart.
  RunReport other = b;
  for (VariantResult& r : other.results) r.shape_label = "M=N=K=7";
  EXPECT_TRUE(comparison_chart_data({a, other}).empty());
}

TEST_F(ChartDataTest, RooflinePointsAreTheVerifiedRatedRowsAndTheRoofsHoldThem) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = fakes::full_run_report(rng_);
  const std::vector<RooflineChartData> charts = roofline_chart_data(report);
  ASSERT_FALSE(charts.empty());
  std::size_t points = 0;
  for (const RooflineChartData& d : charts) {
    points += d.points.size();
    for (const RooflinePoint& p : d.points) {
      EXPECT_GT(p.intensity, 0);
      EXPECT_GT(p.gflops, 0);
      ASSERT_LT(p.series, d.series.size());
    }
    for (const RooflineRoof& r : d.roofs) {
      EXPECT_GE(r.roof.compute_gflops, r.measured_compute) << r.legend;
      EXPECT_EQ(r.legend.find("raised to a result above it") != std::string::npos,
                r.roof.compute_gflops > r.measured_compute * (1 + 1e-9) ||
                    r.roof.bandwidth_gbps > r.measured_bandwidth * (1 + 1e-9))
          << r.legend;
    }
  }
  std::size_t expected = 0;
  for (const VariantResult& r : report.results) expected += r.ok() && r.gflops > 0 && r.intensity > 0;
  EXPECT_EQ(points, expected);
  // Without peaks, no roofline chart.
  RunReport no_peaks = report;
  no_peaks.machine.peaks.reset();
  EXPECT_TRUE(roofline_chart_data(no_peaks).empty());
}

}  // namespace
}  // namespace mlbench::reports
