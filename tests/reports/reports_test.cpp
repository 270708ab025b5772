// reports/: JSON (Google Benchmark format + mlbench fields) round trip and reader errors,
// markdown and console tables, CSV, atomic file writing.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/atomic_file.h"
#include "reports/fleet.h"
#include "reports/report_writer.h"
#include "reports/testing/random_report.h"
#include "reports/text_format.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

using ::mlbench::test_support::csv_fields;

namespace fs = std::filesystem;
using Json = nlohmann::json;

class ReportsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = ::mlbench::test_support::fresh_seed();
    rng_.seed(seed_);
    dir_ = fs::temp_directory_path() /
           ("mlbench_reports_test_" + std::to_string(seed_) + "_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  RunReport make(fakes::ReportSpec spec = {}) { return fakes::random_report(rng_, spec); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<std::string> files_in_dir() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    return names;
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  fs::path dir_;
};

fakes::ReportSpec sweep_with_failures() {
  fakes::ReportSpec spec;
  spec.sizes = {128, 256, 512};
  spec.with_failure = true;
  return spec;
}

TEST_F(ReportsTest, JsonRoundTripKeepsEveryRenderedField) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport original = make(sweep_with_failures());
  RunReport back = parse_report(render_json(original), "memory.json");

  ASSERT_EQ(back.results.size(), original.results.size());
  for (std::size_t i = 0; i < original.results.size(); ++i) {
    const VariantResult& a = original.results[i];
    const VariantResult& b = back.results[i];
    SCOPED_TRACE(a.name());
    EXPECT_EQ(b.name(), a.name());
    EXPECT_EQ(b.backend_kind, a.backend_kind);
    EXPECT_EQ(b.status, a.status);
    EXPECT_EQ(b.shape, a.shape);
    EXPECT_EQ(b.seed, a.seed);
    EXPECT_EQ(b.threads, a.threads);
    EXPECT_EQ(b.stats.runs, a.stats.runs);
    EXPECT_EQ(b.stats.run_times_s, a.stats.run_times_s);
    EXPECT_EQ(b.stats.run_cpu_times_s, a.stats.run_cpu_times_s);
    EXPECT_EQ(b.stats.median_s, a.stats.median_s);
    EXPECT_EQ(b.stats.cv, a.stats.cv);
    EXPECT_EQ(b.gflops, a.gflops);
    EXPECT_EQ(b.speedup_vs_serial, a.speedup_vs_serial);
    EXPECT_EQ(b.speedup_vs_best_cpu, a.speedup_vs_best_cpu);
    EXPECT_EQ(b.fraction_of_vendor, a.fraction_of_vendor);
    EXPECT_EQ(b.vendor_backend, a.vendor_backend);
    EXPECT_EQ(b.verification.max_error, a.verification.max_error);
    EXPECT_EQ(b.verification.tolerance, a.verification.tolerance);
    EXPECT_EQ(b.verification.detail, a.verification.detail);
    EXPECT_EQ(b.error_message, a.error_message);
    EXPECT_EQ(b.notes, a.notes);
  }
  EXPECT_EQ(back.run.seed, original.run.seed);
  EXPECT_EQ(back.run.command_line, original.run.command_line);
  EXPECT_EQ(back.machine.hostname, original.machine.hostname);
  ASSERT_TRUE(back.machine.gpu.has_value());
  EXPECT_EQ(back.machine.gpu->name, original.machine.gpu->name);
  EXPECT_EQ(render_markdown(back), render_markdown(original));
  EXPECT_EQ(render_csv(back), render_csv(original));
  EXPECT_EQ(render_json(back), render_json(original));
}

