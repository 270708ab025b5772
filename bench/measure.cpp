// The measure stage (ARCHITECTURE.md): one planned variant prepared, checked exactly on the
// problem's exact twin, then each of its timing modes warmed up, verified, timed (through the
// Google Benchmark adapter, bench/google_benchmark_timing.h) and re-checked; device recovery
// after a GPU failure.
#include "bench/measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "bench/google_benchmark_timing.h"
#include "bench/runner.h"
#include "bench/system_load.h"
#include "bench/verification.h"

namespace mlbench {

MeasureSettings Runner::measure_settings() const {
  MeasureSettings s;
  s.warmup = options_.warmup;
  s.repetitions = options_.repetitions;
  s.max_repetitions = options_.max_repetitions;
  s.min_repetitions = options_.min_repetitions;
  s.rounds = options_.rounds;
  s.round_budget_s = round_budget_s();
  s.timeout_s = options_.timeout_s;
  s.test_work_factor = options_.test_work_factor;
  return s;
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
      measure(problem, *variant, mode, r, meter.get(), measure_settings());
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

void measure(const Problem& problem, Variant& variant, TimingMode mode, VariantResult& result, EnergyMeter* meter,
             const MeasureSettings& settings) {
  const auto started = std::chrono::steady_clock::now();
  auto past_timeout = [&] {
    return settings.timeout_s > 0 &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > settings.timeout_s;
  };
  auto time_out = [&](const std::string& what) {
    result.status = ResultStatus::timed_out;
    result.error_message = fmt::format(
        "timed out after {:.3g} s (--timeout {:g}) {}",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), settings.timeout_s, what);
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
                                share * settings.round_budget_s;
         ++runs) {
      if (Runner::stop_requested()) {
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
  if (!warm_up(settings.warmup, Runner::kWarmupShareOfBudget, "during warm-up", estimate)) return;

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
  if (Runner::stop_requested()) return interrupt("after the verification, before timing");
  // Warm again: the fp64 check ran long enough for thread pools to fall asleep and evicted the
  // caches. Without this the first measured repetition of OpenMP GEMM 256 on 2 cores took 2x
  // the others, one outlier per variant (per round with --rounds) that alone set its cv.
  double rewarm_fastest = INFINITY;
  if (!warm_up(1, Runner::kRewarmShareOfBudget, "while warming up again after the verification", rewarm_fastest))
    return;

  // Repetitions: as asked, or as many as fit the time budget (at least one). Very fast
  // variants run several iterations per repetition so each repetition is long enough to time.
  // With --rounds, each round takes its share of the repetitions and of the budget.
  const int rounds = std::max(1, settings.rounds);
  const auto share = [rounds](int count) { return count <= 0 ? count : std::max(1, (count + rounds - 1) / rounds); };
  int repetitions = share(settings.repetitions);
  const int max_repetitions = share(settings.max_repetitions);
  const int min_repetitions = std::clamp(share(settings.min_repetitions), 1, max_repetitions);
  std::int64_t iterations = 1;
  const double budget = settings.round_budget_s;
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
  const std::string meter_unavailable = meter != nullptr ? meter->unavailable_reason() : "";
  const bool metering = meter != nullptr && meter_unavailable.empty();
  const auto window_started = std::chrono::steady_clock::now();
  const auto window_s = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - window_started).count();
  };
  if (metering) meter->start();
  time_with_google_benchmark(
      result.name(), iterations, repetitions,
      [&]() -> TimedIteration {
        if (Runner::stop_requested()) {
          interrupted = true;
          return {0, "interrupted"};
        }
        if (past_timeout()) {  // keep the repetitions already measured
          timed_out = true;
          return {0, "timed out"};
        }
        double seconds = variant.run(mode);
        for (int extra = 1; extra < settings.test_work_factor; ++extra) seconds += variant.run(mode);
        energy.runs += settings.test_work_factor;
        energy.timed_s += seconds;
        if (result.gpus > 0 || result.ranks > 0) communication_s.push_back(variant.communication_seconds());
        return {seconds, nullptr};
      },
      result.stats);
  if (metering) {
    // A counter that updates every few milliseconds (RAPL) or tens of them (NVML) cannot weigh
    // a shorter window: run the same work on until the window is long enough, and divide.
    while (!interrupted && !timed_out && energy.runs > 0 && window_s() < meter->minimum_window_s() &&
           !Runner::stop_requested() && !past_timeout()) {
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

  const TimingStats& stats = result.stats;
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
