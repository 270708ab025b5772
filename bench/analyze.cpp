// The analyze stage: every derived field of a run's rows, computed here and only here.
#include "bench/analyze.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace mlbench {

Analysis analyze(std::vector<VariantResult>& results, const AnalysisContext& context) {
  finalize_results(results);
  apply_roofline(results, context.peaks);
  flag_noisy_results(results, context.cv_threshold);
  Analysis analysis;
  if (const std::string busy = busy_machine_warning(context.other_load_cores); !busy.empty())
    analysis.warnings.push_back(busy);
  return analysis;
}

void flag_noisy_results(std::vector<VariantResult>& results, double threshold) {
  for (VariantResult& r : results) r.cv_above_threshold = r.ok() && r.stats.runs >= 2 && r.stats.cv > threshold;
}

// Other programs' CPU use during the run, when it makes the numbers incomparable; "" otherwise.
std::string busy_machine_warning(double other_load_cores) {
  if (!(other_load_cores > kBusyMachineCores)) return "";
  return fmt::format(
      "other programs kept {:.2f} CPUs busy on average during the measurements: every repetition is "
      "slowed alike (the cv does not show it), so these numbers are not comparable with a run on a quiet "
      "machine",
      other_load_cores);
}

namespace {
// Energy figures of verified rows with a measured window, and the ratio to the best CPU
// backend's (by time, as speedup_vs_best_cpu) of the same problem.
void finalize_energy(std::vector<VariantResult>& results) {
  for (auto& r : results) {
    r.joules_per_run = r.average_watts = r.gflops_per_joule = r.gb_per_joule = r.energy_ratio_vs_best_cpu = 0;
    if (!r.ok() || !r.energy || !r.energy->measured || r.energy->runs <= 0 || !(r.energy->joules > 0)) continue;
    r.joules_per_run = r.energy->joules / static_cast<double>(r.energy->runs);
    if (r.energy->window_s > 0) r.average_watts = r.energy->joules / r.energy->window_s;
    r.gflops_per_joule = r.flops / 1e9 / r.joules_per_run;
    r.gb_per_joule = r.bytes / 1e9 / r.joules_per_run;
  }
  for (auto& r : results) {
    if (r.joules_per_run <= 0 || r.best_cpu_backend.empty()) continue;
    for (const auto& cpu : results)
      if (cpu.joules_per_run > 0 && is_cpu(cpu.backend_kind) && cpu.backend == r.best_cpu_backend && cpu.ranks <= 1 &&
          cpu.problem_key() == r.problem_key())
        r.energy_ratio_vs_best_cpu = cpu.joules_per_run / r.joules_per_run;
  }
}

}  // namespace

void finalize_run_spreads(std::vector<VariantResult>& results) {
  for (auto& r : results) {
    r.run_gflops_min = r.run_gflops_max = r.run_speedup_vs_best_cpu_min = r.run_speedup_vs_best_cpu_max = 0;
    if (!r.ok()) continue;
    std::tie(r.run_gflops_min, r.run_gflops_max) =
        repetition_range(r.stats, [&](double t) { return r.flops / t / 1e9; });
    // The best CPU backend's median, the 1x of the speedup (as speedup_vs_best_cpu holds it).
    const double best_cpu_s = r.speedup_vs_best_cpu * r.stats.median_s;
    if (best_cpu_s > 0)
      std::tie(r.run_speedup_vs_best_cpu_min, r.run_speedup_vs_best_cpu_max) =
          repetition_range(r.stats, [&](double t) { return best_cpu_s / t; });
  }
}

void finalize_results(std::vector<VariantResult>& results) {
  for (auto& r : results) {
    r.gflops = r.gbps = r.speedup_vs_serial = r.speedup_vs_best_cpu = r.fraction_of_vendor = 0;
    r.best_cpu_backend.clear();
    if (r.ok() && r.stats.median_s > 0) {
      r.gflops = r.flops / r.stats.median_s / 1e9;
      r.gbps = r.bytes / r.stats.median_s / 1e9;
    }
  }
  // Per problem: the baseline's time (speedup_vs_serial) and the fastest verified CPU backend.
  struct Baselines {
    double serial = 0;
    double best_cpu = std::numeric_limits<double>::infinity();
    std::string best_cpu_name;
  };
  std::map<std::string, Baselines> baselines;
  for (const auto& r : results) {
    // A job spread over several processes (possibly several machines) is not "this CPU".
    if (!r.ok() || r.stats.median_s <= 0 || !is_cpu(r.backend_kind) || r.ranks > 1) continue;
    auto& b = baselines[r.problem_key()];
    if (r.is_baseline) b.serial = r.stats.median_s;
    if (r.stats.median_s < b.best_cpu) {
      b.best_cpu = r.stats.median_s;
      b.best_cpu_name = r.backend;
    }
  }
  for (auto& r : results) {
    if (!r.ok() || r.stats.median_s <= 0) continue;
    auto it = baselines.find(r.problem_key());
    if (it != baselines.end()) {
      if (it->second.serial > 0) r.speedup_vs_serial = it->second.serial / r.stats.median_s;
      if (!it->second.best_cpu_name.empty()) {
        r.speedup_vs_best_cpu = it->second.best_cpu / r.stats.median_s;
        r.best_cpu_backend = it->second.best_cpu_name;
      }
    }
    if (r.vendor_backend.empty()) continue;
    for (const auto& v : results)
      if (v.ok() && v.backend == r.vendor_backend && v.timing == r.timing && v.problem_key() == r.problem_key() &&
          v.stats.median_s > 0)
        r.fraction_of_vendor = v.stats.median_s / r.stats.median_s;
  }
  // Multi-GPU rows: against the same backend on one GPU (same problem and timing mode).
  for (auto& r : results) {
    r.speedup_vs_one_gpu = r.parallel_efficiency = r.communication_share = r.speedup_vs_one_rank = 0;
    if (r.ranks > 0 && r.ok() && r.stats.median_s > 0) {
      r.communication_share = r.communication_s / r.stats.median_s;
      for (const auto& one : results)  // distributed rows: against the same backend on one rank
        if (one.ranks == 1 && one.ok() && one.stats.median_s > 0 && one.backend == r.backend &&
            one.timing == r.timing && one.problem_key() == r.problem_key()) {
          r.speedup_vs_one_rank = one.stats.median_s / r.stats.median_s;
          r.parallel_efficiency = r.speedup_vs_one_rank / r.ranks;
        }
    }
    if (r.gpus <= 0 || !r.ok() || r.stats.median_s <= 0) continue;
    r.communication_share = r.communication_s / r.stats.median_s;
    for (const auto& one : results)
      if (one.gpus == 1 && one.ok() && one.stats.median_s > 0 && one.backend == r.backend && one.timing == r.timing &&
          one.problem_key() == r.problem_key()) {
        r.speedup_vs_one_gpu = one.stats.median_s / r.stats.median_s;
        r.parallel_efficiency = r.speedup_vs_one_gpu / r.gpus;
      }
  }
  finalize_energy(results);
  finalize_run_spreads(results);
}

}  // namespace mlbench
