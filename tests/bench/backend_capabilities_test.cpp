// Backend capabilities (BackendInfo::is_baseline, tensor_core_precisions): the invariants every
// definition of the registry the CLI builds must keep, and that the analysis follows the
// capabilities, not the names (issue 16: nothing in bench, reports or cli names a backend).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/gemm.h"
#include "bench/peaks.h"
#include "bench/result.h"
#include "bench/roofline.h"
#include "bench/runner.h"
#include "bench/workloads.h"
#include "cli/commands.h"
#include "reports/json_report.h"
#include "reports/testing/random_report.h"
#include "tests/test_support.h"

namespace mlbench {
namespace {

using namespace ::mlbench::test_support;

// The registry `mlbench` runs with (cpu/, kernels/, mpi/), built by the CLI's own function.
const Registry& cli_registry() {
  static const Registry registry = cli::make_registry();
  return registry;
}

std::string label(const BackendInfo& b) { return b.workload + "/" + b.name; }

std::set<std::string> workloads_of(const Registry& registry) {
  std::set<std::string> names;
  for (const WorkloadInfo& w : workloads()) names.insert(w.name);
  for (const BackendInfo& b : registry.all()) names.insert(b.workload);
  return names;
}

// ---------------------------------------------------------------- the definitions

TEST(BackendCapabilities, EveryWorkloadHasExactlyOneBaseline) {
  const Registry& registry = cli_registry();
  for (const std::string& workload : workloads_of(registry)) {
    std::vector<std::string> baselines;
    for (const BackendInfo* b : registry.backends_for(workload))
      if (b->is_baseline) baselines.push_back(b->name);
    EXPECT_EQ(baselines.size(), 1u) << workload << ": " << ::testing::PrintToString(baselines);
  }
}

// Every speedup_vs_serial divides by the baseline: it must run in every build, on this CPU, in
// one process, at every precision any backend of its workload runs at.
TEST(BackendCapabilities, TheBaselineIsCpuCodeEveryBuildRunsAtEveryPrecisionOfItsWorkload) {
  const Registry& registry = cli_registry();
  for (const BackendInfo& b : registry.all()) {
    if (!b.is_baseline) continue;
    SCOPED_TRACE(label(b));
    EXPECT_EQ(b.kind, BackendKind::cpu) << "mlbench's own CPU code, not a library a build may lack";
    EXPECT_FALSE(b.multi_gpu);
    EXPECT_EQ(b.ranks, 0);
    EXPECT_TRUE(b.rank_counts.empty());
    ASSERT_TRUE(b.availability);
    const Availability a = b.availability();
    EXPECT_TRUE(a.available) << a.reason;
    EXPECT_TRUE(b.vendor_reference.empty());
    for (const BackendInfo* other : registry.backends_for(b.workload))
      for (Precision p : other->precisions)
        EXPECT_TRUE(b.supports_precision(p)) << other->name << " runs at " << to_string(p) << ", the baseline does not";
  }
}

// The --precision help lists the precisions a workload's descriptor takes (taken_precisions,
// bench/workloads.h); its baseline, which runs at every precision any of its backends runs at,
// runs at exactly those, so the help names what the registry runs.
TEST(BackendCapabilities, TheBaselineRunsAtExactlyThePrecisionsItsDescriptorTakes) {
  const Registry& registry = cli_registry();
  for (const WorkloadInfo& w : workloads())
    for (const BackendInfo* b : registry.backends_for(w.name)) {
      if (!b->is_baseline) continue;
      const std::vector<Precision> taken = taken_precisions(w);
      EXPECT_EQ(std::set<Precision>(b->precisions.begin(), b->precisions.end()),
                std::set<Precision>(taken.begin(), taken.end()))
          << label(*b);
    }
}

TEST(BackendCapabilities, EveryVendorReferenceIsALibraryBackendOfTheSameWorkloadAndDevice) {
  const Registry& registry = cli_registry();
  int references = 0;
  for (const BackendInfo& b : registry.all()) {
    if (b.vendor_reference.empty()) continue;
    SCOPED_TRACE(label(b) + " -> " + b.vendor_reference);
    ++references;
    EXPECT_TRUE(b.kind == BackendKind::cpu || b.kind == BackendKind::gpu) << "only hand-written code has one";
    const BackendInfo* vendor = registry.find(b.workload, b.vendor_reference);
    ASSERT_NE(vendor, nullptr) << "not registered for " << b.workload;
    EXPECT_TRUE(vendor->kind == BackendKind::cpu_library || vendor->kind == BackendKind::gpu_library);
    EXPECT_EQ(is_gpu(vendor->kind), is_gpu(b.kind)) << "held against a library on the other device";
    EXPECT_TRUE(vendor->vendor_reference.empty());
  }
  EXPECT_GT(references, 0) << "no backend names a vendor reference: the check above checked nothing";
}

// Tensor cores are a GPU unit, and the roofline knows a tensor-core roof at fp32/tf32 (TF32) and
// bf16/fp16 only; a tensor-core precision the backend does not run at would never apply.
TEST(BackendCapabilities, TensorCorePrecisionsAreDeclaredGpuPrecisionsOtherThanFp64) {
  const Registry& registry = cli_registry();
  int tensor_core_backends = 0;
  for (const BackendInfo& b : registry.all()) {
    SCOPED_TRACE(label(b));
    if (!is_gpu(b.kind)) {
      EXPECT_TRUE(b.tensor_core_precisions.empty()) << "a CPU backend declares tensor cores";
      continue;
    }
    tensor_core_backends += b.tensor_core_precisions.empty() ? 0 : 1;
    for (Precision p : b.tensor_core_precisions) {
      EXPECT_TRUE(b.supports_precision(p)) << to_string(p) << " on tensor cores, but not a precision it runs at";
      EXPECT_NE(p, Precision::fp64) << "no fp64 tensor-core roof";
      EXPECT_TRUE(b.uses_tensor_cores_at(p));
    }
  }
  // Every build registers the GPU backends (unavailable without CUDA), with their capabilities.
  EXPECT_GT(tensor_core_backends, 0);
}

// ---------------------------------------------------------------- the analysis follows them

// A fabricated GPU kernel row with a made-up name; only the flag says whether it ran on tensor cores.
VariantResult gpu_row(const std::string& backend, Precision precision, bool tensor_cores) {
  VariantResult r;
  r.workload = "gemm";
  r.backend = backend;
  r.backend_kind = BackendKind::gpu_library;
  r.timing = TimingMode::kernel;
  r.precision = precision;
  r.uses_tensor_cores = tensor_cores;
  r.flops = 2e12;
  r.bytes = 1e9;
  r.stats.median_s = 1;
  r.stats.runs = 1;
  return r;
}

TEST(BackendCapabilities, TheRooflinePicksTheTensorCoreRoofFromTheFlagAlone) {
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> figure(1e3, 1e6);
  PeakFigures peaks;
  peaks.gpu = GpuPeaks{};
  peaks.gpu->copy_gbps = figure(rng);
  peaks.gpu->read_gbps = figure(rng);
  peaks.gpu->fp32_gflops = figure(rng);
  peaks.gpu->fp64_gflops = figure(rng);
  peaks.gpu->tf32_gflops = figure(rng);
  peaks.gpu->bf16_gflops = figure(rng);
  struct Case {
    std::string backend;
    Precision precision;
    bool tensor_cores;
    std::string unit;
    double compute;
  };
  const std::vector<Case> cases = {
      {"made-up-tensor-library", Precision::fp32, true, "gpu tf32", peaks.gpu->tf32_gflops},
      {"made-up-tensor-library", Precision::bf16, true, "gpu bf16/fp16", peaks.gpu->bf16_gflops},
      {"made-up-tensor-library", Precision::fp32, false, "gpu fp32", peaks.gpu->fp32_gflops},
      // A name or a note that used to mean tensor cores means nothing without the flag.
      {"cublas-tf32", Precision::fp32, false, "gpu fp32", peaks.gpu->fp32_gflops},
  };
  for (const Case& c : cases) {
    VariantResult r = gpu_row(c.backend, c.precision, c.tensor_cores);
    r.notes = {{"math", "tensor cores, as the note says"}};
    SCOPED_TRACE(c.backend + "/" + to_string(c.precision) + (c.tensor_cores ? "/tensor cores" : "/no tensor cores"));
    const std::optional<Roof> roof = roof_for(r, peaks);
    ASSERT_TRUE(roof.has_value());
    EXPECT_EQ(roof->unit, c.unit);
    EXPECT_EQ(roof->compute_gflops, c.compute);
  }
}

// A GEMM variant computing the right product and reporting a fixed time per run (so medians
// and speedups are known exactly), with the tensor-core answer of a run-time math choice.
class FixedTimeGemm final : public Variant {
 public:
  FixedTimeGemm(const Problem& problem, double seconds, BackendKind kind, std::optional<bool> tensor_cores)
      : problem_(problem_cast<GemmProblem>(problem)), seconds_(seconds), kind_(kind), tensor_cores_(tensor_cores) {}
  std::vector<TimingMode> timing_modes() const override {
    return is_gpu(kind_) ? std::vector<TimingMode>{TimingMode::kernel} : std::vector<TimingMode>{TimingMode::host};
  }
  double run(TimingMode) override { return seconds_; }
  void read_output(HostBuffer& out) override {
    const auto [m, n, k] = problem_.shape();
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (std::int64_t q = 0; q < k; ++q) sum += problem_.a().get(i * k + q) * problem_.b().get(q * n + j);
        out.set(static_cast<std::size_t>(i * n + j), sum);
      }
  }
  std::optional<bool> uses_tensor_cores() const override { return tensor_cores_; }

