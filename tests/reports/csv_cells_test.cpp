// CSV leaves a cell empty where its figure does not apply to the row (issue 19): a ratio that was
// not computed, multi-GPU figures on single-device rows, the vendor ratio without a vendor, the
// roof on rows without one, an unknown machine load. A reader that skips empty cells (pandas'
// mean(), a spreadsheet's AVERAGE) then averages only the rows the figure belongs to.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <sstream>

#include "reports/csv.h"
#include "tests/test_support.h"

namespace {

using namespace mlbench;
using ::mlbench::test_support::csv_fields;

VariantResult row(const std::string& backend, BackendKind kind, TimingMode timing, double median) {
  VariantResult r;
  r.workload = "gemm";
  r.backend = backend;
  r.backend_kind = kind;
  r.timing = timing;
  r.size = 64;
  r.shape_label = "M=N=K=64";
  r.stats.runs = 3;
  r.stats.median_s = r.stats.mean_s = median;
  r.verification.passed = true;
  r.flops = 2.0 * 64 * 64 * 64;
  r.bytes = 3.0 * 64 * 64 * 4;
  r.gflops = r.flops / median / 1e9;
  r.intensity = r.flops / r.bytes;
  return r;
}

// One map per CSV row: column -> cell.
std::vector<std::map<std::string, std::string>> parse(const std::string& csv) {
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  const std::vector<std::string> header = csv_fields(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(lines, line)) {
    const std::vector<std::string> cells = csv_fields(line);
    EXPECT_EQ(cells.size(), header.size()) << line;
    std::map<std::string, std::string> m;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) m[header[i]] = cells[i];
    rows.push_back(m);
  }
  return rows;
}

// The mean of the non-empty cells of a column, as pandas computes it (NaN skipped).
double mean_of_present(const std::vector<std::map<std::string, std::string>>& rows, const std::string& column,
                       int* count) {
  double sum = 0;
  *count = 0;
  for (const auto& r : rows)
    if (!r.at(column).empty()) {
      sum += std::stod(r.at(column));
      ++*count;
    }
  return *count ? sum / *count : 0;
}

}  // namespace

TEST(CsvCells, NotApplicableFiguresAreEmptyAndApplicableOnesAreWritten) {
  const std::uint64_t seed = test_support::fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> ratio(0.5, 50.0);

  RunReport report;
  VariantResult serial = row("serial", BackendKind::cpu, TimingMode::host, 0.4);
  serial.speedup_vs_serial = 1;
  serial.speedup_vs_best_cpu = 0.25;
  serial.roofline_unit = "CPU";
  serial.roofline_bound_gflops = 100;
  serial.fraction_of_roofline = 0.1;
  VariantResult kernel = row("cuda", BackendKind::gpu, TimingMode::kernel, 0.001);
  kernel.speedup_vs_serial = ratio(rng);
  kernel.speedup_vs_best_cpu = ratio(rng);
  kernel.vendor_backend = "cublas";
  kernel.fraction_of_vendor = ratio(rng) / 50;
  kernel.roofline_unit = "GPU";
  kernel.roofline_bound_gflops = 50000;
  kernel.fraction_of_roofline = 0.3;
  kernel.other_load_cores = 0.2;
  VariantResult end_to_end = row("cuda", BackendKind::gpu, TimingMode::end_to_end, 0.01);
  end_to_end.speedup_vs_serial = ratio(rng);
  end_to_end.speedup_vs_best_cpu = ratio(rng);  // no roof, no vendor ratio, load unknown (-1)
  VariantResult nccl = row("nccl", BackendKind::gpu, TimingMode::kernel, 0.0006);
  nccl.gpus = 2;
  nccl.communication_s = 0.0001;
  nccl.speedup_vs_one_gpu = 1.7;
  nccl.parallel_efficiency = 0.85;
  nccl.communication_share = nccl.communication_s / nccl.stats.median_s;
  VariantResult failed = row("openmp", BackendKind::cpu, TimingMode::host, 0.1);
  failed.status = ResultStatus::failed_verification;
  failed.verification.passed = false;  // no ratio was computed for it
  report.results = {serial, kernel, end_to_end, nccl, failed};

  const auto rows = parse(reports::render_csv(report));
  ASSERT_EQ(rows.size(), report.results.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const VariantResult& r = report.results[i];
    const auto& cells = rows[i];
    SCOPED_TRACE(r.name());
    EXPECT_EQ(cells.at("speedup_vs_serial").empty(), r.speedup_vs_serial == 0);
    EXPECT_EQ(cells.at("speedup_vs_best_cpu").empty(), r.speedup_vs_best_cpu == 0);
    EXPECT_EQ(cells.at("fraction_of_vendor").empty(), r.vendor_backend.empty());
    EXPECT_EQ(cells.at("roofline_bound_gflops").empty(), r.roofline_unit.empty());
    EXPECT_EQ(cells.at("fraction_of_roofline").empty(), r.roofline_unit.empty());
    for (const char* column : {"communication_s", "speedup_vs_one_gpu", "parallel_efficiency", "communication_share"})
      EXPECT_EQ(cells.at(column).empty(), r.gpus == 0) << column;
    EXPECT_EQ(cells.at("other_load_cores").empty(), r.other_load_cores < 0);
    EXPECT_FALSE(cells.at("intensity").empty()) << "every row has an arithmetic intensity";
    EXPECT_FALSE(cells.at("gpus").empty()) << "0 GPUs is a count, not a missing figure";
    if (!cells.at("speedup_vs_best_cpu").empty()) {
      EXPECT_DOUBLE_EQ(std::stod(cells.at("speedup_vs_best_cpu")), r.speedup_vs_best_cpu);
    }
  }

  // The mean a reader skipping empty cells computes is the mean over the rows the figure belongs to.
  int count = 0;
  EXPECT_DOUBLE_EQ(mean_of_present(rows, "speedup_vs_best_cpu", &count),
                   (serial.speedup_vs_best_cpu + kernel.speedup_vs_best_cpu + end_to_end.speedup_vs_best_cpu) / 3);
  EXPECT_EQ(count, 3);
  EXPECT_DOUBLE_EQ(mean_of_present(rows, "speedup_vs_one_gpu", &count), 1.7);
  EXPECT_EQ(count, 1);
  EXPECT_DOUBLE_EQ(mean_of_present(rows, "fraction_of_roofline", &count), (0.1 + 0.3) / 2);
  EXPECT_EQ(count, 2);
}
