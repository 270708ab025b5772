// The JSON form of every struct mlbench writes and reads back, each defined ONCE: a
// `fields(v, s)` function lists the struct's keys in output order, and the same function
// drives writing (`write`), reading (`read`) and the schema document (`schema_lines`,
// checked against reports/README.md by tests/reports/report_schema_doc_test.cpp). Adding a JSON field
// is one line in one of these functions.
//
// What a line says (`v` is the visitor: Writer, Reader or Schema):
//   v("key", s.member)                       written; read back, required
//   v.optional("key", s.member)              written; absent when read (older files): the default
//   v.optional("key", s.member, fallback)    the same, absent reads as `fallback`
//   v.written_only("key", value)             a copy of a member listed elsewhere, written for
//                                            readers of this object alone; never read back
//   v.object("key", [&](auto& o) {...})      a nested object of members of `s` (optional_object:
//                                            may be absent)
//   v.check(condition, "message")            read: refuse what does not hold (InputError)
// Values by C++ type: double through json_number ("nan", "inf", "-inf"; read also from null),
// a Json value as it is (a document written by its own writer: a fleet rank's report), enums
// as their to_string names, std::optional as null, vectors as arrays, vectors of
// (name, value) pairs as objects, structs with a fields() function as objects.
//
// What is not a field of one struct stays explicit in reports/json_report.cpp, commented there:
// Google Benchmark's context and `benchmarks` entries (derived from the row, never read
// back), the schema_version checks, schema 1's per-entry repetitions and the capability flags
// of reports written before they existed. bench/ knows nothing of this file.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/peaks.h"
#include "bench/result.h"
#include "bench/types.h"
#include "reports/json_number.h"

namespace mlbench::reports::json_fields {

using Json = nlohmann::ordered_json;

// A number as json_number wrote it, or null (what nlohmann writes for NaN: older reports).
inline double to_double(const Json& j, const char* key) {
  if (j.is_number()) return j.get<double>();
  if (j.is_null()) return std::nan("");
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan") return std::nan("");
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
  }
  throw InputError(std::string("\"") + key + "\": expected a number, found " + j.dump());
}

// ---- enums: every value, for reading and for the schema document. A value missing here
// cannot be read back, and no test would notice (the round trip draws from these lists): a new
// enum value in bench/ needs its place here. Precision takes bench's own list.

template <class E>
struct EnumValues;
template <>
struct EnumValues<Precision> {
  static const std::vector<Precision>& all() { return all_precisions(); }
};
template <>
struct EnumValues<BackendKind> {
  static std::vector<BackendKind> all() {
    return {BackendKind::cpu, BackendKind::cpu_library, BackendKind::gpu, BackendKind::gpu_library};
  }
};
template <>
struct EnumValues<TimingMode> {
  static std::vector<TimingMode> all() { return {TimingMode::host, TimingMode::kernel, TimingMode::end_to_end}; }
};
template <>
struct EnumValues<ResultStatus> {
  static std::vector<ResultStatus> all() {
    return {ResultStatus::ok, ResultStatus::failed_verification, ResultStatus::error, ResultStatus::timed_out,
            ResultStatus::interrupted};
  }
};

// ---- type traits of the value kinds

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsNamedValues : std::false_type {};  // vector<pair<string, V>>: an object {name: value}
template <class V>
struct IsNamedValues<std::vector<std::pair<std::string, V>>> : std::true_type {};
template <class T>
inline constexpr bool kIsScalar = std::is_arithmetic_v<T> || std::is_same_v<T, std::string>;
template <class T>
inline constexpr bool kIsJson = std::is_same_v<T, Json>;

template <class T>
Json to_value(const T& value);
template <class T>
void from_value(const Json& j, T& value, const char* key);
template <class T>
void describe(const std::string& path, const std::string& note, std::vector<std::string>& lines);

// ---- the visitors

class Writer {
 public:
  template <class T>
  void operator()(const char* key, const T& member) {
    out[key] = to_value(member);
  }
  template <class T>
  void optional(const char* key, const T& member) {
    (*this)(key, member);
  }
  template <class T, class F>
  void optional(const char* key, const T& member, const F&) {
    (*this)(key, member);
  }
  template <class T>
  void written_only(const char* key, const T& value) {
    (*this)(key, value);
  }
  template <class F>
  void object(const char* key, F&& define) {
    Writer nested;
    define(nested);
    out[key] = std::move(nested.out);
  }
  template <class F>
  void optional_object(const char* key, F&& define) {
    object(key, define);
  }
  void check(bool, const char*) {}

