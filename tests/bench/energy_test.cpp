// Energy per result (issue 19): the RAPL reader on fabricated powercap trees (several packages
// summed, wrap-around, DRAM apart, root-only counters, no tree, no package zone, a counter that
// stands still), the runner's energy window (exactly the timed runs, extended to the meter's
// shortest window) with test-only meters, and the figures in JSON, markdown and CSV.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "bench/energy.h"
#include "bench/gemm.h"
#include "bench/runner.h"
#include "reports/csv.h"
#include "reports/json_report.h"
#include "reports/markdown.h"
#include "reports/text_format.h"
#include "tests/bench/gemm_reference.h"
#include "tests/test_support.h"

using namespace mlbench;
using ::mlbench::test_support::fresh_seed;
using ::mlbench::test_support::reference_product;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kRangeUj = 262143328850;  // a common max_energy_range_uj

// A powercap tree under a fresh temporary directory, with zones written as the kernel does.
class PowercapTree {
 public:
  PowercapTree() {
    root_ = fs::temp_directory_path() / ("mlbench_powercap_" + std::to_string(fresh_seed()));
    fs::create_directories(root_);
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
  }
  ~PowercapTree() { fs::remove_all(root_); }
  std::string root() const { return root_.string(); }

  fs::path zone(const std::string& dir, const std::string& name, std::uint64_t energy_uj,
                std::uint64_t range_uj = kRangeUj) {
    const fs::path z = root_ / dir;
    fs::create_directories(z);
    write(z / "name", name);
    write(z / "max_energy_range_uj", std::to_string(range_uj));
    set(dir, energy_uj);
    return z;
  }
  void set(const std::string& dir, std::uint64_t energy_uj) {
    write(root_ / dir / "energy_uj", std::to_string(energy_uj));
  }

 private:
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text << "\n"; }
  fs::path root_;
};

std::uint64_t draw(std::mt19937_64& rng, std::uint64_t lo, std::uint64_t hi) {
  return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
}

}  // namespace

TEST(CounterIncrease, IsTheDifferenceWithoutWrapAndAddsTheRangeAcrossOne) {
  std::mt19937_64 rng(fresh_seed());
  const std::uint64_t start = draw(rng, 0, kRangeUj / 2), step = draw(rng, 1, kRangeUj / 2);
  EXPECT_EQ(counter_increase(start, start + step, kRangeUj), step);
  // Counted up to the range and restarted at 0.
  const std::uint64_t near_top = kRangeUj - step / 2;
  EXPECT_EQ(counter_increase(near_top, step - step / 2, kRangeUj), step);
}

TEST(RaplMeter, SumsThePackageEnergyOfEveryPackage) {
  std::mt19937_64 rng(fresh_seed());
  PowercapTree tree;
  const std::uint64_t a0 = draw(rng, 0, kRangeUj / 2), b0 = draw(rng, 0, kRangeUj / 2);
  const std::uint64_t da = draw(rng, 1, 1u << 30), db = draw(rng, 1, 1u << 30);
  tree.zone("intel-rapl:0", "package-0", a0);
  tree.zone("intel-rapl:1", "package-1", b0);
  // Not CPU packages, or the same package counted twice: left out.
  tree.zone("intel-rapl:2", "psys", 5);
  tree.zone("intel-rapl-mmio:0", "package-0", 7);
  tree.zone("intel-rapl:0/intel-rapl:0:0", "core", 11);
  const auto meter = make_rapl_meter(tree.root());
  ASSERT_EQ(meter->unavailable_reason(), "");
  meter->start();
  tree.set("intel-rapl:0", a0 + da);
  tree.set("intel-rapl:1", b0 + db);
  tree.set("intel-rapl:2", 5000000);
  tree.set("intel-rapl-mmio:0", 7000000);
  tree.set("intel-rapl:0/intel-rapl:0:0", 11000000);
  const EnergyWindow w = meter->stop();
  ASSERT_TRUE(w.measured) << w.unavailable_reason;
  EXPECT_DOUBLE_EQ(w.joules, static_cast<double>(da + db) * 1e-6);
  EXPECT_EQ(w.dram_joules, -1);  // no DRAM zone
  EXPECT_EQ(w.source, "RAPL package-0 + package-1 (package domain)");
}

