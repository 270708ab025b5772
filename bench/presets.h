// --preset: the sizes, budgets and repetition counts a preset sets in RunOptions, fitted to the
// machine (`full` leaves out sizes whose memory needs exceed half of what is free). The CLI says
// which of those options were given explicitly: they win over the preset.
#pragma once

#include <string>
#include <vector>

#include "bench/runner.h"
#include "bench/workloads.h"

namespace mlbench {

// The options a preset sets that the command line gave explicitly (those keep their value).
struct PresetOverrides {
  bool sizes = false;  // --size (or the workload's own name of it, attention's --seq)
  bool time_budget = false;
  bool max_repetitions = false;
  bool rounds = false;
};

// --preset quick: every workload and available backend at small sizes, short budgets (a CI
// smoke run, under a minute on 2 cores); each workload's quick_preset adjusts its own options.
// --preset full: the sweep 1024..8192, sizes whose memory needs exceed half of what is free
// left out. `r.workloads`, `r.precision` and `r.workload` must be set. Throws InputError for
// another name; an empty name changes nothing.
void apply_preset(const std::string& preset, const PresetOverrides& given,
                  const std::vector<const WorkloadDescriptor*>& workloads, RunOptions& r);

}  // namespace mlbench