  Json out = Json::object();
};

class Reader {
 public:
  explicit Reader(const Json& in) : in_(in) {}
  template <class T>
  void operator()(const char* key, T& member) {
    from_value(in_.at(key), member, key);
  }
  template <class T>
  void optional(const char* key, T& member) {
    if (in_.contains(key)) (*this)(key, member);
  }
  template <class T, class F>
  void optional(const char* key, T& member, const F& fallback) {
    if (in_.contains(key))
      (*this)(key, member);
    else
      member = fallback;
  }
  template <class T>
  void written_only(const char*, const T&) {}
  template <class F>
  void object(const char* key, F&& define) {
    Reader nested(in_.at(key));
    define(nested);
  }
  template <class F>
  void optional_object(const char* key, F&& define) {
    if (in_.contains(key)) object(key, define);
  }
  void check(bool holds, const char* message) {
    if (!holds) throw InputError(message);
  }

 private:
  const Json& in_;
};

// Lists every key a table writes as "path: type", with " (optional)" where a reader takes
// its absence and " (written only)" where it never reads it: the schema document's field list.
class Schema {
 public:
  Schema(std::string prefix, std::vector<std::string>& lines) : prefix_(std::move(prefix)), lines_(lines) {}
  template <class T>
  void operator()(const char* key, const T&) {
    describe<T>(prefix_ + key, "", lines_);
  }
  template <class T>
  void optional(const char* key, const T&) {
    describe<T>(prefix_ + key, " (optional)", lines_);
  }
  template <class T, class F>
  void optional(const char* key, const T&, const F&) {
    describe<T>(prefix_ + key, " (optional)", lines_);
  }
  template <class T>
  void written_only(const char* key, const T&) {
    describe<T>(prefix_ + key, " (written only)", lines_);
  }
  template <class F>
  void object(const char* key, F&& define, const char* note = "") {
    lines_.push_back(prefix_ + key + ": object" + note);
    Schema nested(prefix_ + key + ".", lines_);
    define(nested);
  }
  template <class F>
  void optional_object(const char* key, F&& define) {
    object(key, define, " (optional)");
  }
  void check(bool, const char*) {}

 private:
  std::string prefix_;
  std::vector<std::string>& lines_;
};

// ---- the field tables, in output order. `S` is the struct, const when writing.

template <class S, class T>
using Of = std::enable_if_t<std::is_same_v<std::remove_const_t<S>, T>>;

template <class V, class S>
Of<S, CpuPeaks> fields(V& v, S& c) {
  v("threads", c.threads);
  v("bandwidth_gbps_all", c.bandwidth_gbps_all);
  v("bandwidth_gbps_one", c.bandwidth_gbps_one);
  // Absent in figures measured before the read-only figure existed (0: unknown).
  v.optional("read_gbps_all", c.read_gbps_all);
  v.optional("read_gbps_one", c.read_gbps_one);
  v("fp32_gflops_all", c.fp32_gflops_all);
  v("fp32_gflops_one", c.fp32_gflops_one);
  v("fp64_gflops_all", c.fp64_gflops_all);
  v("fp64_gflops_one", c.fp64_gflops_one);
  v("triad_elements", c.triad_elements);
  v("vector_bytes", c.vector_bytes);
  v("runs", c.runs);
  // Absent in figures measured before the library GEMM bound existed: the FMA loop alone.
  v.optional("fp32_gemm_gflops_all", c.fp32_gemm_gflops_all);
  v.optional("fp64_gemm_gflops_all", c.fp64_gemm_gflops_all);
  v.optional("gemm_size", c.gemm_size);
  v.optional("fp32_source", c.fp32_source);
  v.optional("fp64_source", c.fp64_source);
}