// The JSON does not hold the spread of the repetitions (the charts' whiskers): reading derives
// it again, to what the run's analysis had.
TEST_F(ReportsTest, ReadingAReportBackDerivesTheSpreadOfItsRepetitions) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const RunReport original = make(sweep_with_failures());
  const RunReport back = parse_report(render_json(original), "memory.json");
  ASSERT_EQ(back.results.size(), original.results.size());
  std::size_t with_spread = 0;
  for (std::size_t i = 0; i < original.results.size(); ++i) {
    const VariantResult& a = original.results[i];
    const VariantResult& b = back.results[i];
    SCOPED_TRACE(a.name());
    EXPECT_EQ(b.run_gflops_min, a.run_gflops_min);
    EXPECT_EQ(b.run_gflops_max, a.run_gflops_max);
    EXPECT_EQ(b.run_speedup_vs_best_cpu_min, a.run_speedup_vs_best_cpu_min);
    EXPECT_EQ(b.run_speedup_vs_best_cpu_max, a.run_speedup_vs_best_cpu_max);
    if (b.run_gflops_min > 0 && b.run_speedup_vs_best_cpu_min > 0) ++with_spread;
  }
  EXPECT_GT(with_spread, 0u) << "the random report has no row with a spread to read back";
}

TEST_F(ReportsTest, JsonRoundTripKeepsNonFiniteErrorsAndAbsentGpu) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec spec;
  spec.with_gpu = false;
  spec.with_failure = true;
  RunReport original = make(spec);
  for (VariantResult& r : original.results)
    if (r.status == ResultStatus::failed_verification) r.verification.max_error = INFINITY;
  RunReport back = parse_report(render_json(original), "memory.json");
  EXPECT_FALSE(back.machine.gpu.has_value());
  EXPECT_EQ(back.machine.gpu_absent_reason, original.machine.gpu_absent_reason);
  EXPECT_EQ(back.run.absent_backends, original.run.absent_backends);
  int infinite = 0;
  for (const VariantResult& r : back.results) infinite += std::isinf(r.verification.max_error);
  EXPECT_EQ(infinite, 1);
  EXPECT_EQ(render_markdown(back), render_markdown(original));
}

// A report of an MPI job holds every rank's own context (mpi/): it survives the JSON round trip,
// the markdown shows one row per rank, and a report written before it existed reads as none.
TEST_F(ReportsTest, EveryMpiRanksContextSurvivesTheJsonAndShowsInMarkdown) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport original = make();
  original.machine.cpus = {0, 1, 2, 3};
  std::uniform_int_distribution<int> first_cpu(0, 60), load(0, 400);
  for (int rank = 0; rank < 3; ++rank) {
    RankContext r;
    r.rank = rank;
    r.hostname = "node-" + std::to_string(first_cpu(rng_)) + "-" + std::to_string(rank);
    r.cpu_model = "CPU model " + std::to_string(rank);
    r.logical_cpus = 64;
    r.physical_cores = 32;
    const int first = first_cpu(rng_);
    r.cpus = {first, first + 1, first + 2, first + 5};
    r.threads = 3 + rank;
    r.omp_num_places = 4;
    r.thread_pinning = "pinned by mlbench (--pin cores): ...; MPI rank " + std::to_string(rank) + ": CPUs ...";
    r.load_average = {load(rng_) / 100.0, 1.5, 0.25};
    r.openblas_core = "Haswell";
    r.gpu = "none (no CUDA)";
    r.mpi_library = "Open MPI v4.1.4";
    original.machine.mpi_ranks.push_back(r);
  }
  const RunReport back = parse_report(render_json(original), "memory.json");
  EXPECT_EQ(back.machine.cpus, original.machine.cpus);
  ASSERT_EQ(back.machine.mpi_ranks.size(), 3u);
  for (int rank = 0; rank < 3; ++rank) {
    const RankContext& a = original.machine.mpi_ranks[rank];
    const RankContext& b = back.machine.mpi_ranks[rank];
    EXPECT_EQ(b.rank, a.rank);
    EXPECT_EQ(b.hostname, a.hostname);
    EXPECT_EQ(b.cpu_model, a.cpu_model);
    EXPECT_EQ(b.logical_cpus, a.logical_cpus);
    EXPECT_EQ(b.physical_cores, a.physical_cores);
    EXPECT_EQ(b.cpus, a.cpus);
    EXPECT_EQ(b.threads, a.threads);
    EXPECT_EQ(b.omp_num_places, a.omp_num_places);
    EXPECT_EQ(b.thread_pinning, a.thread_pinning);
    EXPECT_EQ(b.load_average, a.load_average);
    EXPECT_EQ(b.openblas_core, a.openblas_core);
    EXPECT_EQ(b.gpu, a.gpu);
    EXPECT_EQ(b.mpi_library, a.mpi_library);
  }
  EXPECT_EQ(render_json(back), render_json(original));
  const std::string md = render_markdown(back);
  const auto section = md.find("## MPI ranks");
  ASSERT_NE(section, std::string::npos) << md;
  for (const RankContext& r : original.machine.mpi_ranks) {
    const std::string cpus = fmt::format("{}-{},{}", r.cpus[0], r.cpus[2], r.cpus[3]);
    const std::string row = fmt::format("| {} | {} | {} |", r.rank, r.hostname, r.cpu_model);
    const auto at = md.find(row, section);
    ASSERT_NE(at, std::string::npos) << row << "\n" << md;
    const std::string line = md.substr(at, md.find('\n', at) - at);
    EXPECT_NE(line.find("| " + cpus + " | " + std::to_string(r.threads) + " |"), std::string::npos) << line;
    EXPECT_NE(line.find(fmt::format("{:.2f}", r.load_average[0])), std::string::npos) << line;
  }
  EXPECT_NE(render_machine_context(back.machine).find("mpi rank 2:"), std::string::npos);
  // Without them (a report written before): no ranks, no section.
  auto json = nlohmann::json::parse(render_json(original));
  for (auto& entry : json["context"].items())
    if (entry.key() == "mlbench") {
      entry.value().erase("mpi_ranks");
      entry.value().erase("cpus");
    }
  const RunReport old = parse_report(json.dump(), "old.json");
  EXPECT_TRUE(old.machine.mpi_ranks.empty());
  EXPECT_TRUE(old.machine.cpus.empty());
  EXPECT_EQ(render_markdown(old).find("## MPI ranks"), std::string::npos);
}

