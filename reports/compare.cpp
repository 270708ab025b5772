#include "reports/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "reports/atomic_file.h"
#include "reports/csv.h"
#include "reports/markdown.h"
#include "reports/rank_test.h"
#include "reports/text_format.h"

namespace mlbench::reports {

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::slower: return "slower";
    case Verdict::faster: return "faster";
    case Verdict::within_noise: return "within_noise";
    case Verdict::too_few_runs: return "too_few_runs";
    case Verdict::not_comparable: return "not_comparable";
  }
  return "not_comparable";
}

namespace {

std::string percent_change(double ratio) { return fmt::format("{:+.1f} %", (ratio - 1) * 100); }

// "+30.1 % (+24.0 % to +36.5 %, CPU time)": the change of the medians and the interval.
std::string verdict_text(Verdict v, double ratio, const RatioInterval& interval, bool cpu_time) {
  const std::string time = cpu_time ? ", CPU time" : "";
  const std::string range = fmt::format("{} to {}", interval.lower > 0 ? percent_change(interval.lower) : "-inf",
                                        std::isfinite(interval.upper) ? percent_change(interval.upper) : "+inf");
  switch (v) {
    case Verdict::slower: return fmt::format("**slower** {} ({}{})", percent_change(ratio), range, time);
    case Verdict::faster: return fmt::format("faster {} ({}{})", percent_change(ratio), range, time);
    case Verdict::within_noise: return fmt::format("within noise {} ({}{})", percent_change(ratio), range, time);
    case Verdict::too_few_runs: return fmt::format("{}, too few runs to decide{}", percent_change(ratio), time);
    case Verdict::not_comparable: return "-";
  }
  return "-";
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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
    for (std::size_t i = 0; i < runs.size(); ++i)
      labels[i] = runs[i].source.empty() ? "run " + std::to_string(i + 1) : runs[i].source;
  return labels;
}

// Rows pair on everything that makes them the same measurement; a hardware comparison pairs
// them whatever thread count each machine ran them with.
std::string pairing_key(const VariantResult& r, bool hardware_comparison) {
  return r.workload + "|" + to_string(r.precision) + "|" + r.shape_label + "|" + backend_name(r) + "|" +
         to_string(r.timing) + (hardware_comparison ? "" : "|" + std::to_string(r.threads));
}

std::string row_name(const CompareRow& row) {
  std::string threads;
  if (!row.cells.empty()) {
    for (const CompareCell& cell : row.cells)
      if (cell.present) {
        if (cell.threads > 1) threads = fmt::format(" threads:{}", cell.threads);
        break;
      }
  }
  return row.workload + " " + to_string(row.precision) + " " + row.shape_label + " " + row.backend + threads +
         (row.timing == TimingMode::host ? "" : " (" + timing_label(row.timing) + ")");
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

}  // namespace

std::vector<ContextDifference> context_differences(const std::vector<LabeledReport>& runs) {
  struct Field {
    const char* what;
    bool hardware;
    std::string (*value)(const RunReport&);
  };
  static const Field fields[] = {
      {"CPU", true, [](const RunReport& r) { return r.machine.cpu_model; }},
      {"CPU cores", true,
       [](const RunReport& r) {
         return fmt::format("{} logical, {} physical", r.machine.logical_cpus, r.machine.physical_cores);
       }},
      {"GPU", true, [](const RunReport& r) { return r.machine.gpu ? r.machine.gpu->name : std::string("none"); }},
      {"threads", true, [](const RunReport& r) { return std::to_string(r.machine.threads_used); }},
      {"precision", false,
       [](const RunReport& r) {
         std::set<std::string> set;
         for (const VariantResult& v : r.results) set.insert(to_string(v.precision));
         return join(std::vector<std::string>(set.begin(), set.end()), ", ");
       }},
      {"pinning", false,
       [](const RunReport& r) {
         const std::string& p = r.machine.thread_pinning;
         return p.empty() ? "OMP_PROC_BIND=" + r.machine.omp_proc_bind : p;
       }},
      {"build", false, [](const RunReport& r) { return r.machine.build_type + " · " + r.machine.compiler; }},
      {"mlbench", false, [](const RunReport& r) { return r.run.mlbench_version; }},
      {"schema", false, [](const RunReport& r) { return std::to_string(r.run.schema_version); }},
  };
  std::vector<ContextDifference> out;
  for (const Field& f : fields) {
    ContextDifference d{f.what, {}, f.hardware};
    for (const LabeledReport& run : runs) d.values.push_back(f.value(run.report));
    if (std::set<std::string>(d.values.begin(), d.values.end()).size() > 1) out.push_back(std::move(d));
  }
  return out;
}

Comparison compare(const std::vector<LabeledReport>& runs, const CompareSettings& settings) {
  if (runs.size() < 2) throw InputError("compare needs a base run and at least one more run");
  if (!(settings.alpha > 0 && settings.alpha < 1)) throw InputError("alpha must be between 0 and 1");
  Comparison out;
  out.settings = settings;
  out.labels = make_labels(runs);
  out.differences = context_differences(runs);
  for (const auto& r : runs)
    out.details.push_back(r.source + ": " + machine_label(r.report.machine) +
                          (r.report.run.started_at.empty() ? "" : ", " + r.report.run.started_at) +
                          (r.report.run.pooled_runs > 1
                               ? fmt::format(", {} runs pooled (report --pool)", r.report.run.pooled_runs)
                               : std::string()));

  // Rows by key, in order of first appearance over all runs.
  std::vector<std::string> order;
  std::map<std::string, CompareRow> rows;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const VariantResult& r : runs[i].report.results) {
      std::string key = pairing_key(r, settings.hardware_comparison);
      auto it = rows.find(key);
      if (it == rows.end()) {
        order.push_back(key);
        CompareRow row{r.workload,
                       r.precision,
                       r.shape_label,
                       backend_name(r),
                       r.timing,
                       std::vector<CompareCell>(runs.size()),
                       std::vector<double>(runs.size(), 0),
                       std::vector<double>(runs.size(), NAN),
                       std::vector<RatioInterval>(runs.size()),
                       std::vector<bool>(runs.size(), false),
                       std::vector<Verdict>(runs.size(), Verdict::not_comparable)};
        it = rows.emplace(key, std::move(row)).first;
      }
      CompareCell cell;
      cell.present = true;
      cell.status = r.status;
      cell.median_s = r.stats.median_s;
      cell.cv = r.stats.cv;
      cell.runs = r.stats.runs;
      cell.threads = r.threads;
      cell.noisy = r.cv_above_threshold;
      cell.samples = r.stats.run_times_s;
      if (r.stats.run_cpu_times_s.size() == r.stats.run_times_s.size()) {
        cell.cpu_samples = r.stats.run_cpu_times_s;
        cell.cpu_median_s = median_of(cell.cpu_samples);
      }
      cell.single_thread_cpu =
          is_cpu(r.backend_kind) && r.timing == TimingMode::host && r.threads == 1 && r.gpus == 0 && r.ranks == 0;
      cell.other_load_cores = r.other_load_cores;
      cell.logical_cpus = runs[i].report.machine.logical_cpus;
      it->second.cells[i] = std::move(cell);
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
      // CPU times of single-threaded CPU rows (see compare.h), when both runs have them.
      const bool cpu_time = !settings.hardware_comparison && settings.time == GateTime::automatic &&
                            base.single_thread_cpu && other.single_thread_cpu && !base.cpu_samples.empty() &&
                            !other.cpu_samples.empty() && base.cpu_median_s > 0 && other.cpu_median_s > 0;
      row.on_cpu_time[i] = cpu_time;
      const std::vector<double>& a = cpu_time ? base.cpu_samples : base.samples;
      const std::vector<double>& b = cpu_time ? other.cpu_samples : other.samples;
      const double ratio = cpu_time ? other.cpu_median_s / base.cpu_median_s : other.median_s / base.median_s;
      row.ratio[i] = ratio;
      if (settings.hardware_comparison) continue;
      const int n_base = static_cast<int>(a.size()), n_new = static_cast<int>(b.size());
      if (mann_whitney_min_p(n_base, n_new) >= settings.alpha) {
        row.verdict[i] = Verdict::too_few_runs;
        continue;
      }
      row.p_value[i] = ratio >= 1 ? mann_whitney_p_greater(a, b) : mann_whitney_p_greater(b, a);
      const RatioInterval interval = ratio_interval(a, b, settings.alpha);
      row.interval[i] = interval;
      row.verdict[i] = interval.lower > 1   ? Verdict::slower
                       : interval.upper < 1 ? Verdict::faster
                                            : Verdict::within_noise;
    }
    (matched ? out.matched : out.unmatched).push_back(row);
  }
  for (std::size_t i = 1; i < runs.size(); ++i)
    if (in_common[i] == 0)
      throw InputError(runs[i].source + " has no rows in common with " + runs[0].source +
                       " (rows match on workload, precision, shape, backend, thread count and timing)");
  return out;
}

