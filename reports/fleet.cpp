#include "reports/fleet.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reports/json_fields.h"
#include "reports/json_limits.h"
#include "reports/json_report.h"
#include "reports/rank_test.h"
#include "reports/text_format.h"

namespace mlbench::reports {

std::string to_string(FleetFlag flag) {
  switch (flag) {
    case FleetFlag::slow: return "slow";
    case FleetFlag::fast: return "fast";
    default: return "none";
  }
}

namespace {

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double at = q * static_cast<double>(v.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(at));
  const std::size_t above = std::min(v.size() - 1, below + 1);
  return v[below] + (v[above] - v[below]) * (at - static_cast<double>(below));
}

// Relative standard error of a sample's median: 1.2533 sigma / sqrt(n) / median, sigma from
// the IQR (robust to the odd disturbed repetition).
double median_relative_error(const std::vector<double>& v) {
  const double median = quantile(v, 0.5);
  if (!(median > 0)) return INFINITY;
  const double sigma = (quantile(v, 0.75) - quantile(v, 0.25)) / 1.349;
  return 1.2533 * sigma / std::sqrt(static_cast<double>(v.size())) / median;
}

const char* flag_mark(FleetFlag flag) {
  switch (flag) {
    case FleetFlag::slow: return " **SLOW**";
    case FleetFlag::fast: return " **FAST**";
    default: return "";
  }
}

std::string member_host(const FleetMember& m) {
  return m.report.machine.hostname.empty() ? "unknown host" : m.report.machine.hostname;
}

std::string library(const MachineContext& m, const std::string& name) {
  for (const auto& [key, version] : m.libraries)
    if (key == name) return version;
  return "";
}

}  // namespace

