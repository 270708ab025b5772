// Measured peaks (CPU figures, per-machine cache) and roofline placement (bound, fraction,
// JSON round trip, chart, the `peak` subcommand and a run reading cached peaks).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench/analyze.h"
#include "bench/backend.h"
#include "bench/roofline.h"
#include "bench/workloads.h"
#include "reports/charts.h"
#include "reports/csv.h"
#include "reports/json_report.h"
#include "reports/markdown.h"
#include "reports/peaks_cache.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench {
namespace {

using ::mlbench::test_support::slurp;

namespace fs = std::filesystem;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

// Small XML well-formedness check (tags closed in order, quoted attributes, one root, known
// entities); "" when well-formed. charts_test.cpp keeps its own in an anonymous namespace.
std::string xml_problem(const std::string& xml) {
  std::vector<std::string> open;
  int roots = 0;
  std::size_t i = 0;
  auto name_at = [&](std::size_t& p) {
    const std::size_t start = p;
    while (p < xml.size() && (std::isalnum(static_cast<unsigned char>(xml[p])) || xml[p] == '-' || xml[p] == ':')) ++p;
    return xml.substr(start, p - start);
  };
  while (i < xml.size()) {
    if (xml[i] == '&') {
      const std::size_t end = xml.find(';', i);
      if (end == std::string::npos) return "unterminated entity";
      const std::string entity = xml.substr(i, end - i + 1);
      if (entity != "&amp;" && entity != "&lt;" && entity != "&gt;" && entity != "&quot;" && entity != "&apos;")
        return "unknown entity " + entity;
      i = end + 1;
    } else if (xml[i] == '>') {
      return "stray '>'";
    } else if (xml[i] != '<') {
      if (open.empty() && !std::isspace(static_cast<unsigned char>(xml[i]))) return "text outside the root";
      ++i;
    } else if (xml.compare(i, 2, "<?") == 0) {
      const std::size_t end = xml.find("?>", i);
      if (end == std::string::npos) return "unterminated <?";
      i = end + 2;
    } else if (xml.compare(i, 2, "</") == 0) {
      std::size_t p = i + 2;
      const std::string name = name_at(p);
      if (open.empty() || open.back() != name || p >= xml.size() || xml[p] != '>') return "bad </" + name + ">";
      open.pop_back();
      i = p + 1;
    } else {
      std::size_t p = i + 1;
      const std::string name = name_at(p);
      if (name.empty()) return "empty tag name";
      if (open.empty() && ++roots > 1) return "more than one root";
      while (true) {
        while (p < xml.size() && std::isspace(static_cast<unsigned char>(xml[p]))) ++p;
        if (p >= xml.size()) return "unterminated <" + name + ">";
        if (xml[p] == '>') {
          open.push_back(name);
          ++p;
          break;
        }
        if (xml.compare(p, 2, "/>") == 0) {
          p += 2;
          break;
        }
        const std::string attr = name_at(p);
        if (attr.empty() || p + 1 >= xml.size() || xml[p] != '=' || xml[p + 1] != '"')
          return "bad attribute in <" + name + ">";
        const std::size_t end = xml.find('"', p + 2);
        if (end == std::string::npos || xml.substr(p + 2, end - p - 2).find('<') != std::string::npos)
          return "bad attribute value in <" + name + ">";
        p = end + 1;
      }
      i = p;
    }
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return roots == 1 ? "" : "no root element";
}

class PeaksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int count = 0;
    dir_ = fs::temp_directory_path() / ("mlbench_peaks_" + std::to_string(::getpid()) + "_" + std::to_string(++count));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The seed is drawn by the first random figure: tests that use none are not randomized.
  std::mt19937_64& rng() {
    if (!seeded_) {
      rng_.seed(::mlbench::test_support::fresh_seed());
      seeded_ = true;
    }
    return rng_;
  }
  double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng()); }

  // Plausible random figures (CPU and GPU) for a given key.
  PeakFigures random_peaks(const std::string& key) {
    PeakFigures p;
    p.machine_key = key;
    p.measured_at = "2026-11-24T10:00:00Z";
    CpuPeaks c;
    c.threads = 2 + static_cast<int>(rng()() % 62);
    c.bandwidth_gbps_one = uniform(5, 20);
    c.bandwidth_gbps_all = c.bandwidth_gbps_one * uniform(1, 8);
    c.read_gbps_one = c.bandwidth_gbps_one * uniform(1, 2);
    c.read_gbps_all = c.bandwidth_gbps_all * uniform(1, 2);
    c.fp32_gflops_one = uniform(20, 200);
    c.fp32_gflops_all = c.fp32_gflops_one * c.threads * uniform(0.5, 1);
    c.fp64_gflops_one = c.fp32_gflops_one / 2;
    c.fp64_gflops_all = c.fp32_gflops_all / 2;
    c.triad_elements = std::int64_t{1} << (26 + rng()() % 3);
    c.vector_bytes = 16 << (rng()() % 3);
    c.runs = 10;
    p.cpu = c;
    GpuPeaks g;
    g.name = "NVIDIA H100 80GB HBM3";
    g.copy_gbps = uniform(1000, 3500);
    g.read_gbps = g.copy_gbps * uniform(0.9, 1.1);
    g.fp32_gflops = uniform(20000, 70000);
    g.fp64_gflops = g.fp32_gflops / 2;
    g.tf32_gflops = uniform(200000, 500000);
    g.bf16_gflops = g.tf32_gflops * 2;
    g.copy_bytes = g.read_bytes = std::int64_t{1} << 30;
    g.gemm_size = 8192;
    g.runs = 10;
    p.gpu = g;
    return p;
  }

  bool seeded_ = false;
  std::mt19937_64 rng_;
  fs::path dir_;
};

