// What a run produced: one VariantResult per (problem, backend, timing mode), and the run
// around them. Plain data; reports/ turns it into JSON, markdown, CSV and charts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/machine_context.h"
#include "bench/problem.h"
#include "bench/types.h"

namespace mlbench {

enum class ResultStatus {
  ok,                   // verified, timed
  failed_verification,  // output wrong: reported as FAILED, never timed
  error,                // threw (allocation, CUDA error, ...)
  timed_out,            // ran past --timeout
  // Stopped by a signal (SIGINT/SIGTERM/SIGHUP) before its measurement finished. Not a
  // failure of the code under test: never gated by compare, shown as INTERRUPTED. Times
  // measured before the signal are kept in `stats` (like timed_out) but are not a result.
  interrupted,
};
std::string to_string(ResultStatus s);
std::optional<ResultStatus> parse_result_status(std::string_view text);

// Statistics Google Benchmark computed over the measured runs (repetitions).
struct TimingStats {
  int runs = 0;                     // measured repetitions the figures rest on
  int rounds = 1;                   // rounds (--rounds) they were measured in
  std::int64_t iterations = 1;      // iterations per repetition (of the first round; later rounds may differ)
  std::vector<double> run_times_s;  // one per repetition (manual time)
  std::vector<double> run_cpu_times_s;
  double median_s = 0, mean_s = 0, stddev_s = 0;
  double cv = 0;  // stddev / mean, as a fraction; 0 with a single run
  // The same statistics of the process CPU time (Google Benchmark's cpu_time).
  double cpu_median_s = 0, cpu_mean_s = 0, cpu_stddev_s = 0, cpu_cv = 0;
};

// A GPU row's device state around its measurement (Registry::device_state_probe): read before
// the warm-up and after the last timed run. `throttled` names what held the clocks down at
// either reading or in between (NVML violation counters): "power cap", "thermal", ...
struct GpuStateChange {
  GpuStateSample before, after;
  std::vector<std::string> throttled;
};
// The throttle reasons of `before` and `after`, plus any limiter whose violation time grew.
std::vector<std::string> throttling_between(const GpuStateSample& before, const GpuStateSample& after);

// The energy of a row's timed runs (bench/energy.h): one window of the device's cumulative
// counter, opened just before the first timed repetition and closed after the last, extended
// with more runs of the same work to the meter's shortest useful window. With --rounds the
// windows of every round are added up.
struct RowEnergy {
  bool measured = false;
  std::string unavailable_reason;  // when not measured: why, one line
  std::string source;              // what the figure covers: "RAPL package-0 (package domain)", "NVML ..."
  double joules = 0;               // the whole window (all its runs)
  double dram_joules = -1;         // RAPL DRAM domain over the window; -1 when not measured
  double window_s = 0;             // wall-clock seconds of the window
  double timed_s = 0;              // seconds of it inside the timed regions of the runs
  std::int64_t runs = 0;           // executions of the work in the window
  static RowEnergy unavailable(std::string why) {
    RowEnergy e;
    e.unavailable_reason = std::move(why);
    return e;
  }
};

struct VariantResult {
  // identity
  std::string workload;
  std::string backend;
  BackendKind backend_kind = BackendKind::cpu;
  // The backend's capabilities as they held for this row (BackendInfo): whether it is the
  // workload's baseline (the row speedup_vs_serial divides by), and whether this run's math was
  // on tensor cores (the backend declares them at this precision and its variant did not say
  // otherwise), which holds the row against the tensor-core roof.
  bool is_baseline = false;
  bool uses_tensor_cores = false;
  TimingMode timing = TimingMode::host;
  Precision precision = Precision::fp32;
  std::int64_t size = 0;
  std::string shape_label;
  std::vector<std::pair<std::string, std::int64_t>> shape;
  int threads = 1;
  std::uint64_t seed = 0;

  // what the workload declares
  double flops = 0;
  double bytes = 0;

  ResultStatus status = ResultStatus::ok;
  std::string error_message;
  Verification verification;
  // Seconds mlbench spent checking this row's outputs: the exact check of the exact twin's output
  // (once per variant, counted in each of its timing modes' rows), the accuracy check and the
  // re-check after timing. Running the variant on the twin is not counted.
  double verification_s = 0;
  TimingStats stats;