FleetReport analyze_fleet(std::vector<FleetMember> members, double alpha) {
  FleetReport fleet;
  fleet.alpha = alpha;
  std::sort(members.begin(), members.end(), [](const FleetMember& a, const FleetMember& b) { return a.rank < b.rank; });
  fleet.members = std::move(members);
  const std::size_t count = fleet.members.size();
  std::map<std::string, std::size_t> index;
  for (std::size_t m = 0; m < count; ++m)
    for (const VariantResult& r : fleet.members[m].report.results) {
      const std::string name = r.name();
      auto [it, added] = index.emplace(name, fleet.rows.size());
      if (added) fleet.rows.push_back({name, false, std::vector<FleetCell>(count)});
      FleetCell& cell = fleet.rows[it->second].cells[m];
      cell.present = true;
      cell.ok = r.ok() && r.stats.median_s > 0;
      cell.median_s = r.stats.median_s;
      cell.runs = r.stats.runs;
      cell.status = r.ok() ? "ok" : to_string(r.status) + (r.error_message.empty() ? "" : ": " + r.error_message);
    }
  // A row is compared on CPU time when it is a single-threaded CPU row with CPU times for every
  // repetition on every rank that has it, as `mlbench compare` does (compare.h, "Times
  // compared"): ranks that share a node's cores take turns on them, and the thread's CPU time
  // leaves out that wait, which is most of the spread between ranks of one node; a rank that is
  // slower (a slower core, a throttled clock, more work) still takes more CPU time.
  auto result_of = [&](std::size_t row, std::size_t m) -> const VariantResult* {
    for (const VariantResult& r : fleet.members[m].report.results)
      if (r.name() == fleet.rows[row].name) return &r;
    return nullptr;
  };
  for (std::size_t row = 0; row < fleet.rows.size(); ++row) {
    bool cpu_time = true;
    for (std::size_t m = 0; m < count; ++m)
      if (const VariantResult* r = result_of(row, m))
        cpu_time = cpu_time && is_cpu(r->backend_kind) && r->timing == TimingMode::host && r->threads == 1 &&
                   r->gpus == 0 && r->ranks == 0 && !r->stats.run_cpu_times_s.empty() &&
                   r->stats.run_cpu_times_s.size() == r->stats.run_times_s.size();
    fleet.rows[row].on_cpu_time = cpu_time;
  }
  // The samples compared, of each row and member.
  auto samples = [&](std::size_t row, std::size_t m) -> const std::vector<double>* {
    const VariantResult* r = result_of(row, m);
    if (r == nullptr) return nullptr;
    return fleet.rows[row].on_cpu_time ? &r->stats.run_cpu_times_s : &r->stats.run_times_s;
  };
  fleet.verdicts.resize(count);
  for (std::size_t m = 0; m < count; ++m) fleet.verdicts[m].rank = fleet.members[m].rank;
  for (std::size_t row = 0; row < fleet.rows.size(); ++row) {
    auto usable = [&](std::size_t m) {
      const FleetCell& c = fleet.rows[row].cells[m];
      const auto* s = samples(row, m);
      return c.ok && s != nullptr && static_cast<int>(s->size()) >= kFleetMinRuns;
    };
    for (std::size_t m = 0; m < count; ++m) {
      FleetCell& cell = fleet.rows[row].cells[m];
      if (!usable(m)) continue;
      std::vector<double> others;
      double slowest_other = 0, fastest_other = INFINITY;
      for (std::size_t q = 0; q < count; ++q) {
        if (q == m || !usable(q)) continue;
        const auto* s = samples(row, q);
        others.insert(others.end(), s->begin(), s->end());
        const double median = quantile(*s, 0.5);
        slowest_other = std::max(slowest_other, median);
        fastest_other = std::min(fastest_other, median);
      }
      const std::vector<double>& mine = *samples(row, m);
      if (others.empty() || mann_whitney_min_p(static_cast<int>(mine.size()), static_cast<int>(others.size())) >= alpha)
        continue;
      cell.compared = true;
      const double my_median = quantile(mine, 0.5), others_median = quantile(others, 0.5);
      cell.ratio = my_median / others_median;
      cell.p_slow = mann_whitney_p_greater(others, mine);
      cell.p_fast = mann_whitney_p_greater(mine, others);
      const double error = std::hypot(median_relative_error(mine), median_relative_error(others));
      cell.margin = std::max(kFleetFloor, 3 * error);
      if (cell.p_slow < alpha && my_median > slowest_other * (1 + cell.margin)) cell.flag = FleetFlag::slow;
      if (cell.p_fast < alpha && my_median * (1 + cell.margin) < fastest_other) cell.flag = FleetFlag::fast;
      FleetVerdict& v = fleet.verdicts[m];
      ++v.compared_rows;
      v.slow_rows += cell.flag == FleetFlag::slow;
      v.fast_rows += cell.flag == FleetFlag::fast;
    }
  }
  for (FleetVerdict& v : fleet.verdicts) {
    // A strict majority: ranks sharing a node's cores were beyond the 25 % floor on exactly half
    // of the rows of A/A fleets (docs/cluster.md); a rank doing twice the work is slow on all.
    if (2 * v.slow_rows > v.compared_rows)
      v.flag = FleetFlag::slow;
    else if (2 * v.fast_rows > v.compared_rows)
      v.flag = FleetFlag::fast;
  }
  return fleet;
}

bool fleet_has_outliers(const FleetReport& fleet) {
  return std::any_of(fleet.verdicts.begin(), fleet.verdicts.end(),
                     [](const FleetVerdict& v) { return v.flag != FleetFlag::none; });
}

