// Comparing runs: the same rows (workload, precision, shape, backend, thread count, timing)
// across a base run and one or more newer runs.
//
// Rule. A row is "slower" in a newer run when its repetition times are, by a one-sided
// Mann-Whitney U test (the rank test Google Benchmark's compare.py runs), larger than the
// base's with p < alpha (default 0.05), and its median is larger; "faster" likewise the other
// way; else "within noise". A rank test prices each row's noise from its own repetitions: a
// noisy row (high cv, overlapping times) needs a larger change to be called, but it is never
// exempt. When the test cannot reach alpha with the repetitions there are (its smallest
// possible p, all new times above all base times, is not below alpha: fewer than 4 on a side
// at alpha 0.05, or a side without repetition times), the row is "too few runs to decide".
//
// Gate (--fail-above PCT): a row fails when it is "slower" and its median grew by more than
// PCT percent, or when it verified in the base but not in the newer run. With strict, a row
// whose verdict is "too few runs to decide" fails too. Rows present in only some runs are
// listed separately and do not fail it. An interrupted row is never gated.
//
// Like with like. The runs' contexts are compared first (CPU model and cores, GPU, thread
// count, precision, pinning, build type and compiler, mlbench version and report schema); what
// differs is printed at the top. Gating runs from different hardware or thread counts is
// refused (gate_refusal) unless the comparison is a hardware comparison, which pairs rows
// whatever their thread counts, shows each machine's time and the speedup over the base, and
// never gates.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

struct LabeledReport {
  std::string source;  // file name, used to label columns when machines are the same
  RunReport report;
};

struct CompareSettings {
  double alpha = 0.05;               // significance level of the rank test
  bool hardware_comparison = false;  // pair rows across thread counts; no verdicts, no gate
};

struct CompareCell {
  bool present = false;
  ResultStatus status = ResultStatus::ok;
  double median_s = 0;
  double cv = 0;
  int runs = 0;
  int threads = 1;
  bool noisy = false;  // cv above the run's --cv-threshold (shown; does not exempt the row)
  std::vector<double> samples;  // repetition times, seconds
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
  // Per run, vs the base (index 0 unused): new/base ratio of the medians (0 when not
  // comparable), the one-sided p-value in the direction of the change (NaN when not tested),
  // verdict.
  std::vector<double> ratio;
  std::vector<double> p_value;
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
  std::vector<CompareRow> matched;   // in the base and at least one other run
  std::vector<CompareRow> unmatched; // missing from the base, or only in the base
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

std::string render_compare_markdown(const Comparison& comparison, std::optional<double> fail_above_pct = {},
                                    bool strict = false);
// One row per (matched or unmatched row, newer run), columns:
//   workload, precision, shape, backend, timing, base_label, base_status, base_threads,
//   base_median_s, base_cv, base_runs, new_label, new_status, new_threads, new_median_s,
//   new_cv, new_runs, ratio, p_value, verdict
// (absent sides have empty status and 0 figures; verdict "only_in_base"/"only_in_new";
// p_value empty when not tested; in a hardware comparison the verdict is "hardware_comparison").
std::string render_compare_csv(const Comparison& comparison);

}  // namespace mlbench::reports