void expect_same_peaks(const PeakFigures& a, const PeakFigures& b) {
  EXPECT_EQ(a.machine_key, b.machine_key);
  EXPECT_EQ(a.measured_at, b.measured_at);
  ASSERT_EQ(a.cpu.has_value(), b.cpu.has_value());
  ASSERT_EQ(a.gpu.has_value(), b.gpu.has_value());
  EXPECT_EQ(a.cpu_absent_reason, b.cpu_absent_reason);
  EXPECT_EQ(a.gpu_absent_reason, b.gpu_absent_reason);
  if (a.cpu) {
    EXPECT_EQ(a.cpu->threads, b.cpu->threads);
    EXPECT_DOUBLE_EQ(a.cpu->bandwidth_gbps_all, b.cpu->bandwidth_gbps_all);
    EXPECT_DOUBLE_EQ(a.cpu->bandwidth_gbps_one, b.cpu->bandwidth_gbps_one);
    EXPECT_DOUBLE_EQ(a.cpu->read_gbps_all, b.cpu->read_gbps_all);
    EXPECT_DOUBLE_EQ(a.cpu->read_gbps_one, b.cpu->read_gbps_one);
    EXPECT_DOUBLE_EQ(a.cpu->fp32_gflops_all, b.cpu->fp32_gflops_all);
    EXPECT_DOUBLE_EQ(a.cpu->fp32_gflops_one, b.cpu->fp32_gflops_one);
    EXPECT_DOUBLE_EQ(a.cpu->fp64_gflops_all, b.cpu->fp64_gflops_all);
    EXPECT_DOUBLE_EQ(a.cpu->fp64_gflops_one, b.cpu->fp64_gflops_one);
    EXPECT_EQ(a.cpu->triad_elements, b.cpu->triad_elements);
    EXPECT_EQ(a.cpu->vector_bytes, b.cpu->vector_bytes);
    EXPECT_DOUBLE_EQ(a.cpu->fp32_gemm_gflops_all, b.cpu->fp32_gemm_gflops_all);
    EXPECT_DOUBLE_EQ(a.cpu->fp64_gemm_gflops_all, b.cpu->fp64_gemm_gflops_all);
    EXPECT_EQ(a.cpu->gemm_size, b.cpu->gemm_size);
    EXPECT_EQ(a.cpu->fp32_source, b.cpu->fp32_source);
    EXPECT_EQ(a.cpu->fp64_source, b.cpu->fp64_source);
  }
  if (a.gpu) {
    EXPECT_EQ(a.gpu->name, b.gpu->name);
    EXPECT_DOUBLE_EQ(a.gpu->copy_gbps, b.gpu->copy_gbps);
    EXPECT_DOUBLE_EQ(a.gpu->read_gbps, b.gpu->read_gbps);
    EXPECT_DOUBLE_EQ(a.gpu->fp32_gflops, b.gpu->fp32_gflops);
    EXPECT_DOUBLE_EQ(a.gpu->fp64_gflops, b.gpu->fp64_gflops);
    EXPECT_DOUBLE_EQ(a.gpu->tf32_gflops, b.gpu->tf32_gflops);
    EXPECT_DOUBLE_EQ(a.gpu->bf16_gflops, b.gpu->bf16_gflops);
    EXPECT_EQ(a.gpu->gemm_size, b.gpu->gemm_size);
  }
}

