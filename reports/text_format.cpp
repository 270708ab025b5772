#include <set>
#include "reports/text_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace mlbench::reports {

std::string format_number(double value) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  double magnitude = std::fabs(value);
  if (magnitude == 0) return "0";
  if (magnitude >= 1e6 || magnitude < 1e-3) return format_sci(value);
  if (magnitude >= 100) return fmt::format("{:.0f}", value);
  if (magnitude >= 10) return fmt::format("{:.1f}", value);
  if (magnitude >= 1) return fmt::format("{:.2f}", value);
  return fmt::format("{:.3g}", value);
}

std::string format_sci(double value) { return fmt::format("{:.1e}", value); }

std::string format_duration(double seconds, bool ascii) {
  if (!(seconds > 0) || !std::isfinite(seconds)) return "-";
  struct Unit {
    double scale;
    const char* name;
  };
  const Unit units[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, ascii ? "us" : "µs"}, {1e-9, "ns"}};
  for (const Unit& unit : units)
    if (seconds >= unit.scale) return format_number(seconds / unit.scale) + " " + unit.name;
  return format_number(seconds / 1e-9) + " ns";
}

std::string format_factor(double factor) {
  if (!(factor > 0) || !std::isfinite(factor)) return "-";
  return format_number(factor) + "x";
}

std::string format_percent(double fraction) {
  if (!(fraction > 0) || !std::isfinite(fraction)) return "-";
  double pct = fraction * 100;
  return (pct >= 10 ? fmt::format("{:.0f}", pct) : fmt::format("{:.1f}", pct)) + " %";
}

std::string timing_label(TimingMode mode) {
  switch (mode) {
    case TimingMode::host: return "host";
    case TimingMode::kernel: return "kernel";
    case TimingMode::end_to_end: return "end to end";
  }
  return "host";
}

std::string backend_name(const VariantResult& r) {
  if (r.ranks > 0) return r.backend + " x" + std::to_string(r.ranks) + " ranks";
  return r.gpus > 0 ? r.backend + " x" + std::to_string(r.gpus) : r.backend;
}

std::string backend_label(const VariantResult& r) {
  if (r.timing == TimingMode::host) return backend_name(r);
  return backend_name(r) + " (" + timing_label(r.timing) + ")";
}

std::string status_mark(const VariantResult& r) {
  if (r.status == ResultStatus::timed_out) return "TIMED OUT";
  if (r.status == ResultStatus::interrupted) return "INTERRUPTED";
  return "FAILED";
}

std::string verification_label(const VariantResult& r) {
  switch (r.status) {
    case ResultStatus::ok: return "ok (" + format_sci(r.verification.max_error) + ")";
    case ResultStatus::failed_verification:
      return "FAILED (error " + format_sci(r.verification.max_error) + " > tolerance " +
             format_sci(r.verification.tolerance) + ")";
    case ResultStatus::error: return "ERROR: " + r.error_message;
    case ResultStatus::timed_out: return "TIMED OUT" + (r.error_message.empty() ? "" : ": " + r.error_message);
    case ResultStatus::interrupted: return "INTERRUPTED" + (r.error_message.empty() ? "" : ": " + r.error_message);
  }
  return "?";
}

namespace {
// "5 %", "12.5 %", "0.01 %": a threshold as the user typed it.
std::string threshold_percent(double cv_threshold) { return fmt::format("{:g} %", cv_threshold * 100); }
}  // namespace

std::string noisy_hint(double cv_threshold) {
  return "cv above " + threshold_percent(cv_threshold) +
         ": the runs disagree more than that, so the median is not to be trusted; close other programs, raise "
         "--time-budget, --repetitions or --rounds, pin threads (--pin cores), check the CPU governor (performance) "
         "and the load";
}

std::string noisy_note(double cv_threshold) {
  return "cv above " + threshold_percent(cv_threshold) + ": noisy, the median is not to be trusted";
}

std::string throttle_label(const VariantResult& r) {
  if (!r.gpu_state || r.gpu_state->throttled.empty()) return "";
  std::string label = "throttled: ";
  for (std::size_t i = 0; i < r.gpu_state->throttled.size(); ++i) label += (i ? ", " : "") + r.gpu_state->throttled[i];
  return label;
}

std::string median_label(const VariantResult& r, bool ascii) {
  std::string label = format_duration(r.stats.median_s, ascii);
  if (r.cv_above_threshold) label += std::string(" ") + (ascii ? kNoisyMarkerAscii : kNoisyMarker);
  if (const std::string throttled = throttle_label(r); !throttled.empty()) label += " (" + throttled + ")";
  return label;
}

std::string cpu_state_label(const MachineContext& m) {
  auto known = [](const std::string& s) { return s.empty() ? std::string("unknown") : s; };
  std::string load = "unknown";
  if (!m.load_average.empty()) {
    load.clear();
    for (std::size_t i = 0; i < m.load_average.size(); ++i)
      load += fmt::format("{}{:.2f}", i ? " " : "", m.load_average[i]);
  }
  return fmt::format(
      "governor {}{}, boost {}, SMT {}, load average at start {} (1, 5, 15 min)", known(m.cpu_scaling_governor),
      m.cpu_scaling_driver.empty() || m.cpu_scaling_driver == "unknown" ? "" : " (" + m.cpu_scaling_driver + ")",
      known(m.cpu_boost), known(m.smt), load);
}

