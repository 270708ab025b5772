// Noise, said out loud, in every report format: results whose cv exceeds the run's
// --cv-threshold are flagged in JSON (a boolean, the threshold in the run info), markdown and
// the console table (a marker next to the time and a footnote with a hint), CSV (a column) and
// the charts (a mark on the bar or point); compare treats them as noisy. GPU rows that
// throttled say so. The machine context's stability facts (governor, boost, SMT, load, OpenMP
// binding) round-trip and warn.
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include "tests/std_regex.h"  // <regex>, without gcc 12's false warning in it under ASan
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/analyze.h"
#include "bench/backend.h"
#include "bench/machine_context.h"
#include "reports/compare.h"
#include "reports/report_writer.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

using ::mlbench::test_support::csv_fields;

using Json = nlohmann::json;

class NoiseFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    rng_.seed(seed_);
  }
  // A size sweep in which one random verified row per size gets a cv far above the threshold.
  RunReport noisy_report(double threshold = kDefaultCvThreshold) {
    fakes::ReportSpec spec;
    spec.sizes = {256, 512};
    spec.with_failure = true;
    RunReport report = fakes::random_report(rng_, spec);
    report.run.cv_threshold = threshold;
    for (VariantResult& r : report.results)
      r.stats.cv = threshold * std::uniform_real_distribution<double>(0.1, 0.9)(rng_);
    for (std::int64_t size : spec.sizes) {
      std::vector<VariantResult*> candidates;
      for (VariantResult& r : report.results)
        if (r.size == size && r.ok()) candidates.push_back(&r);
      VariantResult* chosen = candidates[rng_() % candidates.size()];
      chosen->stats.cv = threshold * std::uniform_real_distribution<double>(1.5, 6)(rng_);
      noisy_names_.push_back(chosen->name());
    }
    flag_noisy_results(report.results, report.run.cv_threshold);
    return report;
  }
  static std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
    return n;
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::vector<std::string> noisy_names_;
};

TEST_F(NoiseFlagsTest, FlagsOnlyVerifiedResultsWithSeveralRunsAboveTheThreshold) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  for (const VariantResult& r : report.results) {
    const bool expected = std::find(noisy_names_.begin(), noisy_names_.end(), r.name()) != noisy_names_.end();
    EXPECT_EQ(r.cv_above_threshold, expected) << r.name() << " cv " << r.stats.cv;
  }
  VariantResult single = report.results.front();
  single.stats.runs = 1;  // one run: no cv to judge
  single.stats.cv = 1;
  VariantResult failed = report.results.front();
  failed.status = ResultStatus::failed_verification;
  failed.stats.cv = 1;
  std::vector<VariantResult> rows = {single, failed};
  flag_noisy_results(rows, 0.05);
  EXPECT_FALSE(rows[0].cv_above_threshold);
  EXPECT_FALSE(rows[1].cv_above_threshold);
}

TEST_F(NoiseFlagsTest, JsonCarriesTheFlagAndTheThresholdAndReadsThemBack) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const double threshold = std::uniform_real_distribution<double>(0.02, 0.2)(rng_);
  RunReport report = noisy_report(threshold);
  const Json j = Json::parse(render_json(report));
  EXPECT_DOUBLE_EQ(j.at("mlbench").at("run").at("cv_threshold").get<double>(), threshold);
  std::size_t flagged_entries = 0;  // the row's fields ride on one entry per row
  for (const Json& entry : j.at("benchmarks")) {
    if (!entry.contains("mlbench")) continue;
    ASSERT_TRUE(entry.at("mlbench").at("cv_above_threshold").is_boolean());
    if (entry["mlbench"]["cv_above_threshold"].get<bool>()) ++flagged_entries;
  }
  std::size_t flagged_rows = 0;
  for (const VariantResult& r : report.results) flagged_rows += r.cv_above_threshold;
  EXPECT_EQ(flagged_entries, flagged_rows);

  const RunReport back = parse_report(render_json(report), "memory.json");
  EXPECT_EQ(back.run.cv_threshold, threshold);
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < report.results.size(); ++i)
    EXPECT_EQ(back.results[i].cv_above_threshold, report.results[i].cv_above_threshold) << report.results[i].name();
  EXPECT_EQ(render_json(back), render_json(report));
}