template <class V, class S>
Of<S, GpuPeaks> fields(V& v, S& g) {
  v("name", g.name);
  v("copy_gbps", g.copy_gbps);
  v("read_gbps", g.read_gbps);
  v("fp32_gflops", g.fp32_gflops);
  v("fp64_gflops", g.fp64_gflops);
  v("tf32_gflops", g.tf32_gflops);
  v("bf16_gflops", g.bf16_gflops);
  v("copy_bytes", g.copy_bytes);
  v("read_bytes", g.read_bytes);
  v("gemm_size", g.gemm_size);
  v("runs", g.runs);
}

// The object under context.mlbench.peaks of a report and under machines.<key> of the peaks
// cache (reports/peaks_cache.h): one definition for both.
template <class V, class S>
Of<S, PeakFigures> fields(V& v, S& p) {
  v("machine_key", p.machine_key);
  v("measured_at", p.measured_at);
  v("cpu", p.cpu);
  v("cpu_absent_reason", p.cpu_absent_reason);
  v("gpu", p.gpu);
  v("gpu_absent_reason", p.gpu_absent_reason);
}

template <class V, class S>
Of<S, CacheLevel> fields(V& v, S& c) {
  v("level", c.level);
  v("type", c.type);
  v("size_bytes", c.size_bytes);
  v("shared_by_cpus", c.shared_by_cpus);
}

// GpuContext::uuid is not part of the report (it names the device for the process only).
template <class V, class S>
Of<S, GpuContext> fields(V& v, S& g) {
  v("ordinal", g.ordinal);
  v("name", g.name);
  v("cc_major", g.cc_major);
  v("cc_minor", g.cc_minor);
  v("sm_count", g.sm_count);
  v("memory_bytes", g.memory_bytes);
  v("memory_bus_bits", g.memory_bus_bits);
  v("memory_clock_mhz", g.memory_clock_mhz);
  v("peak_bandwidth_gbps", g.peak_bandwidth_gbps);
  v("sm_clock_mhz", g.sm_clock_mhz);
  v("l2_bytes", g.l2_bytes);
  v("driver_version", g.driver_version);
  v("runtime_version", g.runtime_version);
}

template <class V, class S>
Of<S, RankContext> fields(V& v, S& r) {
  v("rank", r.rank);
  v("hostname", r.hostname);
  v("cpu_model", r.cpu_model);
  v("logical_cpus", r.logical_cpus);
  v("physical_cores", r.physical_cores);
  v("cpus", r.cpus);
  v("threads", r.threads);
  v("omp_num_places", r.omp_num_places);
  v("thread_pinning", r.thread_pinning);
  v("load_average", r.load_average);
  v("openblas_core", r.openblas_core);
  v("gpu", r.gpu);
  v("mpi_library", r.mpi_library);
}

// The object under context.mlbench of a report (and `mlbench info --json`).
template <class V, class S>
Of<S, MachineContext> fields(V& v, S& m) {
  v("hostname", m.hostname);
  v("os", m.os);
  v("cpu_model", m.cpu_model);
  v("logical_cpus", m.logical_cpus);
  v("physical_cores", m.physical_cores);
  v("cpu_mhz", m.cpu_mhz);
  v("simd", m.simd);
  v("caches", m.caches);
  v("memory_total_bytes", m.memory_total_bytes);
  v("memory_available_bytes", m.memory_available_bytes);
  v("load_average", m.load_average);
  v("cpu_scaling_governor", m.cpu_scaling_governor);
  // Stability facts are absent in reports written before they were recorded.
  v.optional("cpu_scaling_driver", m.cpu_scaling_driver, "unknown");
  v.optional("cpu_boost", m.cpu_boost, "unknown");
  v.optional("smt", m.smt, "unknown");
  v("compiler", m.compiler);
  v("build_type", m.build_type);
  v.optional("git_commit", m.git_commit);  // reports before the commit was recorded
  v("build_flags", m.build_flags);
  v("cuda_compiler", m.cuda_compiler);
  v("openmp", m.openmp);
  v("omp_max_threads", m.omp_max_threads);
  v("threads_used", m.threads_used);
  v("omp_proc_bind", m.omp_proc_bind);
  v("omp_places", m.omp_places);
  v.optional("omp_num_places", m.omp_num_places);
  v.optional("thread_pinning", m.thread_pinning);
  v.optional("cpus", m.cpus);  // absent before it was recorded
  v("libraries", m.libraries);
  v.optional("mpi_world_size", m.mpi_world_size);  // absent before MPI
  v.optional("mpi_ranks", m.mpi_ranks);            // absent before every rank's context was recorded
  v("openblas_core", m.openblas_core);
  v("openblas_config", m.openblas_config);
  v("gpu", m.gpu);
  v("gpu_absent_reason", m.gpu_absent_reason);
  v("warnings", m.warnings);
  v.optional("peaks", m.peaks);  // reports written before peaks were measured
}

