// The output formats behind one interface. An exporter is one descriptor (Exporter): the option
// it is bound to (--<name>), its help lines, whether it writes one file, a directory of files or
// the console (the table a run prints: no option), whether one output can hold runs of several
// machines, the options of its own, and how it renders or writes a report.
// Each format defines its descriptor in reports/<name>_exporter.cpp as `Exporter
// <name>_exporter()`; the exporter list of reports/CMakeLists.txt (MLBENCH_EXPORTERS) compiles
// those files and generates the function that collects them, in that list's order: the order of
// the options, of the checks and of the writing (reports/report_writer.h). The run subcommands
// and `report` declare one option per exporter and every option an exporter declares of its own
// (cli/common_options.h, add_output_options), so a new format, with options or without, edits
// nothing in cli/ or in report_writer.*.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "bench/result.h"

namespace mlbench::reports {

// An option of a format's own (JSON's --time-unit), declared by its exporter as data: the CLI
// declares it on every command that declares the exporters' options (cli/common_options.h,
// add_output_options), checks its value against `choices` and hands it over in
// OutputPaths::options, where the exporter reads it (exporter_option).
struct ExporterOption {
  enum class Kind {
    text,  // one value (--time-unit us)
    list,  // comma-separated values (--aggregates mean,median); given twice, both lists
    flag,  // present or not (--aggregates-only)
  };
  std::string name;  // "time-unit": the option --time-unit; unique among every exporter's options
  std::string help;  // its help line
  Kind kind = Kind::text;
  std::vector<std::string> choices;       // text, list: the values allowed (each of a list); empty: any
  std::string text_default;               // text: the value when not given
  std::vector<std::string> list_default;  // list: the values when not given

  std::string option() const { return "--" + name; }
};

// One ExporterOption's value, in the member of its kind (the others stay empty).
struct ExporterOptionValue {
  std::string text;
  std::vector<std::string> list;
  bool flag = false;
};

// The values of one exporter's options, by option name.
using ExporterOptionValues = std::map<std::string, ExporterOptionValue>;

// Prints a console exporter's text (Exporter::Target::console): on standard error when
// `to_stderr` (a report went to standard output), else on standard output. The CLI's printer
// goes through its own stream handling (cli/process_io.h).
using ConsolePrinter = std::function<void(const std::string& text, bool to_stderr)>;

// Which outputs to write: each requested exporter's path by its name ("json" -> "run.json",
// "chart" -> "charts/"), the values of the exporters' own options, and where the console
// exporters print.
struct OutputPaths {
  std::map<std::string, std::string> outputs;  // exporter name -> file or directory; "-": standard output
  // exporter name -> its options' values; an option missing here has its default (exporter_option)
  std::map<std::string, ExporterOptionValues> options;
  // Empty: the console exporters print nothing (--quiet). Initialized here so that an aggregate
  // initialization that stops before it ({outputs, options}) warns about nothing.
  ConsolePrinter console = nullptr;
};

// What a command renders: the results of the run it measured, or saved runs read back (`mlbench
// report`: merged, possibly of several machines). The help line of an option may differ.
enum class ExportSource { run, saved_runs };

struct Exporter {
  enum class Target {
    file,       // one file (or standard output): render
    directory,  // several files in one directory: write
    console,    // no option, no path: render, printed by OutputPaths::console after every other output
  };
  std::string name;             // "json": the option --json, the key of OutputPaths::outputs (console: a name only)
  std::string title;            // "JSON": what the output is called in messages
  std::string help;             // the option's help line in a run subcommand
  std::string saved_runs_help;  // its help line in `report` ("": help)
  Target target = Target::file;
  // False: one output holds one machine's runs (Google Benchmark JSON has one context); runs of
  // several machines are refused before anything is written.
  bool several_machines = true;
  // Target::directory: what one of its files is ("chart") and how their names end (".svg"): a
  // report of another exporter named like one of them inside the directory is refused.
  std::string file_noun;
  std::string file_extension;
  // Target::file: the content of the file, for one report per machine (never empty);
  // Target::console: the text printed.
  std::function<std::string(const std::vector<RunReport>& machines, const OutputPaths& paths)> render;
  // Target::directory: writes its files into `directory` (created when missing), each atomically
  // (reports/atomic_file.h); throws InputError("cannot write <path>: <reason>").
  std::function<void(const std::vector<RunReport>& machines, const std::string& directory, const OutputPaths& paths)>
      write;
  // Options of the format's own, in the order of the help (ExporterOption); the exporter reads
  // their values with exporter_option.
  std::vector<ExporterOption> options;

  // False for a console exporter: no --<name> option, no entry in OutputPaths::outputs.
  bool has_path_option() const { return target != Target::console; }
  std::string option() const { return "--" + name; }
  const std::string& help_for(ExportSource source) const {
    return source == ExportSource::saved_runs && !saved_runs_help.empty() ? saved_runs_help : help;
  }
};

// Every exporter: those of MLBENCH_EXPORTERS in the list's order, then those a program or test
// added with register_exporter, in the order added. Elements never move (a deque only grows).
const std::deque<Exporter>& exporters();

// The exporter named `name` (without the dashes of its option); nullptr when none is.
const Exporter* find_exporter(const std::string& name);

// The value in `paths` of `option`, an option of the exporter named `exporter`: the value
// given, else the option's default.
ExporterOptionValue exporter_option(const OutputPaths& paths, const std::string& exporter,
                                    const ExporterOption& option);

// Adds an exporter beyond the listed ones (a test's own format; an executable's own object file
// may do it from a static initializer, since it is always linked). Add it before the command
// line is built: the options are declared from the registry as it is then. Throws
// std::logic_error for a malformed descriptor or a name already taken.
void register_exporter(Exporter exporter);

// The exporters of MLBENCH_EXPORTERS, in the list's order (generated by reports/CMakeLists.txt).
std::vector<Exporter> listed_exporters();

}  // namespace mlbench::reports