TEST(RaplMeter, TakesOutAWrapAroundOfTheCounter) {
  std::mt19937_64 rng(fresh_seed());
  PowercapTree tree;
  const std::uint64_t range = draw(rng, 1u << 20, kRangeUj);
  const std::uint64_t before_top = draw(rng, 1, 1u << 19), after_zero = draw(rng, 0, 1u << 19);
  tree.zone("intel-rapl:0", "package-0", range - before_top, range);
  const auto meter = make_rapl_meter(tree.root());
  meter->start();
  tree.set("intel-rapl:0", after_zero);
  const EnergyWindow w = meter->stop();
  ASSERT_TRUE(w.measured) << w.unavailable_reason;
  EXPECT_DOUBLE_EQ(w.joules, static_cast<double>(before_top + after_zero) * 1e-6);
}

TEST(RaplMeter, MeasuresTheDramDomainApartFromThePackage) {
  std::mt19937_64 rng(fresh_seed());
  PowercapTree tree;
  const std::uint64_t package = draw(rng, 1, 1u << 30), dram = draw(rng, 1, 1u << 30);
  tree.zone("intel-rapl:0", "package-0", 100);
  tree.zone("intel-rapl:0/intel-rapl:0:2", "dram", 200);
  const auto meter = make_rapl_meter(tree.root());
  meter->start();
  tree.set("intel-rapl:0", 100 + package);
  tree.set("intel-rapl:0/intel-rapl:0:2", 200 + dram);
  const EnergyWindow w = meter->stop();
  ASSERT_TRUE(w.measured) << w.unavailable_reason;
  EXPECT_DOUBLE_EQ(w.joules, static_cast<double>(package) * 1e-6);  // package alone
  EXPECT_DOUBLE_EQ(w.dram_joules, static_cast<double>(dram) * 1e-6);
  EXPECT_NE(w.source.find("DRAM domain: intel-rapl:0:2"), std::string::npos) << w.source;
}

