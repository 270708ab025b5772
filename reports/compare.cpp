#include "reports/compare.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "reports/csv.h"
#include "reports/markdown.h"
#include "reports/text_format.h"

namespace mlbench::reports {

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::slower: return "slower";
    case Verdict::faster: return "faster";
    case Verdict::within_noise: return "within_noise";
    case Verdict::noise_unknown: return "noise_unknown";
    case Verdict::noisy: return "noisy";
    case Verdict::not_comparable: return "not_comparable";
  }
  return "not_comparable";
}

namespace {

std::string verdict_text(Verdict v, double ratio) {
  switch (v) {
    case Verdict::slower: return fmt::format("**slower** ({:+.1f} %)", (ratio - 1) * 100);
    case Verdict::faster: return fmt::format("faster ({:+.1f} %)", (ratio - 1) * 100);
    case Verdict::within_noise: return "within noise";
    case Verdict::noise_unknown: return fmt::format("{:+.1f} %, noise unknown", (ratio - 1) * 100);
    case Verdict::noisy: return fmt::format("noisy ({:+.1f} %, cv above threshold)", (ratio - 1) * 100);
    case Verdict::not_comparable: return "-";
  }
  return "-";
}

std::vector<std::string> make_labels(const std::vector<LabeledReport>& runs) {
  std::set<std::string> identities;
  for (const auto& r : runs) identities.insert(machine_identity(r.report.machine));
  std::vector<std::string> labels;
  std::set<std::string> hosts;
  for (const auto& r : runs) hosts.insert(r.report.machine.hostname);
  if (identities.size() == runs.size()) {
    // Short column headers: the host name when it tells the machines apart (details list the rest).
    for (const auto& r : runs)
      labels.push_back(hosts.size() == runs.size() ? r.report.machine.hostname : machine_label(r.report.machine));
  } else {
    for (const auto& r : runs) labels.push_back(std::filesystem::path(r.source).filename().string());
  }
  // Same label twice (same file name in two folders): fall back to the paths given.
  std::set<std::string> distinct(labels.begin(), labels.end());
  if (distinct.size() != labels.size())
    for (std::size_t i = 0; i < runs.size(); ++i) labels[i] = runs[i].source.empty() ? "run " + std::to_string(i + 1) : runs[i].source;
  return labels;
}

}  // namespace

Comparison compare(const std::vector<LabeledReport>& runs) {
  if (runs.size() < 2) throw InputError("compare needs a base run and at least one more run");
  Comparison out;
  out.labels = make_labels(runs);
  for (const auto& r : runs)
    out.details.push_back(r.source + ": " + machine_label(r.report.machine) +
                          (r.report.run.started_at.empty() ? "" : ", " + r.report.run.started_at));

  // Rows by key, in order of first appearance over all runs.
  std::vector<std::string> order;
  std::map<std::string, CompareRow> rows;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const VariantResult& r : runs[i].report.results) {
      std::string key = row_key(r);
      auto it = rows.find(key);
      if (it == rows.end()) {
        order.push_back(key);
        CompareRow row{r.workload, r.precision, r.shape_label, backend_name(r), r.timing,
                       std::vector<CompareCell>(runs.size()), std::vector<double>(runs.size(), 0),
                       std::vector<double>(runs.size(), NAN), std::vector<Verdict>(runs.size(), Verdict::not_comparable)};
        it = rows.emplace(key, std::move(row)).first;
      }
      it->second.cells[i] = {true, r.status, r.stats.median_s, r.stats.cv, r.stats.runs, r.cv_above_threshold};
    }
  }
  std::vector<int> in_common(runs.size(), 0);
  for (const std::string& key : order) {
    CompareRow& row = rows[key];
    const CompareCell& base = row.cells[0];
    bool matched = false;
    for (std::size_t i = 1; i < runs.size(); ++i) {
      const CompareCell& other = row.cells[i];
      if (!base.present || !other.present) continue;
      matched = true;
      ++in_common[i];
      bool comparable = base.status == ResultStatus::ok && other.status == ResultStatus::ok && base.median_s > 0 &&
                        other.median_s > 0;
      if (!comparable) continue;
      double ratio = other.median_s / base.median_s;
      row.ratio[i] = ratio;
      if (base.runs >= 2 && other.runs >= 2) {
        row.noise[i] = 2 * std::sqrt(base.cv * base.cv + other.cv * other.cv);
        double change = ratio - 1;
        row.verdict[i] = std::fabs(change) <= row.noise[i] ? Verdict::within_noise
                         : base.noisy || other.noisy        ? Verdict::noisy
                         : change > 0                       ? Verdict::slower
                                                            : Verdict::faster;
      } else {
        row.verdict[i] = Verdict::noise_unknown;
      }
    }
    (matched ? out.matched : out.unmatched).push_back(row);
  }
  for (std::size_t i = 1; i < runs.size(); ++i)
    if (in_common[i] == 0)
      throw InputError(runs[i].source + " has no rows in common with " + runs[0].source +
                       " (rows match on workload, precision, shape, backend and timing)");
  return out;
}

