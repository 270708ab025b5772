// The CLI's subcommands. Each add_* function attaches a subcommand whose callback stores the
// process exit code in `exit_code`.
#pragma once

#include <CLI/CLI.hpp>

#include "bench/backend.h"

namespace mlbench::cli {

// Exit codes: 0 ok, 1 a variant failed (verification, error, timeout) or a compare gate
// tripped, 2 bad input; 3, 128+N and 141: cli/process_io.h.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;

#ifndef MLBENCH_CLI_VERSION
#define MLBENCH_CLI_VERSION "0.0.0"
#endif

// The command line as typed, for reports.
const std::string& command_line();

// Every backend of this build, CPU and GPU.
Registry make_registry();

// Checks made before CLI11 parses: an empty argument (CLI11 can spin on it), "--option=" with
// nothing after "=" (CLI11 would take the next argument as its value), an unknown first word,
// an empty item in a comma-separated list.
// Returns the one-line problem, or an empty string when the arguments may be parsed.
std::string reject_arguments(const std::vector<std::string>& args, const CLI::App& app);

// One run subcommand per workload descriptor (bench/workloads.h: name and aliases), all, fleet, list, info.
void add_run_commands(CLI::App& app, int& exit_code);

// help [COMMAND], and the hidden generate-docs DIR (man page, completions; cli/docs.h). Add it
// last: it documents the subcommands added before it.
void add_docs_commands(CLI::App& app, int& exit_code);

// SIGINT, SIGTERM and SIGHUP ask the runner (and a peak measurement) to stop; a second one ends
// the process at once. interrupted_exit_code() is 128 + the signal that arrived
// (130 SIGINT, 143 SIGTERM, 129 SIGHUP).
void install_stop_handlers();
int interrupted_exit_code();

// peak: measure or show the machine's ceilings (cli/peak_command.cpp).
void add_peak_command(CLI::App& app, int& exit_code);
// The machine's peaks from the per-machine cache, measured first (with a note on stderr unless
// `quiet`) when none are cached or `refresh` is set.
PeakFigures obtain_peaks(const Registry& registry, const MachineContext& machine, bool refresh, bool quiet);

}  // namespace mlbench::cli