 private:
  const GemmProblem& problem_;
  double seconds_;
  BackendKind kind_;
  std::optional<bool> tensor_cores_;
};

BackendInfo fixed_time_backend(std::string name, BackendKind kind, double seconds, bool baseline,
                               std::vector<Precision> tensor_core_precisions = {},
                               std::optional<bool> run_time_tensor_cores = std::nullopt) {
  BackendInfo b;
  b.name = std::move(name);
  b.workload = "gemm";
  b.kind = kind;
  b.is_baseline = baseline;
  b.tensor_core_precisions = std::move(tensor_core_precisions);
  b.availability = [] { return Availability::yes(); };
  b.prepare = [seconds, kind, run_time_tensor_cores](const Problem& p, const ExecutionConfig&) {
    return std::make_unique<FixedTimeGemm>(p, seconds, kind, run_time_tensor_cores);
  };
  return b;
}

const VariantResult& row(const std::vector<VariantResult>& results, const std::string& backend) {
  for (const VariantResult& r : results)
    if (r.backend == backend) return r;
  ADD_FAILURE() << "no row of " << backend;
  static const VariantResult none;
  return none;
}

// Speedups divide by the backend that says it is the baseline, whatever it is called; a backend
// named "serial" that is not the baseline is just another row. The rows carry the flags.
TEST(BackendCapabilities, RunsDivideByTheBaselineAndCarryTheCapabilitiesOfTheirBackends) {
  Registry registry;
  registry.add(fixed_time_backend("reference", BackendKind::cpu, 8e-3, true));
  registry.add(fixed_time_backend("serial", BackendKind::cpu, 4e-3, false));
  registry.add(fixed_time_backend("made-up-gpu", BackendKind::gpu_library, 1e-3, false, {Precision::fp32}));
  // Declares tensor cores, but this run's variant chose other math.
  registry.add(fixed_time_backend("picky-gpu", BackendKind::gpu_library, 2e-3, false, {Precision::fp32}, false));
  // Says it used tensor cores at a precision its definition does not declare: not believed.
  registry.add(fixed_time_backend("cublas-tf32", BackendKind::gpu_library, 2e-3, false, {Precision::bf16}, true));
  RunOptions o;
  o.workloads = {"gemm"};
  o.sizes = {8};
  o.precision = Precision::fp32;
  o.seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(o.seed));
  o.repetitions = 2;
  o.time_budget_s = 0.01;
  o.measure_energy = false;
  Runner runner(registry, o);
  const std::vector<VariantResult> results = runner.run(runner.plan());
  ASSERT_EQ(results.size(), 5u);
  for (const VariantResult& r : results) ASSERT_TRUE(r.ok()) << r.name() << ": " << r.error_message;

