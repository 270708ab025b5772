// JSON conventions (issues 14 and 19): Google Benchmark's layout with mlbench's row data once
// per row and the repetition times in one place, time units per benchmark, aggregates only,
// errored rows without a time; the reports committed under docs/results/, .ci/ and the fuzz
// corpus still read, and pair (or refuse to) sensibly.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "reports/compare.h"
#include "reports/fleet.h"
#include "reports/json_report.h"
#include "reports/testing/random_report.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

class JsonConventionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = std::random_device{}();
    rng_.seed(seed_);
  }
  RunReport make() {
    fakes::ReportSpec spec;
    spec.sizes = {64 + static_cast<std::int64_t>(rng_() % 64), 256, 2048};
    spec.with_failure = true;
    spec.runs = 2 + static_cast<int>(rng_() % 10);
    RunReport r = fakes::random_report(rng_, spec);
    // One row with a single repetition: Google Benchmark writes no aggregates for it.
    for (VariantResult& v : r.results)
      if (v.ok()) {
        v.stats.run_times_s.resize(1);
        v.stats.run_cpu_times_s.resize(1);
        v.stats.runs = 1;
        v.stats.median_s = v.stats.mean_s = v.stats.run_times_s[0];
        v.stats.stddev_s = v.stats.cv = 0;
        break;
      }
    return r;
  }
  static std::map<std::string, std::vector<const Json*>> entries_by_row(const Json& j) {
    std::map<std::string, std::vector<const Json*>> rows;
    for (const Json& e : j.at("benchmarks")) rows[e.at("run_name").get<std::string>()].push_back(&e);
    return rows;
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

TEST_F(JsonConventionsTest, RowDataIsWrittenOncePerRowOnItsMedianWithTheSamples) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = make();
  const Json j = Json::parse(render_json(report));
  const auto rows = entries_by_row(j);
  for (const VariantResult& r : report.results) {
    SCOPED_TRACE(r.name());
    const std::vector<const Json*>& entries = rows.at(r.name());
    std::vector<const Json*> carriers;
    for (const Json* e : entries)
      if (e->contains("mlbench")) carriers.push_back(e);
    ASSERT_EQ(carriers.size(), 1u);
    const Json& fields = carriers[0]->at("mlbench");
    if (r.ok() && r.stats.runs >= 2) {
      EXPECT_EQ(carriers[0]->at("name"), r.name() + "_median");
    }
    // The repetition times live in one place, exact seconds; Google Benchmark's entries agree.
    std::vector<double> samples;
    for (const Json& t : fields.at("samples").at("real_time_s")) samples.push_back(t.get<double>());
    EXPECT_EQ(samples, r.stats.run_times_s);
    EXPECT_FALSE(fields.contains("repetition"));
    for (const Json* e : entries) {
      if (e->at("run_type") != "iteration" || e->contains("error_occurred")) continue;
      const std::map<std::string, double> per_second = {{"s", 1}, {"ms", 1e3}, {"us", 1e6}, {"ns", 1e9}};
      const double expected = samples.at(e->at("repetition_index").get<std::size_t>()) *
                              per_second.at(e->at("time_unit").get<std::string>());
      EXPECT_NEAR(e->at("real_time").get<double>(), expected, 1e-12 * expected);
    }
    EXPECT_EQ(entries.front()->at("threads"), r.threads);
  }
  const RunReport back = parse_report(j.dump(), "memory.json");
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < back.results.size(); ++i) {
    EXPECT_EQ(back.results[i].stats.run_times_s, report.results[i].stats.run_times_s);
    EXPECT_EQ(back.results[i].stats.run_cpu_times_s, report.results[i].stats.run_cpu_times_s);
  }
  EXPECT_EQ(back.run.schema_version, kJsonSchemaVersion);
}

