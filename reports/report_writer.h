// The entry points the CLI uses: write every requested output of a run, and merge saved runs.
#pragma once

#include <string>
#include <vector>

#include "bench/result.h"
#include "reports/atomic_file.h"
#include "reports/charts.h"
#include "reports/csv.h"
#include "reports/exporter.h"
#include "reports/html_report.h"
#include "reports/json_report.h"
#include "reports/markdown.h"

namespace mlbench::reports {

// OutputPaths (reports/exporter.h): the requested exporters' paths by name, and the values of
// their own options. The functions below go through the exporters in the registry's order
// (reports/exporter.h, exporters()); a name in OutputPaths that no exporter has, or an option no
// exporter declares, is a programming error (std::logic_error).

// Call before a run starts: throws InputError when an exporter's option has a value outside its
// choices (ExporterOption), when an output could not be written later
// (reports/atomic_file.h says what each kind of path means and what is refused), when two
// outputs are the same file, when an output is one of `inputs` (the files a command reads), when
// a directory exporter (--chart) is given "-", or when a report would land in a directory
// exporter's directory under one of its files' names (a chart's, .svg). Creates nothing (a
// missing chart directory is created when the charts are written); removes temporary files
// that killed mlbench processes left in the output directories.
void check_output_paths(const OutputPaths& paths, const std::vector<std::string>& inputs = {});

// True when one of the reports (a file exporter's) goes to standard output ("-", /dev/stdout):
// the console table must then go elsewhere.
bool writes_to_stdout(const OutputPaths& paths);

struct WriteOutcome {
  std::vector<std::string> failures;  // "cannot write PATH: REASON", one per output not written
  bool broken_pipe = false;           // standard output was a pipe nobody reads any more
  bool ok() const { return failures.empty() && !broken_pipe; }
};

// The outputs bound for a file descriptor (standard output, a FIFO), written after every file:
// a pipe nobody reads any more sets `broken_pipe`, any other error is one more failure.
void write_to_descriptors(const std::vector<std::pair<OutputTarget, std::string>>& outputs, WriteOutcome& outcome);

// Writes each requested output in the registry's order (files atomically, standard output last).
// A failing output does not stop the others: every failure is in the outcome. Throws InputError
// only for a request that cannot be met at all (JSON, or another exporter that holds one
// machine, for several machines).
WriteOutcome write_reports(const RunReport& report, const OutputPaths& paths);

// Several saved runs: runs of the same machine (host, CPU, GPU) are merged into one report
// (e.g. a size sweep run in pieces; a later row with the same workload, precision, shape,
// backend and timing replaces an earlier one); one report per machine, in order of first
// appearance.
std::vector<RunReport> merge_by_machine(const std::vector<RunReport>& runs);

// Writes outputs for one or more machines: markdown has a section per machine, CSV one table,
// charts per machine plus comparison charts across machines. JSON needs a single machine
// (Google Benchmark JSON has one context; Exporter::several_machines): InputError otherwise.
WriteOutcome write_reports(const std::vector<RunReport>& machines, const OutputPaths& paths);

// `mlbench info`: the machine context as readable text, and as JSON (the object written under
// context["mlbench"] of a JSON report).
std::string render_machine_context(const MachineContext& machine);
std::string render_machine_context_json(const MachineContext& machine);

}  // namespace mlbench::reports