Registry full_registry() {
  Registry registry;
  cpu::register_backends(registry);
  kernels::register_backends(registry);
  return registry;
}

// --- measurement and cache ---

TEST_F(PeaksTest, CpuPeaksArePositiveFiniteSaneAndCachedForTheSecondLoad) {
  const Registry registry = full_registry();
  const MachineContext machine = collect_machine_context(0, registry);
  const std::string key = peaks_machine_key(machine);
  int measurements = 0;
  auto measure = [&] {
    ++measurements;
    return measure_peaks(registry, machine);
  };
  const reports::PeaksLookup first = reports::load_or_measure_peaks(dir_.string(), key, false, measure);
  ASSERT_TRUE(first.measured);
  ASSERT_TRUE(first.peaks.cpu) << first.peaks.cpu_absent_reason;
  const CpuPeaks& cpu = *first.peaks.cpu;
  for (double gbps : {cpu.bandwidth_gbps_all, cpu.bandwidth_gbps_one, cpu.read_gbps_all, cpu.read_gbps_one}) {
    EXPECT_TRUE(std::isfinite(gbps));
    EXPECT_GT(gbps, 0.1);
    EXPECT_LT(gbps, 10000);
  }
  for (double gflops : {cpu.fp32_gflops_all, cpu.fp32_gflops_one, cpu.fp64_gflops_all, cpu.fp64_gflops_one}) {
    EXPECT_TRUE(std::isfinite(gflops));
    EXPECT_GT(gflops, 0.1);
    EXPECT_LT(gflops, 1e6);
  }
  EXPECT_GE(cpu.triad_elements, std::int64_t{1} << 20);
  EXPECT_GE(cpu.threads, 1);
  // The FMA roof is never below the library GEMM measured with it, and names its source.
  EXPECT_GE(cpu.fp32_gflops_all, cpu.fp32_gemm_gflops_all);
  EXPECT_GE(cpu.fp64_gflops_all, cpu.fp64_gemm_gflops_all);
  for (const std::string& source : {cpu.fp32_source, cpu.fp64_source})
    EXPECT_TRUE(source == "fma loop" || source == "openblas gemm") << source;
  EXPECT_EQ(cpu.fp32_source == "openblas gemm",
            cpu.fp32_gemm_gflops_all > 0 && cpu.fp32_gflops_all == cpu.fp32_gemm_gflops_all);
  const BackendInfo* openblas = registry.find("gemm", "openblas");
  if (openblas != nullptr && (!openblas->availability || openblas->availability().available)) {
    EXPECT_GT(cpu.fp32_gemm_gflops_all, 0.1) << "built with OpenBLAS: its GEMM is measured";
    EXPECT_EQ(cpu.gemm_size, 1024);
  }
  EXPECT_TRUE(cpu.vector_bytes == 16 || cpu.vector_bytes == 32 || cpu.vector_bytes == 64) << cpu.vector_bytes;
  EXPECT_EQ(first.peaks.machine_key, key);
  EXPECT_FALSE(first.peaks.measured_at.empty());
  // Without a usable GPU the GPU figures are absent, with the reason.
  if (!first.peaks.gpu) {
    EXPECT_FALSE(first.peaks.gpu_absent_reason.empty());
  }

  const reports::PeaksLookup second = reports::load_or_measure_peaks(dir_.string(), key, false, measure);
  EXPECT_FALSE(second.measured);
  EXPECT_EQ(measurements, 1);
  EXPECT_EQ(second.cache_file, (dir_ / "peaks.json").string());
  expect_same_peaks(first.peaks, second.peaks);
}

