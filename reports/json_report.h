// JSON form of a RunReport, readable by Google Benchmark's tools and by mlbench itself.
//
// Layout (schema_version 2):
//   {
//     "context":    Google Benchmark's context (date, host_name, executable, num_cpus,
//                   mhz_per_cpu, cpu_scaling_enabled, caches, load_avg, library_build_type,
//                   json_schema_version) + "mlbench": the full MachineContext (with
//                   "peaks": the measured ceilings, reports/peaks_cache.h, or null),
//     "benchmarks": Google Benchmark entries, see below,
//     "mlbench":    {"schema_version": 2, "run": RunInfo}
//   }
// Each ok result gives one entry per measured repetition (run_type "iteration",
// repetition_index, iterations, real_time, cpu_time, time_unit) and, when it has more than one
// repetition, the aggregates Google Benchmark emits: mean, median, stddev (aggregate_unit
// "time") and cv (aggregate_unit "percentage", real_time is the fraction), named run_name +
// "_mean" etc. JsonOptions::aggregates_only leaves the repetition entries out, as
// --benchmark_report_aggregates_only does (a row with one repetition keeps its one entry);
// JsonOptions::aggregates picks which aggregates are written. time_unit is one per benchmark:
// the coarsest of s, ms, us, ns in which its median reads at least 10, or JsonOptions::time_unit
// for all (compare.py only pairs entries of equal unit: compare runs written with one unit).
// A failed, errored, timed-out or interrupted result is one entry the way Google Benchmark
// writes an errored run, "error_occurred": true and "error_message", with iterations 0 and no
// real_time or cpu_time (never a time a tracker would read as fast). run_name/name is
// VariantResult::name() (CPU rows end in "/threads:N", GPU rows in their timing mode);
// "threads" is the row's real thread count; family_index counts (workload, precision, backend,
// timing) and per_family_instance_index counts shapes within it.
//
// mlbench's fields are written ONCE per row, in one nested object "mlbench" on the row's
// median aggregate (on its single entry when it has no aggregates, on its first entry when the
// median is not written), so tools that read only Google Benchmark keys ignore them. That
// object, context.mlbench and mlbench.run are written and read by the field tables of
// reports/json_fields.h (reports/README.md lists every key with its type); among them
// samples {real_time_s: [...], cpu_time_s: [...]}: the repetition times in exact seconds, the
// one place mlbench reads them from (the reader refuses iteration entries whose real_time
// disagrees). Non-finite numbers are written as the strings "nan", "inf", "-inf".
//
// Schema 1 (reports written before schema 2, e.g. under docs/results/) put the whole "mlbench"
// object on every entry and each repetition's times under mlbench.repetition; it is still read.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/result.h"

namespace mlbench::reports {

inline constexpr int kJsonSchemaVersion = 2;

struct JsonOptions {
  std::string time_unit;  // "ns", "us", "ms" or "s" for every entry; empty: per benchmark
  bool aggregates_only = false;
  std::vector<std::string> aggregates = {"mean", "median", "stddev", "cv"};
};

// Throws InputError for an unknown time unit or aggregate name.
nlohmann::ordered_json to_json(const RunReport& report, const JsonOptions& options = {});
std::string render_json(const RunReport& report, const JsonOptions& options = {});
// The MachineContext object written under context["mlbench"].
nlohmann::ordered_json machine_context_to_json(const MachineContext& machine);  // pretty-printed, 2-space indent

// Parses JSON text written by render_json. `source` names the file in error messages.
// Throws InputError("<source>: <problem>") for text that is not JSON, JSON that is not an
// mlbench report, an unknown schema version, a malformed entry or a report without results.
RunReport parse_report(const std::string& text, const std::string& source);
// Reads and parses a file; an unreadable file is an InputError too.
RunReport read_report(const std::string& path);

}  // namespace mlbench::reports
