#include "bench/result.h"

#include <limits>
#include <map>

namespace mlbench {

std::string to_string(ResultStatus s) {
  switch (s) {
    case ResultStatus::ok: return "ok";
    case ResultStatus::failed_verification: return "failed_verification";
    case ResultStatus::error: return "error";
    case ResultStatus::timed_out: return "timed_out";
  }
  return "error";
}

std::optional<ResultStatus> parse_result_status(std::string_view text) {
  for (auto s : {ResultStatus::ok, ResultStatus::failed_verification, ResultStatus::error, ResultStatus::timed_out})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

std::string VariantResult::problem_key() const {
  return workload + "/" + to_string(precision) + "/" + shape_label;
}

std::string VariantResult::name() const {
  std::string n = problem_key() + "/" + backend;
  if (timing != TimingMode::host) n += "/" + to_string(timing);
  return n;
}

void finalize_results(std::vector<VariantResult>& results) {
  for (auto& r : results) {
    r.gflops = r.gbps = r.speedup_vs_serial = r.speedup_vs_best_cpu = r.fraction_of_vendor = 0;
    r.best_cpu_backend.clear();
    if (r.ok() && r.stats.median_s > 0) {
      r.gflops = r.flops / r.stats.median_s / 1e9;
      r.gbps = r.bytes / r.stats.median_s / 1e9;
    }
  }
  // Per problem: the serial time and the fastest verified CPU backend.
  struct Baselines {
    double serial = 0;
    double best_cpu = std::numeric_limits<double>::infinity();
    std::string best_cpu_name;
  };
  std::map<std::string, Baselines> baselines;
  for (const auto& r : results) {
    if (!r.ok() || r.stats.median_s <= 0 || !is_cpu(r.backend_kind)) continue;
    auto& b = baselines[r.problem_key()];
    if (r.backend == "serial") b.serial = r.stats.median_s;
    if (r.stats.median_s < b.best_cpu) {
      b.best_cpu = r.stats.median_s;
      b.best_cpu_name = r.backend;
    }
  }
  for (auto& r : results) {
    if (!r.ok() || r.stats.median_s <= 0) continue;
    auto it = baselines.find(r.problem_key());
    if (it != baselines.end()) {
      if (it->second.serial > 0) r.speedup_vs_serial = it->second.serial / r.stats.median_s;
      if (!it->second.best_cpu_name.empty()) {
        r.speedup_vs_best_cpu = it->second.best_cpu / r.stats.median_s;
        r.best_cpu_backend = it->second.best_cpu_name;
      }
    }
    if (r.vendor_backend.empty()) continue;
    for (const auto& v : results)
      if (v.ok() && v.backend == r.vendor_backend && v.timing == r.timing && v.problem_key() == r.problem_key() &&
          v.stats.median_s > 0)
        r.fraction_of_vendor = v.stats.median_s / r.stats.median_s;
  }
}

}  // namespace mlbench
