// reports/ charts: well-formed SVG with the expected bars, labels, ticks and break-even marks;
// and the break-even computation itself.
#include <gtest/gtest.h>

#include <random>
#include "tests/std_regex.h"  // <regex>, without gcc 12's false warning in it under ASan
#include <set>

#include "bench/analyze.h"
#include "reports/charts.h"
#include "reports/sweep.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

// Minimal XML well-formedness check: one root element, every tag closed in order, quoted
// attributes, known entities only. Returns "" when well-formed, else the problem.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  std::size_t i = 0, roots = 0;
  auto name_at = [&](std::size_t& p) {
    std::size_t start = p;
    while (p < xml.size() &&
           (std::isalnum(static_cast<unsigned char>(xml[p])) || xml[p] == '-' || xml[p] == ':' || xml[p] == '_'))
      ++p;
    return xml.substr(start, p - start);
  };
  while (i < xml.size()) {
    if (xml[i] == '&') {
      std::size_t end = xml.find(';', i);
      if (end == std::string::npos) return "unterminated entity";
      std::string entity = xml.substr(i, end - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;")
        return "unknown entity " + entity;
      i = end + 1;
      continue;
    }
    if (xml[i] == '>') return "stray '>' at " + std::to_string(i);
    if (xml[i] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(xml[i]))) return "text outside the root";
      ++i;
      continue;
    }
    if (xml.compare(i, 2, "<?") == 0) {
      std::size_t end = xml.find("?>", i);
      if (end == std::string::npos) return "unterminated <?";
      i = end + 2;
      continue;
    }
    if (xml.compare(i, 2, "</") == 0) {
      std::size_t p = i + 2;
      std::string name = name_at(p);
      if (open.empty() || open.back() != name) return "unbalanced </" + name + ">";
      open.pop_back();
      if (p >= xml.size() || xml[p] != '>') return "bad closing tag " + name;
      i = p + 1;
      continue;
    }
    std::size_t p = i + 1;
    std::string name = name_at(p);
    if (name.empty()) return "empty tag name at " + std::to_string(i);
    if (open.empty() && ++roots > 1) return "more than one root";
    // Attributes: name="value".
    while (true) {
      while (p < xml.size() && std::isspace(static_cast<unsigned char>(xml[p]))) ++p;
      if (p >= xml.size()) return "unterminated tag " + name;
      if (xml[p] == '>') {
        open.push_back(name);
        ++p;
        break;
      }
      if (xml.compare(p, 2, "/>") == 0) {
        p += 2;
        break;
      }
      std::string attr = name_at(p);
      if (attr.empty() || p >= xml.size() || xml[p] != '=' || xml[p + 1] != '"')
        return "bad attribute in <" + name + ">";
      std::size_t end = xml.find('"', p + 2);
      if (end == std::string::npos) return "unterminated attribute";
      std::string value = xml.substr(p + 2, end - p - 2);
      if (value.find('<') != std::string::npos) return "'<' in attribute";
      p = end + 1;
    }
    i = p;
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  if (roots != 1) return "no root element";
  return "";
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

class ChartsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    rng_.seed(seed_);
  }
  RunReport make(fakes::ReportSpec spec = {}) { return fakes::random_report(rng_, spec); }
  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(ChartsTest, XmlCheckerCatchesBrokenDocuments) {
  EXPECT_EQ(xml_problem("<svg><rect a=\"1\"/><text>x &amp; y</text></svg>"), "");
  EXPECT_NE(xml_problem("<svg><text>x</svg>"), "");
  EXPECT_NE(xml_problem("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(xml_problem("<svg a=1></svg>"), "");
  EXPECT_NE(xml_problem("<svg></svg><svg></svg>"), "");
}

TEST_F(ChartsTest, SpeedupChartHasABarAndAFactorLabelPerVerifiedResult) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec spec;
  spec.with_failure = true;
  spec.sizes = {64 << (rng_() % 5)};
  RunReport report = make(spec);
  std::vector<Chart> charts = speedup_charts(report);
  ASSERT_EQ(charts.size(), 1u);
  const std::string& svg = charts[0].svg;
  EXPECT_EQ(xml_problem(svg), "");
  std::size_t ok = 0, e2e = 0;
  for (const VariantResult& r : report.results) {
    if (!r.ok()) continue;
    ++ok;
    e2e += r.timing == TimingMode::end_to_end;
    // The factor over the best CPU, and beside it the factor over serial.
    EXPECT_NE(svg.find(">" + format_factor(r.speedup_vs_best_cpu) + "</text>"), std::string::npos) << r.name();
    if (!r.is_baseline) {
      EXPECT_NE(svg.find(">(" + format_factor(r.speedup_vs_serial) + " vs serial)</text>"), std::string::npos)
          << r.name();
    }
    EXPECT_NE(svg.find(">" + backend_label(r) + "</text>"), std::string::npos) << r.name();
  }
  EXPECT_EQ(count(svg, "<rect class=\"bar\""), ok);
  EXPECT_EQ(count(svg, "class=\"bar-label\""), ok);
  // End-to-end bars are hatched, and the legend says what hatching means.
  EXPECT_EQ(count(svg, "class=\"bar\"") -
                count(std::regex_replace(svg, std::regex("<rect class=\"bar\"[^>]*url\\(#hatch"), ""), "class=\"bar\""),
            e2e);
  EXPECT_NE(svg.find("end to end (with transfers)"), std::string::npos);
  EXPECT_NE(svg.find("FAILED"), std::string::npos);
  EXPECT_GE(count(svg, "class=\"tick\""), 3u);
  EXPECT_NE(svg.find(">1x</text>"), std::string::npos);
  EXPECT_NE(svg.find(">best CPU: " + report.results.front().best_cpu_backend + " = 1x</text>"), std::string::npos);
  EXPECT_NE(charts[0].title.find("gemm fp32 " + report.results.front().shape_label), std::string::npos);
  EXPECT_NE(svg.find(report.machine.hostname), std::string::npos);
}

TEST_F(ChartsTest, ScalingChartHasALinePerBackendAndTimingAndMarksBreakEven) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec spec;
  spec.sizes = {32, 64, 128, 256, 512, 1024, 2048};
  spec.sizes.resize(3 + rng_() % 5);
  RunReport report = make(spec);
  std::vector<Chart> charts = scaling_charts(report);
  ASSERT_EQ(charts.size(), 1u);
  const std::string& svg = charts[0].svg;
  EXPECT_EQ(xml_problem(svg), "");
  // serial, openmp, openblas, cuda x2, cublas x2
  EXPECT_EQ(count(svg, "<polyline class=\"series\""), 7u);
  EXPECT_EQ(count(svg, "class=\"point\""), 7 * spec.sizes.size());
  for (std::int64_t size : spec.sizes) EXPECT_NE(svg.find(">" + std::to_string(size) + "</text>"), std::string::npos);
  // One dotted line per size where GPU backends break even (several may share one).
  std::set<std::int64_t> crossing_sizes;
  for (const BreakEven& b : break_even(group_sweeps(report.results).front()))
    if (b.size) crossing_sizes.insert(*b.size);
  EXPECT_EQ(count(svg, "class=\"break-even\""), crossing_sizes.size());
  EXPECT_EQ(count(svg, "class=\"break-even-note\""), 2u);  // one line per GPU backend, crossing or not
  EXPECT_NE(svg.find("GFLOP/s"), std::string::npos);
}

TEST_F(ChartsTest, NoScalingChartWithoutASweep) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  EXPECT_TRUE(scaling_charts(make()).empty());
}

// A sweep where the GPU end to end is ahead of the best CPU exactly from index `from` on.
RunReport crossing_sweep(std::mt19937_64& rng, std::size_t n, std::size_t from) {
  RunReport report;
  std::uniform_real_distribution<double> u(1e-4, 1e-2);
  for (std::size_t i = 0; i < n; ++i) {
    std::int64_t size = std::int64_t(16) << i;
    double cpu = u(rng);
    double gpu = i >= from ? cpu * 0.5 : cpu * 2;
    for (auto [name, kind, timing, seconds] : {std::tuple{"openblas", BackendKind::cpu_library, TimingMode::host, cpu},
                                               std::tuple{"serial", BackendKind::cpu, TimingMode::host, cpu * 10},
                                               std::tuple{"cuda", BackendKind::gpu, TimingMode::end_to_end, gpu},
                                               std::tuple{"cuda", BackendKind::gpu, TimingMode::kernel, gpu / 100}}) {
      VariantResult r;
      r.workload = "reduction";
      r.backend = name;
      r.backend_kind = kind;
      r.is_baseline = kind == BackendKind::cpu;  // serial: the only row of mlbench CPU code here
      r.timing = timing;
      r.size = size;
      r.shape_label = "N=" + std::to_string(size);
      r.stats.median_s = seconds;
      r.stats.runs = 1;
      r.flops = static_cast<double>(size);
      report.results.push_back(r);
    }
  }
  finalize_results(report.results);
  return report;
}