TEST(RaplMeter, SaysWhyWhenTheCounterIsReadableOnlyByRoot) {
  PowercapTree tree;
  const fs::path zone = tree.zone("intel-rapl:0", "package-0", 1234);
  const std::string counter = (zone / "energy_uj").string();
  fs::permissions(zone, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  if (::geteuid() != 0) {
    // Permission bits stop the owner only without root: take even the owner's read bit.
    ::chmod(counter.c_str(), 0);
    const std::string why = make_rapl_meter(tree.root())->unavailable_reason();
    EXPECT_NE(why.find("readable only by root"), std::string::npos) << why;
    EXPECT_NE(why.find(counter), std::string::npos) << why;
    return;
  }
  // As root: the kernel's mode (0400, root's), read by an unprivileged child process.
  ::chmod(counter.c_str(), 0400);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    const std::string why = make_rapl_meter(tree.root())->unavailable_reason();
    if (::write(pipe_fds[1], why.data(), why.size()) < 0) ::_exit(4);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string why;
  char buffer[256];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    why.append(buffer, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  EXPECT_NE(why.find("readable only by root"), std::string::npos) << why;
  EXPECT_NE(why.find(counter), std::string::npos) << why;
}

TEST(RaplMeter, SaysWhyWhenThereIsNoPowercapTree) {
  const std::string missing =
      (fs::temp_directory_path() / ("mlbench_no_powercap_" + std::to_string(fresh_seed()))).string();
  const auto meter = make_rapl_meter(missing);
  EXPECT_NE(meter->unavailable_reason().find("no powercap sysfs at " + missing), std::string::npos)
      << meter->unavailable_reason();
  meter->start();
  const EnergyWindow w = meter->stop();
  EXPECT_FALSE(w.measured);
  EXPECT_EQ(w.unavailable_reason, meter->unavailable_reason());
}

TEST(RaplMeter, SaysWhyWhenTheTreeHasNoPackageZone) {
  PowercapTree tree;
  tree.zone("intel-rapl:0", "psys", 10);  // a platform zone only
  tree.zone("dtpm:0", "soc", 10);
  const std::string why = make_rapl_meter(tree.root())->unavailable_reason();
  EXPECT_NE(why.find("no RAPL package zone under " + tree.root()), std::string::npos) << why;
}

// A FIFO planted where a counter belongs (MLBENCH_POWERCAP_ROOT is the user's): reading it
// would wait for a writer forever. It is refused as not a regular file, at once.
TEST(RaplMeter, SaysWhyWhenTheCounterIsAFifoAndDoesNotWaitForIt) {
  PowercapTree tree;
  const fs::path zone = tree.zone("intel-rapl:0", "package-0", 10);
  fs::remove(zone / "energy_uj");
  ASSERT_EQ(::mkfifo((zone / "energy_uj").c_str(), 0644), 0) << std::strerror(errno);
  const auto meter = make_rapl_meter(tree.root());
  meter->start();
  const EnergyWindow w = meter->stop();
  EXPECT_FALSE(w.measured);
  const std::string why = w.unavailable_reason.empty() ? meter->unavailable_reason() : w.unavailable_reason;
  EXPECT_NE(why.find("not a regular file"), std::string::npos) << why;
}

TEST(RaplMeter, GivesNoFigureWhenTheCounterStoodStill) {
  PowercapTree tree;
  tree.zone("intel-rapl:0", "package-0", 4242);
  const auto meter = make_rapl_meter(tree.root());
  meter->start();
  const EnergyWindow w = meter->stop();
  EXPECT_FALSE(w.measured);
  EXPECT_NE(w.unavailable_reason.find("did not advance"), std::string::npos) << w.unavailable_reason;
}

TEST(RaplMeter, SaysWhyWhenACounterBecomesUnreadableDuringTheWindow) {
  PowercapTree tree;
  tree.zone("intel-rapl:0", "package-0", 1);
  const auto meter = make_rapl_meter(tree.root());
  meter->start();
  fs::remove(fs::path(tree.root()) / "intel-rapl:0" / "energy_uj");
  const EnergyWindow w = meter->stop();
  EXPECT_FALSE(w.measured);
  EXPECT_NE(w.unavailable_reason.find("cannot read"), std::string::npos) << w.unavailable_reason;
}

// --- the runner's window, with test-only variants and meters ---

namespace {

// Every execution of the work, on any device, counted here: the fake meters read it.
std::int64_t g_runs = 0;

// Verifies (writes the exact product) and reports a fixed time per run without taking it.
class CountedVariant : public Variant {
 public:
  CountedVariant(const Problem& p, bool gpu, double seconds)
      : output_(reference_product(dynamic_cast<const GemmProblem&>(p))), gpu_(gpu), seconds_(seconds) {}
  std::vector<TimingMode> timing_modes() const override {
    return gpu_ ? std::vector<TimingMode>{TimingMode::kernel, TimingMode::end_to_end}
                : std::vector<TimingMode>{TimingMode::host};
  }
  double run(TimingMode) override {
    ++g_runs;
    return seconds_;
  }
  void read_output(HostBuffer& out) override {
    for (std::size_t i = 0; i < out.size(); ++i) out.set(i, output_.get(i));
  }

 private:
  HostBuffer output_;
  bool gpu_;
  double seconds_;
};

BackendInfo counted_backend(std::string name, BackendKind kind, double seconds) {
  BackendInfo b;
  b.name = std::move(name);
  b.workload = "gemm";
  b.kind = kind;
  b.availability = [] { return Availability::yes(); };
  b.prepare = [kind, seconds](const Problem& p, const ExecutionConfig&) {
    return std::make_unique<CountedVariant>(p, is_gpu(kind), seconds);
  };
  return b;
}

// A device that uses `joules_per_run` for every run inside the window: the runner must find
// exactly that per run, however many runs it put in the window.
class PerRunMeter : public EnergyMeter {
 public:
  PerRunMeter(double joules_per_run, double minimum_window_s) : per_run_(joules_per_run), minimum_(minimum_window_s) {}
  std::string unavailable_reason() const override { return ""; }
  void start() override { started_at_ = g_runs; }
  EnergyWindow stop() override {
    EnergyWindow w;
    w.measured = true;
    w.source = "test meter";
    w.joules = per_run_ * static_cast<double>(g_runs - started_at_);
    return w;
  }
  double minimum_window_s() const override { return minimum_; }

 private:
  double per_run_, minimum_;
  std::int64_t started_at_ = 0;
};

class AbsentMeter : public EnergyMeter {
 public:
  std::string unavailable_reason() const override { return "RAPL unavailable: test says so"; }
  void start() override { ADD_FAILURE() << "started a meter that is unavailable"; }
  EnergyWindow stop() override {
    EnergyWindow w;
    w.unavailable_reason = unavailable_reason();
    return w;
  }
  double minimum_window_s() const override { return 0; }
};

RunOptions options(std::uint64_t seed) {
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {8};
  o.seed = seed;
  o.repetitions = 4;
  o.time_budget_s = 0.01;
  return o;
}

const VariantResult& row(const std::vector<VariantResult>& results, const std::string& backend, TimingMode timing) {
  for (const VariantResult& r : results)
    if (r.backend == backend && r.timing == timing) return r;
  throw std::logic_error("no row " + backend);
}

}  // namespace

TEST(EnergyWindow, CoversExactlyTheTimedRunsExtendedToTheMetersShortestWindow) {
  const std::uint64_t seed = fresh_seed();
  std::mt19937_64 rng(seed);
  const double cpu_joules = std::uniform_real_distribution<double>(0.5, 2.0)(rng);
  const double gpu_joules = std::uniform_real_distribution<double>(0.01, 0.4)(rng);
  const double minimum_window_s = 0.05;
  Registry registry;
  registry.add(counted_backend("serial", BackendKind::cpu, 2e-3));
  registry.add(counted_backend("fakegpu", BackendKind::gpu, 1e-4));
  registry.cpu_energy_meter = [&] { return std::make_unique<PerRunMeter>(cpu_joules, minimum_window_s); };
  std::vector<std::vector<int>> gpu_meters_for;
  registry.gpu_energy_meter = [&](const std::vector<int>& devices) {
    gpu_meters_for.push_back(devices);
    return std::make_unique<PerRunMeter>(gpu_joules, minimum_window_s);
  };
  Runner runner(registry, options(seed));
  const auto results = runner.run(runner.plan());
  const VariantResult& cpu = row(results, "serial", TimingMode::host);
  const VariantResult& kernel = row(results, "fakegpu", TimingMode::kernel);
  const VariantResult& end_to_end = row(results, "fakegpu", TimingMode::end_to_end);
  for (const VariantResult* r : {&cpu, &kernel, &end_to_end}) {
    SCOPED_TRACE(r->name());
    ASSERT_TRUE(r->ok()) << r->error_message;
    ASSERT_TRUE(r->energy && r->energy->measured);
    // The scripted runs take no wall time: the window was extended with more runs.
    EXPECT_GE(r->energy->window_s, minimum_window_s);
    EXPECT_GT(r->energy->runs, r->stats.runs * r->stats.iterations);
    EXPECT_GT(r->average_watts, 0);
    EXPECT_NEAR(r->gflops_per_joule, r->flops / 1e9 / r->joules_per_run, 1e-12 * r->gflops_per_joule);
  }
  // Warm-up, verification and re-check runs are outside the window: exactly the meter's figure.
  EXPECT_NEAR(cpu.joules_per_run, cpu_joules, 1e-12 * cpu_joules);
  EXPECT_NEAR(kernel.joules_per_run, gpu_joules, 1e-12 * gpu_joules);
  // Relative: the window adds up to millions of 1e-4 s runs, each sum rounding once (seen 4e-9
  // off at 157 s: 2.6e-11 of it, far under the n * 1.1e-16 bound).
  EXPECT_NEAR(end_to_end.energy->timed_s, 1e-4 * static_cast<double>(end_to_end.energy->runs),
              1e-9 * 1e-4 * static_cast<double>(end_to_end.energy->runs));
  // Energy vs the best CPU backend, next to the speedup.
  EXPECT_NEAR(kernel.energy_ratio_vs_best_cpu, cpu_joules / gpu_joules, 1e-9 * cpu_joules / gpu_joules);
  EXPECT_NEAR(cpu.energy_ratio_vs_best_cpu, 1.0, 1e-12);
  ASSERT_EQ(gpu_meters_for.size(), 1u);  // one meter per variant, on the device it ran on
  EXPECT_EQ(gpu_meters_for[0], std::vector<int>{0});
}

TEST(EnergyWindow, RowsSayWhyWhenTheMeterIsUnavailableAndCarryNoFigure) {
  Registry registry;
  registry.add(counted_backend("serial", BackendKind::cpu, 1e-3));
  registry.cpu_energy_meter = [] { return std::make_unique<AbsentMeter>(); };
  Runner runner(registry, options(fresh_seed()));
  const auto results = runner.run(runner.plan());
  const VariantResult& r = row(results, "serial", TimingMode::host);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.energy);
  EXPECT_FALSE(r.energy->measured);
  EXPECT_EQ(r.energy->unavailable_reason, "RAPL unavailable: test says so");
  EXPECT_EQ(r.joules_per_run, 0);
  EXPECT_EQ(r.gflops_per_joule, 0);
}

TEST(EnergyWindow, NoEnergyOpensNoMeterAndEveryRowSaysSo) {
  Registry registry;
  registry.add(counted_backend("serial", BackendKind::cpu, 1e-3));
  registry.add(counted_backend("fakegpu", BackendKind::gpu, 1e-4));
  int meters_made = 0;
  registry.cpu_energy_meter = [&] {
    ++meters_made;
    return std::make_unique<PerRunMeter>(1.0, 0.05);
  };
  registry.gpu_energy_meter = [&](const std::vector<int>&) {
    ++meters_made;
    return std::make_unique<PerRunMeter>(0.1, 0.05);
  };
  RunOptions o = options(fresh_seed());
  o.measure_energy = false;
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  EXPECT_EQ(meters_made, 0);
  ASSERT_EQ(results.size(), 3u);  // serial host, fakegpu kernel and end to end
  for (const VariantResult& r : results) {
    SCOPED_TRACE(r.name());
    ASSERT_TRUE(r.ok()) << r.error_message;
    ASSERT_TRUE(r.energy);
    EXPECT_FALSE(r.energy->measured);
    EXPECT_EQ(r.energy->unavailable_reason, "not measured: --no-energy");
    // No window: the row ran exactly its timed repetitions, none added for a meter.
    EXPECT_EQ(r.stats.runs, o.repetitions);
    EXPECT_EQ(r.joules_per_run, 0);
  }
}

TEST(EnergyWindow, RoundsAddTheirWindowsUp) {
  const std::uint64_t seed = fresh_seed();
  Registry registry;
  registry.add(counted_backend("serial", BackendKind::cpu, 1e-3));
  registry.cpu_energy_meter = [] { return std::make_unique<PerRunMeter>(0.25, 0.02); };
  RunOptions o = options(seed);
  o.rounds = 3;
  o.repetitions = 6;
  Runner runner(registry, o);
  const auto results = runner.run(runner.plan());
  const VariantResult& r = row(results, "serial", TimingMode::host);
  ASSERT_TRUE(r.ok() && r.energy && r.energy->measured);
  EXPECT_GE(r.energy->window_s, 3 * 0.02);
  EXPECT_NEAR(r.joules_per_run, 0.25, 1e-12);
  EXPECT_NEAR(r.energy->joules, 0.25 * static_cast<double>(r.energy->runs),
              1e-9 * 0.25 * static_cast<double>(r.energy->runs));
}

// --- the figures in the reports ---

namespace {
RunReport report_with_energy(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  RunReport report;
  report.run.mlbench_version = "test";
  report.run.seed = seed;
  VariantResult cpu;
  cpu.workload = "gemm";
  cpu.backend = "openmp";
  cpu.shape_label = "M=N=K=512";
  cpu.size = 512;
  cpu.flops = 2.0 * 512 * 512 * 512;
  cpu.bytes = 3.0 * 512 * 512 * 4;
  cpu.verification.passed = true;
  cpu.stats.runs = 3;
  cpu.stats.median_s = cpu.stats.mean_s = std::uniform_real_distribution<double>(1e-2, 2e-2)(rng);
  cpu.stats.run_times_s = cpu.stats.run_cpu_times_s = {cpu.stats.median_s, cpu.stats.median_s, cpu.stats.median_s};
  cpu.energy = RowEnergy{
      true, "", "RAPL package-0 (package domain)", std::uniform_real_distribution<double>(5, 20)(rng), 1.5, 1.2,
      1.1,  60};
  VariantResult gpu = cpu;
  gpu.backend = "cublas";
  gpu.backend_kind = BackendKind::gpu_library;
  gpu.timing = TimingMode::kernel;
  gpu.stats.median_s /= 50;
  gpu.stats.mean_s = gpu.stats.median_s;
  gpu.stats.run_times_s = gpu.stats.run_cpu_times_s = {gpu.stats.median_s, gpu.stats.median_s, gpu.stats.median_s};
  gpu.energy = RowEnergy{false, "NVML unavailable: test", "", 0, -1, 0, 0, 0};
  VariantResult gpu_e2e = gpu;
  gpu_e2e.timing = TimingMode::end_to_end;
  gpu_e2e.energy = RowEnergy{true, "", "NVML total energy: GPU 0", 3.0, -1, 1.0, 0.9, 3000};
  report.results = {cpu, gpu, gpu_e2e};
  finalize_results(report.results);
  return report;
}
}  // namespace

TEST(EnergyReports, JsonKeepsEveryEnergyFieldAndReportsWithoutThemStayReadable) {
  const std::uint64_t seed = fresh_seed();
  const RunReport report = report_with_energy(seed);
  const RunReport back = reports::parse_report(reports::render_json(report), "test");
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < back.results.size(); ++i) {
    const VariantResult &a = report.results[i], &b = back.results[i];
    SCOPED_TRACE(a.name());
    ASSERT_TRUE(b.energy);
    EXPECT_EQ(b.energy->measured, a.energy->measured);
    EXPECT_EQ(b.energy->unavailable_reason, a.energy->unavailable_reason);
    EXPECT_EQ(b.energy->source, a.energy->source);
    EXPECT_DOUBLE_EQ(b.energy->joules, a.energy->joules);
    EXPECT_DOUBLE_EQ(b.energy->dram_joules, a.energy->dram_joules);
    EXPECT_DOUBLE_EQ(b.energy->window_s, a.energy->window_s);
    EXPECT_DOUBLE_EQ(b.energy->timed_s, a.energy->timed_s);
    EXPECT_EQ(b.energy->runs, a.energy->runs);
    EXPECT_DOUBLE_EQ(b.joules_per_run, a.joules_per_run);
    EXPECT_DOUBLE_EQ(b.average_watts, a.average_watts);
    EXPECT_DOUBLE_EQ(b.gflops_per_joule, a.gflops_per_joule);
    EXPECT_DOUBLE_EQ(b.gb_per_joule, a.gb_per_joule);
    EXPECT_DOUBLE_EQ(b.energy_ratio_vs_best_cpu, a.energy_ratio_vs_best_cpu);
  }
  EXPECT_GT(back.results[2].energy_ratio_vs_best_cpu, 0);
  // A committed report from before energy was measured: no entry, no figure.
  const RunReport old =
      reports::read_report(std::string(MLBENCH_SOURCE_DIR) + "/docs/results/h100-all-2026-11-24.json");
  ASSERT_FALSE(old.results.empty());
  for (const VariantResult& r : old.results) {
    EXPECT_FALSE(r.energy) << r.name();
    EXPECT_EQ(r.joules_per_run, 0) << r.name();
  }
}