TEST_F(JsonConventionsTest, ARepetitionThatDisagreesWithTheSamplesIsRefused) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  Json j = Json::parse(render_json(make()));
  std::vector<std::size_t> repetitions;
  for (std::size_t i = 0; i < j["benchmarks"].size(); ++i)
    if (j["benchmarks"][i]["run_type"] == "iteration" && !j["benchmarks"][i].contains("mlbench"))
      repetitions.push_back(i);
  ASSERT_FALSE(repetitions.empty());
  const std::size_t k = repetitions[rng_() % repetitions.size()];
  j["benchmarks"][k]["real_time"] = j["benchmarks"][k]["real_time"].get<double>() * 1.01;
  try {
    parse_report(j.dump(), "edited.json");
    ADD_FAILURE() << "accepted a repetition that disagrees with its row's samples";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("benchmarks[" + std::to_string(k) + "]"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("disagrees"), std::string::npos) << e.what();
  }
}

TEST_F(JsonConventionsTest, AggregatesOnlyLeavesTheRepetitionsOutAndLosesNothing) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = make();
  JsonOptions options;
  options.aggregates_only = true;
  const Json all = Json::parse(render_json(report, options));
  const auto rows = entries_by_row(all);
  for (const VariantResult& r : report.results) {
    SCOPED_TRACE(r.name());
    const auto& entries = rows.at(r.name());
    if (r.ok() && r.stats.runs >= 2) {
      ASSERT_EQ(entries.size(), 4u);
      for (const Json* e : entries) EXPECT_EQ(e->at("run_type"), "aggregate");
    } else {
      ASSERT_EQ(entries.size(), 1u);  // no aggregates: the one entry stays, as in Google Benchmark
    }
  }
  const RunReport back = parse_report(all.dump(), "aggregates.json");
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < back.results.size(); ++i) {
    EXPECT_EQ(back.results[i].stats.run_times_s, report.results[i].stats.run_times_s);
    EXPECT_EQ(back.results[i].stats.median_s, report.results[i].stats.median_s);
  }
  // Only the median: one entry per row, a time.
  options.aggregates = {"median"};
  const Json medians = Json::parse(render_json(report, options));
  std::set<std::string> names;
  for (const Json& e : medians.at("benchmarks")) {
    names.insert(e.at("run_name").get<std::string>());
    if (e.contains("error_occurred")) continue;
    EXPECT_TRUE(e.at("run_type") == "iteration" || e.at("aggregate_name") == "median") << e.dump();
    EXPECT_GT(e.at("real_time").get<double>(), 0);
  }
  EXPECT_EQ(medians.at("benchmarks").size(), report.results.size());
  EXPECT_EQ(names.size(), report.results.size());
  EXPECT_EQ(parse_report(medians.dump(), "medians.json").results.size(), report.results.size());
}

TEST_F(JsonConventionsTest, AFailedRowIsAnErroredRunWithoutATime) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = make();
  const Json j = Json::parse(render_json(report));
  std::size_t errored = 0;
  for (const VariantResult& r : report.results) {
    if (r.ok()) continue;
    for (const Json& e : j.at("benchmarks")) {
      if (e.at("run_name") != r.name()) continue;
      ++errored;
      EXPECT_EQ(e.at("error_occurred"), true);
      EXPECT_FALSE(e.at("error_message").get<std::string>().empty());
      EXPECT_FALSE(e.contains("real_time")) << e.dump();
      EXPECT_FALSE(e.contains("cpu_time")) << e.dump();
    }
  }
  EXPECT_GT(errored, 0u);
}

TEST_F(JsonConventionsTest, TimeUnitIsPerBenchmarkOrTheOneAskedFor) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport report = make();
  std::set<std::string> units;
  const Json per_benchmark = Json::parse(render_json(report));
  for (const Json& e : per_benchmark.at("benchmarks"))
    if (e.contains("time_unit")) units.insert(e["time_unit"].get<std::string>());
  EXPECT_GT(units.size(), 1u);  // sizes 64..2048 from GPU to serial span several units
  const std::vector<std::string> all = {"ns", "us", "ms", "s"};
  JsonOptions options;
  options.time_unit = all[rng_() % all.size()];
  const Json fixed = Json::parse(render_json(report, options));
  for (const Json& e : fixed.at("benchmarks")) {
    if (e.contains("time_unit")) {
      EXPECT_EQ(e["time_unit"], options.time_unit);
    }
  }
  options.time_unit = "minutes";
  EXPECT_THROW(render_json(report, options), InputError);
}