std::string render_fleet_markdown(const FleetReport& fleet) {
  std::string out = fmt::format("# mlbench fleet: {} ranks\n\n", fleet.members.size());
  out += "| Rank | Host | CPU | Cores | Threads | MPI | GPU | Verdict |\n|---:|---|---|---:|---:|---|---|---|\n";
  for (std::size_t m = 0; m < fleet.members.size(); ++m) {
    const MachineContext& c = fleet.members[m].report.machine;
    const FleetVerdict& v = fleet.verdicts[m];
    const std::string verdict =
        v.flag == FleetFlag::none ? fmt::format("within the fleet ({} rows compared)", v.compared_rows)
                                  : fmt::format("**{}** on {} of {} rows", v.flag == FleetFlag::slow ? "SLOW" : "FAST",
                                                v.flag == FleetFlag::slow ? v.slow_rows : v.fast_rows, v.compared_rows);
    out +=
        fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} |\n", fleet.members[m].rank, member_host(fleet.members[m]),
                    c.cpu_model.empty() ? "unknown CPU" : c.cpu_model, c.physical_cores, c.threads_used,
                    library(c, "MPI").empty() ? "-" : library(c, "MPI"), c.gpu ? c.gpu->name : "-", verdict);
  }
  out += "\n## Medians per rank\n\n| Row |";
  std::string rule = "|---|";
  for (const FleetMember& m : fleet.members) {
    out += fmt::format(" rank {} ({}) |", m.rank, member_host(m));
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  for (const FleetRow& row : fleet.rows) {
    out += "| " + row.name + " |";
    for (const FleetCell& c : row.cells) {
      if (!c.present)
        out += " - |";
      else if (!c.ok)
        out += " " + c.status.substr(0, c.status.find(':')) + " |";
      else
        out += fmt::format(" {}{}{} |", format_duration(c.median_s),
                           c.compared ? fmt::format(" (x{:.2f}{})", c.ratio, row.on_cpu_time ? " cpu" : "") : "",
                           flag_mark(c.flag));
    }
    out += "\n";
  }
  out += fmt::format(
      "\n(xR): the rank's median over the other ranks' pooled median, of CPU time on single-threaded CPU rows (xR "
      "cpu; ranks sharing a node's cores wait for them in turn, CPU time leaves the wait out), else of real time. "
      "SLOW/FAST on a row: the one-sided Mann-Whitney U "
      "test over the repetitions says so (p < {:g}) and the median lies beyond the slowest (fastest) other rank's by "
      "more "
      "than the larger of {:.0f} % and 3 standard errors of the ratio; a rank is flagged when that holds on more than "
      "half "
      "of the rows it was compared on (docs/cluster.md).\n",
      fleet.alpha, kFleetFloor * 100);
  return out;
}

namespace {

// ---- the fleet report's JSON form, each object defined once (reports/json_fields.h): the
// file is the ranks (each with its verdict and its own report, embedded whole as to_json writes
// it) and the rows of the analysis. Only the ranks' numbers and reports, and alpha, are read
// back: parse_fleet_report recomputes the analysis from them, so the verdicts and the rows are
// written only.

constexpr int kFleetFormatVersion = 1;  // "mlbench_fleet"

// One element of "ranks".
struct FleetRankEntry {
  int rank = 0;
  std::string host;
  FleetVerdict verdict;
  json_fields::Json report;  // the rank's own report, as to_json wrote it
};

template <class V, class S>
json_fields::Of<S, FleetRankEntry> fields(V& v, S& e) {
  v("rank", e.rank);
  v.written_only("host", e.host);
  v.written_only("flag", e.verdict.flag);
  v.written_only("compared_rows", e.verdict.compared_rows);
  v.written_only("slow_rows", e.verdict.slow_rows);
  v.written_only("fast_rows", e.verdict.fast_rows);
  v("report", e.report);
}

// One element of a row's "cells": the cell of rank `rank`; a rank without the row has only
// "rank" and "present".
struct FleetCellEntry {
  int rank = 0;
  FleetCell cell;
};

template <class V, class S>
json_fields::Of<S, FleetCellEntry> fields(V& v, S& e) {
  const FleetCell& c = e.cell;
  v.written_only("rank", e.rank);
  v.written_only("present", c.present);
  if (!c.present) return;
  v.written_only("status", c.status);
  v.written_only("median_s", c.median_s);
  v.written_only("runs", c.runs);
  v.written_only("compared", c.compared);
  v.written_only("ratio", c.compared ? c.ratio : 0.0);
  v.written_only("p_slow", c.p_slow);
  v.written_only("p_fast", c.p_fast);
  v.written_only("margin", c.margin);
  v.written_only("flag", c.flag);
}

// One element of "rows".
struct FleetRowEntry {
  std::string name;
  bool on_cpu_time = false;
  std::vector<FleetCellEntry> cells;
};

template <class V, class S>
json_fields::Of<S, FleetRowEntry> fields(V& v, S& e) {
  v.written_only("name", e.name);
  v.written_only("time", std::string(e.on_cpu_time ? "cpu" : "real"));
  v.written_only("cells", e.cells);
}

// The whole file.
struct FleetFile {
  double alpha = kFleetAlpha;
  std::vector<FleetRankEntry> ranks;
  std::vector<FleetRowEntry> rows;
};

template <class V, class S>
json_fields::Of<S, FleetFile> fields(V& v, S& f) {
  // Checked by parse_fleet_report before the table is read (an unknown version is refused).
  v.written_only("mlbench_fleet", kFleetFormatVersion);
  v.optional("alpha", f.alpha, kFleetAlpha);
  v.written_only("floor", kFleetFloor);
  v("ranks", f.ranks);
  v.written_only("rows", f.rows);
}

}  // namespace

