// JSON form of a RunReport, readable by Google Benchmark's tools and by mlbench itself.
//
// Layout (schema_version 1):
//   {
//     "context":    Google Benchmark's context (date, host_name, executable, num_cpus,
//                   mhz_per_cpu, cpu_scaling_enabled, caches, load_avg, library_build_type,
//                   json_schema_version) + "mlbench": the full MachineContext (with
//                   "peaks": the measured ceilings, reports/peaks_cache.h, or null),
//     "benchmarks": Google Benchmark entries, see below,
//     "mlbench":    {"schema_version": 1, "run": RunInfo}
//   }
// Each ok result gives one entry per measured repetition (run_type "iteration",
// repetition_index, iterations, real_time, cpu_time, time_unit always "ms" so that compare.py
// pairs every row across runs) and, when it has more than one repetition, the aggregates Google Benchmark
// emits: mean, median, stddev (aggregate_unit "time") and cv (aggregate_unit "percentage",
// real_time is the fraction), named run_name + "_mean" etc. A failed, errored or timed-out
// result is one entry with "error_occurred": true and "error_message". run_name/name is
// VariantResult::name(); "threads" is Google Benchmark's thread count (always 1: mlbench
// times from one thread), family_index counts (workload, precision, backend, timing) and
// per_family_instance_index counts shapes within it.
//
// mlbench's fields ride on EVERY entry in one nested object "mlbench" (so tools that read only
// Google Benchmark keys ignore them): workload, backend, backend_kind, timing, precision,
// size, shape_label, shape {name: value}, threads (OpenMP/OpenBLAS threads), seed, flops,
// bytes, gflops, gbps, speedup_vs_serial, speedup_vs_best_cpu, best_cpu_backend,
// vendor_backend, fraction_of_vendor, intensity, roofline_bound_gflops, fraction_of_roofline,
// roofline_unit (bench/roofline.h; read back as 0 / "" when absent), status, error_message, runs, cv,
// cv_above_threshold, other_load_cores, gpu_state (null or {throttled, before, after}),
// verification {status, passed, max_error, tolerance, method, detail},
// stats {runs, iterations, median_s, mean_s, stddev_s, cv, cpu_median_s}, notes {name: value};
// iteration entries add repetition {index, real_time_s, cpu_time_s} (exact seconds, so a
// read-back is lossless). Non-finite numbers are written as the strings "nan", "inf", "-inf".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "bench/result.h"

namespace mlbench::reports {

inline constexpr int kJsonSchemaVersion = 1;

nlohmann::ordered_json to_json(const RunReport& report);
std::string render_json(const RunReport& report);
// The MachineContext object written under context["mlbench"].
nlohmann::ordered_json machine_context_to_json(const MachineContext& machine);  // pretty-printed, 2-space indent

// Parses JSON text written by render_json. `source` names the file in error messages.
// Throws InputError("<source>: <problem>") for text that is not JSON, JSON that is not an
// mlbench report, an unknown schema version, a malformed entry or a report without results.
RunReport parse_report(const std::string& text, const std::string& source);
// Reads and parses a file; an unreadable file is an InputError too.
RunReport read_report(const std::string& path);

}  // namespace mlbench::reports