std::string gate_refusal(const Comparison& c) {
  std::vector<std::string> what;
  for (const ContextDifference& d : c.differences)
    if (d.hardware) what.push_back(d.what + " " + join(d.values, " vs "));
  if (what.empty()) return "";
  return "will not gate " + c.labels[0] + " against " +
         join(std::vector<std::string>(c.labels.begin() + 1, c.labels.end()), ", ") +
         ": different hardware or thread count (" + join(what, "; ") +
         "); record the baseline on this hardware, or compare with --hardware-comparison (never gates)";
}

std::vector<std::string> gate_undecided_rows(const Comparison& c) {
  std::vector<std::string> rows;
  for (const CompareRow& row : c.matched)
    for (std::size_t i = 1; i < row.cells.size(); ++i)
      if (row.verdict[i] == Verdict::too_few_runs)
        rows.push_back(fmt::format("{}: {:+.1f} % in {} with {} and {} repetitions: too few runs to decide",
                                   row_name(row), (row.ratio[i] - 1) * 100, c.labels[i], row.cells[0].samples.size(),
                                   row.cells[i].samples.size()));
  return rows;
}

std::string gate_oversubscription_note(const Comparison& c) {
  int rows = 0;
  double worst = 0;
  int cpus = 0;
  for (const CompareRow& row : c.matched) {
    bool oversubscribed = false;
    for (std::size_t i = 1; i < row.cells.size(); ++i) {
      if (!(row.ratio[i] > 0) || row.on_cpu_time[i]) continue;
      for (const CompareCell* cell : {&row.cells[0], &row.cells[i]})
        if (cell->threads > 1 && cell->other_load_cores > 0.5 && cell->logical_cpus > 0 &&
            cell->threads + cell->other_load_cores > cell->logical_cpus) {
          oversubscribed = true;
          if (cell->other_load_cores > worst) {
            worst = cell->other_load_cores;
            cpus = cell->logical_cpus;
          }
        }
    }
    rows += oversubscribed;
  }
  if (rows == 0) return "";
  return fmt::format(
      "{} threaded row{} measured while other programs kept up to {:.1f} of {} CPUs busy: a threaded row's "
      "wall-clock time then includes waiting for a CPU, which drifts between runs beyond what its repetitions "
      "show, so its verdict may be the machine's (docs/ci.md, calibration)",
      rows, rows == 1 ? " was" : "s were", worst, cpus);
}