// Every report committed to the repository.
std::vector<fs::path> committed_reports() {
  const fs::path root = MLBENCH_SOURCE_DIR;
  std::vector<fs::path> out = {root / ".ci" / "baseline-quick.json"};
  for (const auto& e : fs::recursive_directory_iterator(root / "docs" / "results"))
    if (e.path().extension() == ".json" && test_support::slurp(e.path()).find("\"benchmarks\"") != std::string::npos)
      out.push_back(e.path());
  for (const auto& e : fs::directory_iterator(root / "tests" / "fuzz" / "corpus" / "report"))
    if (e.path().filename().string().rfind("broken_", 0) != 0) out.push_back(e.path());
  return out;
}

TEST(CommittedReports, StillReadAndRoundTripThroughTheCurrentSchema) {
  const std::vector<fs::path> reports = committed_reports();
  ASSERT_GT(reports.size(), 10u);
  int fleets = 0;
  for (const fs::path& p : reports) {
    SCOPED_TRACE(p.string());
    // A fleet report (mlbench fleet) embeds every rank's report: each of those must read back.
    ReportOrFleet saved = read_report_or_fleet(p.string());
    std::vector<RunReport> ranks;
    if (saved.fleet) {
      ++fleets;
      for (const auto& member : saved.fleet->members)
        ranks.push_back(fleet_rank_report(*saved.fleet, member.rank, p.string()));
    } else {
      ranks.push_back(std::move(saved.report));
    }
    for (const RunReport& old : ranks) {
      ASSERT_FALSE(old.results.empty());
      const RunReport now = parse_report(render_json(old), "rewritten.json");
      ASSERT_EQ(now.results.size(), old.results.size());
      for (std::size_t i = 0; i < old.results.size(); ++i) {
        EXPECT_EQ(now.results[i].name(), old.results[i].name());
        EXPECT_EQ(now.results[i].threads, old.results[i].threads);
        EXPECT_EQ(now.results[i].stats.run_times_s, old.results[i].stats.run_times_s);
        EXPECT_EQ(now.results[i].stats.median_s, old.results[i].stats.median_s);
        EXPECT_EQ(now.results[i].status, old.results[i].status);
      }
    }
  }
  EXPECT_GT(fleets, 0);  // docs/results holds fleet reports (h200-2026-12-02/mpi*-fleet.json)
}

TEST(CommittedReports, OneAndSixteenThreadRunsAreNotGatedAgainstEachOther) {
  const fs::path results = fs::path(MLBENCH_SOURCE_DIR) / "docs" / "results";
  const RunReport one = read_report((results / "h100-gemm-4096-threads1-2026-11-24.json").string());
  const RunReport sixteen = read_report((results / "h100-gemm-4096-threads16-2026-11-24.json").string());
  for (const VariantResult& r : one.results) EXPECT_EQ(r.threads, 1) << r.name();
  for (const VariantResult& r : sixteen.results) EXPECT_EQ(r.threads, 16) << r.name();
  // Same backends, other thread counts: other benchmarks, and no gate between them.
  EXPECT_THROW(compare({{"threads1.json", one}, {"threads16.json", sixteen}}), InputError);  // nothing in common
  const Comparison scaling = compare({{"threads1.json", one}, {"threads16.json", sixteen}}, {0.05, true});
  EXPECT_EQ(scaling.matched.size(), one.results.size());
  EXPECT_NE(gate_refusal(scaling).find("threads 1 vs 16"), std::string::npos) << gate_refusal(scaling);
}

}  // namespace
}  // namespace mlbench::reports
