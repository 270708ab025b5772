// Options several subcommands share. Header-only, so every target that compiles a subcommand's
// source (the tests and fuzzers build cli/*.cpp piecemeal) gets them.
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/process_io.h"
#include "reports/exporter.h"

namespace mlbench::cli {

// --cv-threshold PCT: results whose coefficient of variation exceeds PCT percent are flagged.
inline CLI::Option* add_cv_threshold_option(CLI::App& sub, double& percent) {
  return sub
      .add_option("--cv-threshold", percent,
                  "Flag results whose coefficient of variation (stddev/mean of the runs) exceeds PCT percent: "
                  "reports mark them as noisy (compare still gates them: their spread widens what counts as a change)")
      ->check(CLI::Range(0.01, 100.0))
      ->capture_default_str();
}

// --pin / --no-pin. The binding itself is applied before the App parses (cli/thread_pinning.h:
// the OpenMP runtime reads it when it loads); here the options are declared, checked and
// documented.
struct PinOptions {
  std::string mode = "cores";
  bool none = false;
};
inline void add_pin_options(CLI::App& sub, PinOptions& o) {
  CLI::Option* pin =
      sub.add_option("--pin", o.mode,
                     "Bind OpenMP threads to cores (OMP_PROC_BIND=close OMP_PLACES=cores), to hardware threads "
                     "(threads) or not at all (none); a binding already set in OMP_PROC_BIND/OMP_PLACES is kept")
          ->check(CLI::IsMember({"cores", "threads", "none"}))
          ->capture_default_str();
  sub.add_flag("--no-pin", o.none, "Same as --pin none: let the OS move threads between cores")->excludes(pin);
}

// --json FILE, --markdown FILE, ... --chart DIR: one option per exporter with a path
// (reports/exporter.h; not the console table), in the registry's order, bound to outputs[name]
// (every such exporter gets an entry, "" when not given); then the options the exporters
// declare of their own (JSON's --time-unit, ...), in the same order, bound to
// format_options[exporter][option] (every one gets an entry, its default until given), their
// values checked against the option's choices.
inline void add_output_options(CLI::App& sub, std::map<std::string, std::string>& outputs,
                               std::map<std::string, reports::ExporterOptionValues>& format_options,
                               reports::ExportSource source) {
  for (const reports::Exporter& e : reports::exporters())
    if (e.has_path_option()) sub.add_option(e.option(), outputs[e.name], e.help_for(source));
  for (const reports::Exporter& e : reports::exporters())
    for (const reports::ExporterOption& option : e.options) {
      reports::ExporterOptionValue& value = format_options[e.name][option.name];
      CLI::Option* added = nullptr;
      switch (option.kind) {
        case reports::ExporterOption::Kind::text:
          value.text = option.text_default;
          added = sub.add_option(option.option(), value.text, option.help);
          break;
        case reports::ExporterOption::Kind::list:
          value.list = option.list_default;
          added = sub.add_option(option.option(), value.list, option.help)->delimiter(',');
          break;
        case reports::ExporterOption::Kind::flag: sub.add_flag(option.option(), value.flag, option.help); break;
      }
      if (added != nullptr && !option.choices.empty()) added->check(CLI::IsMember(option.choices));
    }
}

// The outputs given on the command line (an empty path is not given), with the values of the
// exporters' own options; with `console`, the console exporters (the table) print through the
// process's streams (cli/process_io.h: a failed stdout write becomes the exit code).
inline reports::OutputPaths output_paths(const std::map<std::string, std::string>& outputs,
                                         const std::map<std::string, reports::ExporterOptionValues>& format_options,
                                         bool console) {
  reports::OutputPaths paths;
  for (const auto& [name, path] : outputs)
    if (!path.empty()) paths.outputs[name] = path;
  paths.options = format_options;
  if (console)
    paths.console = [](const std::string& text, bool to_stderr) {
      if (to_stderr)
        print_err("{}", text);
      else
        print_out("{}", text);
    };
  return paths;
}

}  // namespace mlbench::cli