TEST_F(NoiseFlagsTest, ReportsWrittenBeforeTheFlagGetItFromTheDefaultThreshold) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  Json j = Json::parse(render_json(report));
  j["mlbench"]["run"].erase("cv_threshold");
  for (Json& entry : j["benchmarks"])
    if (entry.contains("mlbench")) entry["mlbench"].erase("cv_above_threshold");
  const RunReport back = parse_report(j.dump(), "old.json");
  EXPECT_EQ(back.run.cv_threshold, kDefaultCvThreshold);
  for (std::size_t i = 0; i < report.results.size(); ++i)
    EXPECT_EQ(back.results[i].cv_above_threshold, report.results[i].cv_above_threshold) << report.results[i].name();
}

TEST_F(NoiseFlagsTest, ANonPositiveThresholdInAReportIsBadInput) {
  RunReport report = noisy_report();
  Json j = Json::parse(render_json(report));
  for (const Json& bad : {Json(0.0), Json(-1.0), Json("nan")}) {
    j["mlbench"]["run"]["cv_threshold"] = bad;
    EXPECT_THROW(parse_report(j.dump(), "bad.json"), InputError) << bad.dump();
  }
}

TEST_F(NoiseFlagsTest, MarkdownMarksTheTimeAndExplainsOnce) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  const std::string md = render_markdown(report);
  std::size_t marked_rows = 0;
  std::istringstream lines(md);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| ", 0) != 0) continue;
    const bool marked = line.find(std::string(" ") + kNoisyMarker + " |") != std::string::npos;
    marked_rows += marked;
    for (const VariantResult& r : report.results) {
      if (r.ok() &&
          line.rfind("| " + r.backend + " | " + timing_label(r.timing) + " | " + format_duration(r.stats.median_s),
                     0) == 0 &&
          line.find(format_percent(r.stats.cv)) != std::string::npos) {
        EXPECT_EQ(marked, r.cv_above_threshold) << line;
      }
    }
  }
  EXPECT_EQ(marked_rows, noisy_names_.size());
  // One hint per table that has a flagged row (each size is one table here, one flagged row each).
  EXPECT_EQ(count(md, noisy_hint(report.run.cv_threshold)), noisy_names_.size());
  EXPECT_NE(md.find("--time-budget"), std::string::npos);
}

TEST_F(NoiseFlagsTest, ConsoleMarksTheTimeAndPrintsTheHint) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  const std::string table = render_console_table(report);
  // The table's rows, split into cells (columns are separated by two or more spaces). A row is
  // found by its backend, timing and cv cells: a flagged cv is above the threshold and every other
  // below it, so two rows of different sizes with the same median never stand in for each other.
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    const std::regex separator(" {2,}");
    for (std::sregex_token_iterator it(line.begin(), line.end(), separator, -1), end; it != end; ++it)
      if (!it->str().empty()) cells.push_back(*it);
    if (cells.size() >= 4) rows.push_back(cells);
  }
  std::size_t marked_rows = 0;
  for (const auto& cells : rows)
    marked_rows += cells[2].find(std::string(" ") + kNoisyMarkerAscii) != std::string::npos;
  EXPECT_EQ(marked_rows, noisy_names_.size()) << table;
  for (const VariantResult& r : report.results) {
    if (!r.ok() || r.stats.runs < 2) continue;
    const std::string time = format_duration(r.stats.median_s, true);
    std::size_t found = 0;
    for (const auto& cells : rows) {
      if (cells[0] != backend_name(r) || cells[1] != timing_label(r.timing) || cells[3] != format_percent(r.stats.cv) ||
          cells[2].rfind(time, 0) != 0)
        continue;
      ++found;
      const bool marked = cells[2].rfind(time + " " + kNoisyMarkerAscii, 0) == 0;
      EXPECT_EQ(marked, r.cv_above_threshold) << r.name() << ": " << cells[2] << "\n" << table;
    }
    EXPECT_GE(found, 1u) << r.name() << " has no row\n" << table;
  }
  EXPECT_EQ(count(table, noisy_hint(report.run.cv_threshold)), 1u);
  // Without a flagged row there is no hint.
  for (VariantResult& r : report.results) r.cv_above_threshold = false;
  EXPECT_EQ(render_console_table(report).find(noisy_hint(report.run.cv_threshold)), std::string::npos);
  EXPECT_EQ(render_markdown(report).find(kNoisyMarker), std::string::npos);
}