template <class V, class S>
Of<S, GpuStateSample> fields(V& v, S& s) {
  v("available", s.available);
  v("unavailable_reason", s.unavailable_reason);
  v("sm_clock_mhz", s.sm_clock_mhz);
  v("memory_clock_mhz", s.memory_clock_mhz);
  v("temperature_c", s.temperature_c);
  v("power_w", s.power_w);
  v("throttle_reason_bits", s.throttle_reason_bits);
  v("throttle_reasons", s.throttle_reasons);
  v("power_violation_ns", s.power_violation_ns);
  v("thermal_violation_ns", s.thermal_violation_ns);
}

template <class V, class S>
Of<S, GpuStateChange> fields(V& v, S& g) {
  v("throttled", g.throttled);
  v("before", g.before);
  v("after", g.after);
}

template <class V, class S>
Of<S, RowEnergy> fields(V& v, S& e) {
  v("measured", e.measured);
  v("unavailable_reason", e.unavailable_reason);
  v("source", e.source);
  v("joules", e.joules);
  v("dram_joules", e.dram_joules);
  v("window_s", e.window_s);
  v("timed_s", e.timed_s);
  v("runs", e.runs);
  v.check(e.runs >= 0, "energy.runs must not be negative");
}

// A row's "mlbench" object (written once per row, reports/json_report.h). Fields added after
// the first reports are optional: absent, they read as the struct's default (0, "", -1).
template <class V, class S>
Of<S, VariantResult> fields(V& v, S& r) {
  v("workload", r.workload);
  v("backend", r.backend);
  v("backend_kind", r.backend_kind);
  // Absent before backends declared them: json_report.cpp applies the old rules by name.
  v.optional("is_baseline", r.is_baseline);
  v.optional("uses_tensor_cores", r.uses_tensor_cores);
  v("timing", r.timing);
  v("precision", r.precision);
  v("size", r.size);
  v("shape_label", r.shape_label);
  v("shape", r.shape);
  v("threads", r.threads);
  v("seed", r.seed);
  v("flops", r.flops);
  v("bytes", r.bytes);
  v("gflops", r.gflops);
  v("gbps", r.gbps);
  v("speedup_vs_serial", r.speedup_vs_serial);
  v("speedup_vs_best_cpu", r.speedup_vs_best_cpu);
  v("best_cpu_backend", r.best_cpu_backend);
  v("vendor_backend", r.vendor_backend);
  v("fraction_of_vendor", r.fraction_of_vendor);
  // Roofline fields are absent in reports written before they existed.
  v.optional("intensity", r.intensity);
  v.optional("roofline_bound_gflops", r.roofline_bound_gflops);
  v.optional("fraction_of_roofline", r.fraction_of_roofline);
  v.optional("roofline_unit", r.roofline_unit);
  // Multi-GPU and MPI fields likewise (older rows are single-device rows: gpus 0, ranks 0).
  v.optional("gpus", r.gpus);
  v.optional("ranks", r.ranks);
  v.optional("communication_s", r.communication_s);
  v.optional("speedup_vs_one_gpu", r.speedup_vs_one_gpu);
  v.optional("parallel_efficiency", r.parallel_efficiency);
  v.optional("communication_share", r.communication_share);
  v.optional("speedup_vs_one_rank", r.speedup_vs_one_rank);
  v("status", r.status);
  v("error_message", r.error_message);
  // At the top for readers of this object alone; read back from "stats".
  v.written_only("runs", r.stats.runs);
  v.written_only("cv", r.stats.cv);
  // Absent before results were flagged (json_report.cpp then flags them against the run's threshold).
  v.optional("cv_above_threshold", r.cv_above_threshold);
  v.optional("other_load_cores", r.other_load_cores);
  v.object("verification", [&](auto& o) {
    o.written_only("status", r.status);  // the row's status, read back from the row's "status"
    o("passed", r.verification.passed);
    o("max_error", r.verification.max_error);
    o("tolerance", r.verification.tolerance);
    o("method", r.verification.method);
    o("detail", r.verification.detail);
  });
  v.optional("verification_s", r.verification_s);  // absent before the exact checks (issue 13)
  v.object("stats", [&](auto& o) {
    o("runs", r.stats.runs);
    o.optional("rounds", r.stats.rounds);  // absent before --rounds: one
    o.check(r.stats.rounds >= 1, "stats.rounds must be at least 1");
    o("iterations", r.stats.iterations);
    o("median_s", r.stats.median_s);
    o("mean_s", r.stats.mean_s);
    o("stddev_s", r.stats.stddev_s);
    o("cv", r.stats.cv);
    o("cpu_median_s", r.stats.cpu_median_s);
    o("cpu_mean_s", r.stats.cpu_mean_s);
    o("cpu_stddev_s", r.stats.cpu_stddev_s);
    o("cpu_cv", r.stats.cpu_cv);
  });
  v("notes", r.notes);
  v.optional("gpu_state", r.gpu_state);
  // Energy: absent in reports written before it was measured (no entry, figures 0).
  v.optional("joules_per_run", r.joules_per_run);
  v.optional("average_watts", r.average_watts);
  v.optional("gflops_per_joule", r.gflops_per_joule);
  v.optional("gb_per_joule", r.gb_per_joule);
  v.optional("energy_ratio_vs_best_cpu", r.energy_ratio_vs_best_cpu);
  v.optional("energy", r.energy);
  // The repetition times in exact seconds, the one place they are read from. Absent in
  // schema 1, which put each repetition's times on its own entry (json_report.cpp).
  v.optional_object("samples", [&](auto& o) {
    o("real_time_s", r.stats.run_times_s);
    o("cpu_time_s", r.stats.run_cpu_times_s);
  });
}