namespace {
std::string row_name(const CompareRow& row) {
  return row.workload + " " + to_string(row.precision) + " " + row.shape_label + " " + row.backend +
         (row.timing == TimingMode::host ? "" : " (" + timing_label(row.timing) + ")");
}
}  // namespace

std::vector<std::string> gate_noisy_rows(const Comparison& c, double fail_above_pct) {
  std::vector<std::string> rows;
  for (const CompareRow& row : c.matched)
    for (std::size_t i = 1; i < row.cells.size(); ++i)
      if (row.verdict[i] == Verdict::noisy && (row.ratio[i] - 1) * 100 > fail_above_pct)
        rows.push_back(fmt::format("{}: {:.1f} % slower in {}, but noisy (cv {} in the base, {} there)", row_name(row),
                                   (row.ratio[i] - 1) * 100, c.labels[i], format_percent(row.cells[0].cv),
                                   format_percent(row.cells[i].cv)));
  return rows;
}

std::vector<std::string> gate_failures(const Comparison& c, double fail_above_pct) {
  std::vector<std::string> failures;
  for (const CompareRow& row : c.matched) {
    std::string name = row.workload + " " + to_string(row.precision) + " " + row.shape_label + " " + row.backend +
                       (row.timing == TimingMode::host ? "" : " (" + timing_label(row.timing) + ")");
    for (std::size_t i = 1; i < row.cells.size(); ++i) {
      const CompareCell& base = row.cells[0];
      const CompareCell& other = row.cells[i];
      if (!other.present) continue;
      // An interrupted row says nothing about the code under test: never gated.
      if (other.status == ResultStatus::interrupted) continue;
      if (base.status == ResultStatus::ok && other.status != ResultStatus::ok) {
        failures.push_back(name + ": " + to_string(other.status) + " in " + c.labels[i]);
        continue;
      }
      double ratio = row.ratio[i];
      if (!(ratio > 0)) continue;
      bool beyond_noise = row.verdict[i] == Verdict::slower || row.verdict[i] == Verdict::noise_unknown;
      if ((ratio - 1) * 100 > fail_above_pct && beyond_noise)
        failures.push_back(fmt::format("{}: {:.1f} % slower in {} (limit {} %)", name, (ratio - 1) * 100, c.labels[i],
                                       fail_above_pct));
    }
  }
  return failures;
}