TEST_F(NoiseFlagsTest, CsvHasTheFlagAndTheThresholdColumns) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report(0.07);
  const std::string csv = render_csv(report);
  std::istringstream lines(csv);
  std::string header;
  std::getline(lines, header);
  const std::vector<std::string> columns = csv_fields(header);
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
  };
  ASSERT_LT(column("cv_above_threshold"), columns.size());
  ASSERT_LT(column("cv_threshold"), columns.size());
  std::size_t row = 0;
  for (std::string line; std::getline(lines, line); ++row) {
    const std::vector<std::string> fields = csv_fields(line);
    ASSERT_EQ(fields.size(), columns.size()) << line;
    EXPECT_EQ(fields[column("cv_above_threshold")], report.results[row].cv_above_threshold ? "true" : "false");
    EXPECT_EQ(std::stod(fields[column("cv_threshold")]), 0.07);
  }
  EXPECT_EQ(row, report.results.size());
}

TEST_F(NoiseFlagsTest, SpeedupAndScalingChartsMarkTheNoisyResults) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  std::size_t speedup_marks = 0, speedup_notes = 0;
  for (const Chart& c : speedup_charts(report)) {
    speedup_marks += count(c.svg, "class=\"noisy-marker\"");
    speedup_notes += count(c.svg, "class=\"noisy-note\"");
  }
  // Every flagged row is a verified row with a bar (each size has a serial row).
  EXPECT_EQ(speedup_marks, noisy_names_.size());
  EXPECT_EQ(speedup_notes, noisy_names_.size());  // one chart per size, one flagged row each
  const std::vector<Chart> scaling = scaling_charts(report);
  ASSERT_EQ(scaling.size(), 1u);
  EXPECT_EQ(count(scaling[0].svg, "class=\"noisy-marker\""), noisy_names_.size());
  EXPECT_EQ(count(scaling[0].svg, "class=\"noisy-note\""), 1u);

  for (VariantResult& r : report.results) r.cv_above_threshold = false;
  for (const Chart& c : speedup_charts(report)) EXPECT_EQ(c.svg.find("noisy"), std::string::npos) << c.file_name;
  EXPECT_EQ(scaling_charts(report)[0].svg.find("noisy"), std::string::npos);
}

TEST_F(NoiseFlagsTest, RooflineAndComparisonChartsMarkTheNoisyResults) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  PeakFigures peaks;
  CpuPeaks cpu;
  cpu.threads = 8;
  cpu.bandwidth_gbps_all = cpu.read_gbps_all = 50;
  cpu.bandwidth_gbps_one = cpu.read_gbps_one = 10;
  cpu.fp32_gflops_all = 1000;
  cpu.fp32_gflops_one = 100;
  cpu.fp64_gflops_all = 500;
  cpu.fp64_gflops_one = 50;
  peaks.cpu = cpu;
  GpuPeaks gpu;
  gpu.copy_gbps = gpu.read_gbps = 3000;
  gpu.fp32_gflops = 60000;
  gpu.fp64_gflops = 30000;
  gpu.tf32_gflops = 400000;
  peaks.gpu = gpu;
  report.machine.peaks = peaks;
  for (VariantResult& r : report.results) r.intensity = r.flops / r.bytes;
  const std::vector<Chart> roofline = roofline_charts(report);
  ASSERT_FALSE(roofline.empty());
  EXPECT_EQ(count(roofline[0].svg, "class=\"noisy-marker\""), noisy_names_.size());
  EXPECT_EQ(count(roofline[0].svg, "class=\"noisy-note\""), 1u);

  RunReport other = report;
  other.machine.hostname = "other-host";
  for (VariantResult& r : other.results) r.cv_above_threshold = false;
  std::size_t marks = 0;
  for (const Chart& c : comparison_charts({report, other})) marks += count(c.svg, "class=\"noisy-marker\"");
  EXPECT_EQ(marks, noisy_names_.size());
}

