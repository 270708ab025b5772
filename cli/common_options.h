// Options several subcommands share. Header-only, so every target that compiles a subcommand's
// source (the tests and fuzzers build cli/*.cpp piecemeal) gets them.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace mlbench::cli {

// --cv-threshold PCT: results whose coefficient of variation exceeds PCT percent are flagged.
inline CLI::Option* add_cv_threshold_option(CLI::App& sub, double& percent) {
  return sub
      .add_option("--cv-threshold", percent,
                  "Flag results whose coefficient of variation (stddev/mean of the runs) exceeds PCT percent: "
                  "reports mark them as noisy, compare treats their changes as noise")
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

}  // namespace mlbench::cli
