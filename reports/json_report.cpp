#include "reports/json_report.h"
#include "reports/json_limits.h"

#include <set>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "bench/types.h"
#include "reports/json_number.h"
#include "reports/peaks_cache.h"
#include "reports/text_format.h"

namespace mlbench::reports {
namespace {

using Json = nlohmann::ordered_json;

Json number(double v) { return json_number(v); }

double to_double(const Json& j) {
  if (j.is_number()) return j.get<double>();
  if (j.is_null()) return std::nan("");
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan") return std::nan("");
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
  }
  throw InputError("expected a number, found " + j.dump());
}

double get_double(const Json& j, const char* key) { return to_double(j.at(key)); }

Json pairs_to_object(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Json object = Json::object();
  for (const auto& [k, v] : pairs) object[k] = v;
  return object;
}

std::vector<std::pair<std::string, std::string>> object_to_pairs(const Json& object) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (auto it = object.begin(); it != object.end(); ++it) pairs.emplace_back(it.key(), it.value().get<std::string>());
  return pairs;
}

std::string optional_string(const Json& j, const char* key, const std::string& fallback) {
  return j.contains(key) ? j.at(key).get<std::string>() : fallback;
}

Json gpu_sample_to_json(const GpuStateSample& s) {
  return {{"available", s.available},
          {"unavailable_reason", s.unavailable_reason},
          {"sm_clock_mhz", number(s.sm_clock_mhz)},
          {"memory_clock_mhz", number(s.memory_clock_mhz)},
          {"temperature_c", number(s.temperature_c)},
          {"power_w", number(s.power_w)},
          {"throttle_reason_bits", s.throttle_reason_bits},
          {"throttle_reasons", s.throttle_reasons},
          {"power_violation_ns", number(s.power_violation_ns)},
          {"thermal_violation_ns", number(s.thermal_violation_ns)}};
}

GpuStateSample gpu_sample_from_json(const Json& j) {
  GpuStateSample s;
  s.available = j.at("available").get<bool>();
  s.unavailable_reason = j.at("unavailable_reason").get<std::string>();
  s.sm_clock_mhz = get_double(j, "sm_clock_mhz");
  s.memory_clock_mhz = get_double(j, "memory_clock_mhz");
  s.temperature_c = get_double(j, "temperature_c");
  s.power_w = get_double(j, "power_w");
  s.throttle_reason_bits = j.at("throttle_reason_bits").get<std::uint64_t>();
  s.throttle_reasons = j.at("throttle_reasons").get<std::vector<std::string>>();
  s.power_violation_ns = get_double(j, "power_violation_ns");
  s.thermal_violation_ns = get_double(j, "thermal_violation_ns");
  return s;
}

Json gpu_state_to_json(const std::optional<GpuStateChange>& g) {
  if (!g) return nullptr;
  return {
      {"throttled", g->throttled}, {"before", gpu_sample_to_json(g->before)}, {"after", gpu_sample_to_json(g->after)}};
}

Json rank_to_json(const RankContext& r) {
  Json load = Json::array();
  for (double v : r.load_average) load.push_back(number(v));
  return {{"rank", r.rank},
          {"hostname", r.hostname},
          {"cpu_model", r.cpu_model},
          {"logical_cpus", r.logical_cpus},
          {"physical_cores", r.physical_cores},
          {"cpus", r.cpus},
          {"threads", r.threads},
          {"omp_num_places", r.omp_num_places},
          {"thread_pinning", r.thread_pinning},
          {"load_average", load},
          {"openblas_core", r.openblas_core},
          {"gpu", r.gpu},
          {"mpi_library", r.mpi_library}};
}

RankContext rank_from_json(const Json& j) {
  RankContext r;
  r.rank = j.at("rank").get<int>();
  r.hostname = j.at("hostname").get<std::string>();
  r.cpu_model = j.at("cpu_model").get<std::string>();
  r.logical_cpus = j.at("logical_cpus").get<int>();
  r.physical_cores = j.at("physical_cores").get<int>();
  r.cpus = j.at("cpus").get<std::vector<int>>();
  r.threads = j.at("threads").get<int>();
  r.omp_num_places = j.at("omp_num_places").get<int>();
  r.thread_pinning = j.at("thread_pinning").get<std::string>();
  for (const Json& v : j.at("load_average")) r.load_average.push_back(to_double(v));
  r.openblas_core = j.at("openblas_core").get<std::string>();
  r.gpu = j.at("gpu").get<std::string>();
  r.mpi_library = j.at("mpi_library").get<std::string>();
  return r;
}

Json energy_to_json(const std::optional<RowEnergy>& e) {
  if (!e) return nullptr;
  return {{"measured", e->measured},
          {"unavailable_reason", e->unavailable_reason},
          {"source", e->source},
          {"joules", number(e->joules)},
          {"dram_joules", number(e->dram_joules)},
          {"window_s", number(e->window_s)},
          {"timed_s", number(e->timed_s)},
          {"runs", e->runs}};
}

