// The analyze stage of the run (ARCHITECTURE.md): every field derived from the measured rows,
// computed once, here, after the rounds are merged (Runner::run calls analyze() last): rates
// and speedups (vs the baseline, the best CPU, the vendor library, one GPU / one rank), the
// spread of the repetitions as rates and speedups, energy per run, the roofline placement
// (bench/roofline.h) and the noise and machine-state flags. Reports read back re-derive through
// the same functions (`mlbench report --scale-times` finalize_results, `--cv-threshold`
// flag_noisy_results, reading a report finalize_run_spreads), never with formulas of their own.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "bench/peaks.h"
#include "bench/result.h"
#include "bench/roofline.h"

namespace mlbench {

struct AnalysisContext {
  const PeakFigures* peaks = nullptr;         // the machine's peaks; nullptr: intensity only, no roofline placement
  double cv_threshold = kDefaultCvThreshold;  // --cv-threshold, a fraction
  double other_load_cores = -1;               // CPUs other programs kept busy during the run; -1 unknown
};

// What the analysis says of the run as a whole.
struct Analysis {
  std::vector<std::string> warnings;  // machine-state warnings (a busy machine), one line each
};

// finalize_results, apply_roofline, flag_noisy_results, busy_machine_warning, in that order.
Analysis analyze(std::vector<VariantResult>& results, const AnalysisContext& context);

// Fills the derived fields (rates, speedups vs the baseline (is_baseline) and the best CPU,
// vendor ratios, multi-GPU and multi-rank scaling, energy per run). Only verified results take
// part in speedups.
void finalize_results(std::vector<VariantResult>& results);

// Fills the spread of each verified row's repetitions (run_gflops_min/max,
// run_speedup_vs_best_cpu_min/max) from its samples, flops and speedup_vs_best_cpu; the last
// step of finalize_results, and what reading a report back does, as the JSON does not hold them.
void finalize_run_spreads(std::vector<VariantResult>& results);

// The lowest and highest of `of(t)` over the repetition times t that are positive and finite,
// when there are 2+ of them and the values are positive and finite; {0, 0} otherwise. The
// spreads above use it, and the charts for their whiskers of run times.
template <typename F>
std::pair<double, double> repetition_range(const TimingStats& stats, F of) {
  std::vector<double> values;
  for (double t : stats.run_times_s)
    if (t > 0 && std::isfinite(t)) values.push_back(of(t));
  if (values.size() < 2) return {0, 0};
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  if (!(*lo > 0 && std::isfinite(*hi))) return {0, 0};
  return {*lo, *hi};
}

// Sets cv_above_threshold on every result: verified, 2+ runs, cv > threshold (a fraction).
void flag_noisy_results(std::vector<VariantResult>& results, double threshold);

// Other programs' CPU use during the run (above kBusyMachineCores), when it makes the numbers
// incomparable with a run on a quiet machine; "" otherwise.
std::string busy_machine_warning(double other_load_cores);

}  // namespace mlbench
