// A run subcommand's options as CLI11 parsed them (cli/run_command.cpp builds the options and
// turns them into RunOptions), and the run they start (cli/run_pipeline.cpp).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "bench/runner.h"
#include "bench/workloads.h"
#include "cli/common_options.h"
#include "reports/exporter.h"

namespace mlbench::cli {

// Every run subcommand's options; CLI11 binds into one of these per subcommand.
struct RunCommandOptions {
  std::vector<std::string> sizes;  // empty: default_size (or the size_alias values)
  std::string default_size = "1024";
  std::vector<std::string> backends;
  std::string precision = "fp32";
  int threads = 0;
  int repetitions = 0;
  int max_repetitions = 20;
  int warmup = 1;
  int rounds = 0;  // 0: not given (1, or the preset's)
  double time_budget_s = 2.0;
  double timeout_s = 0;
  std::string preset;
  std::set<std::string> given;  // options given on the command line that a preset also sets
  bool dry_run = false;
  std::uint64_t seed = 0;
  bool seed_given = false;
  // The outputs by exporter name (reports/exporter.h: "json", "markdown", ..., "chart"), as
  // add_output_options binds them: "" when not given; and the exporters' own options (JSON's
  // --time-unit, ...) by exporter and option name.
  std::map<std::string, std::string> outputs;
  std::map<std::string, reports::ExporterOptionValues> format_options;
  bool quiet = false;
  bool refresh_peaks = false;  // peaks/roofline: measure the machine's ceilings again
  bool no_peaks = false;       // no peaks, no roofline (quick runs, tests)
  bool no_energy = false;      // no energy windows (short sweeps: GPU rows otherwise run 1 s each)
  std::string gpus;            // --gpus N|all|LIST: the multi-GPU backends (checked by the runner)
  double cv_threshold_pct = kDefaultCvThreshold * 100;  // flag results noisier than this
  PinOptions pin;  // applied before main parses (cli/thread_pinning.h); recorded here
  // The options of the subcommand's workloads (WorkloadDescriptor::options), by name: CLI11
  // binds into these; to_run_options applies them (WorkloadOption::apply). An option two of the
  // workloads declare (--batch in `all`) is one value.
  std::map<std::string, WorkloadOptionValue> workload_values;
  // A workload's own other name of --size (WorkloadOption::Type::sizes: attention's --seq).
  std::vector<std::string> size_alias;
  std::string size_alias_name, size_alias_meaning;
};

// `runnable`: the workloads to run (those of the subcommand that take the precision);
// `workloads`: every workload of the subcommand (whose options are all checked and applied).
// Applies --preset (bench/presets.h). Throws InputError.
RunOptions to_run_options(const RunCommandOptions& o, const std::vector<std::string>& runnable,
                          const std::vector<const WorkloadDescriptor*>& workloads);

// The run of a run subcommand, stage by stage (cli/run_pipeline.cpp): plan, peaks, measure and
// analyze (Runner::run), report. `fleet`: every rank of an MPI launch runs this itself
// (mpi::fleet_mode); rank 0 gathers the ranks' reports into the fleet report (reports/fleet.h)
// and writes it; the others print nothing. Returns the exit code.
int execute_run(const RunCommandOptions& given, const std::vector<const WorkloadDescriptor*>& command_workloads,
                bool fleet = false);

}  // namespace mlbench::cli