RowEnergy energy_from_json(const Json& j) {
  RowEnergy e;
  e.measured = j.at("measured").get<bool>();
  e.unavailable_reason = j.at("unavailable_reason").get<std::string>();
  e.source = j.at("source").get<std::string>();
  e.joules = get_double(j, "joules");
  e.dram_joules = get_double(j, "dram_joules");
  e.window_s = get_double(j, "window_s");
  e.timed_s = get_double(j, "timed_s");
  e.runs = j.at("runs").get<std::int64_t>();
  if (e.runs < 0) throw InputError("energy.runs must not be negative");
  return e;
}

Json machine_to_json(const MachineContext& m) {
  Json caches = Json::array();
  for (const CacheLevel& c : m.caches)
    caches.push_back(
        {{"level", c.level}, {"type", c.type}, {"size_bytes", c.size_bytes}, {"shared_by_cpus", c.shared_by_cpus}});
  Json gpu = nullptr;
  if (m.gpu) {
    const GpuContext& g = *m.gpu;
    gpu = {{"ordinal", g.ordinal},
           {"name", g.name},
           {"cc_major", g.cc_major},
           {"cc_minor", g.cc_minor},
           {"sm_count", g.sm_count},
           {"memory_bytes", g.memory_bytes},
           {"memory_bus_bits", g.memory_bus_bits},
           {"memory_clock_mhz", number(g.memory_clock_mhz)},
           {"peak_bandwidth_gbps", number(g.peak_bandwidth_gbps)},
           {"sm_clock_mhz", number(g.sm_clock_mhz)},
           {"l2_bytes", g.l2_bytes},
           {"driver_version", g.driver_version},
           {"runtime_version", g.runtime_version}};
  }
  Json load = Json::array();
  for (double v : m.load_average) load.push_back(number(v));
  Json ranks = Json::array();
  for (const RankContext& r : m.mpi_ranks) ranks.push_back(rank_to_json(r));
  return {{"hostname", m.hostname},
          {"os", m.os},
          {"cpu_model", m.cpu_model},
          {"logical_cpus", m.logical_cpus},
          {"physical_cores", m.physical_cores},
          {"cpu_mhz", number(m.cpu_mhz)},
          {"simd", m.simd},
          {"caches", caches},
          {"memory_total_bytes", m.memory_total_bytes},
          {"memory_available_bytes", m.memory_available_bytes},
          {"load_average", load},
          {"cpu_scaling_governor", m.cpu_scaling_governor},
          {"cpu_scaling_driver", m.cpu_scaling_driver},
          {"cpu_boost", m.cpu_boost},
          {"smt", m.smt},
          {"compiler", m.compiler},
          {"build_type", m.build_type},
          {"git_commit", m.git_commit},
          {"build_flags", m.build_flags},
          {"cuda_compiler", m.cuda_compiler},
          {"openmp", m.openmp},
          {"omp_max_threads", m.omp_max_threads},
          {"threads_used", m.threads_used},
          {"omp_proc_bind", m.omp_proc_bind},
          {"omp_places", m.omp_places},
          {"omp_num_places", m.omp_num_places},
          {"thread_pinning", m.thread_pinning},
          {"cpus", m.cpus},
          {"libraries", pairs_to_object(m.libraries)},
          {"mpi_world_size", m.mpi_world_size},
          {"mpi_ranks", ranks},
          {"openblas_core", m.openblas_core},
          {"openblas_config", m.openblas_config},
          {"gpu", gpu},
          {"gpu_absent_reason", m.gpu_absent_reason},
          {"warnings", m.warnings},
          {"peaks", m.peaks ? peaks_to_json(*m.peaks) : Json(nullptr)}};
}