std::string render_compare_markdown(const Comparison& c, std::optional<double> fail_above_pct) {
  std::string out = "# mlbench compare\n\n";
  for (std::size_t i = 0; i < c.labels.size(); ++i)
    out += "- " + std::string(i == 0 ? "**base** " : "") + "**" + markdown_cell(c.labels[i]) + "**: " +
           markdown_cell(c.details[i]) + "\n";
  out += "\nA change is beyond noise when |new/base - 1| > 2·sqrt(cv_base² + cv_new²) (two spreads of single runs); "
         "with a single run the noise is unknown; beyond it with either side's cv above its run's --cv-threshold, "
         "the change is called noisy.\n\n";

  std::vector<std::string> header = {"Workload", "Shape", "Backend", "Timing", "median " + c.labels[0]};
  for (std::size_t i = 1; i < c.labels.size(); ++i) {
    header.push_back("median " + c.labels[i]);
    header.push_back(c.labels.size() > 2 ? "ratio " + c.labels[i] : "new/base");
    header.push_back(c.labels.size() > 2 ? "change " + c.labels[i] : "change");
  }
  auto row_line = [](const std::vector<std::string>& cells) {
    std::string line = "|";
    for (const std::string& cell : cells) line += " " + markdown_cell(cell) + " |";
    return line + "\n";
  };
  auto median_cell = [](const CompareCell& cell) -> std::string {
    if (!cell.present) return "not run";
    if (cell.status != ResultStatus::ok) return "**" + to_string(cell.status) + "**";
    return format_duration(cell.median_s) + (cell.runs > 1 ? " ±" + format_percent(cell.cv) : "") +
           (cell.noisy ? std::string(" ") + kNoisyMarker : "");
  };
  out += row_line(header);
  std::string sep = "|";
  for (std::size_t i = 0; i < header.size(); ++i) sep += i < 4 ? "---|" : "---:|";
  out += sep + "\n";
  for (const CompareRow& row : c.matched) {
    std::vector<std::string> cells = {row.workload + " " + to_string(row.precision), row.shape_label, row.backend,
                                      timing_label(row.timing), median_cell(row.cells[0])};
    for (std::size_t i = 1; i < row.cells.size(); ++i) {
      cells.push_back(median_cell(row.cells[i]));
      cells.push_back(row.ratio[i] > 0 ? fmt::format("{:.3f}", row.ratio[i]) : "-");
      cells.push_back(verdict_text(row.verdict[i], row.ratio[i]));
    }
    out += row_line(cells);
  }
  if (!c.unmatched.empty()) {
    out += "\n## Rows not in every run\n\n";
    for (const CompareRow& row : c.unmatched) {
      std::vector<std::string> where;
      for (std::size_t i = 0; i < row.cells.size(); ++i)
        if (row.cells[i].present) where.push_back(c.labels[i]);
      std::string list;
      for (std::size_t i = 0; i < where.size(); ++i) list += (i ? ", " : "") + where[i];
      out += "- " + markdown_cell(row.workload + " " + to_string(row.precision) + " " + row.shape_label + " " +
                                  row.backend + " (" + timing_label(row.timing) + ")") +
             ": only in " + markdown_cell(list) + "\n";
    }
  }
  if (fail_above_pct) {
    std::vector<std::string> failures = gate_failures(c, *fail_above_pct);
    out += fmt::format("\n## Gate: slower by more than {} % beyond noise\n\n", *fail_above_pct);
    if (failures.empty()) out += "Passed: no matched row got slower by more than the limit.\n";
    for (const std::string& f : failures) out += "- FAILED " + markdown_cell(f) + "\n";
    for (const std::string& n : gate_noisy_rows(c, *fail_above_pct))
      out += "- not gated, " + markdown_cell(n) + ": measure again on a quiet machine\n";
  }
  return out;
}

std::string render_compare_csv(const Comparison& c) {
  std::string out = csv_line({"workload", "precision", "shape", "backend", "timing", "base_label", "base_status",
                              "base_median_s", "base_cv", "base_runs", "new_label", "new_status", "new_median_s",
                              "new_cv", "new_runs", "ratio", "noise", "verdict"});
  auto side = [](const CompareCell& cell) -> std::vector<std::string> {
    if (!cell.present) return {"", "0", "0", "0"};
    return {to_string(cell.status), csv_number(cell.median_s), csv_number(cell.cv), std::to_string(cell.runs)};
  };
  auto emit = [&](const CompareRow& row, bool matched) {
    for (std::size_t i = 1; i < row.cells.size(); ++i) {
      if (!row.cells[0].present && !row.cells[i].present) continue;
      std::vector<std::string> cells = {row.workload, to_string(row.precision), row.shape_label, row.backend,
                                        to_string(row.timing), c.labels[0]};
      for (auto& s : side(row.cells[0])) cells.push_back(s);
      cells.push_back(c.labels[i]);
      for (auto& s : side(row.cells[i])) cells.push_back(s);
      cells.push_back(csv_number(row.ratio[i]));
      cells.push_back(std::isnan(row.noise[i]) ? "" : csv_number(row.noise[i]));
      std::string verdict = to_string(row.verdict[i]);
      if (!row.cells[i].present) verdict = "only_in_base";
      else if (!row.cells[0].present) verdict = "only_in_new";
      cells.push_back(matched || verdict != "not_comparable" ? verdict : "not_comparable");
      out += csv_line(cells);
    }
  };
  for (const CompareRow& row : c.matched) emit(row, true);
  for (const CompareRow& row : c.unmatched) emit(row, false);
  return out;
}

}  // namespace mlbench::reports
