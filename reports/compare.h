// Comparing runs: the same rows (workload, precision, shape, backend, thread count, timing)
// across a base run and one or more newer runs.
//
// Rule. For each row and newer run, the ratio new/base of its times is estimated with a
// distribution-free confidence interval from the repetitions (ratio_interval: the
// Hodges-Lehmann estimate and the bounds of the Mann-Whitney U test inverted, the rank test
// Google Benchmark's compare.py runs). The row is "slower" when the interval's lower bound
// (confidence 1 - alpha, default 95 %) is above 1, "faster" when its upper bound is below 1,
// else "within noise". A noisy row (high cv, overlapping repetitions) gets a wider interval
// and needs a larger change, but it is never exempt. When the repetitions are too few for
// any bound (the test's smallest possible p is not below alpha: fewer than 4 on a side at
// alpha 0.05, or a side without repetition times), the row is "too few runs to decide".
//
// Times compared. A single-threaded CPU row (one host thread, no GPU, no MPI ranks) is
// compared on its CPU time: all its work runs on that thread, and the thread's CPU time leaves
// out the time other programs held the CPU, which on a shared machine is most of the spread
// and of the drift between two runs of its wall-clock time. Every other row (threaded, GPU,
// MPI), and with GateTime::real every row, is compared on its real (wall-clock) time, as
// is a row whose report lacks CPU times for each repetition.
//
// Gate (--fail-above PCT): a row fails when it is slower by more than PCT percent beyond
// noise, i.e. the interval's lower bound is above 1 + PCT / 100 (the one-sided U test of
// new / (1 + PCT/100) against base gives p < alpha), or when it verified in the base but not
// in the newer run. With strict, a row whose verdict is "too few runs to decide" fails too.
// Rows present in only some runs are listed separately and do not fail it. An interrupted row
// is never gated.
//
// Like with like. The runs' contexts are compared first (CPU model and cores, GPU, thread
// count, precision, pinning, build type and compiler, mlbench version and report schema); what
// differs is printed at the top. Gating runs from different hardware or thread counts is
// refused (gate_refusal) unless the comparison is a hardware comparison, which pairs rows
// whatever their thread counts, shows each machine's time and the speedup over the base, and
// never gates.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bench/result.h"
#include "reports/exporter.h"
#include "reports/rank_test.h"
#include "reports/report_writer.h"