MachineContext machine_from_json(const Json& j) {
  MachineContext m;
  m.hostname = j.at("hostname").get<std::string>();
  m.os = j.at("os").get<std::string>();
  m.cpu_model = j.at("cpu_model").get<std::string>();
  m.logical_cpus = j.at("logical_cpus").get<int>();
  m.physical_cores = j.at("physical_cores").get<int>();
  m.cpu_mhz = get_double(j, "cpu_mhz");
  m.simd = j.at("simd").get<std::vector<std::string>>();
  for (const Json& c : j.at("caches"))
    m.caches.push_back({c.at("level").get<int>(), c.at("type").get<std::string>(),
                        c.at("size_bytes").get<std::int64_t>(), c.at("shared_by_cpus").get<int>()});
  m.memory_total_bytes = j.at("memory_total_bytes").get<std::int64_t>();
  m.memory_available_bytes = j.at("memory_available_bytes").get<std::int64_t>();
  for (const Json& v : j.at("load_average")) m.load_average.push_back(to_double(v));
  m.cpu_scaling_governor = j.at("cpu_scaling_governor").get<std::string>();
  // Stability facts are absent in reports written before they were recorded.
  m.cpu_scaling_driver = optional_string(j, "cpu_scaling_driver", "unknown");
  m.cpu_boost = optional_string(j, "cpu_boost", "unknown");
  m.smt = optional_string(j, "smt", "unknown");
  m.compiler = j.at("compiler").get<std::string>();
  m.build_type = j.at("build_type").get<std::string>();
  m.git_commit = optional_string(j, "git_commit", "");  // reports before the commit was recorded
  m.build_flags = j.at("build_flags").get<std::string>();
  m.cuda_compiler = j.at("cuda_compiler").get<std::string>();
  m.openmp = j.at("openmp").get<std::string>();
  m.omp_max_threads = j.at("omp_max_threads").get<int>();
  m.threads_used = j.at("threads_used").get<int>();
  m.omp_proc_bind = j.at("omp_proc_bind").get<std::string>();
  m.omp_places = j.at("omp_places").get<std::string>();
  if (j.contains("omp_num_places")) m.omp_num_places = j.at("omp_num_places").get<int>();
  m.thread_pinning = optional_string(j, "thread_pinning", "");
  if (j.contains("cpus")) m.cpus = j.at("cpus").get<std::vector<int>>();  // absent before it was recorded
  m.libraries = object_to_pairs(j.at("libraries"));
  if (j.contains("mpi_world_size")) m.mpi_world_size = j.at("mpi_world_size").get<int>();  // absent before MPI
  if (j.contains("mpi_ranks"))  // absent before every rank's context was recorded
    for (const Json& r : j.at("mpi_ranks")) m.mpi_ranks.push_back(rank_from_json(r));
  m.openblas_core = j.at("openblas_core").get<std::string>();
  m.openblas_config = j.at("openblas_config").get<std::string>();
  const Json& g = j.at("gpu");
  if (!g.is_null()) {
    GpuContext gpu;
    gpu.ordinal = g.at("ordinal").get<int>();
    gpu.name = g.at("name").get<std::string>();
    gpu.cc_major = g.at("cc_major").get<int>();
    gpu.cc_minor = g.at("cc_minor").get<int>();
    gpu.sm_count = g.at("sm_count").get<int>();
    gpu.memory_bytes = g.at("memory_bytes").get<std::int64_t>();
    gpu.memory_bus_bits = g.at("memory_bus_bits").get<int>();
    gpu.memory_clock_mhz = get_double(g, "memory_clock_mhz");
    gpu.peak_bandwidth_gbps = get_double(g, "peak_bandwidth_gbps");
    gpu.sm_clock_mhz = get_double(g, "sm_clock_mhz");
    gpu.l2_bytes = g.at("l2_bytes").get<std::int64_t>();
    gpu.driver_version = g.at("driver_version").get<std::string>();
    gpu.runtime_version = g.at("runtime_version").get<std::string>();
    m.gpu = gpu;
  }
  m.gpu_absent_reason = j.at("gpu_absent_reason").get<std::string>();
  m.warnings = j.at("warnings").get<std::vector<std::string>>();
  // Reports written before peaks were measured have no "peaks".
  if (j.contains("peaks") && !j.at("peaks").is_null()) m.peaks = peaks_from_json(j.at("peaks"));
  return m;
}

Json run_to_json(const RunInfo& run) {
  return {{"mlbench_version", run.mlbench_version},
          {"command_line", run.command_line},
          {"started_at", run.started_at},
          {"finished_at", run.finished_at},
          {"seed", run.seed},
          {"time_budget_s", number(run.time_budget_s)},
          {"rounds", run.rounds},
          {"interrupted", run.interrupted},
          {"absent_backends", pairs_to_object(run.absent_backends)},
          {"cv_threshold", number(run.cv_threshold)},
          {"other_load_cores", number(run.other_load_cores)}};
}

RunInfo run_from_json(const Json& j) {
  RunInfo run;
  run.mlbench_version = j.at("mlbench_version").get<std::string>();
  run.command_line = j.at("command_line").get<std::string>();
  run.started_at = j.at("started_at").get<std::string>();
  run.finished_at = j.at("finished_at").get<std::string>();
  run.seed = j.at("seed").get<std::uint64_t>();
  run.time_budget_s = get_double(j, "time_budget_s");
  if (j.contains("rounds")) run.rounds = j.at("rounds").get<int>();  // reports before --rounds: one
  if (run.rounds < 1) throw InputError("rounds must be at least 1");
  run.interrupted = j.at("interrupted").get<bool>();
  run.absent_backends = object_to_pairs(j.at("absent_backends"));
  // Reports written before results were flagged: the default threshold.
  if (j.contains("cv_threshold")) run.cv_threshold = get_double(j, "cv_threshold");
  if (!(run.cv_threshold > 0)) throw InputError("cv_threshold must be a positive fraction");
  if (j.contains("other_load_cores")) run.other_load_cores = get_double(j, "other_load_cores");
  return run;
}

