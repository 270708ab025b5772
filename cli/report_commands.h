// `mlbench report` and `mlbench compare`: work on saved JSON reports, never run anything.
#pragma once

#include <CLI/CLI.hpp>

namespace mlbench::cli {

// Adds:
//   report RUN.json [RUN2.json ...] [--chart DIR] [--markdown FILE] [--csv FILE] [--json FILE]
//       re-renders saved runs (several runs are merged: one report per machine); prints the
//       console table of each machine.
//   compare BASE.json NEW.json [MORE.json ...] [--fail-above PCT] [--csv FILE] [--markdown FILE]
//       prints the comparison as markdown on stdout.
// Callbacks set exit_code: 0 ok, 1 the --fail-above gate failed, 2 bad input (one line
// "mlbench: error: ..." on stderr).
void add_report_commands(CLI::App& app, int& exit_code);

}  // namespace mlbench::cli
