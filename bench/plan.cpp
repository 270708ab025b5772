// The plan stage: options -> variants. Resolves workload and backend names against the
// descriptors and the registry and checks, before anything is allocated, what can be checked:
// sizes, counts, explicitly requested backends, --gpus, host memory (the descriptor's footprint).
#include <algorithm>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "bench/gpu_selection.h"
#include "bench/runner.h"

namespace mlbench {

namespace {

std::string format_bytes(double bytes) {
  if (bytes >= 1e9) return fmt::format("{:.1f} GB", bytes / 1e9);
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

}  // namespace

std::size_t available_host_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
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

}  // namespace mlbench