// Google Benchmark's context block, from mlbench's machine context.
Json gbench_context(const RunReport& report) {
  const MachineContext& m = report.machine;
  Json caches = Json::array();
  for (const CacheLevel& c : m.caches)
    caches.push_back({{"type", c.type}, {"level", c.level}, {"size", c.size_bytes}, {"num_sharing", c.shared_by_cpus}});
  Json load = Json::array();
  for (double v : m.load_average) load.push_back(number(v));
  std::string build_type = m.build_type;
  std::transform(build_type.begin(), build_type.end(), build_type.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string executable = report.run.command_line.substr(0, report.run.command_line.find(' '));
  return {{"date", report.run.started_at},
          {"host_name", m.hostname},
          {"executable", executable.empty() ? "mlbench" : executable},
          {"num_cpus", m.logical_cpus},
          {"mhz_per_cpu", static_cast<std::int64_t>(std::lround(m.cpu_mhz))},
          {"cpu_scaling_enabled", !m.cpu_scaling_governor.empty() && m.cpu_scaling_governor != "unknown" &&
                                      m.cpu_scaling_governor != "performance"},
          {"caches", caches},
          {"load_avg", load},
          {"library_build_type", build_type == "debug" ? "debug" : "release"},
          {"json_schema_version", 1},
          {"mlbench", machine_to_json(m)}};
}

Json result_fields(const VariantResult& r) {
  Json shape = Json::object();
  for (const auto& [k, v] : r.shape) shape[k] = v;
  const TimingStats& s = r.stats;
  return {{"workload", r.workload},
          {"backend", r.backend},
          {"backend_kind", to_string(r.backend_kind)},
          {"is_baseline", r.is_baseline},
          {"uses_tensor_cores", r.uses_tensor_cores},
          {"timing", to_string(r.timing)},
          {"precision", to_string(r.precision)},
          {"size", r.size},
          {"shape_label", r.shape_label},
          {"shape", shape},
          {"threads", r.threads},
          {"seed", r.seed},
          {"flops", number(r.flops)},
          {"bytes", number(r.bytes)},
          {"gflops", number(r.gflops)},
          {"gbps", number(r.gbps)},
          {"speedup_vs_serial", number(r.speedup_vs_serial)},
          {"speedup_vs_best_cpu", number(r.speedup_vs_best_cpu)},
          {"best_cpu_backend", r.best_cpu_backend},
          {"vendor_backend", r.vendor_backend},
          {"fraction_of_vendor", number(r.fraction_of_vendor)},
          {"intensity", number(r.intensity)},
          {"roofline_bound_gflops", number(r.roofline_bound_gflops)},
          {"fraction_of_roofline", number(r.fraction_of_roofline)},
          {"roofline_unit", r.roofline_unit},
          {"gpus", r.gpus},
          {"ranks", r.ranks},
          {"communication_s", number(r.communication_s)},
          {"speedup_vs_one_gpu", number(r.speedup_vs_one_gpu)},
          {"parallel_efficiency", number(r.parallel_efficiency)},
          {"communication_share", number(r.communication_share)},
          {"speedup_vs_one_rank", number(r.speedup_vs_one_rank)},
          {"status", to_string(r.status)},
          {"error_message", r.error_message},
          {"runs", s.runs},
          {"cv", number(s.cv)},
          {"cv_above_threshold", r.cv_above_threshold},
          {"other_load_cores", number(r.other_load_cores)},
          {"verification",
           {{"status", to_string(r.status)},
            {"passed", r.verification.passed},
            {"max_error", number(r.verification.max_error)},
            {"tolerance", number(r.verification.tolerance)},
            {"method", r.verification.method},
            {"detail", r.verification.detail}}},
          {"verification_s", number(r.verification_s)},
          {"stats",
           {{"runs", s.runs},
            {"rounds", s.rounds},
            {"iterations", s.iterations},
            {"median_s", number(s.median_s)},
            {"mean_s", number(s.mean_s)},
            {"stddev_s", number(s.stddev_s)},
            {"cv", number(s.cv)},
            {"cpu_median_s", number(s.cpu_median_s)},
            {"cpu_mean_s", number(s.cpu_mean_s)},
            {"cpu_stddev_s", number(s.cpu_stddev_s)},
            {"cpu_cv", number(s.cpu_cv)}}},
          {"notes", pairs_to_object(r.notes)},
          {"gpu_state", gpu_state_to_json(r.gpu_state)},
          {"joules_per_run", number(r.joules_per_run)},
          {"average_watts", number(r.average_watts)},
          {"gflops_per_joule", number(r.gflops_per_joule)},
          {"gb_per_joule", number(r.gb_per_joule)},
          {"energy_ratio_vs_best_cpu", number(r.energy_ratio_vs_best_cpu)},
          {"energy", energy_to_json(r.energy)}};
}

BackendKind parse_backend_kind(const std::string& text) {
  for (auto k : {BackendKind::cpu, BackendKind::cpu_library, BackendKind::gpu, BackendKind::gpu_library})
    if (to_string(k) == text) return k;
  throw InputError("unknown backend_kind \"" + text + "\"");
}

VariantResult result_from_fields(const Json& j) {
  VariantResult r;
  r.workload = j.at("workload").get<std::string>();
  r.backend = j.at("backend").get<std::string>();
  r.backend_kind = parse_backend_kind(j.at("backend_kind").get<std::string>());
  auto timing = parse_timing_mode(j.at("timing").get<std::string>());
  if (!timing) throw InputError("unknown timing " + j.at("timing").dump());
  r.timing = *timing;
  auto precision = parse_precision(j.at("precision").get<std::string>());
  if (!precision) throw InputError("unknown precision " + j.at("precision").dump());
  r.precision = *precision;
  r.size = j.at("size").get<std::int64_t>();
  r.shape_label = j.at("shape_label").get<std::string>();
  const Json& shape = j.at("shape");
  for (auto it = shape.begin(); it != shape.end(); ++it) r.shape.emplace_back(it.key(), it.value().get<std::int64_t>());
  r.threads = j.at("threads").get<int>();
  r.seed = j.at("seed").get<std::uint64_t>();
  r.flops = get_double(j, "flops");
  r.bytes = get_double(j, "bytes");
  r.gflops = get_double(j, "gflops");
  r.gbps = get_double(j, "gbps");
  r.speedup_vs_serial = get_double(j, "speedup_vs_serial");
  r.speedup_vs_best_cpu = get_double(j, "speedup_vs_best_cpu");
  r.best_cpu_backend = j.at("best_cpu_backend").get<std::string>();
  r.vendor_backend = j.at("vendor_backend").get<std::string>();
  r.fraction_of_vendor = get_double(j, "fraction_of_vendor");
  // Roofline fields are absent in reports written before they existed.
  if (j.contains("intensity")) r.intensity = get_double(j, "intensity");
  if (j.contains("roofline_bound_gflops")) r.roofline_bound_gflops = get_double(j, "roofline_bound_gflops");
  if (j.contains("fraction_of_roofline")) r.fraction_of_roofline = get_double(j, "fraction_of_roofline");
  if (j.contains("roofline_unit")) r.roofline_unit = j.at("roofline_unit").get<std::string>();
  // Multi-GPU fields likewise (older rows are single-device rows: gpus 0).
  if (j.contains("gpus")) r.gpus = j.at("gpus").get<int>();
  if (j.contains("ranks")) r.ranks = j.at("ranks").get<int>();  // absent before MPI rows: 0
  if (j.contains("communication_s")) r.communication_s = get_double(j, "communication_s");
  if (j.contains("speedup_vs_one_gpu")) r.speedup_vs_one_gpu = get_double(j, "speedup_vs_one_gpu");
  if (j.contains("parallel_efficiency")) r.parallel_efficiency = get_double(j, "parallel_efficiency");
  if (j.contains("communication_share")) r.communication_share = get_double(j, "communication_share");
  if (j.contains("speedup_vs_one_rank")) r.speedup_vs_one_rank = get_double(j, "speedup_vs_one_rank");  // absent before
  auto status = parse_result_status(j.at("status").get<std::string>());
  if (!status) throw InputError("unknown status " + j.at("status").dump());
  r.status = *status;
  r.error_message = j.at("error_message").get<std::string>();
  const Json& v = j.at("verification");
  r.verification.passed = v.at("passed").get<bool>();
  r.verification.max_error = get_double(v, "max_error");
  r.verification.tolerance = get_double(v, "tolerance");
  r.verification.method = v.at("method").get<std::string>();
  r.verification.detail = v.at("detail").get<std::string>();
  // absent in reports written before the exact checks (issue 13)
  if (j.contains("verification_s")) r.verification_s = get_double(j, "verification_s");
  const Json& s = j.at("stats");
  r.stats.runs = s.at("runs").get<int>();
  r.stats.iterations = s.at("iterations").get<std::int64_t>();
  if (s.contains("rounds")) r.stats.rounds = s.at("rounds").get<int>();
  if (r.stats.rounds < 1) throw InputError("stats.rounds must be at least 1");
  r.stats.median_s = get_double(s, "median_s");
  r.stats.mean_s = get_double(s, "mean_s");
  r.stats.stddev_s = get_double(s, "stddev_s");
  r.stats.cv = get_double(s, "cv");
  r.stats.cpu_median_s = get_double(s, "cpu_median_s");
  r.stats.cpu_mean_s = get_double(s, "cpu_mean_s");
  r.stats.cpu_stddev_s = get_double(s, "cpu_stddev_s");
  r.stats.cpu_cv = get_double(s, "cpu_cv");
  r.notes = object_to_pairs(j.at("notes"));
  // The capability flags are absent in reports written before backends declared them; there
  // they are what the analysis recognized by name then: the baseline was the backend "serial",
  // tensor-core rows were cublas-tf32 and the rows whose "math" note named tensor cores.
  if (j.contains("is_baseline"))
    r.is_baseline = j.at("is_baseline").get<bool>();
  else
    r.is_baseline = r.backend == "serial";
  if (j.contains("uses_tensor_cores")) {
    r.uses_tensor_cores = j.at("uses_tensor_cores").get<bool>();
  } else {
    r.uses_tensor_cores = r.backend == "cublas-tf32";
    for (const auto& [key, value] : r.notes)
      if (key == "math" && value.find("tensor") != std::string::npos) r.uses_tensor_cores = true;
  }
  // Absent in reports written before they existed (the flag is then set from the run's threshold).
  if (j.contains("cv_above_threshold")) r.cv_above_threshold = j.at("cv_above_threshold").get<bool>();
  if (j.contains("other_load_cores")) r.other_load_cores = get_double(j, "other_load_cores");
  if (j.contains("gpu_state") && !j.at("gpu_state").is_null()) {
    const Json& g = j.at("gpu_state");
    r.gpu_state = GpuStateChange{gpu_sample_from_json(g.at("before")), gpu_sample_from_json(g.at("after")),
                                 g.at("throttled").get<std::vector<std::string>>()};
  }
  // Energy: absent in reports written before it was measured (no entry, figures 0).
  if (j.contains("energy") && !j.at("energy").is_null()) r.energy = energy_from_json(j.at("energy"));
  if (j.contains("joules_per_run")) r.joules_per_run = get_double(j, "joules_per_run");
  if (j.contains("average_watts")) r.average_watts = get_double(j, "average_watts");
  if (j.contains("gflops_per_joule")) r.gflops_per_joule = get_double(j, "gflops_per_joule");
  if (j.contains("gb_per_joule")) r.gb_per_joule = get_double(j, "gb_per_joule");
  if (j.contains("energy_ratio_vs_best_cpu")) r.energy_ratio_vs_best_cpu = get_double(j, "energy_ratio_vs_best_cpu");
  return r;
}

// Google Benchmark's time units, coarsest first, with seconds -> unit factors.
struct UnitScale {
  const char* name;
  double per_second;
};
constexpr UnitScale kUnits[] = {{"s", 1}, {"ms", 1e3}, {"us", 1e6}, {"ns", 1e9}};

UnitScale unit_named(const std::string& name) {
  for (const UnitScale& u : kUnits)
    if (name == u.name) return u;
  throw InputError("unknown time unit \"" + name + "\" (ns, us, ms or s)");
}

// Per benchmark, as Google Benchmark gives each benchmark one unit for all its entries: the
// coarsest unit in which the median reads at least 10, so that tools printing whole numbers
// (compare.py) show two digits or more; a row without a time takes ns.
UnitScale unit_for(const VariantResult& r, const JsonOptions& options) {
  if (!options.time_unit.empty()) return unit_named(options.time_unit);
  const double seconds = r.stats.median_s;
  if (r.ok() && seconds > 0)
    for (const UnitScale& u : kUnits)
      if (seconds * u.per_second >= 10) return u;
  return kUnits[3];
}

void append_entries(Json& benchmarks, const VariantResult& r, int family_index, int instance_index,
                    const JsonOptions& options) {
  const std::string run_name = r.name();
  const TimingStats& s = r.stats;
  const UnitScale unit = unit_for(r, options);
  const int repetitions = std::max<int>(s.runs, static_cast<int>(s.run_times_s.size()));
  // mlbench's row data, written once per row; the repetition times in seconds live here only
  // (Google Benchmark's iteration entries show the same numbers in time_unit).
  Json fields = result_fields(r);
  {
    Json real = Json::array(), cpu = Json::array();
    for (double t : s.run_times_s) real.push_back(number(t));
    for (double t : s.run_cpu_times_s) cpu.push_back(number(t));
    fields["samples"] = {{"real_time_s", real}, {"cpu_time_s", cpu}};
  }

  auto base = [&](const std::string& name) {
    return Json{{"name", name},
                {"family_index", family_index},
                {"per_family_instance_index", instance_index},
                {"run_name", run_name}};
  };

  if (!r.ok()) {
    // Google Benchmark's errored run: error_occurred and error_message. No real_time or
    // cpu_time: there is no time to report (Google Benchmark writes 0, which trackers read
    // as infinitely fast).
    Json e = base(run_name);
    e["run_type"] = "iteration";
    e["repetitions"] = std::max(repetitions, 1);
    e["repetition_index"] = 0;
    e["threads"] = r.threads;
    e["error_occurred"] = true;
    e["error_message"] = r.error_message.empty() ? verification_label(r) : r.error_message;
    e["iterations"] = 0;
    e["mlbench"] = std::move(fields);
    benchmarks.push_back(std::move(e));
    return;
  }

  const std::vector<double>& real = s.run_times_s;
  const std::vector<double>& cpu = s.run_cpu_times_s.size() == real.size() ? s.run_cpu_times_s : s.run_times_s;
  // Google Benchmark aggregates only with more than one repetition, and then, asked for
  // aggregates only, leaves the repetitions out.
  const bool aggregated = repetitions >= 2 && !options.aggregates.empty();
  std::vector<Json> entries;
  if (!(aggregated && options.aggregates_only)) {
    for (std::size_t i = 0; i < real.size(); ++i) {
      Json e = base(run_name);
      e["run_type"] = "iteration";
      e["repetitions"] = repetitions;
      e["repetition_index"] = static_cast<int>(i);
      e["threads"] = r.threads;
      e["iterations"] = s.iterations;
      e["real_time"] = number(real[i] * unit.per_second);
      e["cpu_time"] = number(cpu[i] * unit.per_second);
      e["time_unit"] = unit.name;
      entries.push_back(std::move(e));
    }
  }
  int carrier = entries.empty() ? -1 : 0;  // the entry that carries the row's fields
  if (aggregated) {
    struct Aggregate {
      const char* name;
      double real;
      double cpu;
      bool percentage;
    };
    // Google Benchmark's own aggregates, as the runner collected them.
    const Aggregate aggregates[] = {
        {"mean", s.mean_s * unit.per_second, s.cpu_mean_s * unit.per_second, false},
        {"median", s.median_s * unit.per_second, s.cpu_median_s * unit.per_second, false},
        {"stddev", s.stddev_s * unit.per_second, s.cpu_stddev_s * unit.per_second, false},
        {"cv", s.cv, s.cpu_cv, true},
    };
    for (const Aggregate& a : aggregates) {
      if (std::find(options.aggregates.begin(), options.aggregates.end(), a.name) == options.aggregates.end()) continue;
      Json e = base(run_name + "_" + a.name);
      e["run_type"] = "aggregate";
      e["repetitions"] = repetitions;
      e["threads"] = r.threads;
      e["aggregate_name"] = a.name;
      e["aggregate_unit"] = a.percentage ? "percentage" : "time";
      e["iterations"] = repetitions;
      e["real_time"] = number(a.real);
      e["cpu_time"] = number(a.cpu);
      e["time_unit"] = unit.name;
      if (std::string(a.name) == "median" || carrier < 0) carrier = static_cast<int>(entries.size());
      entries.push_back(std::move(e));
    }
  }
  entries[static_cast<std::size_t>(carrier)]["mlbench"] = std::move(fields);
  for (Json& e : entries) benchmarks.push_back(std::move(e));
}

[[noreturn]] void bad(const std::string& source, const std::string& problem) {
  throw InputError(source + ": " + problem);
}

}  // namespace

