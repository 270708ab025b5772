// The runner: the run's stages after the command line (ARCHITECTURE.md). plan() turns options
// into a plan of (problem, backend) pairs (bench/plan.cpp); run() measures every planned variant
// (bench/measure.h: exact check, warm-up, verify, time, re-check), once per round, merges the
// rounds (bench/runner.cpp) and analyzes the merged rows once (bench/analyze.h).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/analyze.h"
#include "bench/backend.h"
#include "bench/measure.h"
#include "bench/result.h"
#include "bench/workloads.h"

namespace mlbench {

struct RunOptions {
  std::vector<std::string> workloads;  // canonical names or aliases
  std::vector<std::int64_t> sizes;
  std::vector<std::string> backends;  // empty: every available backend
  Precision precision = Precision::fp32;
  int threads = 0;           // 0: OpenMP's default (omp_get_max_threads)
  int repetitions = 0;       // 0: adapt to the time budget
  int max_repetitions = 20;  // cap for the adaptive count
  // Floor of the adaptive count (at most max_repetitions): a variant slower than its time
  // budget still gets this many, so `compare` has repetitions to bound a change with.
  int min_repetitions = 1;
  int warmup = 1;  // un-timed runs before verification and timing (>= 1)
  // Passes over the whole plan (--rounds). Each round prepares, warms up and verifies every
  // variant afresh (new buffers) and measures its share of the repetitions and of the time
  // budget; a row's statistics pool the samples of all rounds. Spreading a row's samples over
  // the run turns slow drifts and bursts of the machine (a neighbour on a shared host, a clock
  // change) into visible spread instead of a silent offset of the whole row. The repetition
  // counts and the time budget cover all rounds together.
  int rounds = 1;
  double time_budget_s = 2.0;  // measured time per variant the adaptive count aims at
  // Wall-clock limit per timing mode of a variant, checked before every run (a run that has
  // started is not cut short: CPU code cannot be stopped safely mid-call). 0: no limit.
  double timeout_s = 0;
  std::uint64_t seed = 0;
  // Verified results whose cv exceeds this fraction are flagged as noisy (--cv-threshold).
  double cv_threshold = kDefaultCvThreshold;
  // false (--no-energy): no energy windows; every row says so. A row's window otherwise runs the
  // work on until it reaches the meter's shortest useful window (NVML 1 s), past --time-budget.
  bool measure_energy = true;
  // --gpus: "N", "all" or a list of ordinals ("0,2"); empty: no multi-GPU backend runs.
  // bench/gpu_selection.h says what each form selects.
  std::string gpus;
  // The CUDA device of the single-device GPU backends (and rank 0 of a cross-rank row): 0, or
  // under mpirun/srun the rank's own GPU (mpi::choose_rank_gpu).
  int device = 0;
  // Test hook of `mlbench fleet` (MLBENCH_FLEET_SLOW_RANK, docs/cluster.md): every measured run
  // executes the variant this many times and times them all, so this process really does that
  // multiple of the work. 1 otherwise.
  int test_work_factor = 1;
  WorkloadOptions workload;
};

// One (workload, size, backend) the runner will execute.
struct PlannedVariant {
  std::string workload;
  std::int64_t size = 0;
  const BackendInfo* backend = nullptr;
  std::vector<int> devices;  // multi-GPU backends: the GPUs of this row (one row per GPU count)
  int ranks = 0;             // distributed backends: the ranks of this row (one row per rank count)
};

struct RunPlan {
  std::vector<PlannedVariant> variants;
  // Backends left out of a default run because they are unavailable: name -> reason.
  std::vector<std::pair<std::string, std::string>> absent;
  int timed_rows = 0;  // expected result rows (GPU variants give two)
};

// Receives progress; the CLI prints it, tests ignore it.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void variant_started(const std::string& /*label*/, int /*index*/, int /*total*/) {}
  virtual void variant_finished(const VariantResult& /*result*/) {}
  virtual void message(const std::string& /*text*/) {}
};

