#include "bench/analyze.h"
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
#include "reports/json_fields.h"
#include "reports/json_number.h"
#include "reports/text_format.h"

namespace mlbench::reports {
namespace {

using Json = nlohmann::ordered_json;

Json number(double v) { return json_number(v); }

double get_double(const Json& j, const char* key) { return json_fields::to_double(j.at(key), key); }

// Google Benchmark's context block, from mlbench's machine context. Not a field table: its
// keys are Google Benchmark's, derived from the context (the caches under other names, the
// governor as a flag) and never read back; the reader takes context.mlbench.
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
          {"mlbench", json_fields::write(m)}};
}

// A row's "mlbench" object: its field table (reports/json_fields.h), then what reports
// written before the capability flags existed need, which no table line can say: the flags
// as the analysis recognized them by name then (the baseline was the backend "serial";
// tensor-core rows were cublas-tf32 and the rows whose "math" note named tensor cores).
VariantResult result_from_fields(const Json& j) {
  VariantResult r = json_fields::read<VariantResult>(j, "mlbench");
  if (!j.contains("is_baseline")) r.is_baseline = r.backend == "serial";
  if (!j.contains("uses_tensor_cores")) {
    r.uses_tensor_cores = r.backend == "cublas-tf32";
    for (const auto& [key, value] : r.notes)
      if (key == "math" && value.find("tensor") != std::string::npos) r.uses_tensor_cores = true;
  }
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

// Google Benchmark's entries of one row. Not a field table: they are derived from the row (one
// per repetition in a time unit, the aggregates, an errored run), and the reader only checks
// them against the row's samples (parse_report_checked).
void append_entries(Json& benchmarks, const VariantResult& r, int family_index, int instance_index,
                    const JsonOptions& options) {
  const std::string run_name = r.name();
  const TimingStats& s = r.stats;
  const UnitScale unit = unit_for(r, options);
  const int repetitions = std::max<int>(s.runs, static_cast<int>(s.run_times_s.size()));
  // mlbench's row data (its field table), written once per row; the repetition times in
  // seconds live here only, under "samples" (Google Benchmark's iteration entries show the same
  // numbers in time_unit).
  Json fields = json_fields::write(r);

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
  // The top level is the document's layout, not a struct's fields: schema_version is the
  // file's (checked first when read, then kept in RunInfo::schema_version).
  return {{"context", gbench_context(report)},
          {"benchmarks", benchmarks},
          {"mlbench", {{"schema_version", kJsonSchemaVersion}, {"run", json_fields::write(report.run)}}}};
}

nlohmann::ordered_json machine_context_to_json(const MachineContext& machine) { return json_fields::write(machine); }

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
    report.run = json_fields::read<RunInfo>(j.at("mlbench").at("run"), "run");
    report.run.schema_version = version;
    where = "context.mlbench";
    report.machine = json_fields::read<MachineContext>(j.at("context").at("mlbench"), "mlbench");
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
        report.results.push_back(result_from_fields(fields));  // with the samples (schema 2)
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
  // The spread of the repetitions is not written: derived again from the samples read.
  finalize_run_spreads(report.results);
  return report;
}

RunReport read_report(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) bad(path, "cannot read: is a directory");
  return parse_report(read_file_limited(path, kMaxReportBytes), path);
}

}  // namespace mlbench::reports
