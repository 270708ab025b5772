// Hostile files mlbench reads (issue 15): reports and the peaks cache nested 100 000 deep,
// too large, with non-finite or non-positive figures, or not regular files at all. Reports are
// refused with one line (InputError); a bad peaks cache is ignored, named in the note, and
// replaced; a cache that is a symlink never gets its target written. Never a crash.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "reports/json_limits.h"
#include "reports/json_report.h"
#include "reports/peaks_cache.h"
#include "reports/testing/random_report.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace mlbench;
using ::mlbench::test_support::fresh_seed;
using ::mlbench::test_support::slurp;

namespace {

std::string nested(int depth) {
  return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']');
}

// InputError whose message is one line and contains `needle`.
template <class F>
void expect_one_line_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "accepted; expected an error about " << needle;
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(needle), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = fresh_seed();
    rng_.seed(seed_);
    dir_ = fs::temp_directory_path() / ("mlbench_hostile_input_" + std::to_string(seed_));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string valid_report_json() {
    reports::fakes::ReportSpec spec;
    spec.with_gpu = false;
    return reports::render_json(reports::fakes::random_report(rng_, spec));
  }
  PeakFigures random_peaks(const std::string& key) {
    PeakFigures p;
    p.machine_key = key;
    p.measured_at = "2026-12-01T00:00:00Z";
    CpuPeaks c;
    std::uniform_real_distribution<double> figure(1, 1000);
    c.threads = 2;
    c.bandwidth_gbps_all = figure(rng_);
    c.bandwidth_gbps_one = figure(rng_);
    c.read_gbps_all = figure(rng_);
    c.read_gbps_one = figure(rng_);
    c.fp32_gflops_all = figure(rng_);
    c.fp32_gflops_one = figure(rng_);
    c.fp64_gflops_all = figure(rng_);
    c.fp64_gflops_one = figure(rng_);
    c.triad_elements = 1 << 20;
    c.vector_bytes = 32;
    c.runs = 10;
    p.cpu = c;
    p.gpu_absent_reason = "no GPU";
    return p;
  }
  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  fs::path dir_;
};

}  // namespace

TEST_F(HostileInput, DeeplyNestedReportsAreOneLineErrorsNotStackOverflows) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string deep = nested(100000);
  for (const std::string& text :
       {deep, "{\"mlbench\": {\"schema_version\": " + deep + "}}", "{\"benchmarks\": " + deep + "}",
        "{\"mlbench\": " + deep + "}", std::string(100000, '{')}) {
    SCOPED_TRACE(text.substr(0, 40));
    expect_one_line_error([&] { reports::parse_report(text, "deep.json"); }, "deep.json");
  }
  expect_one_line_error([&] { reports::parse_report("{\"mlbench\": {\"schema_version\": " + deep + "}}", "d.json"); },
                        "nested deeper than");
  // A real report is far shallower than the limit.
  EXPECT_NO_THROW(reports::parse_report(valid_report_json(), "ok.json"));
}

TEST_F(HostileInput, NonPositiveOrNonFiniteTimesInAReportAreRefused) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // Schema 2 keeps a row's repetition times once, under its median entry's "samples"; the
  // per-repetition entries only repeat them (and must agree), so they are left out here, as
  // --aggregates-only writes it, and the samples themselves are made hostile.
  nlohmann::json good = nlohmann::json::parse(valid_report_json());
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& b : good["benchmarks"])
    if (b.value("run_type", "") != "iteration") kept.push_back(b);
  good["benchmarks"] = kept;
  std::size_t entry = 0;  // the median entry of an ok row
  while (entry < kept.size() && !(kept[entry].contains("mlbench") && kept[entry]["mlbench"].contains("samples") &&
                                  kept[entry]["mlbench"].value("status", "") == "ok"))
    ++entry;
  ASSERT_LT(entry, kept.size()) << "the random report has no ok row";
  ASSERT_NO_THROW(reports::parse_report(good.dump(), "good.json"));
  for (const nlohmann::json& bad : {nlohmann::json(0.0), nlohmann::json(-1e-3), nlohmann::json("nan"),
                                    nlohmann::json("inf"), nlohmann::json("-inf")}) {
    SCOPED_TRACE(bad.dump());
    nlohmann::json j = good;
    j["benchmarks"][entry]["mlbench"]["samples"]["real_time_s"][0] = bad;
    expect_one_line_error([&] { reports::parse_report(j.dump(), "times.json"); }, "positive");
    nlohmann::json median = good;
    median["benchmarks"][entry]["mlbench"]["stats"]["median_s"] = bad;
    expect_one_line_error([&] { reports::parse_report(median.dump(), "median.json"); }, "positive");
  }
  nlohmann::json cv = good;
  cv["benchmarks"][entry]["mlbench"]["stats"]["cv"] = -0.5;
  expect_one_line_error([&] { reports::parse_report(cv.dump(), "cv.json"); }, "cv");
}

TEST_F(HostileInput, FilesLargerThanTheLimitAreNotRead) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const fs::path big = dir_ / "big.json";
  std::ofstream(big) << std::string((1 << 20) + 1, ' ');
  expect_one_line_error([&] { reports::read_file_limited(big.string(), 1 << 20); }, "larger than 1 MiB");
  EXPECT_EQ(reports::read_file_limited(big.string(), 2 << 20).size(), (1u << 20) + 1);
  // /dev/zero never ends: the limit ends the read.
  if (fs::exists("/dev/zero"))
    expect_one_line_error([&] { reports::read_file_limited("/dev/zero", 1 << 20); }, "larger than");
}