std::vector<std::string> gate_failures(const Comparison& c, double fail_above_pct, bool strict) {
  std::vector<std::string> failures;
  if (c.settings.hardware_comparison) return failures;  // never gates
  for (const CompareRow& row : c.matched) {
    const std::string name = row_name(row);
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
      const double ratio = row.ratio[i];
      if (!(ratio > 0)) continue;
      const RatioInterval& interval = row.interval[i];
      if (row.verdict[i] == Verdict::slower && interval.lower > 1 + fail_above_pct / 100)
        failures.push_back(
            fmt::format("{}: {:.1f} % slower in {}, at least {:.1f} % with {:g} % confidence{} (limit {} %)", name,
                        (ratio - 1) * 100, c.labels[i], (interval.lower - 1) * 100, 100 * (1 - c.settings.alpha),
                        row.on_cpu_time[i] ? ", CPU time" : "", fail_above_pct));
      else if (strict && row.verdict[i] == Verdict::too_few_runs)
        failures.push_back(fmt::format("{}: too few runs to decide in {} ({} and {} repetitions; --strict)", name,
                                       c.labels[i], base.samples.size(), other.samples.size()));
    }
  }
  return failures;
}

namespace {

std::string render_differences(const Comparison& c) {
  if (c.differences.empty())
    return "Same CPU, cores, GPU, thread count, precision, pinning, build, mlbench version and report schema in every "
           "run.\n\n";
  std::string out = "## What differs\n\n|  |";
  for (const std::string& label : c.labels) out += " " + markdown_cell(label) + " |";
  out += "\n|---|";
  for (std::size_t i = 0; i < c.labels.size(); ++i) out += "---|";
  out += "\n";
  for (const ContextDifference& d : c.differences) {
    out += "| " + std::string(d.hardware ? "**" + d.what + "**" : d.what) + " |";
    for (const std::string& v : d.values) out += " " + markdown_cell(v) + " |";
    out += "\n";
  }
  return out + "\n";
}

}  // namespace

