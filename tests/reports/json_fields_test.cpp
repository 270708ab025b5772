// reports/json_fields.h: the one field table per struct writes exactly what it reads, and the
// report written from it is byte for byte what mlbench wrote before the tables existed
// (tests/fixtures: an `mlbench all` report and a peaks cache written by the hand-written
// serializer, commit 9e23dfc).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/json_fields.h"
#include "reports/json_report.h"
#include "reports/peaks_cache.h"
#include "tests/test_support.h"

namespace mlbench::reports {
namespace {

using Json = nlohmann::ordered_json;

std::string fixture(const std::string& name) {
  const std::string text = test_support::slurp(std::string(MLBENCH_SOURCE_DIR) + "/tests/fixtures/" + name);
  EXPECT_FALSE(text.empty()) << "tests/fixtures/" << name << " is missing";
  return text;
}

TEST(JsonFields, AStoredReportIsWrittenBackByteForByte) {
  const std::string text = fixture("report_all_size32.json");
  const RunReport report = parse_report(text, "report_all_size32.json");
  ASSERT_GT(report.results.size(), 10u);
  EXPECT_EQ(render_json(report), text);
}

TEST(JsonFields, AStoredPeaksCacheEntryIsWrittenBackByteForByte) {
  const Json cache = Json::parse(fixture("peaks_cache.json"));
  ASSERT_FALSE(cache.at("machines").empty());
  for (const auto& [key, entry] : cache.at("machines").items()) {
    SCOPED_TRACE(key);
    EXPECT_EQ(peaks_to_json(peaks_from_json(entry)).dump(2), entry.dump(2));
  }
}

// ---- every member of the serialized structs, listed here by hand from bench/ (not from the
// field table), so that a member the table neither writes nor reads, or writes under one key
// and reads under another, comes back different. Not listed: GpuContext::uuid (not part of
// the format) and RunInfo::schema_version (the report's, checked on its own below).

template <class Op>
void members(Op& op, CpuPeaks& c) {
  op(c.threads), op(c.bandwidth_gbps_all), op(c.bandwidth_gbps_one), op(c.read_gbps_all), op(c.read_gbps_one);
  op(c.fp32_gflops_all), op(c.fp32_gflops_one), op(c.fp64_gflops_all), op(c.fp64_gflops_one);
  op(c.triad_elements), op(c.vector_bytes), op(c.runs), op(c.fp32_gemm_gflops_all), op(c.fp64_gemm_gflops_all);
  op(c.gemm_size), op(c.fp32_source), op(c.fp64_source);
}
template <class Op>
void members(Op& op, GpuPeaks& g) {
  op(g.name), op(g.copy_gbps), op(g.read_gbps), op(g.fp32_gflops), op(g.fp64_gflops), op(g.tf32_gflops);
  op(g.bf16_gflops), op(g.copy_bytes), op(g.read_bytes), op(g.gemm_size), op(g.runs);
}
template <class Op>
void members(Op& op, PeakFigures& p) {
  op(p.machine_key), op(p.measured_at), op(p.cpu), op(p.cpu_absent_reason), op(p.gpu), op(p.gpu_absent_reason);
}
template <class Op>
void members(Op& op, CacheLevel& c) {
  op(c.level), op(c.type), op(c.size_bytes), op(c.shared_by_cpus);
}
template <class Op>
void members(Op& op, GpuContext& g) {
  op(g.ordinal), op(g.name), op(g.cc_major), op(g.cc_minor), op(g.sm_count), op(g.memory_bytes);
  op(g.memory_bus_bits), op(g.memory_clock_mhz), op(g.peak_bandwidth_gbps), op(g.sm_clock_mhz), op(g.l2_bytes);
  op(g.driver_version), op(g.runtime_version);
}
template <class Op>
void members(Op& op, RankContext& r) {
  op(r.rank), op(r.hostname), op(r.cpu_model), op(r.logical_cpus), op(r.physical_cores), op(r.cpus), op(r.threads);
  op(r.omp_num_places), op(r.thread_pinning), op(r.load_average), op(r.openblas_core), op(r.gpu), op(r.mpi_library);
}
template <class Op>
void members(Op& op, MachineContext& m) {
  op(m.hostname), op(m.os), op(m.cpu_model), op(m.logical_cpus), op(m.physical_cores), op.positive(m.cpu_mhz);
  op(m.simd), op(m.caches), op(m.memory_total_bytes), op(m.memory_available_bytes), op(m.load_average);
  op(m.cpu_scaling_governor), op(m.cpu_scaling_driver), op(m.cpu_boost), op(m.smt), op(m.compiler);
  op(m.build_type), op(m.git_commit), op(m.build_flags), op(m.cuda_compiler), op(m.openmp), op(m.omp_max_threads);
  op(m.threads_used), op(m.omp_proc_bind), op(m.omp_places), op(m.omp_num_places), op(m.thread_pinning), op(m.cpus);
  op(m.libraries), op(m.mpi_world_size), op(m.mpi_ranks), op(m.openblas_core), op(m.openblas_config), op(m.gpu);
  op(m.gpu_absent_reason), op(m.warnings), op(m.peaks);
}
template <class Op>
void members(Op& op, GpuStateSample& s) {
  op(s.available), op(s.unavailable_reason), op(s.sm_clock_mhz), op(s.memory_clock_mhz), op(s.temperature_c);
  op(s.power_w), op(s.throttle_reason_bits), op(s.throttle_reasons), op(s.power_violation_ns);
  op(s.thermal_violation_ns);
}
template <class Op>
void members(Op& op, GpuStateChange& g) {
  op(g.before), op(g.after), op(g.throttled);
}
template <class Op>
void members(Op& op, RowEnergy& e) {
  op(e.measured), op(e.unavailable_reason), op(e.source), op(e.joules), op(e.dram_joules), op(e.window_s);
  op(e.timed_s), op(e.runs);
}
template <class Op>
void members(Op& op, Verification& v) {
  op(v.passed), op(v.max_error), op(v.tolerance), op(v.method), op(v.detail);
}
// The reader refuses times that are not finite positive seconds, and spreads that are not >= 0.
template <class Op>
void members(Op& op, TimingStats& s) {
  op(s.runs), op(s.rounds), op(s.iterations), op.positive(s.run_times_s), op.positive(s.run_cpu_times_s);
  op.positive(s.median_s), op.positive(s.mean_s), op.positive(s.stddev_s), op.positive(s.cv);
  op(s.cpu_median_s), op(s.cpu_mean_s), op(s.cpu_stddev_s), op(s.cpu_cv);
}
template <class Op>
void members(Op& op, VariantResult& r) {
  op(r.workload), op(r.backend), op(r.backend_kind), op(r.is_baseline), op(r.uses_tensor_cores), op(r.timing);
  op(r.precision), op(r.size), op(r.shape_label), op(r.shape), op(r.threads), op(r.seed), op(r.flops), op(r.bytes);
  op(r.status), op(r.error_message), op(r.verification), op(r.verification_s), op(r.stats), op(r.gflops), op(r.gbps);
  op(r.speedup_vs_serial), op(r.speedup_vs_best_cpu), op(r.best_cpu_backend), op(r.vendor_backend);
  op(r.fraction_of_vendor), op(r.intensity), op(r.roofline_bound_gflops), op(r.fraction_of_roofline);
  op(r.roofline_unit), op(r.gpus), op(r.communication_s), op(r.speedup_vs_one_gpu), op(r.parallel_efficiency);
  op(r.communication_share), op(r.ranks), op(r.speedup_vs_one_rank), op(r.energy), op(r.joules_per_run);
  op(r.average_watts), op(r.gflops_per_joule), op(r.gb_per_joule), op(r.energy_ratio_vs_best_cpu), op(r.notes);
  op(r.cv_above_threshold), op(r.gpu_state), op(r.other_load_cores);
}
template <class Op>
void members(Op& op, RunInfo& run) {
  op(run.mlbench_version), op(run.command_line), op(run.started_at), op(run.finished_at), op(run.seed);
  op(run.time_budget_s), op(run.interrupted), op(run.absent_backends), op.positive(run.cv_threshold);
  op(run.other_load_cores), op(run.rounds);
}

using json_fields::IsOptional;
using json_fields::IsVector;
template <class T>
struct IsPair : std::false_type {};
template <class A, class B>
struct IsPair<std::pair<A, B>> : std::true_type {};

// Gives every member a random value other than its default: doubles now and then NaN or
// infinite (written as strings), strings with characters JSON escapes, enums any of their values.
class Fill {
 public:
  explicit Fill(std::mt19937_64& rng) : rng_(rng) {}
  template <class T>
  void operator()(T& v) {
    fill(v, false);
  }
  template <class T>
  void positive(T& v) {
    fill(v, true);
  }