TEST_F(PeaksTest, CacheIsReadBackRefreshMeasuresAgainAndMachinesAreKeptApart) {
  int measurements = 0;
  PeakFigures last;
  auto measure = [&] {
    ++measurements;
    last = random_peaks("ignored: the lookup stamps the key");
    return last;
  };
  const std::string key = "CPU #" + std::to_string(rng()()) + " | GPU";
  auto lookup = [&](const std::string& k, bool refresh) {
    return reports::load_or_measure_peaks(dir_.string(), k, refresh, measure);
  };
  const auto first = lookup(key, false);
  EXPECT_TRUE(first.measured);
  EXPECT_EQ(first.peaks.machine_key, key);
  const auto cached = lookup(key, false);
  EXPECT_FALSE(cached.measured);
  EXPECT_EQ(measurements, 1);
  expect_same_peaks(first.peaks, cached.peaks);

  const auto refreshed = lookup(key, true);
  EXPECT_TRUE(refreshed.measured);
  EXPECT_EQ(measurements, 2);
  EXPECT_DOUBLE_EQ(refreshed.peaks.cpu->fp32_gflops_all, last.cpu->fp32_gflops_all);
  // The refreshed figures replace the old ones in the file.
  expect_same_peaks(lookup(key, false).peaks, refreshed.peaks);
  EXPECT_EQ(measurements, 2);

  // Another machine's key is measured separately and does not evict the first.
  const auto other = lookup(key + " other", false);
  EXPECT_TRUE(other.measured);
  EXPECT_EQ(measurements, 3);
  expect_same_peaks(lookup(key, false).peaks, refreshed.peaks);
  EXPECT_EQ(measurements, 3);
}

TEST_F(PeaksTest, CorruptCacheFileIsIgnoredAndReplaced) {
  const std::string key = "CPU #" + std::to_string(rng()());
  int measurements = 0;
  auto measure = [&] {
    ++measurements;
    return random_peaks(key);
  };
  const std::vector<std::string> corrupt = {"{\"schema_version\": 1, \"machines\": {\"" + key + "\": {\"cpu\": 3}}}",
                                            "not json at all " + std::to_string(rng()()),
                                            "{\"schema_version\": 99, \"machines\": {}}", "[1, 2, 3]", ""};
  for (const std::string& content : corrupt) {
    SCOPED_TRACE(content);
    std::ofstream(dir_ / "peaks.json") << content;
    const int before = measurements;
    const auto replaced = reports::load_or_measure_peaks(dir_.string(), key, false, measure);
    EXPECT_TRUE(replaced.measured);
    EXPECT_EQ(measurements, before + 1);
    if (!content.empty()) {
      EXPECT_NE(replaced.note.find("ignored"), std::string::npos) << replaced.note;
    }
    // The file is a valid cache again: the next lookup reads it.
    const auto again = reports::load_or_measure_peaks(dir_.string(), key, false, measure);
    EXPECT_FALSE(again.measured);
    EXPECT_EQ(measurements, before + 1);
    expect_same_peaks(replaced.peaks, again.peaks);
  }
}

TEST_F(PeaksTest, UnwritableCacheIsNotFatal) {
  // A regular file where the cache directory should be: nothing can be created under it.
  const fs::path blocker = dir_ / "blocker";
  std::ofstream(blocker) << "x";
  const auto lookup =
      reports::load_or_measure_peaks((blocker / "mlbench").string(), "k", false, [&] { return random_peaks("k"); });
  EXPECT_TRUE(lookup.measured);
  EXPECT_TRUE(lookup.peaks.cpu);
  EXPECT_NE(lookup.note.find("not cached"), std::string::npos) << lookup.note;
}

// --- roofline ---

