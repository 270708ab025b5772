#include "reports/csv.h"

#include <fmt/format.h>

namespace mlbench::reports {

const std::vector<std::string>& csv_columns() {
  static const std::vector<std::string> columns = {"host",
                                                   "cpu",
                                                   "gpu",
                                                   "workload",
                                                   "precision",
                                                   "shape",
                                                   "size",
                                                   "backend",
                                                   "backend_kind",
                                                   "timing",
                                                   "threads",
                                                   "status",
                                                   "median_s",
                                                   "mean_s",
                                                   "stddev_s",
                                                   "cv",
                                                   "runs",
                                                   "iterations",
                                                   "gflops",
                                                   "gbps",
                                                   "speedup_vs_serial",
                                                   "speedup_vs_best_cpu",
                                                   "best_cpu_backend",
                                                   "vendor_backend",
                                                   "fraction_of_vendor",
                                                   "verification_passed",
                                                   "max_error",
                                                   "tolerance",
                                                   "seed",
                                                   "error_message",
                                                   "intensity",
                                                   "roofline_bound_gflops",
                                                   "fraction_of_roofline",
                                                   "roofline_unit",
                                                   "cv_threshold",
                                                   "cv_above_threshold",
                                                   "gpu_throttled",
                                                   "gpus",
                                                   "communication_s",
                                                   "speedup_vs_one_gpu",
                                                   "parallel_efficiency",
                                                   "communication_share",
                                                   "other_load_cores",
                                                   "verification_s",
                                                   "git_commit",
                                                   "ranks",
                                                   "speedup_vs_one_rank",
                                                   "joules_per_run",
                                                   "average_watts",
                                                   "gflops_per_joule",
                                                   "gb_per_joule",
                                                   "energy_ratio_vs_best_cpu",
                                                   "dram_joules_per_run",
                                                   "energy_window_s",
                                                   "energy_runs",
                                                   "energy_source",
                                                   "energy_unavailable_reason"};
  return columns;
}

namespace {
// "power cap;thermal": the limiters that throttled a GPU row ("" for none).
std::string throttled_list(const VariantResult& r) {
  std::string out;
  if (r.gpu_state)
    for (const std::string& reason : r.gpu_state->throttled) out += (out.empty() ? "" : ";") + reason;
  return out;
}
}  // namespace

std::string csv_number(double value) { return fmt::format("{}", value); }

// An empty cell where the figure does not apply to the row, so that pandas and spreadsheets
// skip it (NaN) instead of averaging in a zero.
std::string csv_number_if(bool applies, double value) { return applies ? csv_number(value) : std::string(); }

std::string csv_line(const std::vector<std::string>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::string& c = cells[i];
    if (i) out += ',';
    if (c.find_first_of(",\"\n\r") == std::string::npos) {
      out += c;
      continue;
    }
    out += '"';
    for (char ch : c) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    out += '"';
  }
  return out + "\n";
}

std::string render_csv(const std::vector<RunReport>& reports) {
  std::string out = csv_line(csv_columns());
  for (const RunReport& report : reports) {
    const MachineContext& m = report.machine;
    for (const VariantResult& r : report.results) {
      const TimingStats& s = r.stats;
      // Derived ratios are 0 where they were not computed (no serial or CPU row verified, a
      // failed row): a real ratio is never 0. Multi-GPU figures belong to multi-GPU rows, the
      // vendor ratio to rows held against a library, the roof to rows that have one.
      const bool multi_gpu = r.gpus > 0;
      const bool has_roof = !r.roofline_unit.empty();
      // Energy figures belong to verified rows whose window was measured (finalize_results).
      const bool measured = r.joules_per_run > 0 && r.energy && r.energy->runs > 0;
      out += csv_line({m.hostname,
                       m.cpu_model,
                       m.gpu ? m.gpu->name : "",
                       r.workload,
                       to_string(r.precision),
                       r.shape_label,
                       std::to_string(r.size),
                       r.backend,
                       to_string(r.backend_kind),
                       to_string(r.timing),
                       std::to_string(r.threads),
                       to_string(r.status),
                       csv_number(s.median_s),
                       csv_number(s.mean_s),
                       csv_number(s.stddev_s),
                       csv_number(s.cv),
                       std::to_string(s.runs),
                       std::to_string(s.iterations),
                       csv_number(r.gflops),
                       csv_number(r.gbps),
                       csv_number_if(r.speedup_vs_serial > 0, r.speedup_vs_serial),
                       csv_number_if(r.speedup_vs_best_cpu > 0, r.speedup_vs_best_cpu),
                       r.best_cpu_backend,
                       r.vendor_backend,
                       csv_number_if(!r.vendor_backend.empty() && r.fraction_of_vendor > 0, r.fraction_of_vendor),
                       r.verification.passed ? "true" : "false",
                       csv_number(r.verification.max_error),
                       csv_number(r.verification.tolerance),
                       std::to_string(r.seed),
                       r.error_message,
                       csv_number(r.intensity),
                       csv_number_if(has_roof, r.roofline_bound_gflops),
                       csv_number_if(has_roof && r.fraction_of_roofline > 0, r.fraction_of_roofline),
                       r.roofline_unit,
                       csv_number(report.run.cv_threshold),
                       r.cv_above_threshold ? "true" : "false",
                       throttled_list(r),
                       std::to_string(r.gpus),
                       csv_number_if(multi_gpu || r.ranks > 0, r.communication_s),
                       csv_number_if(multi_gpu && r.speedup_vs_one_gpu > 0, r.speedup_vs_one_gpu),
                       csv_number_if((multi_gpu || r.ranks > 0) && r.parallel_efficiency > 0, r.parallel_efficiency),
                       csv_number_if(multi_gpu || r.ranks > 0, r.communication_share),
                       csv_number_if(r.other_load_cores >= 0, r.other_load_cores),
                       csv_number(r.verification_s),
                       m.git_commit,
                       std::to_string(r.ranks),
                       csv_number_if(r.ranks > 0 && r.speedup_vs_one_rank > 0, r.speedup_vs_one_rank),
                       csv_number_if(measured, r.joules_per_run),
                       csv_number_if(measured && r.average_watts > 0, r.average_watts),
                       csv_number_if(measured && r.flops > 0, r.gflops_per_joule),
                       csv_number_if(measured && r.bytes > 0, r.gb_per_joule),
                       csv_number_if(measured && r.energy_ratio_vs_best_cpu > 0, r.energy_ratio_vs_best_cpu),
                       csv_number_if(measured && r.energy->dram_joules >= 0,
                                     measured ? r.energy->dram_joules / static_cast<double>(r.energy->runs) : 0),
                       csv_number_if(measured, measured ? r.energy->window_s : 0),
                       measured ? std::to_string(r.energy->runs) : "",
                       measured ? r.energy->source : "",
                       r.energy && !r.energy->measured ? r.energy->unavailable_reason : ""});
    }
  }
  return out;
}

std::string render_csv(const RunReport& report) { return render_csv(std::vector<RunReport>{report}); }

}  // namespace mlbench::reports