  EXPECT_TRUE(row(results, "reference").is_baseline);
  for (const char* other : {"serial", "made-up-gpu", "picky-gpu", "cublas-tf32"})
    EXPECT_FALSE(row(results, other).is_baseline) << other;
  EXPECT_NEAR(row(results, "reference").speedup_vs_serial, 1.0, 1e-9);
  EXPECT_NEAR(row(results, "serial").speedup_vs_serial, 2.0, 1e-9);
  EXPECT_NEAR(row(results, "made-up-gpu").speedup_vs_serial, 8.0, 1e-9);
  EXPECT_EQ(row(results, "made-up-gpu").best_cpu_backend, "serial");

  EXPECT_FALSE(row(results, "reference").uses_tensor_cores);
  EXPECT_TRUE(row(results, "made-up-gpu").uses_tensor_cores);
  EXPECT_FALSE(row(results, "picky-gpu").uses_tensor_cores);
  EXPECT_FALSE(row(results, "cublas-tf32").uses_tensor_cores);
}

// The JSON keeps the flags; a report written before they existed reads by the rules the analysis
// used then: the baseline is the backend "serial", tensor-core rows are cublas-tf32 and the rows
// whose "math" note names tensor cores.
TEST(BackendCapabilities, JsonKeepsTheFlagsAndOldReportsReadByTheOldRules) {
  const std::uint64_t seed = fresh_seed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  RunReport report = reports::fakes::full_run_report(rng);
  std::uniform_int_distribution<int> coin(0, 1);
  // Flags that the old rules would not give, so that the round trip shows they are read, not derived.
  for (VariantResult& r : report.results) {
    r.is_baseline = coin(rng) == 1;
    r.uses_tensor_cores = coin(rng) == 1;
  }
  const RunReport back = reports::parse_report(reports::render_json(report), "now.json");
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < back.results.size(); ++i) {
    SCOPED_TRACE(report.results[i].name());
    EXPECT_EQ(back.results[i].is_baseline, report.results[i].is_baseline);
    EXPECT_EQ(back.results[i].uses_tensor_cores, report.results[i].uses_tensor_cores);
  }
  auto json = reports::to_json(report);
  for (auto& entry : json["benchmarks"])
    if (entry.contains("mlbench"))
      for (const char* key : {"is_baseline", "uses_tensor_cores"}) entry["mlbench"].erase(key);
  const RunReport old = reports::parse_report(json.dump(), "old.json");
  ASSERT_EQ(old.results.size(), report.results.size());
  int baselines = 0, tensor_rows = 0;
  for (const VariantResult& r : old.results) {
    SCOPED_TRACE(r.name());
    bool math_names_tensor_cores = false;
    for (const auto& [key, value] : r.notes)
      math_names_tensor_cores = math_names_tensor_cores || (key == "math" && value.find("tensor") != std::string::npos);
    EXPECT_EQ(r.is_baseline, r.backend == "serial");
    EXPECT_EQ(r.uses_tensor_cores, r.backend == "cublas-tf32" || math_names_tensor_cores);
    baselines += r.is_baseline ? 1 : 0;
    tensor_rows += r.uses_tensor_cores ? 1 : 0;
  }
  EXPECT_GT(baselines, 0);
  EXPECT_GT(tensor_rows, 0);
}

}  // namespace
}  // namespace mlbench