class RooflineTest : public PeaksTest {
 protected:
  // A verified result of `problem` on `backend`, timed at `median_s`.
  VariantResult result_of(const Problem& problem, const std::string& backend, BackendKind kind, TimingMode timing,
                          int threads, double median_s) {
    VariantResult r;
    r.workload = problem.workload();
    r.backend = backend;
    r.backend_kind = kind;
    r.timing = timing;
    r.precision = problem.precision();
    r.size = problem.size();
    r.shape_label = problem.shape_label();
    r.threads = threads;
    r.flops = problem.flops();
    r.bytes = problem.min_bytes();
    r.stats.runs = 1;
    r.stats.median_s = median_s;
    r.verification.passed = true;
    return r;
  }
};

// The analyze stage (bench/analyze.h) derives every field in one call: rates, speedups, the
// roofline placement, the cv flags and the busy-machine warning.
TEST_F(RooflineTest, AnalyzeDerivesRatesSpeedupsRooflineAndFlagsInOneCall) {
  const auto gemm = make_problem("gemm", 256, Precision::fp32, rng()(), {});
  PeakFigures peaks = random_peaks("k");
  peaks.cpu->fp32_gflops_all = 100;
  peaks.cpu->bandwidth_gbps_all = 1e6;  // compute bound
  VariantResult serial = result_of(*gemm, "serial", BackendKind::cpu, TimingMode::host, 1, 0.2);
  serial.is_baseline = true;
  VariantResult openmp = result_of(*gemm, "openmp", BackendKind::cpu, TimingMode::host, 8, 0.1);
  openmp.stats.runs = 3;
  openmp.stats.cv = 0.2;
  std::vector<VariantResult> results = {serial, openmp};
  const Analysis busy = analyze(results, AnalysisContext{&peaks, 0.05, 0.5});
  EXPECT_DOUBLE_EQ(results[1].gflops, gemm->flops() / 0.1 / 1e9);
  EXPECT_DOUBLE_EQ(results[1].speedup_vs_serial, 2.0);
  EXPECT_EQ(results[1].best_cpu_backend, "openmp");
  EXPECT_DOUBLE_EQ(results[1].roofline_bound_gflops, 100.0);
  EXPECT_DOUBLE_EQ(results[1].fraction_of_roofline, results[1].gflops / 100.0);
  EXPECT_TRUE(results[1].cv_above_threshold);
  EXPECT_FALSE(results[0].cv_above_threshold);
  ASSERT_EQ(busy.warnings.size(), 1u);
  EXPECT_EQ(busy.warnings[0], busy_machine_warning(0.5));

  std::vector<VariantResult> quiet_rows = {serial, openmp};
  const Analysis quiet = analyze(quiet_rows, AnalysisContext{nullptr, 0.5, 0.0});
  EXPECT_TRUE(quiet.warnings.empty());
  EXPECT_GT(quiet_rows[1].intensity, 0);  // without peaks: the intensity, no bound
  EXPECT_EQ(quiet_rows[1].roofline_bound_gflops, 0);
  EXPECT_FALSE(quiet_rows[1].cv_above_threshold);
}

TEST_F(RooflineTest, BoundOfGemm1024IsMinOfComputePeakAndBandwidthTimesIntensity) {
  const auto gemm = make_problem("gemm", 1024, Precision::fp32, rng()(), {});
  const double intensity = 2.0 * 1024 * 1024 * 1024 / (3.0 * 1024 * 1024 * 4);  // 170.7 FLOP/byte
  PeakFigures peaks = random_peaks("k");
  // The example of the brief: 100 GFLOP/s and 10 GB/s -> compute bound at 100.
  peaks.cpu->fp32_gflops_all = 100;
  peaks.cpu->bandwidth_gbps_all = 10;
  std::vector<VariantResult> results = {result_of(*gemm, "openmp", BackendKind::cpu, TimingMode::host, 8, 0.1)};
  finalize_results(results);
  apply_roofline(results, &peaks);
  EXPECT_NEAR(results[0].intensity, intensity, 1e-9 * intensity);
  EXPECT_DOUBLE_EQ(results[0].roofline_bound_gflops, 100.0);
  EXPECT_EQ(results[0].roofline_unit, "cpu " + std::to_string(peaks.cpu->threads) + " threads");

  // Random figures: bandwidth-bound and compute-bound alike.
  for (int i = 0; i < 20; ++i) {
    peaks.cpu->fp32_gflops_all = uniform(1, 5000);
    peaks.cpu->bandwidth_gbps_all = uniform(0.1, 100);
    apply_roofline(results, &peaks);
    const double expected = std::min(peaks.cpu->fp32_gflops_all, peaks.cpu->bandwidth_gbps_all * intensity);
    EXPECT_NEAR(results[0].roofline_bound_gflops, expected, 1e-12 * expected);
  }
}

