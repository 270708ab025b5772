// The Google Benchmark adapter of the measure stage (bench/measure.cpp): the timed repetitions
// of one variant run as one registered benchmark with manual time (the variant times itself:
// host clock, CUDA events), and the statistics Google Benchmark computed read back into a
// TimingStats. Nothing else in mlbench includes <benchmark/benchmark.h>.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "bench/result.h"

namespace mlbench {

// One timed run: its seconds, or (stop != nullptr) why the timing ends here; the repetitions
// measured before are kept.
struct TimedIteration {
  double seconds = 0;
  const char* stop = nullptr;
};

// Runs `iteration` `repetitions` x `iterations` times as benchmark `name` and fills `stats`:
// iterations, one time per repetition (real and CPU, per iteration), median, mean, stddev, cv
// (a single repetition: its time as median and mean).
void time_with_google_benchmark(const std::string& name, std::int64_t iterations, int repetitions,
                                const std::function<TimedIteration()>& iteration, TimingStats& stats);

// Median, mean, stddev and cv of stats.run_times_s (and of the CPU times), with Google
// Benchmark's own statistics functions (rounds merged: bench/runner.cpp merge_round).
void pool_statistics(TimingStats& stats);

}  // namespace mlbench
