// `mlbench peak`: this machine's measured ceilings, and the cached lookup every run uses.
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "bench/machine_context.h"
#include "bench/peaks.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/process_io.h"
#include "reports/peaks_cache.h"

namespace mlbench::cli {

PeakFigures obtain_peaks(const Registry& registry, const MachineContext& machine, bool refresh, bool quiet) {
  const auto start = std::chrono::steady_clock::now();
  bool announced = false;
  const reports::PeaksLookup lookup =
      reports::load_or_measure_peaks(reports::default_peaks_cache_dir(), peaks_machine_key(machine), refresh, [&] {
        if (!quiet) {
          print_err("mlbench: measuring this machine's peaks (once; cached in {})...\n",
                    reports::default_peaks_cache_dir());
          announced = true;
        }
        return measure_peaks(registry, machine);
      });
  if (!quiet && !lookup.note.empty()) print_err("mlbench: warning: {}\n", lookup.note);
  if (announced)
    print_err("mlbench: peaks measured in {:.1f} s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return lookup.peaks;
}

void add_peak_command(CLI::App& app, int& exit_code) {
  struct Options {
    bool refresh = false, json = false, quiet = false;
    PinOptions pin;
  };
  // Owned by the callback below, so each App has its own and they die with it.
  auto options = std::make_shared<Options>();
  auto* peak = app.add_subcommand("peak",
                                  "Measure (or show the cached) ceilings of this machine: memory bandwidth, FMA and "
                                  "tensor-core rates, the roofs of every report's roofline");
  peak->footer(std::string("Method:\n") + peaks_method() +
               "\nFigures are cached per machine (CPU model, CPUs, OpenMP threads, GPU, mlbench version) in "
               "$XDG_CACHE_HOME/mlbench/peaks.json (default ~/.cache/mlbench); --refresh-peaks measures again.");
  peak->add_flag("--refresh-peaks", options->refresh, "Measure again even when cached figures exist");
  peak->add_flag("--json", options->json, "Print the figures as JSON");
  peak->add_flag("--quiet,-q", options->quiet, "No notes on stderr");
  add_pin_options(*peak, options->pin);
  peak->callback([options, &exit_code] {
    const Options& o = *options;
    const Registry registry = make_registry();
    const MachineContext machine = collect_machine_context(0, registry);
    // Ctrl-C stops the measurement within a second (it checks the runner's stop flag); the
    // cache is then neither written nor changed.
    install_stop_handlers();
    PeakFigures peaks;
    try {
      peaks = obtain_peaks(registry, machine, o.refresh, o.quiet);
    } catch (const Interrupted& e) {
      print_err("mlbench: {}; nothing measured, nothing written\n", e.what());
      exit_code = interrupted_exit_code();
      return;
    }
    if (o.json) {
      print_out("{}\n",
                reports::peaks_to_json(peaks).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
    } else {
      print_out("{}", reports::render_peaks_text(peaks));
      print_out("{:<32} {}/peaks.json\n", "cache:", reports::default_peaks_cache_dir());
    }
    exit_code = 0;
  });
}

}  // namespace mlbench::cli