TEST_F(RooflineTest, EachResultIsHeldAgainstItsUnitAndFractionIsMeasuredOverBound) {
  const PeakFigures peaks = random_peaks("k");
  const CpuPeaks& cpu = *peaks.cpu;
  const GpuPeaks& gpu = *peaks.gpu;
  const std::int64_t size = 32 << (rng()() % 4);
  const auto gemm = make_problem("gemm", size, Precision::fp32, rng()(), {});
  const auto gemm64 = make_problem("gemm", size, Precision::fp64, rng()(), {});
  const auto reduce = make_problem("reduction", size, Precision::fp32, rng()(), {});
  auto t = [&] { return uniform(1e-4, 1e-1); };
  std::vector<VariantResult> results = {
      result_of(*gemm, "serial", BackendKind::cpu, TimingMode::host, 1, t()),
      result_of(*gemm, "openblas", BackendKind::cpu_library, TimingMode::host, cpu.threads, t()),
      result_of(*gemm, "cublas", BackendKind::gpu_library, TimingMode::kernel, 1, t()),  // pedantic fp32
      result_of(*gemm, "cublas-tf32", BackendKind::gpu_library, TimingMode::kernel, 1, t()),
      result_of(*gemm, "cublas", BackendKind::gpu_library, TimingMode::end_to_end, 1, t()),
      result_of(*gemm64, "cuda", BackendKind::gpu, TimingMode::kernel, 1, t()),
      result_of(*gemm64, "serial", BackendKind::cpu, TimingMode::host, 1, t()),
      result_of(*reduce, "cub", BackendKind::gpu_library, TimingMode::kernel, 1, t()),
      result_of(*reduce, "openmp", BackendKind::cpu, TimingMode::host, cpu.threads, t()),
  };
  results[2].notes = {{"math", "pedantic (no tf32)"}};  // the note cuBLAS fp32 rows carry
  results[3].notes = {{"math", "tf32 tensor cores"}};
  results[3].uses_tensor_cores = true;  // what the runner sets from cublas-tf32's tensor_core_precisions
  VariantResult failed = results[0];
  failed.backend = "broken";
  failed.status = ResultStatus::failed_verification;
  results.push_back(failed);
  finalize_results(results);
  apply_roofline(results, &peaks);

  struct Expected {
    std::string unit;
    double compute, bandwidth;
  };
  const std::string all = "cpu " + std::to_string(cpu.threads) + " threads";
  const std::vector<Expected> expected = {
      {"cpu 1 thread", cpu.fp32_gflops_one, cpu.bandwidth_gbps_one},
      {all, cpu.fp32_gflops_all, cpu.bandwidth_gbps_all},
      {"gpu fp32", gpu.fp32_gflops, gpu.copy_gbps},
      {"gpu tf32", gpu.tf32_gflops, gpu.copy_gbps},
      {"", 0, 0},  // end to end: no roofline
      {"gpu fp64", gpu.fp64_gflops, gpu.copy_gbps},
      {"cpu 1 thread", cpu.fp64_gflops_one, cpu.bandwidth_gbps_one},
      {"gpu fp32", gpu.fp32_gflops, gpu.read_gbps},   // reductions: the read bandwidth
      {all, cpu.fp32_gflops_all, cpu.read_gbps_all},  // reductions: the read bandwidth
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const VariantResult& r = results[i];
    SCOPED_TRACE(r.name());
    EXPECT_EQ(r.roofline_unit, expected[i].unit);
    EXPECT_DOUBLE_EQ(r.intensity, r.flops / r.bytes);
    if (expected[i].unit.empty()) {
      EXPECT_EQ(r.roofline_bound_gflops, 0);
      EXPECT_EQ(r.fraction_of_roofline, 0);
      continue;
    }
    const double bound = std::min(expected[i].compute, expected[i].bandwidth * r.intensity);
    EXPECT_NEAR(r.roofline_bound_gflops, bound, 1e-12 * bound);
    ASSERT_GT(r.gflops, 0);
    EXPECT_NEAR(r.fraction_of_roofline, r.gflops / bound, 1e-12 * r.gflops / bound);
  }
  // A failed result has no fraction; without peaks only the intensity is filled.
  EXPECT_EQ(results.back().fraction_of_roofline, 0);
  apply_roofline(results, nullptr);
  for (const VariantResult& r : results) {
    EXPECT_GT(r.intensity, 0);
    EXPECT_EQ(r.roofline_bound_gflops, 0);
    EXPECT_TRUE(r.roofline_unit.empty());
  }
}