// `report` and `compare` read a saved file as an ordinary report or a fleet report
// (mlbench fleet --json); a fleet's rank is its own report, a missing rank is named.
TEST_F(ReportsTest, ASavedFleetReadsAsItsRanksReports) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  std::vector<FleetMember> members;
  for (int rank = 0; rank < 3; ++rank) {
    fakes::ReportSpec spec;
    spec.host = "node-" + std::to_string(rank / 2);  // ranks 0 and 1 share a host
    spec.with_gpu = false;
    spec.runs = 6;
    members.push_back({rank, make(spec)});
  }
  const FleetReport fleet = analyze_fleet(members);
  write_file_atomically(path("fleet.json"), render_fleet_json(fleet));
  write_file_atomically(path("plain.json"), render_json(members[1].report));

  const ReportOrFleet plain = read_report_or_fleet(path("plain.json"));
  EXPECT_FALSE(plain.fleet.has_value());
  EXPECT_EQ(render_json(plain.report), render_json(members[1].report));

  const ReportOrFleet read = read_report_or_fleet(path("fleet.json"));
  ASSERT_TRUE(read.fleet.has_value());
  ASSERT_EQ(read.fleet->members.size(), 3u);
  for (int rank = 0; rank < 3; ++rank) {
    const RunReport back = fleet_rank_report(*read.fleet, rank, "fleet.json");
    EXPECT_EQ(back.machine.hostname, members[rank].report.machine.hostname);
    EXPECT_EQ(back.run.seed, members[rank].report.run.seed);
    EXPECT_EQ(render_csv(back), render_csv(members[rank].report));
  }
  try {
    fleet_rank_report(*read.fleet, 3, "fleet.json");
    ADD_FAILURE() << "rank 3 of 3 ranks was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("fleet.json: the fleet report has no rank 3 (its ranks: 0 to 2)"),
              std::string::npos)
        << e.what();
  }
  write_file_atomically(path("broken.json"), "{\"mlbench_fleet\": 1, \"ranks\": [{\"rank\": 0}]}");
  EXPECT_THROW(read_report_or_fleet(path("broken.json")), InputError);
  EXPECT_THROW(read_report_or_fleet(dir_.string()), InputError);
}