TEST_F(ChartsTest, BreakEvenIsTheSmallestSizeFromWhichTheGpuStaysAhead) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::size_t n = 3 + rng_() % 6;
  const std::size_t from = 1 + rng_() % (n - 1);
  RunReport report = crossing_sweep(rng_, n, from);
  auto found = break_even(group_sweeps(report.results).front());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].gpu_backend, "cuda");
  ASSERT_TRUE(found[0].size.has_value());
  EXPECT_EQ(*found[0].size, std::int64_t(16) << from);
  EXPECT_FALSE(found[0].at_smallest_size);
  EXPECT_EQ(found[0].best_cpu_backend, "openblas");

  auto never = break_even(group_sweeps(crossing_sweep(rng_, n, n).results).front());
  ASSERT_EQ(never.size(), 1u);
  EXPECT_FALSE(never[0].size.has_value());
  auto always = break_even(group_sweeps(crossing_sweep(rng_, n, 0).results).front());
  ASSERT_TRUE(always[0].size.has_value());
  EXPECT_TRUE(always[0].at_smallest_size);
  EXPECT_EQ(*always[0].size, 16);

  // A GPU win at a small size that does not last is not the break-even point.
  // (Needs a losing size between: the crossing is at index 2 or later.)
  const std::size_t late = 2 + rng_() % (n - 2);
  RunReport flaky = crossing_sweep(rng_, n, late);
  for (VariantResult& r : flaky.results)
    if (r.size == 16 && r.timing == TimingMode::end_to_end) r.stats.median_s = 1e-9;
  auto later = break_even(group_sweeps(flaky.results).front());
  EXPECT_EQ(*later[0].size, std::int64_t(16) << late);
}

TEST_F(ChartsTest, ComparisonChartGroupsBarsPerBackendWithOneStylePerMachine) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  std::vector<RunReport> machines;
  const std::size_t n = 2 + rng_() % 3;
  std::size_t ok_rows = 0;
  for (std::size_t i = 0; i < n; ++i) {
    fakes::ReportSpec spec;
    spec.host = "machine-" + std::to_string(i);
    spec.with_gpu = i % 2 == 0;
    machines.push_back(make(spec));
    for (const VariantResult& r : machines.back().results) ok_rows += r.ok();
  }
  std::vector<Chart> charts = comparison_charts(machines);
  ASSERT_EQ(charts.size(), 1u);
  const std::string& svg = charts[0].svg;
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(count(svg, "<rect class=\"bar\""), ok_rows);
  for (const RunReport& m : machines) EXPECT_NE(svg.find(machine_label(m.machine)), std::string::npos);
  // A swatch per machine (its pattern), per backend family (serial, openmp, CPU library, CUDA,
  // GPU library; machine 0 has a GPU) and the whisker sample.
  EXPECT_EQ(count(svg, "class=\"legend-swatch\""), n + 5 + 1);
  EXPECT_NE(svg.find(">Pattern = machine:</text>"), std::string::npos);
  // Machines without a GPU show "not run" for GPU rows instead of a bar.
  EXPECT_GT(count(svg, ">not run</text>"), 0u);
  EXPECT_NE(charts[0].title.find(std::to_string(n) + " machines"), std::string::npos);
}

TEST_F(ChartsTest, LabelsWithMarkupCharactersAreEscaped) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = make();
  report.machine.hostname = "a<b>&\"c\"";
  report.results.front().backend = "x<y>&" + std::to_string(rng_() % 10);
  for (const Chart& c : speedup_charts(report)) EXPECT_EQ(xml_problem(c.svg), "");
}

}  // namespace
}  // namespace mlbench::reports