std::string render_fleet_json(const FleetReport& fleet) {
  FleetFile file;
  file.alpha = fleet.alpha;
  for (std::size_t m = 0; m < fleet.members.size(); ++m)
    file.ranks.push_back(
        {fleet.members[m].rank, member_host(fleet.members[m]), fleet.verdicts[m], to_json(fleet.members[m].report)});
  for (const FleetRow& row : fleet.rows) {
    FleetRowEntry entry{row.name, row.on_cpu_time, {}};
    for (std::size_t m = 0; m < row.cells.size(); ++m) entry.cells.push_back({fleet.members[m].rank, row.cells[m]});
    file.rows.push_back(std::move(entry));
  }
  return json_fields::write(file).dump(2) + "\n";
}

FleetReport parse_fleet_report(const std::string& text, const std::string& source) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw InputError(source + ": not JSON");
  if (!j.is_object() || !j.contains("mlbench_fleet")) throw InputError(source + ": not an mlbench fleet report");
  if (j.at("mlbench_fleet") != kFleetFormatVersion)
    throw InputError(source + ": unknown fleet report version " + j.at("mlbench_fleet").dump());
  FleetFile file;
  try {
    file = json_fields::read<FleetFile>(json_fields::Json(j), "fleet report");
  } catch (const nlohmann::json::exception& e) {
    throw InputError(source + ": malformed fleet report: " + e.what());
  } catch (const InputError& e) {
    throw InputError(source + ": malformed fleet report: " + e.what());
  }
  std::vector<FleetMember> members;
  for (const FleetRankEntry& rank : file.ranks)
    members.push_back({rank.rank, parse_report(rank.report.dump(), fmt::format("{} (rank {})", source, rank.rank))});
  if (members.empty()) throw InputError(source + ": a fleet report without ranks");
  return analyze_fleet(std::move(members), file.alpha);
}

ReportOrFleet read_report_or_fleet(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": cannot read: is a directory");
  const std::string text = read_file_limited(path, kMaxReportBytes);
  bool fleet = false;
  try {
    const auto j = parse_json_limited(text);
    fleet = j.is_object() && j.contains("mlbench_fleet");
  } catch (const std::exception&) {
    // Not JSON (or too deep): parse_report says so, naming the file.
  }
  ReportOrFleet input;
  if (fleet)
    input.fleet = parse_fleet_report(text, path);
  else
    input.report = parse_report(text, path);
  return input;
}

RunReport fleet_rank_report(const FleetReport& fleet, int rank, const std::string& source) {
  for (const FleetMember& member : fleet.members)
    if (member.rank == rank) return member.report;
  throw InputError(fmt::format("{}: the fleet report has no rank {} (its ranks: 0 to {})", source, rank,
                               fleet.members.empty() ? 0 : fleet.members.back().rank));
}

}  // namespace mlbench::reports
