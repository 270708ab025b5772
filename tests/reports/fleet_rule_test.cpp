// The fleet report's outlier rule (reports/fleet.h) on fabricated ranks: which times it
// compares, and that it flags a rank slower beyond noise and no rank of an A/A fleet.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>

#include "reports/fleet.h"
#include "reports/testing/random_report.h"
#include "tests/test_support.h"

namespace {

using mlbench::reports::FleetFlag;
using mlbench::reports::FleetMember;
using mlbench::test_support::fresh_seed;
using mlbench::test_support::slurp;
namespace fakes = mlbench::reports::fakes;

constexpr int kRanks = 3, kRuns = 12;

// One rank's report: serial (one thread) and openmp (threaded) GEMM rows at three sizes. Each
// repetition's real time is its CPU time times `wait` (for the one thread) plus noise: a rank
// that waited for a shared core has a long real time but the same CPU time.
FleetMember rank_report(std::mt19937_64& rng, int rank, double work, double wait) {
  FleetMember member{rank, {}};
  std::uniform_real_distribution<double> noise(0.97, 1.03);
  for (const std::int64_t size : {128, 192, 256})
    for (const fakes::BackendSpec& backend : {fakes::BackendSpec{"serial", mlbench::BackendKind::cpu, 1, ""},
                                              fakes::BackendSpec{"openmp", mlbench::BackendKind::cpu, 2, ""}}) {
      const double cpu_s = 1e-9 * static_cast<double>(size * size * size) * work / backend.speed;
      mlbench::VariantResult r =
          fakes::random_result(rng, "gemm", size, backend, mlbench::TimingMode::host, cpu_s, kRuns);
      r.threads = backend.name == "serial" ? 1 : 2;
      for (int i = 0; i < kRuns; ++i) {
        r.stats.run_cpu_times_s[i] = cpu_s * noise(rng);
        r.stats.run_times_s[i] = r.stats.run_cpu_times_s[i] * wait * noise(rng);
      }
      std::vector<double> sorted = r.stats.run_times_s;
      std::sort(sorted.begin(), sorted.end());
      r.stats.median_s = (sorted[kRuns / 2 - 1] + sorted[kRuns / 2]) / 2;
      member.report.results.push_back(r);
    }
  return member;
}

TEST(FleetRule, ARankDoingTwiceTheWorkIsFlaggedSlow) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  std::vector<FleetMember> members;
  for (int rank = 0; rank < kRanks; ++rank) members.push_back(rank_report(rng, rank, rank == 1 ? 2.0 : 1.0, 1.0));
  const auto fleet = mlbench::reports::analyze_fleet(members);
  EXPECT_EQ(fleet.verdicts[1].flag, FleetFlag::slow);
  EXPECT_EQ(fleet.verdicts[1].slow_rows, fleet.verdicts[1].compared_rows);
  EXPECT_EQ(fleet.verdicts[0].flag, FleetFlag::none);
  EXPECT_EQ(fleet.verdicts[2].flag, FleetFlag::none);
}

// The majority: a rank twice as slow on exactly half of its rows is not flagged; on one row more
// it is. The others stay within the fleet either way.
TEST(FleetRule, ARankIsFlaggedOnlyWhenSlowOnMoreThanHalfOfItsRows) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  for (const int slowed : {3, 4}) {
    std::vector<FleetMember> members;
    for (int rank = 0; rank < kRanks; ++rank) members.push_back(rank_report(rng, rank, 1.0, 1.0));
    const FleetMember twice = rank_report(rng, 1, 2.0, 1.0);
    for (int row = 0; row < slowed; ++row) members[1].report.results[row] = twice.report.results[row];
    const auto fleet = mlbench::reports::analyze_fleet(members);
    EXPECT_EQ(fleet.verdicts[1].compared_rows, 6) << slowed;
    EXPECT_EQ(fleet.verdicts[1].slow_rows, slowed);
    EXPECT_EQ(fleet.verdicts[1].flag, slowed == 4 ? FleetFlag::slow : FleetFlag::none) << slowed;
    EXPECT_EQ(fleet.verdicts[0].flag, FleetFlag::none) << slowed;
    EXPECT_EQ(fleet.verdicts[2].flag, FleetFlag::none) << slowed;
  }
}

TEST(FleetRule, AnAaFleetFlagsNoRank) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  std::vector<FleetMember> members;
  for (int rank = 0; rank < kRanks; ++rank) members.push_back(rank_report(rng, rank, 1.0, 1.0));
  const auto fleet = mlbench::reports::analyze_fleet(members);
  for (const auto& verdict : fleet.verdicts) {
    EXPECT_EQ(verdict.flag, FleetFlag::none) << "rank " << verdict.rank;
    EXPECT_GT(verdict.compared_rows, 0);
  }
}

// Three ranks on two cores: one waits for a core, so its single-threaded rows take 3x the real
// time for the same CPU time (seen under load in the flake hunt). Those rows are compared on
// CPU time and do not flag it; its threaded rows are compared on real time, and do.
TEST(FleetRule, SingleThreadedRowsAreComparedOnCpuTimeThreadedRowsOnRealTime) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  std::vector<FleetMember> members;
  for (int rank = 0; rank < kRanks; ++rank) members.push_back(rank_report(rng, rank, 1.0, rank == 2 ? 3.0 : 1.0));
  const auto fleet = mlbench::reports::analyze_fleet(members);
  int serial_rows = 0, threaded_rows = 0;
  for (const auto& row : fleet.rows) {
    const bool serial = row.name.find("/serial/") != std::string::npos;
    EXPECT_EQ(row.on_cpu_time, serial) << row.name;
    ASSERT_TRUE(row.cells[2].compared) << row.name;
    EXPECT_EQ(row.cells[2].flag, serial ? FleetFlag::none : FleetFlag::slow) << row.name;
    (serial ? serial_rows : threaded_rows) += 1;
  }
  EXPECT_EQ(serial_rows, 3);
  EXPECT_EQ(threaded_rows, 3);
  // Three of six rows slow: not more than half of the rows it was compared on, so not flagged.
  EXPECT_EQ(fleet.verdicts[2].slow_rows, 3);
  EXPECT_EQ(fleet.verdicts[2].flag, FleetFlag::none);
  EXPECT_NE(mlbench::reports::render_fleet_markdown(fleet).find(" cpu)"), std::string::npos);
}