TEST_F(HostileInput, HostilePeaksCachesAreIgnoredNamedAndReplaced) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string key = "CPU #" + std::to_string(rng_());
  const std::string deep = nested(100000);
  const std::string file = (dir_ / "peaks.json").string();
  const std::vector<std::string> hostile = {
      "{\"schema_version\": 1, \"machines\": {\"" + key + "\": " + deep + "}}",
      "{\"schema_version\": 1, \"machines\": {\"other\": " + deep + "}}",
      "{\"schema_version\": " + deep + ", \"machines\": {}}",
      "{\"schema_version\": \"1\", \"machines\": {}}",
      "{\"schema_version\": 1, \"machines\": []}",
      "{\"schema_version\": 1.5, \"machines\": {}}",
      std::string(200000, '['),
      "\xff\xfe garbage",
  };
  int measured = 0;
  auto measure = [&] {
    ++measured;
    return random_peaks(key);
  };
  for (const std::string& content : hostile) {
    SCOPED_TRACE(content.substr(0, 60));
    std::ofstream(file, std::ios::trunc) << content;
    const int before = measured;
    const auto lookup = reports::load_or_measure_peaks(dir_.string(), key, false, measure);
    EXPECT_TRUE(lookup.measured);
    EXPECT_EQ(measured, before + 1);
    EXPECT_NE(lookup.note.find(file), std::string::npos) << "the warning names the file: " << lookup.note;
    EXPECT_EQ(lookup.note.find('\n'), std::string::npos);
    // Replaced by a valid cache: the next lookup reads it.
    const auto again = reports::load_or_measure_peaks(dir_.string(), key, false, measure);
    EXPECT_FALSE(again.measured) << again.note;
    EXPECT_EQ(measured, before + 1);
  }
}

TEST_F(HostileInput, ImplausibleCachedFiguresAreMeasuredAgain) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string key = "CPU #" + std::to_string(rng_());
  for (const nlohmann::json& bad : {nlohmann::json("inf"), nlohmann::json("nan"), nlohmann::json(-5.0)}) {
    SCOPED_TRACE(bad.dump());
    nlohmann::ordered_json entry = reports::peaks_to_json(random_peaks(key));
    entry["cpu"]["fp32_gflops_all"] = bad;
    const nlohmann::ordered_json cache = {{"schema_version", reports::kPeaksSchemaVersion},
                                          {"machines", {{key, entry}}}};
    std::ofstream(dir_ / "peaks.json", std::ios::trunc) << cache.dump();
    const auto lookup = reports::load_or_measure_peaks(dir_.string(), key, false, [&] { return random_peaks(key); });
    EXPECT_TRUE(lookup.measured);
    EXPECT_TRUE(std::isfinite(lookup.peaks.cpu->fp32_gflops_all));
    EXPECT_GT(lookup.peaks.cpu->fp32_gflops_all, 0);
  }
}

TEST_F(HostileInput, ACacheThatIsASymlinkOrFifoIsNeitherFollowedNorRead) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string key = "CPU #" + std::to_string(rng_());
  const std::string victim_text = "precious " + std::to_string(rng_());
  std::ofstream(dir_ / "victim") << victim_text;
  fs::create_symlink(dir_ / "victim", dir_ / "peaks.json");
  auto lookup = reports::load_or_measure_peaks(dir_.string(), key, false, [&] { return random_peaks(key); });
  EXPECT_TRUE(lookup.measured);
  EXPECT_EQ(slurp(dir_ / "victim"), victim_text) << "the link's target was written";
  EXPECT_FALSE(fs::is_symlink(dir_ / "peaks.json"));
  EXPECT_NE(lookup.note.find("not a regular file"), std::string::npos) << lookup.note;

  fs::remove(dir_ / "peaks.json");
  ASSERT_EQ(::mkfifo((dir_ / "peaks.json").c_str(), 0644), 0);
  lookup =
      reports::load_or_measure_peaks(dir_.string(), key, false, [&] { return random_peaks(key); });  // must not block
  EXPECT_TRUE(lookup.measured);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir_ / "peaks.json")));
}

TEST_F(HostileInput, WithoutHomeTheCacheNeverLandsInTheWorkingDirectory) {
  const char* home = std::getenv("HOME");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const std::string saved_home = home ? home : "", saved_xdg = xdg ? xdg : "";
  unsetenv("XDG_CACHE_HOME");
  for (const char* value : {static_cast<const char*>(nullptr), "", "relative/home", "."}) {
    SCOPED_TRACE(value ? value : "(unset)");
    if (value)
      setenv("HOME", value, 1);
    else
      unsetenv("HOME");
    const std::string dir = reports::default_peaks_cache_dir();
    EXPECT_TRUE(dir.empty() || dir[0] == '/') << dir;
  }
  setenv("XDG_CACHE_HOME", "rel", 1);
  EXPECT_NE(reports::default_peaks_cache_dir().rfind("rel", 0), 0u);
  if (home) setenv("HOME", saved_home.c_str(), 1);
  if (xdg)
    setenv("XDG_CACHE_HOME", saved_xdg.c_str(), 1);
  else
    unsetenv("XDG_CACHE_HOME");
  // No directory at all: measured, not cached, said so.
  int measured = 0;
  const auto lookup = reports::load_or_measure_peaks("", "k", false, [&] {
    ++measured;
    return random_peaks("k");
  });
  EXPECT_TRUE(lookup.measured);
  EXPECT_EQ(measured, 1);
  EXPECT_NE(lookup.note.find("not cached"), std::string::npos);
}