std::string machine_label(const MachineContext& m) {
  std::string label = m.hostname.empty() ? "unknown host" : m.hostname;
  if (!m.cpu_model.empty()) label += " · " + m.cpu_model;
  if (m.gpu) label += " · " + m.gpu->name;
  return label;
}

std::vector<std::string> distinct_machine_names(const std::vector<const MachineContext*>& machines) {
  auto all_distinct = [](const std::vector<std::string>& names) {
    return std::set<std::string>(names.begin(), names.end()).size() == names.size();
  };
  std::vector<std::string> names;
  for (const MachineContext* m : machines) names.push_back(m->hostname.empty() ? "unknown host" : m->hostname);
  if (all_distinct(names)) return names;
  for (std::size_t i = 0; i < machines.size(); ++i) {
    const MachineContext& m = *machines[i];
    names[i] += " (" + (m.gpu ? m.gpu->name : m.cpu_model.empty() ? std::string("no GPU") : m.cpu_model) + ")";
  }
  if (all_distinct(names)) return names;
  for (std::size_t i = 0; i < names.size(); ++i) names[i] += " #" + std::to_string(i + 1);
  return names;
}

std::string machine_identity(const MachineContext& m) {
  return m.hostname + "|" + m.cpu_model + "|" + (m.gpu ? m.gpu->name : std::string());
}

std::string ShapeGroup::title() const { return workload + " " + to_string(precision) + " " + shape_label; }

std::vector<ShapeGroup> group_by_shape(const std::vector<VariantResult>& results) {
  std::vector<ShapeGroup> groups;
  std::map<std::string, std::size_t> index;
  for (const VariantResult& r : results) {
    std::string key = r.workload + "|" + to_string(r.precision) + "|" + r.shape_label;
    auto [it, inserted] = index.emplace(key, groups.size());
    if (inserted) groups.push_back({r.workload, r.precision, r.shape_label, r.size, {}});
    groups[it->second].results.push_back(&r);
  }
  return groups;
}

std::string row_key(const VariantResult& r) {
  return r.workload + "|" + to_string(r.precision) + "|" + r.shape_label + "|" + backend_name(r) + "|" +
         to_string(r.timing) + "|" + std::to_string(r.threads);
}

std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (keep)
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "chart" : out;
}

std::string format_energy(double joules, bool ascii) {
  if (joules >= 1) return fmt::format("{} J", format_number(joules));
  if (joules >= 1e-3) return fmt::format("{} mJ", format_number(joules * 1e3));
  return fmt::format("{} {}J", format_number(joules * 1e6), ascii ? "u" : "µ");
}

std::vector<std::string> energy_summary_lines(const std::vector<VariantResult>& results) {
  // Per kind of device, the distinct sources (measured rows) and reasons (the others).
  std::vector<std::string> lines;
  for (const bool gpu : {false, true}) {
    std::vector<std::string> said;
    for (const VariantResult& r : results) {
      if (!r.energy || is_gpu(r.backend_kind) != gpu) continue;
      const std::string text = r.energy->measured ? r.energy->source : "no figure: " + r.energy->unavailable_reason;
      if (std::find(said.begin(), said.end(), text) == said.end()) said.push_back(text);
    }
    if (said.empty()) continue;
    std::string line = gpu ? "GPU rows: " : "CPU rows: ";
    for (std::size_t i = 0; i < said.size(); ++i) line += (i ? "; " : "") + said[i];
    lines.push_back(line);
  }
  return lines;
}

const std::vector<std::string>& energy_columns() {
  static const std::vector<std::string> columns = {"Backend",  "Timing", "Energy/run",           "Power",
                                                   "GFLOP/J",  "GB/J",   "vs best CPU (energy)", "vs best CPU (time)",
                                                   "DRAM/run", "Window"};
  return columns;
}

std::vector<std::vector<std::string>> energy_rows(const std::vector<const VariantResult*>& results, bool ascii) {
  std::vector<std::vector<std::string>> rows;
  if (std::none_of(results.begin(), results.end(), [](const VariantResult* r) { return r->joules_per_run > 0; }))
    return rows;
  for (const VariantResult* r : results) {
    if (!r->ok() || !r->energy) continue;
    if (r->joules_per_run <= 0) {
      rows.push_back({backend_name(*r), timing_label(r->timing), "-", "-", "-", "-", "-", "-", "-", "unavailable"});
      continue;
    }
    const RowEnergy& e = *r->energy;
    rows.push_back({backend_name(*r), timing_label(r->timing), format_energy(r->joules_per_run, ascii),
                    fmt::format("{} W", format_number(r->average_watts)),
                    r->flops > 0 ? format_number(r->gflops_per_joule) : "-",
                    r->bytes > 0 ? format_number(r->gb_per_joule) : "-", format_factor(r->energy_ratio_vs_best_cpu),
                    format_factor(r->speedup_vs_best_cpu),
                    e.dram_joules >= 0 ? format_energy(e.dram_joules / static_cast<double>(e.runs), ascii) : "-",
                    fmt::format("{:.2f} s, {} runs, {} timed", e.window_s, e.runs,
                                format_percent(e.window_s > 0 ? e.timed_s / e.window_s : 0))});
  }
  return rows;
}

}  // namespace mlbench::reports
