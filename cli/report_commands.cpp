#include "bench/analyze.h"
#include "cli/report_commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/runner.h"
#include "bench/types.h"
#include "cli/common_options.h"
#include "cli/process_io.h"
#include "cli/strict_numbers.h"
#include "reports/compare.h"
#include "reports/fleet.h"
#include "reports/report_writer.h"

namespace mlbench::cli {
namespace {

struct ReportOptions {
  std::vector<std::string> runs;
  std::map<std::string, std::string> outputs;  // by exporter name (reports/exporter.h); "": not given
  std::map<std::string, reports::ExporterOptionValues> format_options;  // the exporters' own (--time-unit, ...)
  std::optional<double> cv_threshold_pct;  // unset: each run keeps the threshold it was run with
  std::optional<double> scale_times;       // hidden: calibration of the compare gate
  std::optional<int> rank;                 // a fleet report: this rank's run only (else every rank's)
  bool pool = false;                       // the runs as one run (bench/runner.h pool_runs)
};

struct CompareOptions {
  std::vector<std::string> runs;
  std::optional<double> fail_above_pct;
  std::map<std::string, std::string> outputs;  // by comparison exporter name (reports/compare.h); "": not given
  std::optional<double> cv_threshold_pct;
  double alpha = 0.05;
  bool strict = false;
  bool hardware_comparison = false;
  bool real_time = false;   // compare every row on real time (default: CPU time for single-threaded CPU rows)
  std::optional<int> rank;  // a fleet report: this rank's run
};

// The runs a saved file stands for. An ordinary report is one run. A fleet report (mlbench
// fleet --json) is its ranks' own runs: with --rank R rank R's; without, every rank's, each
// labelled "HOST rank R" so that ranks of one host stay apart (report, charts), or refused
// (compare: which rank to compare is the user's choice; the fleet report already compares its
// ranks with each other).
struct LabeledRun {
  std::string label;
  RunReport report;
};
std::vector<LabeledRun> runs_of_file(const std::string& path, std::optional<int> rank, bool every_rank_allowed) {
  reports::ReportOrFleet input = reports::read_report_or_fleet(path);
  if (!input.fleet) return {{path, std::move(input.report)}};
  const reports::FleetReport& fleet = *input.fleet;
  if (rank) {
    RunReport report = reports::fleet_rank_report(fleet, *rank, path);
    const std::string host = report.machine.hostname;
    return {{fmt::format("{} rank {} ({})", path, *rank, host), std::move(report)}};
  }
  if (!every_rank_allowed)
    throw InputError(fmt::format(
        "{} is a fleet report of {} ranks (mlbench fleet): compare one rank's run with --rank R (0 to {}); the "
        "fleet report itself compares its ranks with each other",
        path, fleet.members.size(), fleet.members.size() - 1));
  std::vector<LabeledRun> runs;
  for (const reports::FleetMember& member : fleet.members) {
    RunReport report = member.report;
    report.machine.hostname = fmt::format("{} rank {}", report.machine.hostname, member.rank);
    runs.push_back({fmt::format("{} rank {}", path, member.rank), std::move(report)});
  }
  return runs;
}

// --rank without a fleet report among the inputs is a mistake worth saying.
void check_rank_option(const std::vector<std::string>& paths, std::optional<int> rank, bool any_fleet) {
  if (rank && !any_fleet)
    throw InputError(
        fmt::format("--rank {} applies to fleet reports (mlbench fleet --json), and none of the {} "
                    "input{} is one",
                    *rank, paths.size(), paths.size() == 1 ? "" : "s"));
}

// `report --scale-times F` (hidden; scripts/aa_calibration.sh): every repetition time, real and
// CPU, and every statistic made of them multiplied by F, as if the code had run F times slower;
// the cv does not change, the derived rates are computed again.
void scale_times(RunReport& run, double factor) {
  for (VariantResult& r : run.results) {
    TimingStats& s = r.stats;
    for (double& t : s.run_times_s) t *= factor;
    for (double& t : s.run_cpu_times_s) t *= factor;
    for (double* t : {&s.median_s, &s.mean_s, &s.stddev_s, &s.cpu_median_s, &s.cpu_mean_s, &s.cpu_stddev_s})
      *t *= factor;
    r.communication_s *= factor;
  }
  finalize_results(run.results);
}

// `report --pool`: the runs must be runs of one build with one configuration on one machine
// (what compare would list as differing, or another host), else pooling would mix unlike
// samples; then they become one run whose rows pool every run's repetitions.
RunReport pool_alike_runs(std::vector<RunReport> runs, const std::vector<std::string>& paths) {
  if (runs.size() < 2) throw InputError("--pool needs at least two runs of one build on one machine");
  // context_differences reads labelled reports: the runs move in and back out, not copied.
  std::vector<reports::LabeledReport> labeled;
  for (std::size_t i = 0; i < runs.size(); ++i)
    labeled.push_back({i < paths.size() ? paths[i] : std::to_string(i + 1), std::move(runs[i])});
  for (const reports::ContextDifference& d : reports::context_differences(labeled))
    throw InputError(fmt::format("--pool: the runs differ in {} ({}); pool only runs of one build on one machine",
                                 d.what, fmt::join(d.values, " / ")));
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i] = std::move(labeled[i].report);
  for (const RunReport& run : runs)
    if (run.machine.hostname != runs.front().machine.hostname)
      throw InputError(
          fmt::format("--pool: the runs come from different hosts ({} / {}); pool only runs of one "
                      "machine",
                      runs.front().machine.hostname, run.machine.hostname));
  return pool_runs(std::move(runs));
}

// --cv-threshold on saved runs: flag their results again against the new threshold.
void apply_cv_threshold(RunReport& run, const std::optional<double>& percent) {
  if (!percent) return;
  run.run.cv_threshold = *percent / 100;
  flag_noisy_results(run.results, run.run.cv_threshold);
}

CLI::Option* add_optional_cv_threshold(CLI::App& sub, std::optional<double>& percent) {
  return sub
      .add_option("--cv-threshold", percent,
                  "Flag results whose coefficient of variation exceeds PCT percent (default: the threshold each "
                  "run was made with, 5 % unless given)")
      ->check(CLI::Range(0.01, 100.0));
}

// Runs `body`, turning InputError into the one-line message and exit code 2.
template <class Body>
int guarded(Body&& body) {
  try {
    return body();
  } catch (const InputError& e) {
    print_error(e.what());
    return 2;
  }
}

// Prints the write failures; kExitWriteFailed when there were any, else `code`.
int after_writing(const reports::WriteOutcome& written, int code) {
  if (written.broken_pipe) stream_state().stdout_broken_pipe = true;
  for (const std::string& failure : written.failures) print_error(failure);
  return written.failures.empty() ? code : kExitWriteFailed;
}

int execute_report(const ReportOptions& o) {
  const reports::OutputPaths paths = output_paths(o.outputs, o.format_options, true);
  if (o.scale_times && !(*o.scale_times > 0 && std::isfinite(*o.scale_times)))
    throw InputError("--scale-times must be a finite positive factor");
  // An output that is one of the inputs would destroy it: refused with the other checks.
  reports::check_output_paths(paths, o.runs);
  std::vector<RunReport> runs;
  bool any_fleet = false;
  for (const std::string& path : o.runs)
    for (LabeledRun& run : runs_of_file(path, o.rank, true)) {
      any_fleet = any_fleet || run.label != path;
      runs.push_back(std::move(run.report));
      apply_cv_threshold(runs.back(), o.cv_threshold_pct);
      if (o.scale_times) scale_times(runs.back(), *o.scale_times);
    }
  check_rank_option(o.runs, o.rank, any_fleet);
  if (o.pool) runs = {pool_alike_runs(std::move(runs), o.runs)};
  const std::vector<RunReport> machines = reports::merge_by_machine(runs);
  // The reports, then the console table (each machine's, under its host name when several).
  return after_writing(reports::write_reports(machines, paths), 0);
}

int execute_compare(const CompareOptions& o) {
  if (o.runs.size() < 2) throw InputError("compare needs BASE.json and NEW.json (and optionally more runs)");
  if (o.fail_above_pct && !(*o.fail_above_pct >= 0 && std::isfinite(*o.fail_above_pct)))
    throw InputError("--fail-above must be a finite percentage >= 0");
  if (o.hardware_comparison && (o.fail_above_pct || o.strict))
    throw InputError("--hardware-comparison never gates: drop --fail-above and --strict");
  if (o.strict && !o.fail_above_pct) throw InputError("--strict needs --fail-above");
  // compare's own markdown and CSV (reports/compare.h, comparison_exporters), checked as the run
  // exporters of those names; the console prints the markdown.
  const reports::OutputPaths paths = output_paths(o.outputs, {}, true);
  reports::check_output_paths(paths, o.runs);  // `compare base.json new.json --csv base.json` is refused
  std::vector<reports::LabeledReport> runs;
  bool any_fleet = false;
  for (const std::string& path : o.runs)
    for (LabeledRun& run : runs_of_file(path, o.rank, false)) {
      any_fleet = any_fleet || run.label != path;
      runs.push_back({run.label, std::move(run.report)});
      apply_cv_threshold(runs.back().report, o.cv_threshold_pct);
    }
  check_rank_option(o.runs, o.rank, any_fleet);
  const reports::Comparison comparison = reports::compare(
      runs, {o.alpha, o.hardware_comparison, o.real_time ? reports::GateTime::real : reports::GateTime::automatic});
  // Like with like: a gate over different hardware or thread counts means nothing.
  if (o.fail_above_pct) {
    const std::string refusal = reports::gate_refusal(comparison);
    if (!refusal.empty()) throw InputError(refusal);
  }
  // The outputs, then the comparison on the console: stdout, or stderr when an output went to
  // stdout (nothing when that output is the markdown itself).
  const reports::WriteOutcome written = reports::write_comparison(comparison, {o.fail_above_pct, o.strict}, paths);
  int code = 0;
  if (o.fail_above_pct) {
    const std::vector<std::string> failures = reports::gate_failures(comparison, *o.fail_above_pct, o.strict);
    for (const std::string& f : failures) print_err("mlbench: gate: {}\n", f);
    const std::string note = reports::gate_oversubscription_note(comparison);
    if (!failures.empty() && !note.empty()) print_err("mlbench: note: {}\n", note);
    code = failures.empty() ? 0 : 1;
  }
  // A tripped gate is the answer compare exists for: it stands over a write failure.
  return code == 1 ? (after_writing(written, 1), 1) : after_writing(written, code);
}

}  // namespace