// The object under mlbench.run of a report. RunInfo::schema_version is the report's, read by
// json_report.cpp from mlbench.schema_version.
template <class V, class S>
Of<S, RunInfo> fields(V& v, S& run) {
  v("mlbench_version", run.mlbench_version);
  v("command_line", run.command_line);
  v("started_at", run.started_at);
  v("finished_at", run.finished_at);
  v("seed", run.seed);
  v("time_budget_s", run.time_budget_s);
  v.optional("rounds", run.rounds);  // reports before --rounds: one
  v.check(run.rounds >= 1, "rounds must be at least 1");
  v.optional("pooled_runs", run.pooled_runs);  // reports before report --pool: one
  v.check(run.pooled_runs >= 1, "pooled_runs must be at least 1");
  v("interrupted", run.interrupted);
  v("absent_backends", run.absent_backends);
  // Reports written before results were flagged: the default threshold.
  v.optional("cv_threshold", run.cv_threshold);
  v.check(run.cv_threshold > 0, "cv_threshold must be a positive fraction");
  v.optional("other_load_cores", run.other_load_cores);
}

// ---- the schema of a value: its type name, and for objects the lines of their members

template <class T>
std::string type_name() {
  if constexpr (kIsJson<T>) {
    return "JSON value";
  } else if constexpr (std::is_same_v<T, double>) {
    return "number";
  } else if constexpr (std::is_same_v<T, bool>) {
    return "boolean";
  } else if constexpr (std::is_integral_v<T>) {
    return "integer";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "string";
  } else if constexpr (std::is_enum_v<T>) {
    std::string names;
    for (T value : EnumValues<T>::all()) names += (names.empty() ? "" : " | ") + to_string(value);
    return "string (" + names + ")";
  } else if constexpr (IsOptional<T>::value) {
    return type_name<typename T::value_type>() + " or null";
  } else if constexpr (IsNamedValues<T>::value) {
    return "object {name: " + type_name<typename T::value_type::second_type>() + "}";
  } else if constexpr (IsVector<T>::value) {
    return "array of " + type_name<typename T::value_type>();
  } else {
    return "object";
  }
}

