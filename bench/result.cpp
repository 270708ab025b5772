#include "bench/result.h"

#include <algorithm>

namespace mlbench {

std::string to_string(ResultStatus s) {
  switch (s) {
    case ResultStatus::ok: return "ok";
    case ResultStatus::failed_verification: return "failed_verification";
    case ResultStatus::error: return "error";
    case ResultStatus::timed_out: return "timed_out";
    case ResultStatus::interrupted: return "interrupted";
  }
  return "error";
}

std::optional<ResultStatus> parse_result_status(std::string_view text) {
  for (auto s : {ResultStatus::ok, ResultStatus::failed_verification, ResultStatus::error, ResultStatus::timed_out,
                 ResultStatus::interrupted})
    if (text == to_string(s)) return s;
  return std::nullopt;
}

std::string VariantResult::problem_key() const { return workload + "/" + to_string(precision) + "/" + shape_label; }

std::string VariantResult::name() const {
  std::string n = problem_key() + "/" + backend;
  if (is_cpu(backend_kind)) n += "/threads:" + std::to_string(threads);
  if (gpus > 0) n += "/gpus=" + std::to_string(gpus);
  if (ranks > 0) n += "/ranks=" + std::to_string(ranks);
  if (timing != TimingMode::host) n += "/" + to_string(timing);
  return n;
}

std::vector<std::string> throttling_between(const GpuStateSample& before, const GpuStateSample& after) {
  std::vector<std::string> reasons;
  auto add = [&reasons](const std::string& reason) {
    if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) reasons.push_back(reason);
  };
  for (const GpuStateSample* s : {&before, &after})
    for (const std::string& reason : s->throttle_reasons) add(reason);
  // The violation counters only grow; growth means a limiter acted between the two readings.
  if (before.power_violation_ns >= 0 && after.power_violation_ns > before.power_violation_ns) add("power cap");
  if (before.thermal_violation_ns >= 0 && after.thermal_violation_ns > before.thermal_violation_ns) add("thermal");
  return reasons;
}

}  // namespace mlbench
