// --preset (bench/presets.h).
#include "bench/presets.h"

#include <algorithm>

namespace mlbench {

void apply_preset(const std::string& preset, const PresetOverrides& given,
                  const std::vector<const WorkloadDescriptor*>& workloads, RunOptions& r) {
  if (preset.empty()) return;
  const bool sizes_given = given.sizes;
  if (preset == "quick") {
    if (!sizes_given) r.sizes = {128, 256, 512};
    for (const WorkloadDescriptor* w : workloads)
      if (w->quick_preset) w->quick_preset(r.workload);  // e.g. 1024 rows, not 256 MiB tensors of short rows
    if (!given.time_budget) r.time_budget_s = 0.1;
    if (!given.max_repetitions) r.max_repetitions = 12;
    // Twelve repetitions of every row, also of those slower than the budget (4 per round):
    // fewer leave `compare`'s rank interval too wide to tell a 30 % slowdown from a 10 % one
    // (docs/ci.md, calibration). The runner clamps it to an explicit --max-repetitions.
    r.min_repetitions = 12;
    // Three rounds: on a shared or small machine, bursts of other work last longer than one
    // variant's 0.1 s; spread over the run they show in the cv instead of shifting a row.
    if (!given.rounds) r.rounds = 3;
  } else if (preset == "full") {
    if (!sizes_given) {
      r.sizes.clear();
      for (std::int64_t size : {1024, 2048, 4096, 8192}) {
        std::size_t need = 0;
        for (const auto& w : r.workloads) need = std::max(need, estimate_host_bytes(w, size, r.precision, r.workload));
        if (need < available_host_memory() / 2) r.sizes.push_back(size);
      }
    }
    if (!given.time_budget) r.time_budget_s = 1.0;
  } else {
    throw InputError("unknown --preset '" + preset + "' (quick or full)");
  }
}

}  // namespace mlbench