std::string render_compare_markdown(const Comparison& c, std::optional<double> fail_above_pct, bool strict) {
  const bool hardware = c.settings.hardware_comparison;
  std::string out = hardware ? "# mlbench hardware comparison\n\n" : "# mlbench compare\n\n";
  for (std::size_t i = 0; i < c.labels.size(); ++i)
    out += "- " + std::string(i == 0 ? "**base** " : "") + "**" + markdown_cell(c.labels[i]) +
           "**: " + markdown_cell(c.details[i]) + "\n";
  out += "\n" + render_differences(c);
  if (hardware)
    out +=
        "Each machine's median with its own thread count; speedup = base median / this median (above 1: this "
        "machine is faster). A hardware comparison never gates.\n\n";
  else
    out += fmt::format(
        "Change: new/base of the medians, and in brackets the {:g} % confidence bounds of the ratio from the "
        "repetitions (Hodges-Lehmann, the Mann-Whitney U test inverted). A row is slower (faster) when the whole "
        "interval is above (below) no change; a noisy row gets a wider interval, none is exempt; with too few "
        "repetitions for any bound, the row is too few runs to decide. Single-threaded CPU rows are compared on "
        "their CPU time{}.\n\n",
        100 * (1 - 2 * c.settings.alpha),
        c.settings.time == GateTime::real ? " only with the automatic choice (here: real time everywhere)" : "");

  std::vector<std::string> header = {"Workload", "Shape", "Backend", "Threads", "Timing", "median " + c.labels[0]};
  for (std::size_t i = 1; i < c.labels.size(); ++i) {
    header.push_back("median " + c.labels[i]);
    if (hardware) {
      header.push_back(c.labels.size() > 2 ? "speedup " + c.labels[i] : "speedup");
    } else {
      header.push_back(c.labels.size() > 2 ? "ratio " + c.labels[i] : "new/base");
      header.push_back(c.labels.size() > 2 ? "change " + c.labels[i] : "change");
    }
  }
  auto row_line = [](const std::vector<std::string>& cells) {
    std::string line = "|";
    for (const std::string& cell : cells) line += " " + markdown_cell(cell) + " |";
    return line + "\n";
  };
  auto median_cell = [hardware](const CompareCell& cell) -> std::string {
    if (!cell.present) return "not run";
    if (cell.status != ResultStatus::ok) return "**" + to_string(cell.status) + "**";
    return format_duration(cell.median_s) + (cell.runs > 1 ? " ±" + format_percent(cell.cv) : "") +
           (cell.noisy ? std::string(" ") + kNoisyMarker : "") +
           (hardware ? fmt::format(" ({} thr.)", cell.threads) : "");
  };
  out += row_line(header);
  std::string sep = "|";
  for (std::size_t i = 0; i < header.size(); ++i) sep += i < 5 ? "---|" : "---:|";
  out += sep + "\n";
  for (const CompareRow& row : c.matched) {
    std::string threads;
    for (const CompareCell& cell : row.cells)
      if (cell.present) {
        threads = std::to_string(cell.threads);
        break;
      }
    std::vector<std::string> cells = {row.workload + " " + to_string(row.precision),
                                      row.shape_label,
                                      row.backend,
                                      hardware ? "own" : threads,
                                      timing_label(row.timing),
                                      median_cell(row.cells[0])};
    for (std::size_t i = 1; i < row.cells.size(); ++i) {
      cells.push_back(median_cell(row.cells[i]));
      if (hardware) {
        cells.push_back(row.ratio[i] > 0 ? format_factor(1 / row.ratio[i]) : "-");
      } else {
        cells.push_back(row.ratio[i] > 0 ? fmt::format("{:.3f}", row.ratio[i]) : "-");
        cells.push_back(verdict_text(row.verdict[i], row.ratio[i], row.interval[i], row.on_cpu_time[i]));
      }
    }
    out += row_line(cells);
  }
  if (!c.unmatched.empty()) {
    out += "\n## Rows not in every run\n\n";
    for (const CompareRow& row : c.unmatched) {
      std::vector<std::string> where;
      for (std::size_t i = 0; i < row.cells.size(); ++i)
        if (row.cells[i].present) where.push_back(c.labels[i]);
      out +=
          "- " +
          markdown_cell(row_name(row) + (row.timing == TimingMode::host ? " (" + timing_label(row.timing) + ")" : "")) +
          ": only in " + markdown_cell(join(where, ", ")) + "\n";
    }
  }
  if (fail_above_pct && !hardware) {
    const std::string refusal = gate_refusal(c);
    out += fmt::format("\n## Gate: slower by more than {} % with {:g} % confidence{}\n\n", *fail_above_pct,
                       100 * (1 - c.settings.alpha), strict ? ", undecided rows fail (--strict)" : "");
    if (!refusal.empty()) {
      out += "Refused: " + markdown_cell(refusal) + "\n";
      return out;
    }
    const std::vector<std::string> failures = gate_failures(c, *fail_above_pct, strict);
    if (failures.empty()) out += "Passed: no matched row got slower by more than the limit.\n";
    for (const std::string& f : failures) out += "- FAILED " + markdown_cell(f) + "\n";
    if (!strict)
      for (const std::string& u : gate_undecided_rows(c)) out += "- undecided, " + markdown_cell(u) + "\n";
    const std::string note = gate_oversubscription_note(c);
    if (!note.empty()) out += "\nNote: " + markdown_cell(note) + ".\n";
  }
  return out;
}