nlohmann::ordered_json to_json(const RunReport& report, const JsonOptions& options) {
  if (!options.time_unit.empty()) unit_named(options.time_unit);  // an unknown unit is an InputError
  for (const std::string& a : options.aggregates)
    if (a != "mean" && a != "median" && a != "stddev" && a != "cv")
      throw InputError("unknown aggregate \"" + a + "\" (mean, median, stddev or cv)");
  Json benchmarks = Json::array();
  std::map<std::string, int> family_of;
  std::map<int, int> instances_in_family;
  for (const VariantResult& r : report.results) {
    std::string family = r.workload + "|" + to_string(r.precision) + "|" + backend_name(r) + "|" + to_string(r.timing);
    auto [it, inserted] = family_of.emplace(family, static_cast<int>(family_of.size()));
    int instance = instances_in_family[it->second]++;
    append_entries(benchmarks, r, it->second, instance, options);
  }
  return {{"context", gbench_context(report)},
          {"benchmarks", benchmarks},
          {"mlbench", {{"schema_version", kJsonSchemaVersion}, {"run", run_to_json(report.run)}}}};
}

nlohmann::ordered_json machine_context_to_json(const MachineContext& machine) { return machine_to_json(machine); }

std::string render_json(const RunReport& report, const JsonOptions& options) {
  // Strings that are not UTF-8 (a host name, an error text from a library) are written with
  // U+FFFD in their place instead of failing the whole report.
  return to_json(report, options).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

static RunReport parse_report_checked(const std::string& text, const std::string& source);

RunReport parse_report(const std::string& text, const std::string& source) {
  // Any JSON type or range error deeper in (a string where a number belongs, 1e400) is a
  // malformed report, not an internal error.
  try {
    return parse_report_checked(text, source);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(source + ": malformed mlbench report (" + e.what() + ")");
  }
}

static RunReport parse_report_checked(const std::string& text, const std::string& source) {
  if (text.size() > kMaxReportBytes) bad(source, fmt::format("larger than {} MiB, not read", kMaxReportBytes >> 20));
  Json j;
  try {
    j = parse_json_limited(text);
  } catch (const InputError& e) {
    bad(source, e.what());
  }
  if (!j.is_object() || !j.contains("mlbench") || !j["mlbench"].is_object() ||
      !j["mlbench"].contains("schema_version")) {
    bool gbench = j.is_object() && j.contains("benchmarks");
    bad(source, gbench ? "not an mlbench report (Google Benchmark JSON without the \"mlbench\" object)"
                       : "not an mlbench report (no \"mlbench\" object)");
  }
  const Json& schema = j["mlbench"]["schema_version"];
  if (!schema.is_number_integer() || schema.get<int>() < 1 || schema.get<int>() > kJsonSchemaVersion)
    bad(source, "unknown schema version " + schema.dump() + " (this mlbench reads versions 1 to " +
                    std::to_string(kJsonSchemaVersion) + ")");
  const int version = schema.get<int>();

  RunReport report;
  std::string where = "\"mlbench\".run";
  try {
    report.run = run_from_json(j.at("mlbench").at("run"));
    report.run.schema_version = version;
    where = "context.mlbench";
    report.machine = machine_from_json(j.at("context").at("mlbench"));
    where = "benchmarks";
    const Json& benchmarks = j.at("benchmarks");
    if (!benchmarks.is_array()) bad(source, "\"benchmarks\" is not an array");
    // Schema 1: every entry carries "mlbench", iteration entries add the repetition's times
    // under "repetition". Schema 2: one entry per row carries "mlbench" with the repetition
    // times under "samples"; the others hold Google Benchmark's fields only and must agree.
    std::map<std::string, std::size_t> index_of;
    std::vector<std::size_t> without_fields;
    for (std::size_t i = 0; i < benchmarks.size(); ++i) {
      where = "benchmarks[" + std::to_string(i) + "]";
      const Json& entry = benchmarks[i];
      const std::string run_name = entry.at("run_name").get<std::string>();
      if (version >= 2 && !entry.contains("mlbench")) {
        without_fields.push_back(i);
        continue;
      }
      const Json& fields = entry.at("mlbench");
      auto [it, inserted] = index_of.emplace(run_name, report.results.size());
      if (inserted) {
        report.results.push_back(result_from_fields(fields));
        if (fields.contains("samples")) {
          VariantResult& r = report.results.back();
          for (const Json& t : fields.at("samples").at("real_time_s")) r.stats.run_times_s.push_back(to_double(t));
          for (const Json& t : fields.at("samples").at("cpu_time_s")) r.stats.run_cpu_times_s.push_back(to_double(t));
        }
      } else if (version >= 2) {
        bad(source, where + ": a second entry with the fields of " + run_name + " (schema 2 stores them once per row)");
      }
      if (fields.contains("repetition")) {
        VariantResult& r = report.results[it->second];
        const Json& rep = fields.at("repetition");
        r.stats.run_times_s.push_back(get_double(rep, "real_time_s"));
        double cpu = get_double(rep, "cpu_time_s");
        if (!std::isnan(cpu)) r.stats.run_cpu_times_s.push_back(cpu);
      }
    }
    // Google Benchmark's view of a row must name a row and show its times.
    for (std::size_t i : without_fields) {
      where = "benchmarks[" + std::to_string(i) + "]";
      const Json& entry = benchmarks[i];
      const std::string run_name = entry.at("run_name").get<std::string>();
      auto it = index_of.find(run_name);
      if (it == index_of.end()) bad(source, where + ": no entry carries the mlbench fields of " + run_name);
      if (entry.value("run_type", "") != "iteration" || entry.contains("error_occurred")) continue;
      const VariantResult& r = report.results[it->second];
      const auto index = entry.at("repetition_index").get<std::size_t>();
      if (index >= r.stats.run_times_s.size())
        bad(source, where + ": repetition " + std::to_string(index) + " of " + run_name + " is not in its samples");
      const double expected =
          r.stats.run_times_s[index] * unit_named(entry.at("time_unit").get<std::string>()).per_second;
      const double written = get_double(entry, "real_time");
      const bool agree = written == expected || (std::isnan(written) && std::isnan(expected)) ||
                         std::fabs(written - expected) <= 1e-9 * std::fabs(expected);
      if (!agree)
        bad(source, where + ": real_time " + entry.at("real_time").dump() + " disagrees with " + run_name +
                        "'s samples (" + std::to_string(expected) + ")");
    }
  } catch (const Json::exception& e) {
    std::string what = e.what();
    auto close = what.find("] ");
    bad(source, where + ": " + (close == std::string::npos ? what : what.substr(close + 2)));
  } catch (const InputError& e) {
    if (std::string(e.what()).rfind(source + ":", 0) == 0) throw;
    bad(source, where + ": " + e.what());
  }
  if (report.results.empty()) bad(source, "empty report (no results)");
  // Reports from before the flag existed: flag their results against the run's threshold.
  bool flags_written = true;
  for (const Json& entry : j.at("benchmarks"))
    if (entry.contains("mlbench")) {
      flags_written = entry.at("mlbench").contains("cv_above_threshold");
      break;
    }
  if (!flags_written) flag_noisy_results(report.results, report.run.cv_threshold);
  // Every time reported belongs to measured runs: an ok result needs its repetitions, and a
  // time is a finite, positive number of seconds (a zero or negative one would pass any gate).
  for (const VariantResult& r : report.results) {
    if (r.ok() && r.stats.run_times_s.empty()) bad(source, r.name() + ": marked ok but has no measured repetition");
    for (double t : r.stats.run_times_s)
      if (!(std::isfinite(t) && t > 0))
        bad(source, r.name() + ": a repetition time is not a positive number of seconds");
    if (r.ok())
      for (double t : {r.stats.median_s, r.stats.mean_s})
        if (!(std::isfinite(t) && t > 0))
          bad(source, r.name() + ": median/mean time is not a positive number of seconds");
    if (!(std::isfinite(r.stats.cv) && r.stats.cv >= 0 && std::isfinite(r.stats.stddev_s) && r.stats.stddev_s >= 0))
      bad(source, r.name() + ": stddev/cv is not a finite number >= 0");
  }
  // A run's rows are unique by name (the runner pools repeated rows): two rows of one name
  // would be written as one row's fields twice, which no reader could take back.
  std::set<std::string> names;
  for (const VariantResult& r : report.results)
    if (!names.insert(r.name()).second) bad(source, r.name() + ": two rows of the same name");
  return report;
}

RunReport read_report(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) bad(path, "cannot read: is a directory");
  return parse_report(read_file_limited(path, kMaxReportBytes), path);
}

}  // namespace mlbench::reports