TEST_F(ReportsTest, JsonHasTheGoogleBenchmarkFieldsWithTheirTypes) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = make(sweep_with_failures());
  Json j = Json::parse(render_json(report));

  ASSERT_TRUE(j.at("context").is_object());
  const Json& ctx = j["context"];
  EXPECT_TRUE(ctx.at("date").is_string());
  EXPECT_EQ(ctx.at("host_name"), report.machine.hostname);
  EXPECT_TRUE(ctx.at("executable").is_string());
  EXPECT_TRUE(ctx.at("num_cpus").is_number_integer());
  EXPECT_TRUE(ctx.at("mhz_per_cpu").is_number());
  EXPECT_TRUE(ctx.at("cpu_scaling_enabled").is_boolean());
  ASSERT_TRUE(ctx.at("caches").is_array());
  for (const Json& c : ctx["caches"]) {
    EXPECT_TRUE(c.at("type").is_string());
    EXPECT_TRUE(c.at("level").is_number_integer());
    EXPECT_TRUE(c.at("size").is_number_integer());
    EXPECT_TRUE(c.at("num_sharing").is_number_integer());
  }
  EXPECT_TRUE(ctx.at("load_avg").is_array());
  EXPECT_TRUE(ctx.at("library_build_type").is_string());
  EXPECT_EQ(j.at("mlbench").at("schema_version"), kJsonSchemaVersion);

  ASSERT_TRUE(j.at("benchmarks").is_array());
  std::map<std::string, int> iterations_per_run, errors_per_run, fields_per_run;
  std::map<std::string, std::set<std::string>> aggregates_per_run;
  for (const Json& b : j["benchmarks"]) {
    SCOPED_TRACE(b.dump());
    ASSERT_TRUE(b.at("name").is_string());
    ASSERT_TRUE(b.at("run_name").is_string());
    EXPECT_TRUE(b.at("family_index").is_number_integer());
    EXPECT_TRUE(b.at("per_family_instance_index").is_number_integer());
    EXPECT_TRUE(b.at("repetitions").is_number_integer());
    EXPECT_TRUE(b.at("threads").is_number_integer());
    EXPECT_TRUE(b.at("iterations").is_number_integer());
    const std::string run_name = b["run_name"];
    if (b.contains("mlbench")) {  // mlbench's fields ride on one entry per row
      EXPECT_TRUE(b["mlbench"].at("workload").is_string());
      EXPECT_TRUE(b["mlbench"].at("verification").at("passed").is_boolean());
      ++fields_per_run[run_name];
    }
    if (b.contains("error_occurred")) {
      EXPECT_EQ(b["error_occurred"], true);
      EXPECT_TRUE(b.at("error_message").is_string());
      EXPECT_FALSE(b.contains("real_time"));  // an errored run has no time, never 0
      EXPECT_EQ(b.at("iterations"), 0);
      ++errors_per_run[run_name];
      continue;
    }
    EXPECT_TRUE(b.at("real_time").is_number());
    EXPECT_TRUE(b.at("cpu_time").is_number());
    const std::set<std::string> units = {"ns", "us", "ms", "s"};
    EXPECT_EQ(units.count(b.at("time_unit").get<std::string>()), 1u);
    if (b.at("run_type") == "iteration") {
      EXPECT_EQ(b["name"], run_name);
      EXPECT_TRUE(b.at("repetition_index").is_number_integer());
      ++iterations_per_run[run_name];
    } else {
      ASSERT_EQ(b.at("run_type"), "aggregate");
      const std::string aggregate = b.at("aggregate_name");
      EXPECT_EQ(b["name"], run_name + "_" + aggregate);
      EXPECT_EQ(b.at("aggregate_unit"), aggregate == "cv" ? "percentage" : "time");
      aggregates_per_run[run_name].insert(aggregate);
    }
  }
  for (const VariantResult& r : report.results) {
    SCOPED_TRACE(r.name());
    EXPECT_EQ(fields_per_run[r.name()], 1);
    if (r.ok()) {
      EXPECT_EQ(iterations_per_run[r.name()], r.stats.runs);
      EXPECT_EQ(aggregates_per_run[r.name()], (std::set<std::string>{"mean", "median", "stddev", "cv"}));
    } else {
      EXPECT_EQ(errors_per_run[r.name()], 1);
    }
  }
}

