// The measure stage of one variant in one timing mode (bench/measure.cpp): warm-up -> verify
// (Problem::verify) -> time (Google Benchmark, bench/google_benchmark_timing.h; adaptive
// repetitions) -> re-check the last timed output. The Runner (bench/runner.h) drives it for every
// planned variant, after the variant's exact check, and merges the rounds.
#pragma once

#include "bench/backend.h"
#include "bench/energy.h"
#include "bench/result.h"

namespace mlbench {

// What the measure stage takes from RunOptions (Runner::measure_settings), for one round.
struct MeasureSettings {
  int warmup = 1;               // --warmup: un-timed runs before the verification
  int repetitions = 0;          // of the whole run; 0: adapt to the budget
  int max_repetitions = 20;     // cap of the adaptive count (of the whole run)
  int min_repetitions = 1;      // floor of the adaptive count (of the whole run)
  int rounds = 1;               // each round takes its share of the repetitions
  double round_budget_s = 2.0;  // --time-budget / rounds
  double timeout_s = 0;         // per variant; 0: none
  int test_work_factor = 1;     // RunOptions::test_work_factor
};

// Fills `result` (a row whose identity is set): status, verification, verification_s, stats,
// communication_s, energy (through `meter`, nullptr: none). Stops between runs once
// Runner::request_stop() was called (the row is then interrupted) or past the timeout.
void measure(const Problem& problem, Variant& variant, TimingMode mode, VariantResult& result, EnergyMeter* meter,
             const MeasureSettings& settings);

}  // namespace mlbench
