// The entry points the CLI uses: write every requested output of a run, and merge saved runs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/result.h"
#include "reports/atomic_file.h"
#include "reports/charts.h"
#include "reports/csv.h"
#include "reports/html_report.h"
#include "reports/json_report.h"
#include "reports/markdown.h"

namespace mlbench::reports {

struct OutputPaths {
  std::optional<std::string> json;
  std::optional<std::string> markdown;
  std::optional<std::string> csv;
  std::optional<std::string> chart_dir;  // speedup, scaling, roofline (and comparison) SVGs go here
  JsonOptions json_options;              // time unit, aggregates only
  std::optional<std::string> html;       // one self-contained page: context, tables, charts, notes
};

// Call before a run starts: throws InputError when an output could not be written later
// (missing or read-only directory, path is a directory). Creates a missing chart directory.
void check_output_paths(const OutputPaths& paths);

// Writes each requested output atomically; throws InputError on failure.
void write_reports(const RunReport& report, const OutputPaths& paths);

// Several saved runs: runs of the same machine (host, CPU, GPU) are merged into one report
// (e.g. a size sweep run in pieces; a later row with the same workload, precision, shape,
// backend and timing replaces an earlier one); one report per machine, in order of first
// appearance.
std::vector<RunReport> merge_by_machine(const std::vector<RunReport>& runs);

// Writes outputs for one or more machines: markdown has a section per machine, CSV one table,
// charts per machine plus comparison charts across machines. JSON needs a single machine
// (Google Benchmark JSON has one context): InputError otherwise.
void write_reports(const std::vector<RunReport>& machines, const OutputPaths& paths);

// `mlbench info`: the machine context as readable text, and as JSON (the object written under
// context["mlbench"] of a JSON report).
std::string render_machine_context(const MachineContext& machine);
std::string render_machine_context_json(const MachineContext& machine);

}  // namespace mlbench::reports