TEST_F(NoiseFlagsTest, CompareStillGatesAFlaggedRow) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport base = noisy_report();
  RunReport next = base;
  for (VariantResult& r : next.results) {
    // Far beyond the spread of every row, real and CPU time (single-threaded CPU rows are
    // compared on their CPU time).
    for (double& t : r.stats.run_times_s) t *= 3;
    for (double& t : r.stats.run_cpu_times_s) t *= 3;
    r.stats.median_s *= 3;
  }
  const Comparison c = compare({{"base.json", base}, {"new.json", next}});
  std::size_t flagged = 0, slower = 0;
  for (const CompareRow& row : c.matched) {
    if (!(row.ratio[1] > 0)) continue;
    flagged += row.cells[0].noisy;
    slower += row.verdict[1] == Verdict::slower || row.verdict[1] == Verdict::too_few_runs;
    if (row.cells[0].samples.size() >= 4) {
      EXPECT_EQ(row.verdict[1], Verdict::slower) << row.backend;
    }
  }
  EXPECT_EQ(flagged, noisy_names_.size());
  EXPECT_GT(slower, 0u);
  // The flag is shown, and exempts nothing from the gate.
  std::size_t decidable = 0;
  for (const CompareRow& row : c.matched) decidable += row.verdict[1] == Verdict::slower;
  EXPECT_EQ(gate_failures(c, 50).size(), decidable);
  const std::string md = render_compare_markdown(c, 50.0);
  EXPECT_EQ(md.find("not gated"), std::string::npos) << md;
}

TEST_F(NoiseFlagsTest, ThrottledGpuRowsSaySoInEveryTextFormat) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  VariantResult* gpu_row = nullptr;
  for (VariantResult& r : report.results)
    if (is_gpu(r.backend_kind) && r.ok() && !gpu_row) gpu_row = &r;
  ASSERT_NE(gpu_row, nullptr);
  GpuStateChange state;
  state.before.available = state.after.available = true;
  state.before.sm_clock_mhz = 1980;
  state.after.sm_clock_mhz = 1755;
  state.before.power_w = 310;
  state.after.power_w = 699.5;
  state.after.throttle_reason_bits = 0x4;
  state.after.throttle_reasons = {"power cap"};
  state.throttled = {"power cap"};
  gpu_row->gpu_state = state;
  for (VariantResult& r : report.results)
    if (is_gpu(r.backend_kind) && &r != gpu_row) r.gpu_state = GpuStateChange{};  // monitored, not throttled

  const std::string md = render_markdown(report);
  EXPECT_EQ(count(md, "(throttled: power cap)"), 1u) << md;
  EXPECT_NE(md.find("SM 1980 -> 1755 MHz"), std::string::npos);
  EXPECT_EQ(count(render_console_table(report), "(throttled: power cap)"), 1u);
  EXPECT_NE(render_csv(report).find(",power cap,"), std::string::npos);  // the gpu_throttled column
  std::size_t chart_marks = 0;
  for (const Chart& c : speedup_charts(report)) chart_marks += count(c.svg, "throttled: power cap");
  EXPECT_EQ(chart_marks, 1u);

  const RunReport back = parse_report(render_json(report), "gpu.json");
  std::size_t with_state = 0;
  for (std::size_t i = 0; i < back.results.size(); ++i) {
    EXPECT_EQ(back.results[i].gpu_state.has_value(), report.results[i].gpu_state.has_value());
    with_state += back.results[i].gpu_state.has_value();
  }
  EXPECT_GT(with_state, 1u);
  EXPECT_EQ(render_json(back), render_json(report));
  EXPECT_EQ(render_markdown(back), md);
}