TEST_F(ReportsTest, MedianAggregateIsTheResultMedianInItsTimeUnit) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = make(sweep_with_failures());
  Json j = Json::parse(render_json(report));
  int checked = 0;
  for (const VariantResult& r : report.results) {
    if (!r.ok()) continue;
    for (const Json& b : j["benchmarks"])
      if (b["name"] == r.name() + "_median") {
        const std::map<std::string, double> per_second = {{"s", 1}, {"ms", 1e3}, {"us", 1e6}, {"ns", 1e9}};
        const double scale = per_second.at(b["time_unit"].get<std::string>());
        EXPECT_GE(b["real_time"].get<double>(), 10);  // the unit in which it reads at least 10
        EXPECT_LT(b["real_time"].get<double>(), b["time_unit"] == "s" ? INFINITY : 10000);
        EXPECT_NEAR(b["real_time"].get<double>(), r.stats.median_s * scale, 1e-9 * r.stats.median_s * scale);
        ++checked;
      }
  }
  EXPECT_GT(checked, 0);
}

void expect_input_error(const std::function<void()>& f, const std::vector<std::string>& words) {
  try {
    f();
    ADD_FAILURE() << "no InputError";
  } catch (const InputError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const std::string& w : words) EXPECT_NE(what.find(w), std::string::npos) << what << " lacks " << w;
  }
}

TEST_F(ReportsTest, ReaderRejectsWhatIsNotAnMlbenchReport) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string missing = path("missing.json");
  expect_input_error([&] { read_report(missing); }, {missing, "cannot read"});
  expect_input_error([&] { read_report(dir_.string()); }, {dir_.string(), "cannot read"});
  expect_input_error([&] { parse_report("{\"context\": [1, 2", "broken.json"); }, {"broken.json", "not JSON"});
  std::string gbench_json = R"({"context": {"date": "x"}, "benchmarks": [{"name": "BM_x", "real_time": )" +
                            std::to_string(rng_() % 1000) + "}]}";
  expect_input_error([&] { parse_report(gbench_json, "gbench.json"); }, {"gbench.json", "not an mlbench report"});
  expect_input_error([&] { parse_report("[1, 2, 3]", "array.json"); }, {"array.json", "not an mlbench report"});

  Json j = to_json(make());
  int unknown_version = kJsonSchemaVersion + 1 + static_cast<int>(rng_() % 100);
  j["mlbench"]["schema_version"] = unknown_version;
  expect_input_error([&] { parse_report(j.dump(), "future.json"); },
                     {"future.json", "unknown schema version " + std::to_string(unknown_version)});

  Json empty = to_json(make());
  empty["benchmarks"] = Json::array();
  expect_input_error([&] { parse_report(empty.dump(), "empty.json"); }, {"empty.json", "empty report"});

  Json malformed = to_json(make());
  std::size_t carrier = 0;
  while (!malformed["benchmarks"][carrier].contains("mlbench")) ++carrier;
  malformed["benchmarks"][carrier]["mlbench"].erase("backend");
  expect_input_error([&] { parse_report(malformed.dump(), "malformed.json"); },
                     {"malformed.json", "benchmarks[" + std::to_string(carrier) + "]", "backend"});
}

// Splits a markdown table row into cells, honouring "\|" escapes.
std::vector<std::string> cells_of(const std::string& row) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (row[i] == '|') {
      cells.push_back(cell);
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  return cells;
}

TEST_F(ReportsTest, MarkdownHasOneTablePerShapeWithOneRowPerResult) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = make(sweep_with_failures());
  report.results.front().error_message = "a | pipe";  // must not add a column
  const std::string md = render_markdown(report);
  std::istringstream lines(md);
  std::string line;
  std::vector<std::vector<std::string>> tables;
  std::vector<std::string>* current = nullptr;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] == '|') {
      if (!current) current = &tables.emplace_back();
      current->push_back(line);
    } else {
      current = nullptr;
    }
  }
  const auto groups = group_by_shape(report.results);
  ASSERT_EQ(tables.size(), groups.size());
  const std::size_t columns = markdown_columns().size();
  for (std::size_t t = 0; t < tables.size(); ++t) {
    ASSERT_EQ(tables[t].size(), 2 + groups[t].results.size());
    EXPECT_EQ(cells_of(tables[t][0]).size(), columns);
    EXPECT_NE(tables[t][1].find("---"), std::string::npos);
    for (const std::string& row : tables[t]) EXPECT_EQ(cells_of(row).size(), columns) << row;
    EXPECT_NE(md.find("## " + groups[t].title()), std::string::npos);
  }
  EXPECT_NE(md.find("**FAILED**"), std::string::npos);
  EXPECT_NE(md.find(report.machine.cpu_model), std::string::npos);
  EXPECT_NE(md.find(report.machine.gpu->name), std::string::npos);
  EXPECT_NE(md.find(std::to_string(report.run.seed)), std::string::npos);
  EXPECT_NE(md.find("Break-even"), std::string::npos);
}

