// CSV of results: one row per result, header first. The columns are stable (append only):
//   host, cpu, gpu, workload, precision, shape, size, backend, backend_kind, timing, threads,
//   status, median_s, mean_s, stddev_s, cv, runs, iterations, gflops, gbps,
//   speedup_vs_serial, speedup_vs_best_cpu, best_cpu_backend, vendor_backend,
//   fraction_of_vendor, verification_passed, max_error, tolerance, seed, error_message,
//   intensity, roofline_bound_gflops, fraction_of_roofline, roofline_unit,
//   cv_threshold (the run's --cv-threshold, a fraction), cv_above_threshold (true/false: the
//   result is flagged as noisy), gpu_throttled (what throttled a GPU row, ";"-separated),
//   ..., other_load_cores (CPUs other programs kept busy while the row was measured, -1 unknown)
// Times are in seconds, cv and fraction_of_vendor are fractions; numbers are written with
// full precision; 0 means "not applicable" as in VariantResult. Fields are quoted per RFC 4180.
#pragma once

#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

const std::vector<std::string>& csv_columns();
std::string render_csv(const RunReport& report);
// Several runs (machines, sizes) in one table; the host/cpu/gpu columns tell them apart.
std::string render_csv(const std::vector<RunReport>& reports);

// Joins cells into one CSV line (with "\n"), quoting where needed.
std::string csv_line(const std::vector<std::string>& cells);
// Shortest text that reads back as the same double.
std::string csv_number(double value);

}  // namespace mlbench::reports