template <class T>
void describe(const std::string& path, const std::string& note, std::vector<std::string>& lines) {
  lines.push_back(path + ": " + type_name<T>() + note);
  if constexpr (IsOptional<T>::value) {
    using Value = typename T::value_type;
    if constexpr (!kIsScalar<Value> && !std::is_enum_v<Value>) {
      Value value{};
      Schema nested(path + ".", lines);
      fields(nested, value);
    }
  } else if constexpr (IsVector<T>::value && !IsNamedValues<T>::value) {
    using Element = typename T::value_type;
    if constexpr (!kIsScalar<Element> && !std::is_enum_v<Element>) {
      Element element{};
      Schema nested(path + "[].", lines);
      fields(nested, element);
    }
  } else if constexpr (!kIsScalar<T> && !std::is_enum_v<T> && !IsNamedValues<T>::value && !kIsJson<T>) {
    T value{};
    Schema nested(path + ".", lines);
    fields(nested, value);
  }
}

// ---- values

template <class T>
Json to_value(const T& value) {
  if constexpr (kIsJson<T>) {
    return value;
  } else if constexpr (std::is_same_v<T, double>) {
    return json_number(value);
  } else if constexpr (std::is_enum_v<T>) {
    return to_string(value);
  } else if constexpr (kIsScalar<T>) {
    return value;
  } else if constexpr (IsOptional<T>::value) {
    return value ? to_value(*value) : Json(nullptr);
  } else if constexpr (IsNamedValues<T>::value) {
    Json object = Json::object();
    for (const auto& [name, v] : value) object[name] = to_value(v);
    return object;
  } else if constexpr (IsVector<T>::value) {
    Json array = Json::array();
    for (const auto& v : value) array.push_back(to_value(v));
    return array;
  } else {
    Writer writer;
    fields(writer, value);
    return std::move(writer.out);
  }
}

template <class T>
void from_value(const Json& j, T& value, const char* key) {
  if constexpr (kIsJson<T>) {
    value = j;
  } else if constexpr (std::is_same_v<T, double>) {
    value = to_double(j, key);
  } else if constexpr (std::is_enum_v<T>) {
    const std::string text = j.get<std::string>();
    for (T candidate : EnumValues<T>::all())
      if (to_string(candidate) == text) {
        value = candidate;
        return;
      }
    throw InputError(std::string("unknown ") + key + " " + j.dump());
  } else if constexpr (kIsScalar<T>) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // A float outside T's range is undefined behaviour to convert (fuzz finding: 2.5e137).
      if (j.is_number_float()) {
        const double d = j.get<double>();
        const double limit = std::ldexp(1.0, std::numeric_limits<T>::digits);
        if (!(d >= (std::is_signed_v<T> ? -limit : 0.0) && d < limit))
          throw InputError(std::string("\"") + key + "\": " + j.dump() + " is not an integer in range");
      }
    }
    value = j.get<T>();
  } else if constexpr (IsOptional<T>::value) {
    if (j.is_null()) {
      value.reset();
    } else {
      typename T::value_type v{};
      from_value(j, v, key);
      value = std::move(v);
    }
  } else if constexpr (IsNamedValues<T>::value) {
    if (!j.is_object()) throw InputError(std::string("\"") + key + "\": expected an object, found " + j.type_name());
    value.clear();
    for (auto it = j.begin(); it != j.end(); ++it) {
      typename T::value_type::second_type v{};
      from_value(it.value(), v, key);
      value.emplace_back(it.key(), std::move(v));
    }
  } else if constexpr (IsVector<T>::value) {
    if (!j.is_array()) throw InputError(std::string("\"") + key + "\": expected an array, found " + j.type_name());
    value.clear();
    for (const Json& element : j) {
      typename T::value_type v{};
      from_value(element, v, key);
      value.push_back(std::move(v));
    }
  } else {
    if (!j.is_object()) throw InputError(std::string("\"") + key + "\": expected an object, found " + j.type_name());
    Reader reader(j);
    fields(reader, value);
  }
}

// ---- entry points

template <class T>
Json write(const T& value) {
  return to_value(value);
}

// The schema lines of T's members, each path starting with `prefix`.
template <class T>
std::vector<std::string> schema_lines(const std::string& prefix) {
  std::vector<std::string> lines;
  T value{};
  Schema schema(prefix, lines);
  fields(schema, value);
  return lines;
}

// Throws InputError or nlohmann::json::exception naming the first malformed field.
template <class T>
T read(const Json& j, const char* what) {
  T value{};
  from_value(j, value, what);
  return value;
}

}  // namespace mlbench::reports::json_fields