TEST_F(ReportsTest, MarkdownSaysWhyTheGpuIsAbsentAndShowsWarnings) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec spec;
  spec.with_gpu = false;
  RunReport report = make(spec);
  const std::string md = render_markdown(report);
  EXPECT_NE(md.find("none (" + report.machine.gpu_absent_reason + ")"), std::string::npos);
  EXPECT_NE(md.find(report.machine.warnings.front()), std::string::npos);
  EXPECT_NE(md.find(report.machine.openblas_core), std::string::npos);
}

TEST_F(ReportsTest, ConsoleTableHasOneLinePerResultAndAlignedColumns) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = make(sweep_with_failures());
  const std::string table = render_console_table(report);
  std::size_t result_lines = 0;
  for (const VariantResult& r : report.results) {
    std::istringstream lines(table);
    std::string line;
    while (std::getline(lines, line))
      if (line.rfind(r.backend + " ", 0) == 0 && line.find(timing_label(r.timing)) != std::string::npos &&
          (r.ok() ? line.find(format_duration(r.stats.median_s, true)) : line.find("FAILED")) != std::string::npos)
        ++result_lines;
  }
  EXPECT_GE(result_lines, report.results.size());
  std::istringstream lines(table);
  std::string line;
  std::size_t header_pos = std::string::npos;
  while (std::getline(lines, line)) {
    if (line.rfind("backend", 0) == 0) {
      header_pos = line.find("median");
    } else if (header_pos != std::string::npos && line.rfind("serial ", 0) == 0) {
      // Numbers are right-aligned under their header: the last character lines up.
      EXPECT_NE(line[header_pos + 5], ' ') << "median column misaligned: " << line;
    }
  }
}

TEST_F(ReportsTest, CsvHasTheHeaderAndOneRowPerResult) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = make(sweep_with_failures());
  report.results.back().error_message = "failed, \"badly\"";
  const std::string csv = render_csv(report);
  std::istringstream lines(csv);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), report.results.size() + 1);
  EXPECT_EQ(csv_fields(rows[0]), csv_columns());
  for (std::size_t i = 1; i < rows.size(); ++i) {
    auto fields = csv_fields(rows[i]);
    ASSERT_EQ(fields.size(), csv_columns().size()) << rows[i];
    EXPECT_EQ(fields[7], report.results[i - 1].backend);
    EXPECT_EQ(std::stod(fields[12]), report.results[i - 1].stats.median_s);  // lossless
  }
  const auto error_column =
      std::find(csv_columns().begin(), csv_columns().end(), "error_message") - csv_columns().begin();
  EXPECT_EQ(csv_fields(rows.back()).at(static_cast<std::size_t>(error_column)), "failed, \"badly\"");
}

TEST_F(ReportsTest, AtomicWriteReplacesTheFileAndLeavesNoTemporary) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string target = path("out.md");
  write_file_atomically(target, "old " + std::to_string(rng_()));
  const std::string content = "new " + std::to_string(rng_());
  write_file_atomically(target, content);
  EXPECT_EQ(slurp(target), content);
  EXPECT_EQ(files_in_dir(), std::vector<std::string>{"out.md"});
}