std::string render_compare_csv(const Comparison& c) {
  std::string out = csv_line({"workload",    "precision",    "shape",         "backend",    "timing",    "base_label",
                              "base_status", "base_threads", "base_median_s", "base_cv",    "base_runs", "new_label",
                              "new_status",  "new_threads",  "new_median_s",  "new_cv",     "new_runs",  "ratio",
                              "p_value",     "time",         "ratio_low",     "ratio_high", "verdict"});
  auto side = [](const CompareCell& cell) -> std::vector<std::string> {
    if (!cell.present) return {"", "0", "0", "0", "0"};
    return {to_string(cell.status), std::to_string(cell.threads), csv_number(cell.median_s), csv_number(cell.cv),
            std::to_string(cell.runs)};
  };
  auto emit = [&](const CompareRow& row, bool matched) {
    for (std::size_t i = 1; i < row.cells.size(); ++i) {
      if (!row.cells[0].present && !row.cells[i].present) continue;
      std::vector<std::string> cells = {row.workload, to_string(row.precision), row.shape_label,
                                        row.backend,  to_string(row.timing),    c.labels[0]};
      for (auto& s : side(row.cells[0])) cells.push_back(s);
      cells.push_back(c.labels[i]);
      for (auto& s : side(row.cells[i])) cells.push_back(s);
      cells.push_back(csv_number(row.ratio[i]));
      const bool tested = !std::isnan(row.p_value[i]);
      cells.push_back(tested ? csv_number(row.p_value[i]) : "");
      cells.push_back(row.ratio[i] > 0 ? (row.on_cpu_time[i] ? "cpu" : "real") : "");
      cells.push_back(tested ? csv_number(row.interval[i].lower) : "");
      cells.push_back(tested ? (std::isfinite(row.interval[i].upper) ? csv_number(row.interval[i].upper) : "inf") : "");
      std::string verdict = to_string(row.verdict[i]);
      if (!row.cells[i].present)
        verdict = "only_in_base";
      else if (!row.cells[0].present)
        verdict = "only_in_new";
      else if (c.settings.hardware_comparison && row.ratio[i] > 0)
        verdict = "hardware_comparison";
      cells.push_back(matched || verdict != "not_comparable" ? verdict : "not_comparable");
      out += csv_line(cells);
    }
  };
  for (const CompareRow& row : c.matched) emit(row, true);
  for (const CompareRow& row : c.unmatched) emit(row, false);
  return out;
}

