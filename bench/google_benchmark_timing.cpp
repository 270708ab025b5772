// The Google Benchmark adapter of the measure stage: times repetitions of one run with manual
// time and reads its statistics back (bench/google_benchmark_timing.h).
#include "bench/google_benchmark_timing.h"

#include <algorithm>

#include <benchmark/benchmark.h>

// Google Benchmark's statistics functions, the ones behind its mean/median/stddev/cv
// aggregates: libbenchmark exports them (1.7 and 1.8), its public header does not declare them.
namespace benchmark {
double StatisticsMean(const std::vector<double>& v);
double StatisticsMedian(const std::vector<double>& v);
double StatisticsStdDev(const std::vector<double>& v);
double StatisticsCV(const std::vector<double>& v);
}  // namespace benchmark

namespace mlbench {

namespace {

// Keeps every run Google Benchmark reports (repetitions and its aggregates) instead of
// printing them.
class CollectingReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override { runs_.insert(runs_.end(), runs.begin(), runs.end()); }
  const std::vector<Run>& runs() const { return runs_; }

 private:
  std::vector<Run> runs_;
};

// Google Benchmark 1.8 replaced Run::error_occurred with Run::skipped; accept both.
template <class R>
auto run_was_skipped(const R& run, int) -> decltype(run.skipped, bool()) {
  return static_cast<int>(run.skipped) != 0;
}
template <class R>
auto run_was_skipped(const R& run, long) -> decltype(run.error_occurred, bool()) {
  return run.error_occurred;
}

}  // namespace

void time_with_google_benchmark(const std::string& name, std::int64_t iterations, int repetitions,
                                const std::function<TimedIteration()>& iteration, TimingStats& stats) {
  CollectingReporter reporter;
  auto* bm = benchmark::RegisterBenchmark(name.c_str(), [&](benchmark::State& state) {
    for (auto _ : state) {
      const TimedIteration it = iteration();
      if (it.stop != nullptr) {
        state.SkipWithError(it.stop);
        break;
      }
      state.SetIterationTime(it.seconds);
    }
  });
  bm->UseManualTime()->Iterations(iterations)->Repetitions(repetitions)->Unit(benchmark::kMillisecond);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();

  stats.iterations = iterations;
  for (const auto& run : reporter.runs()) {
    if (run_was_skipped(run, 0)) continue;
    const double per_iteration =
        run.real_accumulated_time / static_cast<double>(std::max<std::int64_t>(run.iterations, 1));
    const double cpu_per_iteration =
        run.cpu_accumulated_time / static_cast<double>(std::max<std::int64_t>(run.iterations, 1));
    if (run.run_type == benchmark::BenchmarkReporter::Run::RT_Iteration) {
      stats.run_times_s.push_back(per_iteration);
      stats.run_cpu_times_s.push_back(cpu_per_iteration);
    } else if (run.aggregate_name == "median") {
      stats.median_s = per_iteration;
      stats.cpu_median_s = cpu_per_iteration;
    } else if (run.aggregate_name == "mean") {
      stats.mean_s = per_iteration;
      stats.cpu_mean_s = cpu_per_iteration;
    } else if (run.aggregate_name == "stddev") {
      stats.stddev_s = per_iteration;
      stats.cpu_stddev_s = cpu_per_iteration;
    } else if (run.aggregate_name == "cv") {
      stats.cv = run.real_accumulated_time;  // Google Benchmark keeps the ratio itself here
      stats.cpu_cv = run.cpu_accumulated_time;
    }
  }
  stats.runs = static_cast<int>(stats.run_times_s.size());
  if (stats.runs == 1) {  // Google Benchmark computes no aggregates for a single repetition
    stats.median_s = stats.mean_s = stats.run_times_s.front();
    stats.cpu_median_s = stats.cpu_mean_s = stats.run_cpu_times_s.front();
  }
}

void pool_statistics(TimingStats& stats) {
  stats.runs = static_cast<int>(stats.run_times_s.size());
  if (stats.runs == 0) return;
  stats.median_s = benchmark::StatisticsMedian(stats.run_times_s);
  stats.mean_s = benchmark::StatisticsMean(stats.run_times_s);
  stats.stddev_s = benchmark::StatisticsStdDev(stats.run_times_s);
  stats.cv = benchmark::StatisticsCV(stats.run_times_s);
  if (stats.run_cpu_times_s.size() == stats.run_times_s.size()) {
    stats.cpu_median_s = benchmark::StatisticsMedian(stats.run_cpu_times_s);
    stats.cpu_mean_s = benchmark::StatisticsMean(stats.run_cpu_times_s);
    stats.cpu_stddev_s = benchmark::StatisticsStdDev(stats.run_cpu_times_s);
    stats.cpu_cv = benchmark::StatisticsCV(stats.run_cpu_times_s);
  }
}

}  // namespace mlbench