TEST_F(NoiseFlagsTest, MachineStabilityFactsRoundTripAndShow) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = noisy_report();
  MachineContext& m = report.machine;
  m.cpu_scaling_governor = "powersave";
  m.cpu_scaling_driver = "intel_pstate";
  m.cpu_boost = "on";
  m.smt = "off";
  m.omp_num_places = 16;
  m.thread_pinning = "pinned by mlbench (--pin cores): OMP_PROC_BIND=close OMP_PLACES=cores, 16 places";
  const RunReport back = parse_report(render_json(report), "ctx.json");
  EXPECT_EQ(back.machine.cpu_scaling_driver, "intel_pstate");
  EXPECT_EQ(back.machine.cpu_boost, "on");
  EXPECT_EQ(back.machine.smt, "off");
  EXPECT_EQ(back.machine.omp_num_places, 16);
  EXPECT_EQ(back.machine.thread_pinning, m.thread_pinning);
  const Json j = Json::parse(render_json(report));
  EXPECT_EQ(j.at("context").at("cpu_scaling_enabled"), true);  // Google Benchmark's field agrees
  const std::string md = render_markdown(report);
  EXPECT_NE(md.find("**CPU state:** governor powersave (intel_pstate), boost on, SMT off"), std::string::npos) << md;
  EXPECT_NE(md.find("**OpenMP threads:** " + m.thread_pinning), std::string::npos);
  const std::string console = render_console_table(report);
  EXPECT_NE(console.find("governor powersave"), std::string::npos);
  EXPECT_NE(console.find(m.thread_pinning), std::string::npos);

  // Written before these facts existed: "unknown", never an error.
  Json old = j;
  for (const char* key : {"cpu_scaling_driver", "cpu_boost", "smt", "omp_num_places", "thread_pinning"})
    old["context"]["mlbench"].erase(key);
  const RunReport older = parse_report(old.dump(), "old.json");
  EXPECT_EQ(older.machine.cpu_boost, "unknown");
  EXPECT_EQ(older.machine.smt, "unknown");
  EXPECT_EQ(older.machine.omp_num_places, 0);
}

TEST(StabilityWarnings, WarnAboutPowersaveAndLoadOnly) {
  MachineContext m;
  m.logical_cpus = 4;
  m.cpu_scaling_governor = "performance";
  m.load_average = {1.9, 1, 1};
  EXPECT_TRUE(stability_warnings(m).empty());
  m.load_average = {2.1, 1, 1};
  ASSERT_EQ(stability_warnings(m).size(), 1u);
  EXPECT_NE(stability_warnings(m)[0].find("load average 2.10"), std::string::npos);
  m.cpu_scaling_governor = "powersave";
  EXPECT_EQ(stability_warnings(m).size(), 2u);
  m.cpu_scaling_governor = "unknown";
  m.load_average.clear();  // /proc/loadavg unreadable
  EXPECT_TRUE(stability_warnings(m).empty());
}

TEST(StabilityWarnings, TheContextOfThisMachineHasEveryField) {
  Registry registry;
  const MachineContext m = collect_machine_context(0, registry);
  for (const std::string* field : {&m.cpu_scaling_governor, &m.cpu_scaling_driver, &m.cpu_boost, &m.smt})
    EXPECT_FALSE(field->empty());
  for (const std::string& value : {m.cpu_boost, m.smt})
    EXPECT_TRUE(value == "on" || value == "off" || value == "unknown") << value;
  EXPECT_EQ(m.load_average.size(), 3u);
  EXPECT_FALSE(m.thread_pinning.empty());
  EXPECT_FALSE(m.omp_proc_bind.empty());
}

}  // namespace
}  // namespace mlbench::reports