// The fleet report's files are the bytes they were before their fields came from one table
// (reports/fleet.cpp): a fleet of fabricated ranks (a fixed seed, one slow rank, one on a shared
// core, a failed and a missing row) as JSON and markdown against tests/fixtures/fleet_*, written
// by the hand-written serializer (MLBENCH_WRITE_FLEET_FIXTURES=1 writes them anew); read back,
// the analysis is recomputed from the ranks' reports to the same verdicts and markdown.
// A rank of the fixture's fleet: rank_report's rows with noise drawn from mt19937_64's own
// integers (the standard fixes them; a distribution's algorithm is the library's own, and the
// fixture must be the same bytes with every standard library).
FleetMember fixed_rank_report(std::mt19937_64& rng, int rank, double work, double wait) {
  FleetMember member{rank, {}};
  auto noise = [&rng] { return 0.97 + static_cast<double>(rng() % 60001) * 1e-6; };  // 0.97 to 1.03
  for (const std::int64_t size : {128, 192, 256})
    for (const int threads : {1, 2}) {
      mlbench::VariantResult r;
      r.workload = "gemm";
      r.backend = threads == 1 ? "serial" : "openmp";
      r.backend_kind = mlbench::BackendKind::cpu;
      r.is_baseline = threads == 1;
      r.timing = mlbench::TimingMode::host;
      r.precision = mlbench::Precision::fp32;
      r.size = size;
      r.shape_label = "M=N=K=" + std::to_string(size);
      r.shape = {{"M", size}, {"N", size}, {"K", size}};
      r.threads = threads;
      r.seed = 1;
      const double cpu_s = 1e-9 * static_cast<double>(size * size * size) * work / threads;
      r.stats.runs = kRuns;
      for (int i = 0; i < kRuns; ++i) {
        r.stats.run_cpu_times_s.push_back(cpu_s * noise());
        r.stats.run_times_s.push_back(r.stats.run_cpu_times_s.back() * wait * noise());
      }
      std::vector<double> sorted = r.stats.run_times_s;
      std::sort(sorted.begin(), sorted.end());
      r.stats.median_s = (sorted[kRuns / 2 - 1] + sorted[kRuns / 2]) / 2;
      double sum = 0, squares = 0;
      for (double t : sorted) sum += t;
      r.stats.mean_s = sum / kRuns;
      for (double t : sorted) squares += (t - r.stats.mean_s) * (t - r.stats.mean_s);
      r.stats.stddev_s = std::sqrt(squares / (kRuns - 1));
      r.stats.cv = r.stats.stddev_s / r.stats.mean_s;
      r.stats.iterations = 1;
      r.verification = {true, 0, 1e-5, "exact", ""};
      member.report.results.push_back(r);
    }
  return member;
}

TEST(FleetReport, FilesAreByteIdenticalToTheHandWrittenSerializers) {
  std::mt19937_64 rng(20261202);
  std::vector<FleetMember> members;
  for (int rank = 0; rank < kRanks; ++rank)
    members.push_back(fixed_rank_report(rng, rank, rank == 1 ? 2.0 : 1.0, rank == 2 ? 3.0 : 1.0));
  members[0].report.machine.hostname = "node-a";
  members[0].report.machine.cpu_model = "Fabricated CPU";
  members[0].report.machine.libraries = {{"MPI", "Open MPI 4.1"}};
  members[1].report.results[2].status = mlbench::ResultStatus::failed_verification;
  members[1].report.results[2].error_message = "max error 1 > 0.001";
  members[2].report.results.pop_back();
  const auto fleet = mlbench::reports::analyze_fleet(members);
  const std::string json = mlbench::reports::render_fleet_json(fleet);
  const std::string markdown = mlbench::reports::render_fleet_markdown(fleet);
  const std::string fixtures = std::string(MLBENCH_SOURCE_DIR) + "/tests/fixtures/";
  if (std::getenv("MLBENCH_WRITE_FLEET_FIXTURES") != nullptr) {
    std::ofstream(fixtures + "fleet_fabricated.json", std::ios::binary) << json;
    std::ofstream(fixtures + "fleet_fabricated.md", std::ios::binary) << markdown;
  }
  EXPECT_EQ(json, slurp(fixtures + "fleet_fabricated.json"));
  EXPECT_EQ(markdown, slurp(fixtures + "fleet_fabricated.md"));
  const auto again = mlbench::reports::parse_fleet_report(json, "fleet_fabricated.json");
  ASSERT_EQ(again.verdicts.size(), fleet.verdicts.size());
  for (std::size_t m = 0; m < fleet.verdicts.size(); ++m) {
    EXPECT_EQ(again.verdicts[m].rank, fleet.verdicts[m].rank);
    EXPECT_EQ(again.verdicts[m].flag, fleet.verdicts[m].flag);
    EXPECT_EQ(again.verdicts[m].compared_rows, fleet.verdicts[m].compared_rows);
  }
  EXPECT_EQ(again.alpha, fleet.alpha);
  EXPECT_EQ(mlbench::reports::render_fleet_markdown(again), markdown);
}

}  // namespace
