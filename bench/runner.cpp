#include "bench/runner.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include <benchmark/benchmark.h>

#include "bench/system_load.h"
#include <fmt/format.h>

#include "bench/gpu_selection.h"
#include "bench/verification.h"

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

std::atomic<bool> g_stop_requested{false};

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

std::string format_bytes(double bytes) {
  if (bytes >= 1e9) return fmt::format("{:.1f} GB", bytes / 1e9);
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

}  // namespace

void Runner::request_stop() { g_stop_requested.store(true); }
bool Runner::stop_requested() { return g_stop_requested.load(); }
void Runner::clear_stop_request() { g_stop_requested.store(false); }

std::size_t available_host_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

Runner::Runner(const Registry& registry, RunOptions options) : registry_(registry), options_(std::move(options)) {
  if (options_.threads <= 0) options_.threads = omp_get_max_threads();
}

RunPlan Runner::plan() const {
  RunPlan plan;
  if (options_.sizes.empty()) throw InputError("no size given");
  for (auto size : options_.sizes)
    if (size <= 0) throw InputError(fmt::format("size must be positive, got {}", size));
  if (options_.warmup < 1) throw InputError("--warmup must be at least 1 (the first run is also the checked one)");
  if (options_.repetitions < 0) throw InputError("--repetitions must not be negative");
  if (!(options_.time_budget_s > 0)) throw InputError("--time-budget must be positive");
  if (options_.timeout_s < 0) throw InputError("--timeout must not be negative");
  if (!(options_.cv_threshold > 0)) throw InputError("--cv-threshold must be a positive percentage");

  std::vector<std::string> workload_names;
  for (const auto& w : options_.workloads) {
    const WorkloadInfo* info = find_workload(w);
    if (info == nullptr) throw InputError("unknown workload '" + w + "'");
    if (std::find(workload_names.begin(), workload_names.end(), info->name) == workload_names.end())
      workload_names.push_back(info->name);
  }

  // Explicit backends: each must exist for some selected workload and be available.
  for (const auto& name : options_.backends) {
    bool known = false;
    for (const auto& w : workload_names)
      if (const BackendInfo* b = registry_.find(w, name)) {
        known = true;
        if (b->multi_gpu && options_.gpus.empty())
          throw InputError(fmt::format("backend '{}' runs only with --gpus N|all|LIST", name));
        const Availability a = b->availability ? b->availability() : Availability::yes();
        if (!a.available) throw InputError(fmt::format("backend '{}' is not available: {}", name, a.reason));
      }
    if (known) {
      bool implements = false;
      std::string has;
      for (const auto& w : workload_names)
        if (const BackendInfo* b = registry_.find(w, name)) {
          implements = implements || b->supports_precision(options_.precision);
          for (Precision p : b->precisions)
            if (has.find(to_string(p)) == std::string::npos) has += (has.empty() ? "" : ", ") + to_string(p);
        }
      if (!implements)
        throw InputError(
            fmt::format("backend '{}' has no {} implementation (it has {})", name, to_string(options_.precision), has));
    }
    if (!known) {
      const auto all = registry_.backend_names();
      if (std::find(all.begin(), all.end(), name) == all.end())
        throw InputError(fmt::format("unknown backend '{}' (mlbench list shows them)", name));
      throw InputError(fmt::format("backend '{}' does not implement the selected workload(s)", name));
    }
  }

  // --gpus: the devices and GPU counts of the multi-GPU backends, checked against the devices
  // kernels/ reports (no CUDA build: -1).
  std::optional<GpuSelection> gpus;
  if (!options_.gpus.empty()) gpus = select_gpus(options_.gpus, registry_.gpu_count ? registry_.gpu_count() : -1);

  const std::size_t free_bytes = available_host_memory();
  for (const auto& w : workload_names) {
    std::vector<const BackendInfo*> chosen;
    for (const BackendInfo* b : registry_.backends_for(w)) {
      const bool asked =
          std::find(options_.backends.begin(), options_.backends.end(), b->name) != options_.backends.end();
      // Multi-GPU backends run exactly when --gpus asks for them, whatever --backends lists.
      if (b->multi_gpu ? !gpus : !options_.backends.empty() && !asked) continue;
      Availability a = b->availability ? b->availability() : Availability::yes();
      if (a.available && !b->supports_precision(options_.precision))
        a = Availability::no(fmt::format("no {} {} implementation", to_string(options_.precision), w));
      if (!a.available && b->multi_gpu)
        throw InputError(fmt::format("--gpus: the {} backend of {} is not available: {}", b->name, w, a.reason));
      if (!a.available) {
        if (!asked &&
            std::none_of(plan.absent.begin(), plan.absent.end(), [&](const auto& p) { return p.first == b->name; }))
          plan.absent.emplace_back(b->name, a.reason);
        continue;
      }
      chosen.push_back(b);
    }
    for (auto size : options_.sizes) {
      // Inputs + one backend's output + the copy read back for verification.
      const std::size_t need = estimate_host_bytes(w, size, options_.precision, options_.workload);
      if (free_bytes > 0 && need > free_bytes)
        throw InputError(fmt::format("{} at size {} needs {} of host memory; {} is available", w, size,
                                     format_bytes(static_cast<double>(need)),
                                     format_bytes(static_cast<double>(free_bytes))));
      for (const BackendInfo* b : chosen) {
        if (b->multi_gpu) {  // one row per GPU count, each on the first `count` selected devices
          for (int count : gpus->counts) {
            plan.variants.push_back({w, size, b, {gpus->devices.begin(), gpus->devices.begin() + count}, 0});
            plan.timed_rows += 2;
          }
          continue;
        }
        if (!b->rank_counts.empty()) {  // one row per rank count
          for (int count : b->rank_counts) {
            plan.variants.push_back({w, size, b, {}, count});
            plan.timed_rows += is_gpu(b->kind) ? 2 : 1;
          }
          continue;
        }
        plan.variants.push_back({w, size, b, {}, 0});
        plan.timed_rows += is_gpu(b->kind) ? 2 : 1;
      }
    }
  }
  if (plan.variants.empty()) throw InputError("nothing to run: no available backend for the selected workload(s)");
  return plan;
}

