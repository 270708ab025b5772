// Options several subcommands share. Header-only, so every target that compiles a subcommand's
// source (the tests and fuzzers build cli/*.cpp piecemeal) gets them.
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "reports/exporter.h"
#include "reports/json_report.h"

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

// --json FILE, --markdown FILE, ... --chart DIR: one option per exporter (reports/exporter.h), in
// the registry's order, bound to outputs[name] (every exporter gets an entry, "" when not given).
inline void add_output_options(CLI::App& sub, std::map<std::string, std::string>& outputs,
                               reports::ExportSource source) {
  for (const reports::Exporter& e : reports::exporters())
    sub.add_option(e.option(), outputs[e.name], e.help_for(source));
}

// The outputs given on the command line (an empty path is not given), with the JSON options.
inline reports::OutputPaths output_paths(const std::map<std::string, std::string>& outputs,
                                         const reports::JsonOptions& json_options) {
  reports::OutputPaths paths;
  for (const auto& [name, path] : outputs)
    if (!path.empty()) paths.outputs[name] = path;
  paths.json_options = json_options;
  return paths;
}

// How the JSON report is written (Google Benchmark conventions, reports/json_report.h).
inline void add_json_format_options(CLI::App& sub, reports::JsonOptions& o) {
  sub.add_option("--time-unit", o.time_unit,
                 "JSON time unit of every entry (default: per benchmark, the coarsest in which its median reads at "
                 "least 10; compare.py pairs only entries of equal unit, so give one when comparing runs with it)")
      ->check(CLI::IsMember({"ns", "us", "ms", "s"}));
  sub.add_flag("--aggregates-only", o.aggregates_only,
               "JSON: only the aggregates of rows with repetitions, as Google Benchmark's "
               "--benchmark_report_aggregates_only (the repetition times stay in each row's mlbench.samples)");
  sub.add_option(
         "--aggregates", o.aggregates,
         "JSON: the aggregates to write, comma separated (default mean,median,stddev,cv); --aggregates median "
         "with --aggregates-only gives trackers that read every entry (github-action-benchmark) one value per row")
      ->delimiter(',')
      ->check(CLI::IsMember({"mean", "median", "stddev", "cv"}));
}

}  // namespace mlbench::cli
