// Energy per result through the executable (issue 19): on a machine without RAPL every report
// says why there is no figure and shows none; on a fabricated powercap tree whose counter a
// thread advances while mlbench runs, the rows carry measured figures in JSON, markdown and CSV.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include "tests/test_support.h"

namespace fs = std::filesystem;
using ::mlbench::test_support::csv_fields;
using ::mlbench::test_support::fresh_seed;
using ::mlbench::test_support::slurp;

namespace {

class EnergyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_ = fresh_seed();
    dir_ = fs::temp_directory_path() / ("mlbench_energy_cli_" + std::to_string(seed_));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs mlbench with MLBENCH_POWERCAP_ROOT=`root`; returns its exit code, stdout in `out`.
  int run(const fs::path& root, const std::string& args, std::string& out) {
    const fs::path stdout_file = dir_ / "stdout", stderr_file = dir_ / "stderr";
    const std::string command = "MLBENCH_POWERCAP_ROOT=" + root.string() + " " + MLBENCH_EXE + " " + args + " --seed " +
                                std::to_string(seed_) + " >" + stdout_file.string() + " 2>" + stderr_file.string();
    const int status = std::system(command.c_str());
    out = slurp(stdout_file);
    EXPECT_EQ(slurp(stderr_file).find("error"), std::string::npos) << slurp(stderr_file);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string report_args() const {
    return "reduction --size 4096 --backends serial --repetitions 3 --time-budget 0.05 --no-peaks --json " +
           (dir_ / "r.json").string() + " --markdown " + (dir_ / "r.md").string() + " --csv " +
           (dir_ / "r.csv").string();
  }
  // The CSV's one data row as column -> cell.
  std::map<std::string, std::string> csv_row() const {
    std::istringstream lines(slurp(dir_ / "r.csv"));
    std::string header, row;
    std::getline(lines, header);
    std::getline(lines, row);
    const auto columns = csv_fields(header), cells = csv_fields(row);
    std::map<std::string, std::string> by_name;
    for (std::size_t i = 0; i < columns.size() && i < cells.size(); ++i) by_name[columns[i]] = cells[i];
    return by_name;
  }

  std::uint64_t seed_ = 0;
  fs::path dir_;
};

}  // namespace

TEST_F(EnergyCli, ARunOnAMachineWithoutRaplSaysWhyAndShowsNoFigure) {
  const fs::path absent = dir_ / "no-powercap";
  std::string out;
  ASSERT_EQ(run(absent, report_args(), out), 0);
  const std::string why = "RAPL unavailable: no powercap sysfs at " + absent.string();
  EXPECT_NE(out.find("Energy: CPU rows: no figure: " + why), std::string::npos) << out;
  const std::string md = slurp(dir_ / "r.md");
  EXPECT_NE(md.find("- **Energy:** CPU rows: no figure: " + why), std::string::npos) << md;
  EXPECT_EQ(md.find("### Energy:"), std::string::npos) << md;  // no table without a figure
  const auto json = nlohmann::json::parse(slurp(dir_ / "r.json"));
  bool saw_row = false;
  for (const auto& entry : json["benchmarks"]) {
    if (!entry.contains("mlbench")) continue;
    const auto& row = entry["mlbench"];
    saw_row = true;
    ASSERT_TRUE(row["energy"].is_object()) << row.dump();
    EXPECT_FALSE(row["energy"]["measured"].get<bool>());
    EXPECT_NE(row["energy"]["unavailable_reason"].get<std::string>().find(why), std::string::npos);
    EXPECT_EQ(row["joules_per_run"].get<double>(), 0);
  }
  EXPECT_TRUE(saw_row) << json.dump();
  const auto csv = csv_row();
  EXPECT_EQ(csv.at("joules_per_run"), "");
  EXPECT_NE(csv.at("energy_unavailable_reason").find(why), std::string::npos);
}

TEST_F(EnergyCli, ARunOnALiveRaplCounterReportsJoulesPerRun) {
  const fs::path root = dir_ / "powercap", zone = root / "intel-rapl:0";
  fs::create_directories(zone);
  std::ofstream(zone / "name") << "package-0\n";
  std::ofstream(zone / "max_energy_range_uj") << "262143328850\n";
  // A package drawing about 50 W: the counter advances 50 µJ a millisecond, written as the
  // kernel would present it (whole file, atomically) while mlbench runs.
  std::atomic<bool> done{false};
  auto write_counter = [&](std::uint64_t uj) {
    const fs::path next = zone / "energy_uj.next";
    std::ofstream(next) << uj << "\n";
    fs::rename(next, zone / "energy_uj");
  };
  write_counter(1000);
  std::thread counter([&] {
    const auto started = std::chrono::steady_clock::now();
    while (!done) {
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
      write_counter(1000 + static_cast<std::uint64_t>(us.count()) * 50 / 1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::string out;
  const int exit_code = run(root, report_args(), out);
  done = true;
  counter.join();
  ASSERT_EQ(exit_code, 0);
  const std::string md = slurp(dir_ / "r.md");
  EXPECT_NE(md.find("- **Energy:** CPU rows: RAPL package-0 (package domain)"), std::string::npos) << md;
  EXPECT_NE(md.find("### Energy: "), std::string::npos) << md;
  const auto json = nlohmann::json::parse(slurp(dir_ / "r.json"));
  for (const auto& entry : json["benchmarks"]) {
    if (!entry.contains("mlbench")) continue;
    const auto& row = entry["mlbench"];
    ASSERT_TRUE(row["energy"]["measured"].get<bool>()) << row["energy"].dump();
    const double window_s = row["energy"]["window_s"].get<double>();
    EXPECT_GE(window_s, 0.1);  // extended to RAPL's shortest window
    // Above 0 and near the fabricated 50 W (the writer, starved on a loaded machine, may lag by up to a second).
    EXPECT_GT(row["average_watts"].get<double>(), 0);
    EXPECT_LE(row["average_watts"].get<double>(), 50.0 * (window_s + 1.0) / window_s);
    EXPECT_GT(row["joules_per_run"].get<double>(), 0);
    EXPECT_GT(row["gb_per_joule"].get<double>(), 0);
  }
  const auto csv = csv_row();
  EXPECT_NE(csv.at("joules_per_run"), "");
  EXPECT_EQ(csv.at("energy_source"), "RAPL package-0 (package domain)");
  EXPECT_EQ(csv.at("energy_unavailable_reason"), "");
}