 private:
  template <class T>
  void fill(T& v, bool positive) {
    if constexpr (std::is_same_v<T, double>) {
      const auto pick = rng_() % 16;
      if (!positive && pick == 0)
        v = std::nan("");
      else if (!positive && pick == 1)
        v = -INFINITY;
      else if (!positive && pick == 2)
        v = INFINITY;
      else
        v = (positive || pick % 2 ? 1 : -1) * std::ldexp(1.0 + static_cast<double>(rng_() % 1000000), -10);
    } else if constexpr (std::is_same_v<T, bool>) {
      v = !v;
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
      v = rng_() | (std::uint64_t{1} << 63);
    } else if constexpr (std::is_integral_v<T>) {
      v = static_cast<T>(1 + rng_() % 1000);  // >= 1: counts the reader checks (rounds) stay valid
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = fmt::format("s{} \"q\" \\ {}", rng_() % 100000, ++serial_);  // unique: row names must be
    } else if constexpr (std::is_enum_v<T>) {
      const auto& all = json_fields::EnumValues<T>::all();
      v = all[rng_() % all.size()];
    } else if constexpr (IsOptional<T>::value) {
      typename T::value_type value{};
      fill(value, positive);
      v = std::move(value);
    } else if constexpr (IsVector<T>::value) {
      v.resize(1 + rng_() % 3);
      for (auto& element : v) fill(element, positive);
    } else if constexpr (IsPair<T>::value) {
      fill(v.first, positive);
      fill(v.second, positive);
    } else {
      members(*this, v);
    }
  }