std::vector<VariantResult> Runner::run(const RunPlan& plan, RunObserver* observer) {
  const OtherLoadMeter whole_run;
  const int rounds = std::max(1, options_.rounds);
  std::vector<VariantResult> results;
  int index = 0;
  for (round_ = 0; round_ < rounds && !stop_requested(); ++round_) {
    std::vector<VariantResult> rows = run_round(plan, observer, index, plan.timed_rows * rounds);
    if (round_ == 0)
      results = std::move(rows);
    else
      merge_round(results, std::move(rows), round_);
  }
  finalize_results(results);
  flag_noisy_results(results, options_.cv_threshold);
  other_load_cores_ = whole_run.cores();
  return results;
}

std::vector<VariantResult> Runner::run_round(const RunPlan& plan, RunObserver* observer, int& index, int total) {
  std::vector<VariantResult> results;
  // Variants of one (workload, size) share the problem: build it once, in plan order.
  for (std::size_t i = 0; i < plan.variants.size() && !stop_requested();) {
    const PlannedVariant& first = plan.variants[i];
    const auto problem = make_problem(first.workload, first.size, options_.precision, options_.seed, options_.workload);
    const auto exact_twin = problem->exact_twin();  // shared like the problem
    for (; i < plan.variants.size() && plan.variants[i].workload == first.workload &&
           plan.variants[i].size == first.size && !stop_requested();
         ++i) {
      auto rows = run_variant(*problem, exact_twin.get(), *plan.variants[i].backend, plan.variants[i].devices,
                              plan.variants[i].ranks, observer, index, total);
      results.insert(results.end(), rows.begin(), rows.end());
    }
  }
  return results;
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

namespace {
// Adds a later round's repetitions to a row's and recomputes its statistics.
void pool_round(TimingStats& into, const TimingStats& round) {
  into.run_times_s.insert(into.run_times_s.end(), round.run_times_s.begin(), round.run_times_s.end());
  into.run_cpu_times_s.insert(into.run_cpu_times_s.end(), round.run_cpu_times_s.begin(), round.run_cpu_times_s.end());
  into.rounds += 1;
  pool_statistics(into);
}
}  // namespace

void merge_round(std::vector<VariantResult>& rows, std::vector<VariantResult> round_rows, int round) {
  for (VariantResult& next : round_rows) {
    auto same = std::find_if(rows.begin(), rows.end(), [&](const VariantResult& r) { return r.name() == next.name(); });
    if (same == rows.end()) {
      rows.push_back(std::move(next));
      continue;
    }
    VariantResult& row = *same;
    if (!row.ok()) continue;  // the first failure stands
    if (next.status == ResultStatus::interrupted) {
      // The rounds before stand as they were measured; the cut-short round adds nothing.
      row.notes.emplace_back("interrupted", fmt::format("round {} was interrupted; the figures are from {} round(s)",
                                                        round + 1, row.stats.rounds));
      continue;
    }
    if (!next.ok()) {
      row.status = next.status;
      row.error_message = fmt::format("round {}: {}", round + 1, next.error_message);
      row.notes = next.notes;
      if (next.status == ResultStatus::failed_verification) row.verification = next.verification;
      if (next.status == ResultStatus::timed_out)
        pool_round(row.stats, next.stats);  // keep what is known
      else
        row.stats = TimingStats{};  // no time without a verified result
      continue;
    }
    // Both verified: the worse verification (largest error relative to its tolerance) stands.
    const auto relative = [](const Verification& v) {
      return v.tolerance > 0 ? v.max_error / v.tolerance : v.max_error;
    };
    if (relative(next.verification) > relative(row.verification)) row.verification = next.verification;
    const double before = row.stats.runs, added = next.stats.runs;
    if (row.other_load_cores >= 0 && next.other_load_cores >= 0)
      row.other_load_cores = (row.other_load_cores * before + next.other_load_cores * added) / (before + added);
    row.communication_s = (row.communication_s * before + next.communication_s * added) / (before + added);
    // Energy: the rounds' windows added up; a round without a figure leaves the row without one.
    if (row.energy && next.energy) {
      RowEnergy& e = *row.energy;
      const RowEnergy& n = *next.energy;
      if (e.measured && n.measured) {
        e.joules += n.joules;
        e.dram_joules = e.dram_joules >= 0 && n.dram_joules >= 0 ? e.dram_joules + n.dram_joules : -1;
        e.window_s += n.window_s;
        e.timed_s += n.timed_s;
        e.runs += n.runs;
      } else if (e.measured) {
        e = RowEnergy::unavailable(fmt::format("round {}: {}", round + 1, n.unavailable_reason));
      }
    } else if (row.energy && !next.energy) {
      row.energy.reset();
    }
    // Notes that differ between rounds (a library may pick another algorithm) keep every value.
    for (const auto& next_note : next.notes) {
      const std::string& key = next_note.first;  // not a structured binding: C++17 lambdas cannot capture one
      const std::string& value = next_note.second;
      auto note = std::find_if(row.notes.begin(), row.notes.end(), [&](const auto& n) { return n.first == key; });
      if (note == row.notes.end())
        row.notes.emplace_back(key, value);
      else if (note->second != value && note->second.find(value) == std::string::npos)
        note->second += fmt::format("; round {}: {}", round + 1, value);
    }
    if (row.gpu_state && next.gpu_state) {
      row.gpu_state->after = next.gpu_state->after;
      for (const std::string& reason : next.gpu_state->throttled)
        if (std::find(row.gpu_state->throttled.begin(), row.gpu_state->throttled.end(), reason) ==
            row.gpu_state->throttled.end())
          row.gpu_state->throttled.push_back(reason);
    }
    pool_round(row.stats, next.stats);
  }
}

std::vector<VariantResult> Runner::run_variant(const Problem& problem, const Problem* exact_twin,
                                               const BackendInfo& backend, const std::vector<int>& devices, int ranks,
                                               RunObserver* observer, int& index, int total) {
  VariantResult base;
  base.workload = problem.workload();
  base.backend = backend.name;
  base.backend_kind = backend.kind;
  base.is_baseline = backend.is_baseline;
  base.uses_tensor_cores = backend.uses_tensor_cores_at(problem.precision());
  base.precision = problem.precision();
  base.size = problem.size();
  base.shape_label = problem.shape_label();
  base.shape = problem.shape_fields();
  base.seed = problem.seed();
  base.flops = problem.flops();
  base.bytes = problem.min_bytes();
  base.vendor_backend = backend.vendor_reference;
  base.threads = is_cpu(backend.kind) ? options_.threads : 1;
  base.gpus = static_cast<int>(devices.size());
  base.ranks = ranks > 0 ? ranks : backend.ranks;

  if (backend.supports) {
    const Availability s = backend.supports(problem);
    if (!s.available) {
      if (observer && round_ == 0)
        observer->message(fmt::format("skipping {} for {}: {}", backend.name, base.problem_key(), s.reason));
      index += is_gpu(backend.kind) ? 2 : 1;
      return {};
    }
  }

  std::vector<VariantResult> rows;
  std::unique_ptr<Variant> variant;
  ExecutionConfig config;
  config.threads = options_.threads;
  config.devices = devices;
  config.timeout_s = options_.timeout_s;
  config.ranks = base.ranks;
  config.device = devices.empty() ? options_.device : devices.front();
  std::vector<TimingMode> modes = is_gpu(backend.kind)
                                      ? std::vector<TimingMode>{TimingMode::kernel, TimingMode::end_to_end}
                                      : std::vector<TimingMode>{TimingMode::host};
  std::exception_ptr first_failure;  // for the GPU folder's device recovery
  // The exact check first (Problem::exact_twin), on its own preparation of the variant that is
  // released before the measured one is prepared: a wrong element fails every timing mode of
  // the variant, which is then never timed.
  Verification exact;
  exact.passed = true;
  exact.method = "none";
  double exact_seconds = 0;
  try {
    if (exact_twin != nullptr) exact = check_exact_twin(*exact_twin, backend, config, exact_seconds, base.notes);
    if (!exact.passed) {
      for (TimingMode mode : modes) {
        VariantResult r = base;
        r.timing = mode;
        r.status = ResultStatus::failed_verification;
        r.verification = exact;
        r.verification.method = "exact: " + exact.method;
        r.verification_s = exact_seconds;
        if (observer) observer->variant_finished(r);
        rows.push_back(std::move(r));
        ++index;
      }
      modes.clear();
    } else {
      variant = backend.prepare(problem, config);
      modes = variant->timing_modes();
      base.threads = variant->threads();
      base.notes = variant->notes();
      base.uses_tensor_cores = base.uses_tensor_cores && variant->uses_tensor_cores().value_or(true);
    }
  } catch (const std::exception& e) {
    first_failure = std::current_exception();
    for (TimingMode mode : modes) {
      VariantResult r = base;
      r.timing = mode;
      r.status = ResultStatus::error;
      r.error_message = e.what();
      if (observer) observer->variant_finished(r);
      rows.push_back(std::move(r));
      ++index;
    }
    modes.clear();
  }

  const bool probe_device = is_gpu(backend.kind) && static_cast<bool>(registry_.device_state_probe);
  // One meter per variant, read around each timing mode's timed runs. A row spread over several
  // processes (possibly machines) is left out: this process would see only its own package.
  std::unique_ptr<EnergyMeter> meter;
  std::string no_meter_reason;
  if (!modes.empty()) {
    if (!options_.measure_energy)
      no_meter_reason = "not measured: --no-energy";
    else if (base.ranks > 1)
      no_meter_reason = fmt::format("not measured: the row runs in {} processes", base.ranks);
    else if (is_gpu(backend.kind) && registry_.gpu_energy_meter)
      meter = registry_.gpu_energy_meter(devices.empty() ? std::vector<int>{config.device} : devices);
    else if (is_cpu(backend.kind) && registry_.cpu_energy_meter)
      meter = registry_.cpu_energy_meter();
  }
  for (TimingMode mode : modes) {
    if (stop_requested()) break;
    VariantResult r = base;
    r.timing = mode;
    if (observer) observer->variant_started(r.name(), ++index, total);
    GpuStateSample before;
    if (probe_device) before = registry_.device_state_probe(config.device);
    const OtherLoadMeter other_load;
    try {
      if (!no_meter_reason.empty()) r.energy = RowEnergy::unavailable(no_meter_reason);
      measure(problem, *variant, mode, r, meter.get());
      r.verification.method = "exact: " + exact.method + "; accuracy: " + r.verification.method;
      r.verification_s += exact_seconds;
      r.other_load_cores = other_load.cores();
      r.notes = variant->notes();  // may have learned more while running (e.g. algorithm)
    } catch (const std::exception& e) {
      if (!first_failure) first_failure = std::current_exception();
      r.status = ResultStatus::error;
      r.error_message = e.what();
    }
    if (probe_device) {
      const GpuStateSample after = registry_.device_state_probe(config.device);
      r.gpu_state = GpuStateChange{before, after, throttling_between(before, after)};
    }
    if (observer) observer->variant_finished(r);
    rows.push_back(std::move(r));
  }
  variant.reset();  // release the device's memory and handles before any reset
  if (first_failure && is_gpu(backend.kind)) recover_device(config, first_failure, rows, observer);
  return rows;
}

Verification Runner::check_exact_twin(const Problem& twin, const BackendInfo& backend, const ExecutionConfig& config,
                                      double& seconds, std::vector<std::pair<std::string, std::string>>& notes) {
  const std::unique_ptr<Variant> variant = backend.prepare(twin, config);
  variant->run(variant->timing_modes().front());
  HostBuffer output(twin.output_precision(), twin.output_size());
  output.poison();
  variant->read_output(output);
  notes = variant->notes();
  const auto started = std::chrono::steady_clock::now();
  Verification v = twin.verify_exact(output, exact_match_for(notes));
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return v;
}

void Runner::recover_device(const ExecutionConfig& config, std::exception_ptr failure, std::vector<VariantResult>& rows,
                            RunObserver* observer) {
  if (!registry_.device_recovery) return;
  const std::vector<int> devices = config.devices.empty() ? std::vector<int>{config.device} : config.devices;
  std::string note;
  try {
    note = registry_.device_recovery(devices, failure);
  } catch (const std::exception& e) {
    note = std::string("device recovery failed: ") + e.what();
  }
  if (note.empty()) return;
  for (VariantResult& r : rows)
    if (r.status == ResultStatus::error) r.notes.emplace_back("device_reset", note);
  if (observer && !rows.empty()) observer->message(fmt::format("mlbench: {}: {}", rows.front().name(), note));
}

void Runner::measure(const Problem& problem, Variant& variant, TimingMode mode, VariantResult& result,
                     EnergyMeter* meter) {
  const auto started = std::chrono::steady_clock::now();
  auto past_timeout = [&] {
    return options_.timeout_s > 0 &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > options_.timeout_s;
  };
  auto time_out = [&](const std::string& what) {
    result.status = ResultStatus::timed_out;
    result.error_message = fmt::format(
        "timed out after {:.3g} s (--timeout {:g}) {}",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), options_.timeout_s, what);
  };
  // Warm-up: first touch, caches, lazy initialisation (thread pools, library handles), clock
  // ramp-up: at least --warmup runs and a tenth of the time budget. A single cold run used to
  // size the measurement from a first call up to 10x slower than the rest (OpenBLAS starting
  // its threads). The last warm-up run's output is the one verified; the fastest warm-up run
  // sizes the measurement.
  // Runs the variant at least `min_runs` times and for `share` of the round's budget, keeping
  // the fastest run in `fastest`; false once past --timeout (the row is then timed out).
  // A signal stops the row between runs: recorded as interrupted, never as a failure.
  auto interrupt = [&](const std::string& when) {
    result.status = ResultStatus::interrupted;
    result.error_message = "interrupted " + when;
  };
  auto warm_up = [&](int min_runs, double share, const char* when, double& fastest) {
    const auto warm_up_started = std::chrono::steady_clock::now();
    for (int runs = 0;
         runs < min_runs || std::chrono::duration<double>(std::chrono::steady_clock::now() - warm_up_started).count() <
                                share * round_budget_s();
         ++runs) {
      if (stop_requested()) {
        interrupt(when);
        return false;
      }
      const double seconds = variant.run(mode);
      fastest = std::min(fastest, seconds);
      if (past_timeout()) {
        time_out(fmt::format("{}; one run took {:.3g} s", when, seconds));
        return false;
      }
    }
    return true;
  };
  double estimate = INFINITY;
  if (!warm_up(options_.warmup, kWarmupShareOfBudget, "during warm-up", estimate)) return;

  HostBuffer output(problem.output_precision(), problem.output_size());
  output.poison();
  variant.read_output(output);
  auto verification_started = std::chrono::steady_clock::now();
  auto add_verification_time = [&] {
    result.verification_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - verification_started).count();
  };
  result.verification = problem.verify(output, variant.input_rounding());
  const std::uint64_t verified_fingerprint = output_fingerprint(output);
  add_verification_time();
  if (!result.verification.passed) {
    result.status = ResultStatus::failed_verification;
    return;  // a wrong result is never timed
  }
  if (stop_requested()) return interrupt("after the verification, before timing");
  // Warm again: the fp64 check ran long enough for thread pools to fall asleep and evicted the
  // caches. Without this the first measured repetition of OpenMP GEMM 256 on 2 cores took 2x
  // the others, one outlier per variant (per round with --rounds) that alone set its cv.
  double rewarm_fastest = INFINITY;
  if (!warm_up(1, kRewarmShareOfBudget, "while warming up again after the verification", rewarm_fastest)) return;

  // Repetitions: as asked, or as many as fit the time budget (at least one). Very fast
  // variants run several iterations per repetition so each repetition is long enough to time.
  // With --rounds, each round takes its share of the repetitions and of the budget.
  const int rounds = std::max(1, options_.rounds);
  const auto share = [rounds](int count) { return count <= 0 ? count : std::max(1, (count + rounds - 1) / rounds); };
  int repetitions = share(options_.repetitions);
  const int max_repetitions = share(options_.max_repetitions);
  const int min_repetitions = std::clamp(share(options_.min_repetitions), 1, max_repetitions);
  std::int64_t iterations = 1;
  const double budget = round_budget_s();
  estimate = std::max(estimate, 1e-9);
  if (repetitions == 0) {
    repetitions =
        static_cast<int>(std::clamp(std::floor(budget / estimate), double(min_repetitions), double(max_repetitions)));
    if (repetitions == max_repetitions)
      iterations = static_cast<std::int64_t>(std::clamp(std::floor(budget / (repetitions * estimate)), 1.0, 10000.0));
  }

  bool interrupted = false, timed_out = false;
  std::vector<double> communication_s;  // multi-GPU rows: per measured run
  RowEnergy energy;                     // runs and timed seconds inside the energy window
  CollectingReporter reporter;
  const std::string name = result.name();
  auto* bm = benchmark::RegisterBenchmark(name.c_str(), [&](benchmark::State& state) {
    for (auto _ : state) {
      if (stop_requested()) {
        interrupted = true;
        state.SkipWithError("interrupted");
        break;
      }
      if (past_timeout()) {  // keep the repetitions already measured
        timed_out = true;
        state.SkipWithError("timed out");
        break;
      }
      double seconds = variant.run(mode);
      for (int extra = 1; extra < options_.test_work_factor; ++extra) seconds += variant.run(mode);
      state.SetIterationTime(seconds);
      energy.runs += options_.test_work_factor;
      energy.timed_s += seconds;
      if (result.gpus > 0 || result.ranks > 0) communication_s.push_back(variant.communication_seconds());
    }
  });
  bm->UseManualTime()->Iterations(iterations)->Repetitions(repetitions)->Unit(benchmark::kMillisecond);
  const std::string meter_unavailable = meter != nullptr ? meter->unavailable_reason() : "";
  const bool metering = meter != nullptr && meter_unavailable.empty();
  const auto window_started = std::chrono::steady_clock::now();
  const auto window_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - window_started).count();
  };
  if (metering) meter->start();
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::ClearRegisteredBenchmarks();
  if (metering) {
    // A counter that updates every few milliseconds (RAPL) or tens of them (NVML) cannot weigh
    // a shorter window: run the same work on until the window is long enough, and divide.
    while (!interrupted && !timed_out && energy.runs > 0 && window_s() < meter->minimum_window_s() &&
           !stop_requested() && !past_timeout()) {
      energy.timed_s += variant.run(mode);
      energy.runs += 1;
    }
    const EnergyWindow window = meter->stop();
    energy.window_s = window_s();
    energy.measured = window.measured;
    energy.unavailable_reason = window.unavailable_reason;
    energy.source = window.source;
    energy.joules = window.joules;
    energy.dram_joules = window.dram_joules;
    result.energy = energy;
  } else if (meter != nullptr) {
    result.energy = RowEnergy::unavailable(meter_unavailable);
  }

  TimingStats& stats = result.stats;
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
  if (!communication_s.empty()) {
    auto middle = communication_s.begin() + static_cast<std::ptrdiff_t>(communication_s.size() / 2);
    std::nth_element(communication_s.begin(), middle, communication_s.end());
    result.communication_s = *middle;
  }
  if (stats.runs > 0) {
    // Re-check: the last timed run must have produced what was verified (bitwise, or for a
    // variant that is not reproducible, within the accuracy tolerance). A variant that computes
    // correctly once and then does less work is FAILED.
    verification_started = std::chrono::steady_clock::now();
    output.poison();
    variant.read_output(output);
    const bool identical = output_fingerprint(output) == verified_fingerprint;
    const bool reproducible = variant.reproducible();
    if (identical) {
      result.verification.method += "; re-check after timing: bitwise equal";
    } else {
      Verification again = problem.verify(output, variant.input_rounding());
      again.method =
          result.verification.method + (reproducible ? "; re-check after timing: bitwise equal"
                                                     : "; re-check after timing: accuracy (not reproducible)");
      if (reproducible || !again.passed) {
        again.passed = false;
        again.detail = fmt::format("the last timed run's output differs from the verified one{}{}",
                                   reproducible ? " (bitwise)" : "", again.detail.empty() ? "" : ": " + again.detail);
        result.verification = again;
        result.status = ResultStatus::failed_verification;
        result.stats = TimingStats{};  // no time without a verified result
        result.energy.reset();         // nor an energy figure
        add_verification_time();
        return;
      }
      result.verification.method = again.method;
    }
    add_verification_time();
  }
  if (timed_out)
    return time_out(fmt::format("after {} measured run(s){}", stats.runs,
                                stats.runs > 0 ? fmt::format(", median so far {:.3g} s", stats.median_s) : ""));
  if (interrupted) return interrupt(fmt::format("after {} of its measured runs", stats.runs));
  if (stats.runs == 0) {
    result.status = ResultStatus::error;
    result.error_message = "no measured run";
  }
}

}  // namespace mlbench