TEST(EnergyReports, MarkdownSaysWhatEachKindOfRowRestsOnAndTabulatesTheFigures) {
  const RunReport report = report_with_energy(fresh_seed());
  const std::string md = reports::render_markdown(report);
  EXPECT_NE(md.find("- **Energy:** CPU rows: RAPL package-0 (package domain)\n"), std::string::npos) << md;
  EXPECT_NE(md.find("- **Energy:** GPU rows: no figure: NVML unavailable: test; NVML total energy: GPU 0\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### Energy: "), std::string::npos) << md;
  const std::string per_run = reports::format_energy(report.results[0].joules_per_run);
  EXPECT_NE(md.find("| openmp | host | " + per_run + " |"), std::string::npos) << md;
  EXPECT_NE(md.find("| cublas | kernel | - |"), std::string::npos) << md;  // no figure, never a zero
  const std::string console = reports::render_console_table(report);
  EXPECT_NE(console.find("Energy: GPU rows: no figure: NVML unavailable: test"), std::string::npos) << console;
}

TEST(EnergyReports, CsvLeavesEnergyCellsEmptyWhereThereIsNoFigure) {
  const RunReport report = report_with_energy(fresh_seed());
  const std::string csv = reports::render_csv(report);
  const auto& columns = reports::csv_columns();
  const auto column = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
  };
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) rows.push_back(test_support::csv_fields(line));
  ASSERT_EQ(rows.size(), 3u);
  for (const char* name : {"joules_per_run", "average_watts", "gflops_per_joule", "energy_ratio_vs_best_cpu",
                           "dram_joules_per_run", "energy_source", "energy_unavailable_reason"})
    ASSERT_LT(column(name), columns.size()) << name;
  EXPECT_DOUBLE_EQ(std::stod(rows[0][column("joules_per_run")]), report.results[0].joules_per_run);
  EXPECT_DOUBLE_EQ(std::stod(rows[0][column("dram_joules_per_run")]), 1.5 / 60);
  EXPECT_EQ(rows[1][column("joules_per_run")], "");
  EXPECT_EQ(rows[1][column("gflops_per_joule")], "");
  EXPECT_EQ(rows[1][column("energy_unavailable_reason")], "NVML unavailable: test");
  EXPECT_EQ(rows[2][column("dram_joules_per_run")], "");  // the GPU has no DRAM domain
  EXPECT_EQ(rows[2][column("energy_source")], "NVML total energy: GPU 0");
}