TEST_F(RooflineTest, MarkdownConsoleAndCsvShowTheFractionOfRoofline) {
  RunReport report = reports::fakes::random_report(rng(), {});
  report.machine.peaks = random_peaks("k");
  apply_roofline(report.results, &*report.machine.peaks);
  const std::vector<std::string>& columns = reports::markdown_columns();
  EXPECT_NE(std::find(columns.begin(), columns.end(), "% of roofline"), columns.end());
  const std::string md = reports::render_markdown(report);
  const std::string console = reports::render_console_table(report);
  const std::string csv = reports::render_csv(report);
  EXPECT_NE(md.find("**Peak:** CPU, " + std::to_string(report.machine.peaks->cpu->threads) + " threads"),
            std::string::npos);
  EXPECT_NE(console.find("roofline"), std::string::npos);
  for (const char* column : {"intensity", "roofline_bound_gflops", "fraction_of_roofline", "roofline_unit"})
    EXPECT_NE(std::find(reports::csv_columns().begin(), reports::csv_columns().end(), column),
              reports::csv_columns().end());
  for (const VariantResult& r : report.results) {
    if (!(r.fraction_of_roofline > 0)) continue;
    const std::string percent = reports::format_percent(r.fraction_of_roofline);
    EXPECT_NE(md.find("| " + percent + " |"), std::string::npos) << percent;
    EXPECT_NE(console.find(" " + percent + " "), std::string::npos) << percent;
    EXPECT_NE(csv.find(reports::csv_number(r.fraction_of_roofline)), std::string::npos);
  }
}

TEST_F(RooflineTest, JsonRoundTripKeepsPeaksAndRooflineFields) {
  RunReport report = reports::fakes::random_report(rng(), {});
  report.machine.peaks = random_peaks("key " + std::to_string(rng()()));
  if (rng()() % 2) {  // either half of the figures may be absent
    report.machine.peaks->gpu.reset();
    report.machine.peaks->gpu_absent_reason = "no CUDA device";
  }
  apply_roofline(report.results, &*report.machine.peaks);
  const RunReport back = reports::parse_report(reports::render_json(report), "round trip");
  ASSERT_TRUE(back.machine.peaks);
  expect_same_peaks(*report.machine.peaks, *back.machine.peaks);
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    SCOPED_TRACE(report.results[i].name());
    EXPECT_DOUBLE_EQ(back.results[i].intensity, report.results[i].intensity);
    EXPECT_DOUBLE_EQ(back.results[i].roofline_bound_gflops, report.results[i].roofline_bound_gflops);
    EXPECT_DOUBLE_EQ(back.results[i].fraction_of_roofline, report.results[i].fraction_of_roofline);
    EXPECT_EQ(back.results[i].roofline_unit, report.results[i].roofline_unit);
  }

  // A report written before peaks existed still reads, without them.
  nlohmann::ordered_json old = reports::to_json(report);
  old["context"]["mlbench"].erase("peaks");
  for (auto& entry : old["benchmarks"])
    if (entry.contains("mlbench"))  // the row's fields ride on one entry per row
      for (const char* key : {"intensity", "roofline_bound_gflops", "fraction_of_roofline", "roofline_unit"})
        entry["mlbench"].erase(key);
  const RunReport legacy = reports::parse_report(old.dump(), "legacy");
  EXPECT_FALSE(legacy.machine.peaks);
  for (const VariantResult& r : legacy.results) EXPECT_EQ(r.fraction_of_roofline, 0);
}

