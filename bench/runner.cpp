// The run, stage by stage (ARCHITECTURE.md): plan (bench/plan.cpp) -> per round, every variant
// measured (bench/measure.cpp: prepare, exact check, warm-up, verify, time, re-check) -> the
// rounds merged (here) -> analyze (bench/analyze.cpp), once, over the merged rows.
#include "bench/runner.h"

#include <omp.h>

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "bench/analyze.h"
#include "bench/google_benchmark_timing.h"
#include "bench/system_load.h"

namespace mlbench {

namespace {

std::atomic<bool> g_stop_requested{false};

}  // namespace

void Runner::request_stop() { g_stop_requested.store(true); }
bool Runner::stop_requested() { return g_stop_requested.load(); }
void Runner::clear_stop_request() { g_stop_requested.store(false); }

Runner::Runner(const Registry& registry, RunOptions options) : registry_(registry), options_(std::move(options)) {
  if (options_.threads <= 0) options_.threads = omp_get_max_threads();
}

std::vector<VariantResult> Runner::run(const RunPlan& plan, RunObserver* observer, const PeakFigures* peaks) {
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
  other_load_cores_ = whole_run.cores();
  analysis_ = analyze(results, AnalysisContext{peaks, options_.cv_threshold, other_load_cores_});
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

namespace {
// Adds a later round's repetitions to a row's and recomputes its statistics.
void pool_round(TimingStats& into, const TimingStats& round) {
  into.run_times_s.insert(into.run_times_s.end(), round.run_times_s.begin(), round.run_times_s.end());
  into.run_cpu_times_s.insert(into.run_cpu_times_s.end(), round.run_cpu_times_s.begin(), round.run_cpu_times_s.end());
  into.rounds += round.rounds;
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

RunReport pool_runs(std::vector<RunReport> runs) {
  if (runs.empty()) throw std::invalid_argument("pool_runs: no runs");
  RunReport pooled = std::move(runs.front());
  RunInfo& info = pooled.run;
  // Other programs' load: the mean over the runs that know it, weighted by their run count.
  double load_sum = 0, load_weight = 0;
  const auto add_load = [&](const RunInfo& run) {
    if (run.other_load_cores >= 0) load_sum += run.other_load_cores * run.pooled_runs, load_weight += run.pooled_runs;
  };
  add_load(info);
  for (std::size_t i = 1; i < runs.size(); ++i) {
    RunReport& next = runs[i];
    merge_round(pooled.results, std::move(next.results), info.rounds);
    info.rounds += next.run.rounds;
    info.pooled_runs += next.run.pooled_runs;
    if (!next.run.started_at.empty() && (info.started_at.empty() || next.run.started_at < info.started_at))
      info.started_at = next.run.started_at;
    info.finished_at = std::max(info.finished_at, next.run.finished_at);  // ISO 8601 UTC sorts as text
    info.interrupted = info.interrupted || next.run.interrupted;
    add_load(next.run);
  }
  info.other_load_cores = load_weight > 0 ? load_sum / load_weight : -1;
  const PeakFigures* peaks = pooled.machine.peaks ? &*pooled.machine.peaks : nullptr;
  analyze(pooled.results, AnalysisContext{peaks, info.cv_threshold, info.other_load_cores});
  return pooled;
}

}  // namespace mlbench