namespace mlbench::reports {

struct LabeledReport {
  std::string source;  // file name, used to label columns when machines are the same
  RunReport report;
};

// Which time a row is compared on (see "Times compared" above).
enum class GateTime { automatic, real };

struct CompareSettings {
  double alpha = 0.05;               // 1 - confidence of the interval (significance of the rank test)
  bool hardware_comparison = false;  // pair rows across thread counts; no verdicts, no gate
  GateTime time = GateTime::automatic;
};

struct CompareCell {
  bool present = false;
  ResultStatus status = ResultStatus::ok;
  double median_s = 0;
  double cv = 0;
  int runs = 0;
  int threads = 1;
  bool noisy = false;               // cv above the run's --cv-threshold (shown; does not exempt the row)
  std::vector<double> samples;      // repetition times (real), seconds
  std::vector<double> cpu_samples;  // their CPU times (empty when the report has none)
  double cpu_median_s = 0;
  bool single_thread_cpu = false;  // a CPU backend on one host thread, no GPU, no MPI ranks
  // CPUs other programs kept busy while the row was measured (-1: not measured), and the
  // machine's logical CPUs: a threaded row that needs every CPU then waits for them.
  double other_load_cores = -1;
  int logical_cpus = 0;
};

enum class Verdict { slower, faster, within_noise, too_few_runs, not_comparable };
std::string to_string(Verdict v);

struct CompareRow {
  std::string workload;
  Precision precision = Precision::fp32;
  std::string shape_label;
  std::string backend;
  TimingMode timing = TimingMode::host;
  std::vector<CompareCell> cells;  // one per run, base first
  // Per run, vs the base (index 0 unused): new/base ratio of the medians of the time compared
  // (0 when not comparable), the one-sided p-value of the U test in the direction of the
  // change (NaN when not tested), the interval of the ratio (estimate 0 when not tested),
  // whether CPU times were compared, verdict.
  std::vector<double> ratio;
  std::vector<double> p_value;
  std::vector<RatioInterval> interval;
  std::vector<bool> on_cpu_time;
  std::vector<Verdict> verdict;
};

// A context field whose value is not the same in every run.
struct ContextDifference {
  std::string what;                 // "CPU", "threads", ...
  std::vector<std::string> values;  // one per run
  bool hardware = false;            // CPU, cores, GPU or threads: refuses a gate
};

struct Comparison {
  // One per run: the host name (or host · CPU · GPU) when every run comes from a different
  // machine, else the file name.
  std::vector<std::string> labels;
  std::vector<std::string> details;  // one per run: "file: host · CPU · GPU, date"
  std::vector<ContextDifference> differences;
  CompareSettings settings;
  std::vector<CompareRow> matched;    // in the base and at least one other run
  std::vector<CompareRow> unmatched;  // missing from the base, or only in the base
};

// runs[0] is the base. Throws InputError with fewer than two runs, or when a run has no row
// in common with the base, or for an alpha outside (0, 1).
Comparison compare(const std::vector<LabeledReport>& runs, const CompareSettings& settings = {});

// What differs between the runs' contexts (empty when nothing does).
std::vector<ContextDifference> context_differences(const std::vector<LabeledReport>& runs);
// Why these runs must not be gated against each other ("" when they may): different
// hardware or thread counts. One line.
std::string gate_refusal(const Comparison& comparison);

// Rows that fail the gate, each described in one line; empty when the gate passes.
std::vector<std::string> gate_failures(const Comparison& comparison, double fail_above_pct, bool strict = false);
// Rows the gate could not decide (too few runs), each in one line; they fail it with strict.
std::vector<std::string> gate_undecided_rows(const Comparison& comparison);
// Threaded rows compared on real time that were measured, in some run, while other programs
// kept more than half a CPU busy and the row's threads plus that load exceeded the machine's
// CPUs: their wall-clock time includes waiting for a CPU, which drifts between runs beyond
// what the repetitions show (docs/ci.md, calibration). One line naming how many and the
// largest load; empty when there are none. Printed under the gate; it exempts nothing.
std::string gate_oversubscription_note(const Comparison& comparison);

std::string render_compare_markdown(const Comparison& comparison, std::optional<double> fail_above_pct = {},
                                    bool strict = false);
// One row per (matched or unmatched row, newer run), columns:
//   workload, precision, shape, backend, timing, base_label, base_status, base_threads,
//   base_median_s, base_cv, base_runs, new_label, new_status, new_threads, new_median_s,
//   new_cv, new_runs, ratio, p_value, time, ratio_low, ratio_high, verdict
// (time: "cpu" or "real", the time compared; ratio_low/ratio_high: the interval's one-sided
// 1 - alpha bounds, 0 / inf when too few runs, empty when not tested;
// absent sides have empty status and 0 figures; verdict "only_in_base"/"only_in_new";
// p_value empty when not tested; in a hardware comparison the verdict is "hardware_comparison").
std::string render_compare_csv(const Comparison& comparison);

// What the outputs state besides the comparison: the gate asked for (the markdown says it).
struct CompareGate {
  std::optional<double> fail_above_pct;
  bool strict = false;
};

// The outputs of `mlbench compare`, one descriptor per format, as Exporter (reports/exporter.h)
// is for a run's: the markdown and the CSV, each bound to its option (--markdown FILE, --csv
// FILE), and the console, which prints the markdown. A file format is named like the run
// exporter of the same format, whose path checks (check_output_paths) and whose kind of path in
// the completions (cli/docs_command.cpp) it shares.
struct ComparisonExporter {
  enum class Target {
    file,     // one file (or standard output): the option --<name>
    console,  // no option: printed after the files (OutputPaths::console)
  };
  std::string name;  // "csv": the option --csv, the key of OutputPaths::outputs
  std::string help;  // the option's help line (file); what it is (console)
  Target target = Target::file;
  // Target::console: the file format whose text it prints too; once that went to standard output
  // the console prints nothing, so the text is there once.
  std::string same_text_as;
  std::function<std::string(const Comparison& comparison, const CompareGate& gate)> render;

  std::string option() const { return "--" + name; }
};

// CSV, markdown, console: the order of the options (compare --help) and of the writing.
const std::vector<ComparisonExporter>& comparison_exporters();

// Writes each requested output of `paths` (by comparison exporter name, checked before with
// check_output_paths) in comparison_exporters()'s order, files atomically and standard output
// last, then prints the console exporters through paths.console: on standard error when an
// output went to standard output. A failing output does not stop the others; an output name no
// file exporter has is a caller's bug (std::logic_error).
WriteOutcome write_comparison(const Comparison& comparison, const CompareGate& gate, const OutputPaths& paths);

}  // namespace mlbench::reports