  // derived from the above by the analyze stage (bench/analyze.h, finalize_results); 0 where not applicable
  double gflops = 0;  // flops / median
  double gbps = 0;    // bytes / median
  double speedup_vs_serial = 0;
  double speedup_vs_best_cpu = 0;
  std::string best_cpu_backend;
  std::string vendor_backend;     // for hand-written code: the library it is held against
  double fraction_of_vendor = 0;  // vendor median / this median (same timing mode)
  // The spread of the repetitions (finalize_run_spreads), the charts' whiskers: the lowest and
  // highest rate of one run (flops / its time) and speedup of one run over the best CPU
  // backend's median; 0 unless verified with 2+ repetition times. Not in the JSON: reading a
  // report derives them again from the samples it holds.
  double run_gflops_min = 0, run_gflops_max = 0;
  double run_speedup_vs_best_cpu_min = 0, run_speedup_vs_best_cpu_max = 0;
  // Roofline (bench/roofline.h, apply_roofline): flops / bytes, the bound of the unit the
  // result ran on at that intensity, measured gflops over it, and which roof it was.
  double intensity = 0;
  double roofline_bound_gflops = 0;
  double fraction_of_roofline = 0;
  std::string roofline_unit;

  // Multi-GPU rows (a multi_gpu backend, --gpus): the GPUs it ran on (0 for every other row),
  // the median seconds of a run spent communicating between GPUs, and from finalize_results():
  // the same backend's one-GPU median over this median, that speedup / gpus, and
  // communication_s / median.
  int gpus = 0;
  double communication_s = 0;
  double speedup_vs_one_gpu = 0;
  double parallel_efficiency = 0;
  double communication_share = 0;
  // Distributed rows (an MPI backend, mpi/): the processes (ranks) the problem was spread over,
  // 0 for every other row. communication_s / communication_share then hold the median seconds
  // of a run spent exchanging halos and collecting results (the slowest rank's), and from
  // finalize_results(): the same backend's one-rank median over this median
  // (speedup_vs_one_rank), and parallel_efficiency = that speedup / ranks.
  int ranks = 0;
  double speedup_vs_one_rank = 0;

  // Energy of the timed runs: absent where no meter was asked (a registry without one, reports
  // written before energy was measured); otherwise measured, or why not.
  std::optional<RowEnergy> energy;
  // From finalize_results() for verified rows with a measured energy; 0 otherwise: joules per
  // run (the window's energy over its runs), the window's average power, flops and bytes per
  // joule, and the best CPU backend's joules per run over this row's (above 1: this row needs
  // less energy for the same result).
  double joules_per_run = 0;
  double average_watts = 0;
  double gflops_per_joule = 0;
  double gb_per_joule = 0;
  double energy_ratio_vs_best_cpu = 0;

  std::vector<std::pair<std::string, std::string>> notes;

  // Set by flag_noisy_results(): a verified result with 2+ runs whose cv exceeds the run's
  // --cv-threshold. Its median is not to be trusted (reports mark it, compare treats it as noisy).
  bool cv_above_threshold = false;
  // GPU rows when the build can read the device state (NVML); empty otherwise.
  std::optional<GpuStateChange> gpu_state;
  // CPUs other programs kept busy while this row was measured (bench/system_load.h); -1 unknown.
  double other_load_cores = -1;

  // "gemm/fp32/M=N=K=1024/openmp/threads:16" (CPU rows carry their thread count, in Google
  // Benchmark's style; GPU rows add "/kernel" or "/end_to_end"; multi-GPU rows carry their GPU
  // count: ".../nccl/gpus=2/kernel", distributed rows their rank count: ".../mpi/ranks=3")
  std::string name() const;
  // Rows that describe the same work (matching across runs ignores backend/timing).
  std::string problem_key() const;
  bool ok() const { return status == ResultStatus::ok; }
};

// Default --cv-threshold: 5 %.
inline constexpr double kDefaultCvThreshold = 0.05;

struct RunInfo {
  std::string mlbench_version;
  std::string command_line;
  std::string started_at;  // ISO 8601 UTC
  std::string finished_at;
  std::uint64_t seed = 0;
  double time_budget_s = 0;
  bool interrupted = false;
  // GPU backends that were asked for by default but are absent, and why
  std::vector<std::pair<std::string, std::string>> absent_backends;
  // Results whose cv exceeds this fraction are flagged (--cv-threshold PCT / 100).
  double cv_threshold = kDefaultCvThreshold;
  // CPUs other programs kept busy, on average, while the run measured; -1 unknown.
  double other_load_cores = -1;
  int rounds = 1;  // --rounds (of a pooled report: every pooled run's added up)
  // Runs (processes) whose repetitions this report pools (mlbench report --pool); 1: one run.
  int pooled_runs = 1;
  // Schema version of the JSON report this was read from (reports/json_report.h); 0 when the
  // run was not read from a report.
  int schema_version = 0;
};

// Other programs' load above which a run's numbers are not comparable with another run's
// (reports warn; the back-to-back agreement test needs a quieter machine).
inline constexpr double kBusyMachineCores = 0.1;

struct RunReport {
  RunInfo run;
  MachineContext machine;
  std::vector<VariantResult> results;
};

}  // namespace mlbench