TEST_F(RooflineTest, ChartIsWellFormedSvgWithARoofPerUnitAndAPointPerResult) {
  reports::fakes::ReportSpec spec;
  spec.with_failure = true;
  spec.sizes = {64 << (rng()() % 4), 1024};
  RunReport report = reports::fakes::random_report(rng(), spec);
  EXPECT_TRUE(reports::roofline_charts(report).empty());  // no peaks, no roofline
  report.machine.peaks = random_peaks("k");
  apply_roofline(report.results, &*report.machine.peaks);
  const std::vector<reports::Chart> charts = reports::roofline_charts(report);
  ASSERT_EQ(charts.size(), 1u);
  const std::string& svg = charts[0].svg;
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(charts[0].file_name, "roofline_fp32.svg");
  EXPECT_NE(svg.find(report.machine.hostname), std::string::npos);
  std::size_t plotted = 0;
  for (const VariantResult& r : report.results) plotted += r.ok() && r.gflops > 0 ? 1 : 0;
  EXPECT_EQ(count(svg, "class=\"roofline-point\""), plotted);
  // CPU all threads, CPU one thread, GPU fp32, GPU tf32.
  EXPECT_EQ(count(svg, "class=\"roof\""), 4u);
  for (const char* unit : {"cpu 1 thread", "gpu fp32", "gpu tf32"})
    EXPECT_NE(svg.find(unit), std::string::npos) << unit;
  for (const VariantResult& r : report.results) {
    if (r.ok()) {
      EXPECT_NE(svg.find(reports::backend_label(r)), std::string::npos) << reports::backend_label(r);
    }
  }
  EXPECT_GE(count(svg, "class=\"tick\""), 4u);
}

// --- the executable ---

struct Outcome {
  int exit_code = -1;
  std::string out, err;
};

class PeaksCliTest : public PeaksTest {
 protected:
  Outcome run(const std::string& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = "XDG_CACHE_HOME=" + dir_.string() + " " + std::string(MLBENCH_EXE) + " " + args + " >" +
                            out.string() + " 2>" + err.string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
};

TEST_F(PeaksCliTest, PeakCommandAndRunsReadCachedPeaksIntoTheReport) {
  // Cached figures for this machine's key: neither command measures, both use them.
  const Registry registry = full_registry();
  const std::string key = peaks_machine_key(collect_machine_context(0, registry));
  const PeakFigures cached = random_peaks(key);
  reports::load_or_measure_peaks((dir_ / "mlbench").string(), key, true, [&] { return cached; });

  const Outcome peak = run("peak --json");
  ASSERT_EQ(peak.exit_code, 0) << peak.err;
  EXPECT_EQ(peak.err.find("measuring"), std::string::npos) << peak.err;
  expect_same_peaks(reports::peaks_from_json(nlohmann::ordered_json::parse(peak.out)), cached);
  const Outcome help = run("peak --help");
  EXPECT_NE(help.out.find("median of 10"), std::string::npos) << help.out;

  const Outcome gemm =
      run("gemm --size 48 --backends serial,openmp --time-budget 0.01 --json " + (dir_ / "run.json").string());
  ASSERT_EQ(gemm.exit_code, 0) << gemm.err;
  const RunReport report = reports::read_report((dir_ / "run.json").string());
  ASSERT_TRUE(report.machine.peaks);
  expect_same_peaks(*report.machine.peaks, cached);
  ASSERT_EQ(report.results.size(), 2u);
  for (const VariantResult& r : report.results) {
    SCOPED_TRACE(r.name());
    const auto roof = roof_for(r, cached);
    ASSERT_TRUE(roof);
    EXPECT_EQ(r.roofline_unit, roof->unit);
    EXPECT_NEAR(r.roofline_bound_gflops, roof->bound_gflops(r.intensity), 1e-9 * r.roofline_bound_gflops);
    EXPECT_NEAR(r.fraction_of_roofline, r.gflops / r.roofline_bound_gflops, 1e-9 * r.fraction_of_roofline);
  }
}

}  // namespace
}  // namespace mlbench