void add_report_commands(CLI::App& app, int& exit_code) {
  auto report_options = std::make_shared<ReportOptions>();
  auto* report =
      app.add_subcommand("report", "Re-render saved JSON runs (merged: several machines or sizes) without re-running");
  report->add_option("runs", report_options->runs, "JSON reports written by --json")->required();
  add_output_options(*report, report_options->outputs, report_options->format_options,
                     reports::ExportSource::saved_runs);
  add_optional_cv_threshold(*report, report_options->cv_threshold_pct);
  report
      ->add_option("--rank", report_options->rank,
                   "A fleet report (mlbench fleet --json) among the runs: rank R's run only (default: every "
                   "rank's, one machine each, compared in the charts)")
      ->check(CLI::NonNegativeNumber);
  report
      ->add_option("--scale-times", report_options->scale_times,
                   "Multiply every repetition time and statistic by F (calibration of the compare gate)")
      ->group("");  // hidden: a tool for scripts/aa_calibration.sh, not for reports
  report->add_flag("--pool", report_options->pool,
                   "Write the runs (separate runs of one build on one machine) as one run whose rows pool every "
                   "run's repetitions: a baseline or candidate for compare that holds the shifts between processes");
  report->callback(
      [report_options, &exit_code] { exit_code = guarded([&] { return execute_report(*report_options); }); });

  auto compare_options = std::make_shared<CompareOptions>();
  auto* compare =
      app.add_subcommand("compare", "Compare saved runs row by row against the first (the base); prints markdown");
  compare->add_option("runs", compare_options->runs, "BASE.json NEW.json [MORE.json ...]")->required();
  compare->add_option("--fail-above", compare_options->fail_above_pct,
                      "Exit 1 when a row got slower than the base by more than PCT percent beyond noise (the lower "
                      "confidence bound of new/base from the repetitions is above 1 + PCT/100), or stopped verifying; "
                      "runs of different hardware or thread counts are refused (exit 2)");
  compare
      ->add_option("--alpha", compare_options->alpha,
                   "1 - confidence of each one-sided bound of new/base (the rank-based interval of the ratio, from "
                   "the Mann-Whitney U test over the repetition times)")
      ->check(CLI::Range(1e-9, 0.5))
      ->capture_default_str();
  compare->add_flag("--strict", compare_options->strict,
                    "With --fail-above: rows with too few repetitions for the test to decide fail the gate too");
  compare->add_flag("--hardware-comparison", compare_options->hardware_comparison,
                    "Runs of different machines: pair rows whatever their thread counts and show the speedup over the "
                    "base; never gates");
  compare->add_flag("--real-time", compare_options->real_time,
                    "Compare every row on its real (wall-clock) time; by default single-threaded CPU rows are "
                    "compared on their CPU time, which other programs' load does not inflate");
  for (const reports::ComparisonExporter& e : reports::comparison_exporters())
    if (e.target == reports::ComparisonExporter::Target::file)
      compare->add_option(e.option(), compare_options->outputs[e.name], e.help);
  add_optional_cv_threshold(*compare, compare_options->cv_threshold_pct);
  compare
      ->add_option("--rank", compare_options->rank,
                   "Fleet reports (mlbench fleet --json) among the runs: compare rank R's run (required for them)")
      ->check(CLI::NonNegativeNumber);
  harden_numeric_options(*report);
  harden_numeric_options(*compare);
  compare->callback(
      [compare_options, &exit_code] { exit_code = guarded([&] { return execute_compare(*compare_options); }); });
}

}  // namespace mlbench::cli