class Runner {
 public:
  Runner(const Registry& registry, RunOptions options);

  // Resolves names and checks what can be checked before allocating: unknown workloads or
  // backends, explicitly requested backends that are unavailable, sizes <= 0, problems that
  // do not fit in host memory. Throws InputError with a one-line message.
  RunPlan plan() const;

  // Runs the plan: every round measured and merged, then the rows analyzed (analyze(): rates,
  // speedups, the roofline against `peaks` (nullptr: intensity only), noise flags). Stops early,
  // keeping what is finished, once request_stop() was called.
  std::vector<VariantResult> run(const RunPlan& plan, RunObserver* observer = nullptr,
                                 const PeakFigures* peaks = nullptr);

  const RunOptions& options() const { return options_; }
  // CPUs other programs kept busy, on average, during the last run(); -1 unknown.
  double other_load_cores() const { return other_load_cores_; }
  // What the last run()'s analysis said of the run as a whole (the busy-machine warning).
  const Analysis& analysis() const { return analysis_; }
  // Warm-up lasts at least --warmup runs and this share of --time-budget.
  static constexpr double kWarmupShareOfBudget = 0.1;
  // ... and after the verification, at least one run and this share again.
  static constexpr double kRewarmShareOfBudget = 0.03;

  // Async-signal-safe: asks the running suite to stop after the current measurement.
  static void request_stop();
  static bool stop_requested();
  // Forgets an earlier request (tests run several suites in one process).
  static void clear_stop_request();

 private:
  // One pass over the plan (round `round_`).
  std::vector<VariantResult> run_round(const RunPlan& plan, RunObserver* observer, int& index, int total);
  std::vector<VariantResult> run_variant(const Problem& problem, const Problem* exact_twin, const BackendInfo& backend,
                                         const std::vector<int>& devices, int ranks, RunObserver* observer, int& index,
                                         int total);
  // The measure stage's settings of the current round (bench/measure.h).
  MeasureSettings measure_settings() const;
  // The exact check: prepares the backend on the problem's exact twin, runs it once (untimed),
  // checks the output with Problem::verify_exact; `seconds`: the time of that check. The
  // variant's notes (the algorithm it chose) go to `notes`.
  Verification check_exact_twin(const Problem& twin, const BackendInfo& backend, const ExecutionConfig& config,
                                double& seconds, std::vector<std::pair<std::string, std::string>>& notes);
  // After a GPU variant failed and was destroyed: Registry::device_recovery, its note on the rows.
  void recover_device(const ExecutionConfig& config, std::exception_ptr failure, std::vector<VariantResult>& rows,
                      RunObserver* observer);

  const Registry& registry_;
  RunOptions options_;
  double other_load_cores_ = -1;
  Analysis analysis_;
  int round_ = 0;  // the round being run
  double round_budget_s() const { return options_.time_budget_s / std::max(1, options_.rounds); }
};

// Adds one round's rows to the rows of the rounds before (matched by name): a row that failed
// in any round is failed, with that round's error (a failed verification drops the row's times:
// every time belongs to a verified result); otherwise the repetition samples are pooled and the
// statistics recomputed from them (pool_statistics). Rows only one side has are kept.
void merge_round(std::vector<VariantResult>& rows, std::vector<VariantResult> round_rows, int round);

// Several runs of one build on one machine as one run (`mlbench report --pool`): each later
// run's rows merged in as more rounds (merge_round), then the whole analyzed again (analyze),
// so a row's statistics, and the compare gate's interval, see the shifts between processes
// that one run's repetitions cannot show (docs/ci.md). The first run's context stands; dates
// span all; rounds and pooled_runs add up. The caller checks that the runs are alike.
RunReport pool_runs(std::vector<RunReport> runs);

// Free host memory the OS reports (bench/plan.cpp) (MemAvailable), in bytes.
std::size_t available_host_memory();

}  // namespace mlbench