TEST_F(ReportsTest, AtomicWriteFailureLeavesNothingAndKeepsWhatWasThere) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  const std::string content = std::to_string(rng_());
  // Missing directory.
  expect_input_error([&] { write_file_atomically(path("no/such/dir/out.json"), content); },
                     {"cannot write", "no/such/dir"});
  // The path is a directory: it stays a directory.
  fs::create_directory(path("taken"));
  expect_input_error([&] { write_file_atomically(path("taken"), content); }, {"cannot write", "is a directory"});
  EXPECT_TRUE(fs::is_directory(path("taken")));
  // A parent that is a file: the file is untouched.
  const std::string existing = "existing " + std::to_string(rng_());
  write_file_atomically(path("plain"), existing);
  expect_input_error([&] { write_file_atomically(path("plain") + "/out.json", content); }, {"cannot write"});
  EXPECT_EQ(slurp(path("plain")), existing);
  std::vector<std::string> names = files_in_dir();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"plain", "taken"}));
  EXPECT_TRUE(fs::is_empty(path("taken")));
}

TEST_F(ReportsTest, AtomicWriteIntoAnUnwritableDirectoryKeepsTheExistingFile) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  // /proc refuses new files even to root; its existing files stay as they are.
  const std::string target = "/proc/version";
  if (!fs::exists(target)) GTEST_SKIP() << "no /proc";
  const std::string before = slurp(target);
  expect_input_error([&] { write_file_atomically(target, std::to_string(rng_())); }, {"cannot write /proc/version"});
  EXPECT_EQ(slurp(target), before);
  expect_input_error([&] { check_writable_file("/proc/mlbench_out.json"); }, {"cannot write"});
  if (::geteuid() != 0) {  // permission bits do not stop root
    fs::create_directory(path("readonly"));
    write_file_atomically(path("readonly/out.json"), before);
    fs::permissions(path("readonly"), fs::perms::owner_read | fs::perms::owner_exec);
    expect_input_error([&] { write_file_atomically(path("readonly/out.json"), "changed"); }, {"cannot write"});
    expect_input_error([&] { check_writable_file(path("readonly/x.json")); }, {"cannot write"});
    EXPECT_EQ(slurp(path("readonly/out.json")), before);
  }
}

TEST_F(ReportsTest, CheckWritableFileAcceptsAWritableDirectoryOnly) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  EXPECT_NO_THROW(check_writable_file(path("fresh.json")));
  EXPECT_FALSE(fs::exists(path("fresh.json")));  // checking writes nothing
  expect_input_error([&] { check_writable_file(path("nope/fresh.json")); }, {"does not exist"});
  expect_input_error([&] { check_writable_file(dir_.string()); }, {"is a directory"});
}

TEST_F(ReportsTest, WriteReportsWritesEveryRequestedOutput) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  RunReport report = make(sweep_with_failures());
  OutputPaths paths{
      {{"json", path("r.json")}, {"markdown", path("r.md")}, {"csv", path("r.csv")}, {"chart", path("charts")}}, {}};
  check_output_paths(paths);
  write_reports(report, paths);
  EXPECT_EQ(read_report(path("r.json")).results.size(), report.results.size());
  EXPECT_EQ(slurp(path("r.md")), render_markdown(report));
  EXPECT_EQ(slurp(path("r.csv")), render_csv(report));
  std::size_t svgs = 0;
  for (const auto& e : fs::directory_iterator(path("charts"))) svgs += e.path().extension() == ".svg";
  EXPECT_EQ(svgs, group_by_shape(report.results).size() + 1);  // speedup per shape + one scaling chart
}

TEST_F(ReportsTest, MergeJoinsRunsOfOneMachineAndKeepsMachinesApart) {
  SCOPED_TRACE("seed=" + std::to_string(seed_));
  fakes::ReportSpec small, large, other;
  small.sizes = {128};
  large.sizes = {1024};
  other.host = "other-host";
  RunReport a = make(small), b = make(large), c = make(other);
  b.machine = a.machine;
  std::vector<RunReport> merged = merge_by_machine({a, c, b});
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].results.size(), a.results.size() + b.results.size());
  EXPECT_EQ(merged[1].machine.hostname, "other-host");
  // The same rows again replace, not duplicate.
  EXPECT_EQ(merge_by_machine({a, a}).front().results.size(), a.results.size());
  expect_input_error([&] { write_reports(merged, OutputPaths{{{"json", path("both.json")}}, {}}); }, {"2 machines"});
}

}  // namespace
}  // namespace mlbench::reports
