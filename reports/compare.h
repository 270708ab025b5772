// Comparing runs: the same rows (workload, precision, shape, backend, timing) across a base
// run and one or more newer runs.
//
// Noise rule: the difference between a run and the base counts as beyond noise when
//     |new/base - 1| > 2 * sqrt(cv_base^2 + cv_new^2)
// i.e. beyond two spreads of single runs, not two standard errors of the means. The repetitions
// of one process are not independent draws of what another process measures (they share its
// buffers and its stretch of time): on the 2-core VM the standard-error rule called 38 to 47 %
// of the rows of two back-to-back runs of one build slower or faster, this rule 7 % (with
// --rounds 3; docs/reliability.md). With fewer than 2 runs on either
// side the noise is unknown and the difference is never called "within noise". A change beyond
// that bound where either side is flagged as noisy (its cv above its run's --cv-threshold) is
// "noisy", not "slower" or "faster": a cv that high means the runs themselves disagree.
//
// Gate (--fail-above PCT): a row fails when a newer run is slower than the base by more than
// PCT percent AND the slowdown is beyond noise (or the noise is unknown), or when the row
// verified in the base but not in the newer run. Noisy rows do not fail the gate; they are
// listed under it. Rows present in only some runs are listed separately and do not fail it.
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

struct CompareCell {
  bool present = false;
  ResultStatus status = ResultStatus::ok;
  double median_s = 0;
  double cv = 0;
  int runs = 0;
  bool noisy = false;  // cv above the run's --cv-threshold
};

enum class Verdict { slower, faster, within_noise, noise_unknown, noisy, not_comparable };
std::string to_string(Verdict v);

struct CompareRow {
  std::string workload;
  Precision precision = Precision::fp32;
  std::string shape_label;
  std::string backend;
  TimingMode timing = TimingMode::host;
  std::vector<CompareCell> cells;  // one per run, base first
  // Per run, vs the base (index 0 unused): new/base ratio (0 when not comparable), relative
  // noise bound (NaN when unknown), verdict.
  std::vector<double> ratio;
  std::vector<double> noise;
  std::vector<Verdict> verdict;
};

struct Comparison {
  // One per run: the host name (or host · CPU · GPU) when every run comes from a different
  // machine, else the file name.
  std::vector<std::string> labels;
  std::vector<std::string> details;  // one per run: "file: host · CPU · GPU, date"
  std::vector<CompareRow> matched;   // in the base and at least one other run
  std::vector<CompareRow> unmatched; // missing from the base, or only in the base
};

// runs[0] is the base. Throws InputError with fewer than two runs, or when a run has no row
// in common with the base.
Comparison compare(const std::vector<LabeledReport>& runs);

// Rows that fail the gate, each described in one line; empty when the gate passes.
std::vector<std::string> gate_failures(const Comparison& comparison, double fail_above_pct);
// Rows slower by more than the limit whose verdict is "noisy": listed, not failed.
std::vector<std::string> gate_noisy_rows(const Comparison& comparison, double fail_above_pct);

std::string render_compare_markdown(const Comparison& comparison, std::optional<double> fail_above_pct = {});
// One row per (matched or unmatched row, newer run), columns:
//   workload, precision, shape, backend, timing, base_label, base_status, base_median_s,
//   base_cv, base_runs, new_label, new_status, new_median_s, new_cv, new_runs, ratio,
//   noise, verdict
// (absent sides have empty status and 0 figures; verdict "only_in_base"/"only_in_new"; "noisy"
// for a change beyond the bound with a flagged side).
std::string render_compare_csv(const Comparison& comparison);

}  // namespace mlbench::reports
