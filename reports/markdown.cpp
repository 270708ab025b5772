#include "reports/markdown.h"

#include <fmt/format.h>

#include <algorithm>

#include "bench/thread_binding.h"
#include "reports/peaks_cache.h"
#include "reports/sweep.h"
#include "reports/text_format.h"

namespace mlbench::reports {
namespace {

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

std::string table_row(const std::vector<std::string>& cells) {
  std::string row = "|";
  for (const std::string& c : cells) row += " " + markdown_cell(c) + " |";
  return row + "\n";
}

bool is_hand_written_gpu(const VariantResult& r) { return r.backend_kind == BackendKind::gpu; }

// For a throttled GPU row: "throttled: power cap (SM 1980 -> 1755 MHz, 45 -> 71 °C, 310 -> 699 W)".
std::string gpu_state_change(const VariantResult& r) {
  const std::string throttled = throttle_label(r);
  if (throttled.empty()) return "";
  const GpuStateSample& a = r.gpu_state->before;
  const GpuStateSample& b = r.gpu_state->after;
  if (!a.available || !b.available) return throttled;
  return fmt::format("{} (SM {:.0f} -> {:.0f} MHz, {:.0f} -> {:.0f} °C, {:.0f} -> {:.0f} W)", throttled, a.sm_clock_mhz,
                     b.sm_clock_mhz, a.temperature_c, b.temperature_c, a.power_w, b.power_w);
}

std::vector<std::string> result_cells(const VariantResult& r) {
  if (!r.ok()) {
    const std::string mark = status_mark(r);
    return {backend_name(r) + " **" + mark + "**",
            timing_label(r.timing),
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            "-",
            verification_label(r)};
  }
  const TimingStats& s = r.stats;
  return {backend_name(r),
          timing_label(r.timing),
          median_label(r, false),
          s.runs > 1 ? format_percent(s.cv) : "-",
          std::to_string(s.runs),
          r.gflops > 0 ? format_number(r.gflops) : "-",
          r.gbps > 0 ? format_number(r.gbps) : "-",
          format_factor(r.speedup_vs_serial),
          format_factor(r.speedup_vs_best_cpu),
          is_hand_written_gpu(r) && r.fraction_of_vendor > 0
              ? format_percent(r.fraction_of_vendor) + " of " + r.vendor_backend
              : "-",
          r.fraction_of_roofline > 0 ? format_percent(r.fraction_of_roofline) : "-",
          verification_label(r)};
}

// The multi-GPU scaling table of one shape group: its multi-GPU rows by backend, timing and
// GPU count. Empty when the group has none.
const std::vector<std::string> kScalingColumns = {"Backend",  "Timing",     "GPUs",         "Median",
                                                  "vs 1 GPU", "Efficiency", "Communication"};
std::vector<std::vector<std::string>> scaling_rows(const ShapeGroup& group, bool ascii) {
  std::vector<const VariantResult*> multi;
  for (const VariantResult* r : group.results)
    if (r->gpus > 0) multi.push_back(r);
  std::stable_sort(multi.begin(), multi.end(), [](const VariantResult* a, const VariantResult* b) {
    if (a->backend != b->backend) return a->backend < b->backend;
    if (a->timing != b->timing) return a->timing < b->timing;
    return a->gpus < b->gpus;
  });
  std::vector<std::vector<std::string>> rows;
  for (const VariantResult* r : multi) {
    if (!r->ok()) {
      rows.push_back({r->backend, timing_label(r->timing), std::to_string(r->gpus), status_mark(*r), "-", "-", "-"});
      continue;
    }
    rows.push_back({r->backend, timing_label(r->timing), std::to_string(r->gpus), median_label(*r, ascii),
                    format_factor(r->speedup_vs_one_gpu), format_percent(r->parallel_efficiency),
                    r->communication_s > 0 ? format_percent(r->communication_share) : "-"});
  }
  return rows;
}

// The scaling over MPI ranks of one shape group: its distributed rows by backend and rank count.
const std::vector<std::string> kRankScalingColumns = {"Backend",   "Ranks",      "Median",
                                                      "vs 1 rank", "Efficiency", "Communication"};
std::vector<std::vector<std::string>> rank_scaling_rows(const ShapeGroup& group, bool ascii) {
  std::vector<const VariantResult*> distributed;
  for (const VariantResult* r : group.results)
    if (r->ranks > 0) distributed.push_back(r);
  std::stable_sort(distributed.begin(), distributed.end(), [](const VariantResult* a, const VariantResult* b) {
    if (a->backend != b->backend) return a->backend < b->backend;
    return a->ranks < b->ranks;
  });
  std::vector<std::vector<std::string>> rows;
  for (const VariantResult* r : distributed) {
    if (!r->ok()) {
      rows.push_back({r->backend, std::to_string(r->ranks), status_mark(*r), "-", "-", "-"});
      continue;
    }
    rows.push_back({r->backend, std::to_string(r->ranks), median_label(*r, ascii),
                    r->speedup_vs_one_rank > 0 ? format_factor(r->speedup_vs_one_rank) : "-",
                    r->speedup_vs_one_rank > 0 ? format_percent(r->parallel_efficiency) : "-",
                    format_percent(r->communication_share)});
  }
  return rows;
}

std::string header_lines(const RunReport& report) {
  const MachineContext& m = report.machine;
  std::string out;
  out +=
      fmt::format("- **Machine:** {} — {} ({} logical CPUs, {} cores, {} threads used)\n",
                  m.hostname.empty() ? "unknown host" : m.hostname, m.cpu_model.empty() ? "unknown CPU" : m.cpu_model,
                  m.logical_cpus, m.physical_cores, m.threads_used);
  if (!m.os.empty()) out += "- **OS:** " + m.os + "\n";
  if (m.gpu) {
    const GpuContext& g = *m.gpu;
    out += fmt::format(
        "- **GPU:** {} (compute capability {}.{}, {} SMs, {:.0f} GiB, {:.0f} GB/s peak; driver {}, runtime {})\n",
        g.name, g.cc_major, g.cc_minor, g.sm_count, static_cast<double>(g.memory_bytes) / (1 << 30),
        g.peak_bandwidth_gbps, g.driver_version, g.runtime_version);
    // Without NVML nothing tells whether the GPU throttled: say so where the GPU is named.
    for (const auto& [name, version] : m.libraries)
      if (name == "NVML" && version.rfind("NVML not available", 0) == 0)
        out += "- **GPU monitoring:** " + version + " (clocks, power and throttling not recorded)\n";
  } else {
    out += "- **GPU:** none (" +
           (m.gpu_absent_reason.empty() ? std::string("no reason recorded") : m.gpu_absent_reason) + ")\n";
  }
  if (!m.openblas_core.empty())
    out += "- **OpenBLAS:** core " + m.openblas_core +
           (m.openblas_config.empty() ? "" : " (" + m.openblas_config + ")") + "\n";
  out += "- **CPU state:** " + cpu_state_label(m) + "\n";
  if (!m.thread_pinning.empty()) out += "- **OpenMP threads:** " + m.thread_pinning + "\n";
  if (report.run.other_load_cores >= 0)
    out +=
        fmt::format("- **Other programs during the run:** {:.2f} CPUs busy on average\n", report.run.other_load_cores);
  for (const std::string& line : energy_summary_lines(report.results)) out += "- **Energy:** " + line + "\n";
  if (!m.compiler.empty())
    out += "- **Build:** " + m.compiler + ", " + m.build_type +
           (m.cuda_compiler.empty() ? "" : ", " + m.cuda_compiler) + "\n";
  for (const std::string& w : m.warnings) out += "- **Warning:** " + w + "\n";
  if (m.peaks)
    for (const std::string& line : peaks_summary_lines(*m.peaks)) out += "- **Peak:** " + line + "\n";
  out += fmt::format("- **Seed:** {} · **Date:** {} · **mlbench** {}{}\n", report.run.seed,
                     report.run.started_at.empty() ? "unknown" : report.run.started_at, report.run.mlbench_version,
                     m.git_commit.empty() ? "" : " (commit " + m.git_commit + ")");
  if (!report.run.command_line.empty()) out += "- **Command:** `" + report.run.command_line + "`\n";
  if (report.run.pooled_runs > 1)
    out += fmt::format(
        "- **Pooled runs:** {} separate runs of this build on this machine, their repetitions pooled row by row "
        "(`mlbench report --pool`)\n",
        report.run.pooled_runs);
  if (report.run.rounds > 1)
    out += fmt::format("- **Rounds:** {}: every row was measured in {} passes over the run, its statistics pool them\n",
                       report.run.rounds, report.run.rounds);
  if (report.run.interrupted) out += "- **Interrupted:** the run was stopped early; results are partial.\n";
  // Absent backends, grouped by reason (usually one reason covers every GPU backend).
  std::vector<std::pair<std::string, std::vector<std::string>>> absent;
  for (const auto& entry : report.run.absent_backends) {
    const std::string& backend = entry.first;
    const std::string& why = entry.second;
    auto it = std::find_if(absent.begin(), absent.end(), [&](const auto& a) { return a.first == why; });
    if (it == absent.end())
      absent.push_back({why, {backend}});
    else
      it->second.push_back(backend);
  }
  for (const auto& [why, backends] : absent) out += "- **Absent:** " + join(backends, ", ") + " — " + why + "\n";
  return out;
}

}  // namespace

std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

const std::vector<std::string>& markdown_columns() {
  static const std::vector<std::string> columns = {
      "Backend", "Timing",    "Median",      "CV",          "Runs",          "GFLOP/s",
      "GB/s",    "vs serial", "vs best CPU", "% of vendor", "% of roofline", "Verification (max error)"};
  return columns;
}

// Every rank's own machine context, in a report of an MPI job: where each rank ran, on which
// CPUs, with how many threads, how they were pinned and how loaded its host was.
std::string mpi_ranks_section(const MachineContext& m) {
  if (m.mpi_ranks.empty()) return "";
  std::string out = "## MPI ranks\n\n";
  out += table_row({"Rank", "Host", "CPU", "Cores", "CPUs used", "Threads", "Pinning", "Load (1 min)", "GPU", "MPI"});
  out += "|---:|---|---|---:|---|---:|---|---:|---|---|\n";
  for (const RankContext& r : m.mpi_ranks)
    out += table_row({std::to_string(r.rank), r.hostname, r.cpu_model,
                      fmt::format("{} ({} logical)", r.physical_cores, r.logical_cpus), cpu_list_text(r.cpus),
                      std::to_string(r.threads), r.thread_pinning,
                      r.load_average.empty() ? "-" : fmt::format("{:.2f}", r.load_average[0]), r.gpu, r.mpi_library});
  return out + "\n";
}

std::string render_markdown(const RunReport& report) {
  std::string out = "# mlbench report: " + machine_label(report.machine) + "\n\n";
  out += header_lines(report) + "\n";
  out += mpi_ranks_section(report.machine);
  for (const ShapeGroup& group : group_by_shape(report.results)) {
    out += "## " + group.title() + "\n\n";
    out += table_row(markdown_columns());
    std::vector<std::string> separator;
    for (std::size_t i = 0; i < markdown_columns().size(); ++i)
      separator.push_back(i < 2 || i + 1 == markdown_columns().size() ? "---" : "---:");
    out += "|" + join(separator, "|") + "|\n";
    for (const VariantResult* r : group.results) out += table_row(result_cells(*r));
    std::vector<std::string> notes;
    for (const VariantResult* r : group.results) {
      std::vector<std::string> parts;
      for (const auto& [k, v] : r->notes) parts.push_back(k + "=" + v);
      if (const std::string throttled = gpu_state_change(*r); !throttled.empty()) parts.push_back(throttled);
      if (!parts.empty()) notes.push_back("- " + backend_label(*r) + ": " + join(parts, ", "));
    }
    out += "\n";
    if (std::any_of(group.results.begin(), group.results.end(),
                    [](const VariantResult* r) { return r->cv_above_threshold; }))
      out += std::string(kNoisyMarker) + " " + noisy_hint(report.run.cv_threshold) + ".\n\n";
    if (!notes.empty()) out += "Notes:\n\n" + join(notes, "\n") + "\n\n";
    if (const auto energy = energy_rows(group.results, false); !energy.empty()) {
      out += "### Energy: " + group.title() + "\n\n" + table_row(energy_columns()) +
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
      for (const auto& row : energy) out += table_row(row);
      out +=
          "\nEnergy/run: the device's energy counter over the timed runs (RAPL package domain for CPU rows, the "
          "GPU board for GPU rows) divided by the runs; power: its average over that window; vs best CPU "
          "(energy): the best CPU backend's energy per run over this row's (docs/energy.md).\n\n";
    }
    if (const auto scaling = scaling_rows(group, false); !scaling.empty()) {
      out += "### Multi-GPU scaling: " + group.title() + "\n\n" + table_row(kScalingColumns) +
             "|---|---|---:|---:|---:|---:|---:|\n";
      for (const auto& row : scaling) out += table_row(row);
      out +=
          "\nvs 1 GPU: the same backend's median on one GPU over this median; efficiency: that speedup / GPUs; "
          "communication: share of the median spent moving data between GPUs (NCCL phases, on the first GPU).\n\n";
    }
    if (const auto scaling = rank_scaling_rows(group, false); !scaling.empty()) {
      out += "### Scaling over MPI ranks: " + group.title() + "\n\n" + table_row(kRankScalingColumns) +
             "|---|---:|---:|---:|---:|---:|\n";
      for (const auto& row : scaling) out += table_row(row);
      out +=
          "\nvs 1 rank: the same backend's median on one rank over this median; efficiency: that speedup / ranks; "
          "communication: share of the median the slowest rank spent exchanging halos and collecting results "
          "(it includes waiting for slower ranks).\n\n";
    }
  }
  std::string break_even_lines;
  for (const Sweep& sweep : group_sweeps(report.results)) {
    if (sweep.sizes.size() < 2) continue;
    for (const BreakEven& b : break_even(sweep)) break_even_lines += "- " + sweep.title() + ": " + describe(b) + "\n";
  }
  if (!break_even_lines.empty()) out += "## Break-even (GPU end to end vs best CPU)\n\n" + break_even_lines + "\n";
  return out;
}

std::string render_markdown(const std::vector<RunReport>& reports) {
  if (reports.size() == 1) return render_markdown(reports.front());
  std::string out;
  for (const RunReport& r : reports) out += render_markdown(r) + "\n";
  return out;
}

std::string render_console_table(const RunReport& report) {
  const std::vector<std::string> header = {"backend", "timing",    "median",      "cv",       "runs",        "GFLOP/s",
                                           "GB/s",    "vs serial", "vs best CPU", "roofline", "verification"};
  std::vector<std::vector<std::vector<std::string>>> blocks;
  std::vector<std::string> titles;
  for (const ShapeGroup& group : group_by_shape(report.results)) {
    titles.push_back(group.title());
    auto& rows = blocks.emplace_back();
    for (const VariantResult* r : group.results) {
      if (!r->ok()) {
        rows.push_back({backend_name(*r), timing_label(r->timing), status_mark(*r), "", "", "", "", "", "", "",
                        verification_label(*r)});
        continue;
      }
      const TimingStats& s = r->stats;
      rows.push_back({backend_name(*r), timing_label(r->timing), median_label(*r, true),
                      s.runs > 1 ? format_percent(s.cv) : "-", std::to_string(s.runs),
                      r->gflops > 0 ? format_number(r->gflops) : "-", r->gbps > 0 ? format_number(r->gbps) : "-",
                      format_factor(r->speedup_vs_serial), format_factor(r->speedup_vs_best_cpu),
                      r->fraction_of_roofline > 0 ? format_percent(r->fraction_of_roofline) : "-",
                      verification_label(*r)});
    }
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& rows : blocks)
    for (const auto& row : rows)
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      bool left = c < 2 || c + 1 == cells.size();  // names left, numbers right
      out += left ? fmt::format("{:<{}}", cells[c], width[c]) : fmt::format("{:>{}}", cells[c], width[c]);
      if (c + 1 < cells.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = "CPU: " + cpu_state_label(report.machine) + "\n";
  if (!report.machine.thread_pinning.empty()) out += "OpenMP threads: " + report.machine.thread_pinning + "\n";
  if (report.run.other_load_cores >= 0)
    out += fmt::format("Other programs during the run: {:.2f} CPUs busy on average\n", report.run.other_load_cores);
  for (const std::string& energy_line : energy_summary_lines(report.results)) out += "Energy: " + energy_line + "\n";
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    out += "\n" + titles[b] + "\n" + line(header);
    for (const auto& row : blocks[b]) out += line(row);
  }
  // Multi-GPU scaling and scaling over MPI ranks, one small table per shape that has such rows.
  auto scaling_table = [&](const std::string& title, std::vector<std::vector<std::string>> rows,
                           std::vector<std::string> column_names, std::size_t left_columns) {
    if (rows.empty()) return;
    rows.insert(rows.begin(), std::move(column_names));
    std::vector<std::size_t> w(rows.front().size());
    for (const auto& row : rows)
      for (std::size_t c = 0; c < row.size(); ++c) w[c] = std::max(w[c], row[c].size());
    out += "\n" + title + "\n";
    for (const auto& row : rows) {
      std::string text;
      for (std::size_t c = 0; c < row.size(); ++c)
        text += (c ? "  " : "") +
                (c < left_columns ? fmt::format("{:<{}}", row[c], w[c]) : fmt::format("{:>{}}", row[c], w[c]));
      out += text + "\n";
    }
  };
  for (const ShapeGroup& group : group_by_shape(report.results)) {
    scaling_table("multi-GPU scaling: " + group.title(), scaling_rows(group, true),
                  {"backend", "timing", "GPUs", "median", "vs 1 GPU", "efficiency", "communication"}, 2);
    scaling_table("scaling over MPI ranks: " + group.title(), rank_scaling_rows(group, true),
                  {"backend", "ranks", "median", "vs 1 rank", "efficiency", "communication"}, 1);
    scaling_table("energy: " + group.title(), energy_rows(group.results, true),
                  {"backend", "timing", "energy/run", "power", "GFLOP/J", "GB/J", "vs best CPU (energy)",
                   "vs best CPU (time)", "DRAM/run", "window"},
                  2);
  }
  if (std::any_of(report.results.begin(), report.results.end(),
                  [](const VariantResult& r) { return r.cv_above_threshold; }))
    out += std::string("\n") + kNoisyMarkerAscii + " " + noisy_hint(report.run.cv_threshold) + ".\n";
  for (const Sweep& sweep : group_sweeps(report.results)) {
    if (sweep.sizes.size() < 2) continue;
    for (const BreakEven& b : break_even(sweep)) out += "\n" + sweep.title() + ": " + describe(b);
  }
  if (!out.empty() && out.back() != '\n') out += "\n";
  return out;
}

}  // namespace mlbench::reports