const std::vector<ComparisonExporter>& comparison_exporters() {
  static const std::vector<ComparisonExporter> all = [] {
    ComparisonExporter csv;
    csv.name = "csv";
    csv.help = "Write the comparison as CSV";
    csv.render = [](const Comparison& c, const CompareGate&) { return render_compare_csv(c); };
    ComparisonExporter markdown;
    markdown.name = "markdown";
    markdown.help = "Write the comparison as markdown";
    markdown.render = [](const Comparison& c, const CompareGate& gate) {
      return render_compare_markdown(c, gate.fail_above_pct, gate.strict);
    };
    ComparisonExporter console = markdown;
    console.name = "console";
    console.help = "The comparison as markdown on the console";
    console.target = ComparisonExporter::Target::console;
    console.same_text_as = "markdown";
    return std::vector<ComparisonExporter>{csv, markdown, console};
  }();
  return all;
}

WriteOutcome write_comparison(const Comparison& c, const CompareGate& gate, const OutputPaths& paths) {
  const std::vector<ComparisonExporter>& all = comparison_exporters();
  for (const auto& entry : paths.outputs)
    if (std::none_of(all.begin(), all.end(), [&](const ComparisonExporter& e) {
          return e.target == ComparisonExporter::Target::file && e.name == entry.first;
        }))
      throw std::logic_error("OutputPaths names an output no comparison exporter writes: " + entry.first);
  // As write_reports: each output on its own, standard output last, so that a closed pipe
  // (`| head`) stops nothing that goes to a file.
  WriteOutcome outcome;
  std::set<std::string> on_stdout;  // the formats that went to standard output
  std::vector<std::pair<OutputTarget, std::string>> to_descriptors;
  for (const ComparisonExporter& e : all) {
    const auto path = paths.outputs.find(e.name);
    if (e.target != ComparisonExporter::Target::file || path == paths.outputs.end()) continue;
    try {
      const OutputTarget target = resolve_output(path->second);
      if (target.is_stdout()) on_stdout.insert(e.name);
      if (target.kind == OutputTarget::Kind::descriptor)
        to_descriptors.emplace_back(target, e.render(c, gate));
      else
        write_output(target, e.render(c, gate));
    } catch (const BrokenPipeError&) {  // a FIFO nobody reads any more: as a closed stdout
      outcome.broken_pipe = true;
    } catch (const std::exception& error) {
      outcome.failures.push_back(error.what());
    }
  }
  write_to_descriptors(to_descriptors, outcome);
  if (paths.console)
    for (const ComparisonExporter& e : all)
      if (e.target == ComparisonExporter::Target::console && on_stdout.count(e.same_text_as) == 0)
        paths.console(e.render(c, gate), !on_stdout.empty());
  return outcome;
}

}  // namespace mlbench::reports