  std::mt19937_64& rng_;
  int serial_ = 0;
};

// Every member as text, in the order of `members`.
class Dump {
 public:
  template <class T>
  void operator()(const T& v) {
    dump(v);
  }
  template <class T>
  void positive(const T& v) {
    dump(v);
  }
  std::string text;

 private:
  template <class T>
  void dump(const T& v) {
    if constexpr (std::is_same_v<T, double>) {
      text += fmt::format("{} ", v);
    } else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>) {
      text += fmt::format("{}|", v);
    } else if constexpr (std::is_enum_v<T>) {
      text += to_string(v) + "|";
    } else if constexpr (IsOptional<T>::value) {
      if (v)
        dump(*v);
      else
        text += "null|";
    } else if constexpr (IsVector<T>::value) {
      text += "[";
      for (const auto& element : v) dump(element);
      text += "]";
    } else if constexpr (IsPair<T>::value) {
      dump(v.first);
      dump(v.second);
    } else {
      text += "{";
      members(*this, const_cast<T&>(v));  // Dump only reads
      text += "}";
    }
  }
};

template <class T>
std::string dump(const T& value) {
  Dump d;
  members(d, const_cast<T&>(value));
  return d.text;
}

TEST(JsonFields, EveryMemberOfARandomReportSurvivesWritingAndReading) {
  const std::uint64_t seed = test_support::fresh_seed();
  std::mt19937_64 rng(seed);
  Fill fill(rng);
  RunReport report;
  fill(report.run);
  fill(report.machine);
  for (int i = 0; i < 6; ++i) {
    VariantResult r;
    fill(r);
    report.results.push_back(r);
  }
  const std::string json = render_json(report);
  const RunReport back = parse_report(json, "random.json");
  EXPECT_EQ(back.run.schema_version, kJsonSchemaVersion);
  EXPECT_EQ(dump(back.run), dump(report.run));
  EXPECT_EQ(dump(back.machine), dump(report.machine));
  ASSERT_EQ(back.results.size(), report.results.size());
  for (std::size_t i = 0; i < report.results.size(); ++i) EXPECT_EQ(dump(back.results[i]), dump(report.results[i]));
  EXPECT_EQ(render_json(back), json);
}

TEST(JsonFields, RandomPeaksSurviveThePeaksCacheForm) {
  const std::uint64_t seed = test_support::fresh_seed();
  std::mt19937_64 rng(seed);
  Fill fill(rng);
  PeakFigures peaks;
  fill(peaks);
  const Json written = peaks_to_json(peaks);
  const PeakFigures back = peaks_from_json(written);
  EXPECT_EQ(dump(back), dump(peaks));
  EXPECT_EQ(peaks_to_json(back).dump(), written.dump());
}

// A field added to a report after the first reports must read back from older ones: the
// table's optional lines are exactly the keys a reader may miss, and leaving one of them out
// gives the member its default (or the table's fallback) instead of an error.
TEST(JsonFields, AnOptionalKeyLeftOutReadsAsItsDefaultAndARequiredOneIsRefused) {
  const std::uint64_t seed = test_support::fresh_seed();
  std::mt19937_64 rng(seed);
  Fill fill(rng);
  MachineContext machine;
  fill(machine);
  Json written = json_fields::write(machine);
  written.erase("cpu_boost");
  written.erase("omp_num_places");
  const auto back = json_fields::read<MachineContext>(written, "machine");
  EXPECT_EQ(back.cpu_boost, "unknown");
  EXPECT_EQ(back.omp_num_places, 0);
  EXPECT_EQ(back.hostname, machine.hostname);
  written.erase("hostname");
  EXPECT_THROW(json_fields::read<MachineContext>(written, "machine"), nlohmann::json::exception);
}

}  // namespace
}  // namespace mlbench::reports
