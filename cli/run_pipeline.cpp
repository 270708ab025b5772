// The run of a run subcommand as its stages (ARCHITECTURE.md): plan (Runner::plan, after the
// options became RunOptions in cli/run_command.cpp), the machine context and peaks, measure and
// analyze (Runner::run), then report (reports/report_writer.h; the fleet report under `fleet`).
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/gpu_selection.h"
#include "bench/runner.h"
#include "bench/thread_binding.h"
#include "cli/commands.h"
#include "cli/process_io.h"
#include "cli/run_options.h"
#include "mpi/mpi_launch.h"
#include "reports/atomic_file.h"
#include "reports/fleet.h"
#include "reports/json_report.h"
#include "reports/report_writer.h"

namespace mlbench::cli {

namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  Runner::request_stop();
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the process at once
  // SIGHUP (the terminal went away) stops the run like SIGTERM: what finished is written.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &action, nullptr);
}

// The conventional status of a process a signal stopped: 128 + the signal (130 SIGINT,
// 143 SIGTERM, 129 SIGHUP).
int interrupted_exit_code() { return 128 + static_cast<int>(g_signal); }
namespace {

// Progress on stderr: only on a terminal, never with --quiet.
class ProgressPrinter : public RunObserver {
 public:
  explicit ProgressPrinter(bool quiet) : quiet_(quiet), tty_(!quiet && isatty(STDERR_FILENO) == 1) {}
  void variant_started(const std::string& label, int index, int total) override {
    if (!tty_) return;
    print_err("\r\033[K[{}/{}] {}  ({:.1f} s elapsed)", index, total, label, elapsed());
    std::fflush(stderr);
  }
  void variant_finished(const VariantResult& r) override {
    if (tty_) print_err("\r\033[K");
    if (!r.ok() && !quiet_)
      print_err("mlbench: {} {}: {}\n", r.name(), to_string(r.status),
                r.error_message.empty() ? r.verification.detail : r.error_message);
  }
  void message(const std::string& text) override {
    if (!quiet_) print_err("{}{}\n", tty_ ? "\r\033[K" : "", text);
  }

 private:
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  bool quiet_, tty_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};
// ---- mlbench fleet (docs/cluster.md) -------------------------------------------------------

// Ranks of a fleet end every row together, so that each row is measured while every rank runs
// it (ranks that share a node contend alike); the wait is bounded and names a missing rank.
class FleetObserver : public RunObserver {
 public:
  FleetObserver(RunObserver& inner, double limit_s) : inner_(inner), limit_s_(limit_s) {}
  void variant_started(const std::string& label, int index, int total) override {
    inner_.variant_started(label, index, total);
  }
  void variant_finished(const VariantResult& r) override {
    inner_.variant_finished(r);
    mpi::fleet_barrier(limit_s_, "the end of " + r.name());
  }
  void message(const std::string& text) override { inner_.message(text); }

 private:
  RunObserver& inner_;
  double limit_s_;
};

// CPUs this rank may use: its affinity mask when the launcher bound it to a part of the node,
// else the node's CPUs divided among the node's ranks.
// (The CPUs of its OpenMP places when pinned: the main thread's own mask is then one place.)
int fleet_threads() {
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  const std::vector<int> cpus = openmp_thread_cpus();
  int allowed = cpus.empty() ? static_cast<int>(online) : static_cast<int>(cpus.size());
  if (allowed >= online) allowed = static_cast<int>(online) / std::max(1, mpi::node_ranks());
  return std::max(1, allowed);
}

// The test hook of docs/cluster.md: MLBENCH_FLEET_SLOW_RANK=R makes rank R run every measured
// run MLBENCH_FLEET_SLOW_FACTOR times (2 unless set; 2 to 16) and time them all, so that it
// really does that multiple of the others' work.
int fleet_work_factor() {
  const char* slow = std::getenv("MLBENCH_FLEET_SLOW_RANK");
  if (slow == nullptr || *slow == '\0') return 1;
  char* end = nullptr;
  const long rank = std::strtol(slow, &end, 10);
  if (*end != '\0' || rank < 0) throw InputError(fmt::format("MLBENCH_FLEET_SLOW_RANK=\"{}\" is not a rank", slow));
  long factor = 2;
  if (const char* text = std::getenv("MLBENCH_FLEET_SLOW_FACTOR"); text != nullptr && *text != '\0') {
    factor = std::strtol(text, &end, 10);
    if (*end != '\0' || factor < 2 || factor > 16)
      throw InputError(fmt::format("MLBENCH_FLEET_SLOW_FACTOR=\"{}\" is not a whole number from 2 to 16", text));
  }
  return rank == mpi::rank() ? static_cast<int>(factor) : 1;
}

// Writes the reports and, unless --quiet, the console table (to stderr when a report goes to
// stdout; both through the exporters, reports/report_writer.h), then the write errors; returns
// the exit code of a run that measured something.
int finish_run(const RunReport& report, const reports::OutputPaths& paths) {
  const reports::WriteOutcome written = reports::write_reports(report, paths);
  if (written.broken_pipe) stream_state().stdout_broken_pipe = true;
  for (const std::string& failure : written.failures) print_error(failure);
  // A signal that arrived at any point, even while the reports were written, is reported.
  if (report.run.interrupted || g_signal != 0) {
    const auto finished =
        std::count_if(report.results.begin(), report.results.end(), [](const auto& r) { return r.ok(); });
    print_err("mlbench: interrupted; {} finished result(s) kept\n", finished);
    return interrupted_exit_code();
  }
  if (!written.failures.empty()) {
    print_err("mlbench: {} output(s) not written; the results above were measured (exit {})\n", written.failures.size(),
              kExitWriteFailed);
    return kExitWriteFailed;
  }
  const bool all_ok = std::all_of(report.results.begin(), report.results.end(), [](const auto& r) { return r.ok(); });
  return all_ok ? 0 : kExitFailure;
}

// The report's run information and machine context, before anything is measured.
RunReport assemble_report(const RunOptions& options, const RunPlan& plan, int threads, const Registry& registry) {
  RunReport report;
  report.run.mlbench_version = MLBENCH_CLI_VERSION;
  // Bytes that are not UTF-8 (a file name, a --backends value) are kept as \xHH: JSON needs UTF-8.
  report.run.command_line = reports::escape_invalid_utf8(command_line());
  report.run.started_at = utc_now();
  report.run.seed = options.seed;
  report.run.time_budget_s = options.time_budget_s;
  report.run.rounds = options.rounds;
  report.run.cv_threshold = options.cv_threshold;
  report.run.absent_backends = plan.absent;
  report.machine = collect_machine_context(threads, registry);
  return report;
}

}  // namespace

// `fleet`: every rank of an MPI launch runs this itself (mpi::fleet_mode); rank 0 gathers the
// ranks' reports into the fleet report (reports/fleet.h) and writes it; the others print nothing.
int execute_run(const RunCommandOptions& given, const std::vector<const WorkloadDescriptor*>& command_workloads,
                bool fleet) {
  std::vector<std::string> workloads;
  for (const WorkloadDescriptor* w : command_workloads) workloads.push_back(w->name);
  RunCommandOptions o = given;
  const bool lead = !fleet || mpi::rank() == 0;
  if (!lead) o.quiet = true;
  // Every check first, so that bad input measures, writes and creates nothing.
  // `all` (several workloads) runs those that take the precision and says which it left out and
  // why; one workload named on its own still refuses a precision it does not take (exit 2).
  std::vector<std::string> runnable;
  std::map<std::string, std::vector<std::string>> left_out_by_reason;
  const auto precision = parse_precision(o.precision);
  for (const auto& w : workloads) {
    const std::string why = workloads.size() > 1 && precision ? precision_refusal(w, *precision) : "";
    if (why.empty())
      runnable.push_back(w);
    else
      left_out_by_reason[why].push_back(w);
  }
  if (runnable.empty()) throw InputError(fmt::format("no workload takes --precision {}", o.precision));
  RunOptions options = to_run_options(o, runnable, command_workloads);
  options.device = this_process_gpu();  // 0, or this rank's own GPU under mpirun/srun
  if (fleet) {
    if (o.threads == 0) options.threads = fleet_threads();
    options.test_work_factor = fleet_work_factor();
  }
  const reports::OutputPaths paths = output_paths(o.outputs, o.format_options, !o.quiet);
  if (fleet) {
    // The fleet report has its own JSON and markdown (written below); no other format is built
    // for it, whichever exporter it is.
    std::vector<std::string> refused;
    for (const reports::Exporter& e : reports::exporters())
      if (e.name != "json" && e.name != "markdown" && paths.outputs.count(e.name) > 0) refused.push_back(e.option());
    if (!refused.empty()) {
      const std::string last = refused.back();
      refused.pop_back();
      throw InputError(fmt::format("fleet writes --json and --markdown (the fleet report); {}{} {} not built for it",
                                   refused.empty() ? "" : fmt::format("{} and ", fmt::join(refused, ", ")), last,
                                   refused.empty() ? "is" : "are"));
    }
  }

  const Registry registry = make_registry();
  Runner runner(registry, options);
  RunPlan plan = runner.plan();
  // Under mpirun/srun each rank measures on its own GPU where it has one (mpi::settle_rank_gpu).
  mpi::account_for_gpu_rows(plan, fleet, mpi::size(), mpi::rank_gpu(), mpi::cross_rank_gpu_workloads());
  reports::check_output_paths(paths);  // fail now, not after a long run
  if (!o.quiet)
    for (const auto& [why, names] : left_out_by_reason)
      print_err("mlbench: {} left out: {} {}\n", fmt::join(names, ", "), names.size() > 1 ? "each" : "it", why);

  if (o.dry_run || std::getenv("MLBENCH_PLAN_ONLY") != nullptr) {
    // Everything is checked; nothing is allocated or run.
    if (!o.quiet)
      for (const auto& v : plan.variants)
        print_out("{} size {} {}{}\n", v.workload, v.size, v.backend->name,
                  v.devices.empty() ? "" : fmt::format(" gpus {}", fmt::join(v.devices, ",")));
    return 0;
  }

  ProgressPrinter printer(o.quiet);
  const double fleet_limit_s = options.timeout_s > 0 ? 2 * options.timeout_s + 60 : 600;
  FleetObserver fleet_observer(printer, fleet_limit_s);
  RunObserver& progress = fleet ? static_cast<RunObserver&>(fleet_observer) : printer;
  // Say once, grouped by reason, which default backends are absent.
  std::map<std::string, std::vector<std::string>> absent_by_reason;
  for (const auto& [name, reason] : plan.absent) absent_by_reason[reason].push_back(name);
  for (const auto& [reason, names] : absent_by_reason)
    progress.message(fmt::format("mlbench: {} absent: {}", fmt::join(names, ", "), reason));

  RunReport report = assemble_report(options, plan, runner.options().threads, registry);
  if (!o.quiet)
    for (const auto& w : report.machine.warnings) progress.message("mlbench: warning: " + w);

  install_stop_handlers();
  // Peaks/roofline: the machine's ceilings (cached; measured before any timing when not) and
  // the roofline placement of every result. A signal while they are measured ends the run
  // before anything is written: no result exists yet, and existing files stay as they were.
  try {
    if (!o.no_peaks) report.machine.peaks = obtain_peaks(registry, report.machine, o.refresh_peaks, o.quiet);
  } catch (const Interrupted& e) {
    print_err("mlbench: {}; nothing measured, nothing written\n", e.what());
    return interrupted_exit_code();
  }
  // Measure and analyze (rates, speedups, roofline, flags: bench/analyze.h, once).
  report.results = runner.run(plan, &progress, report.machine.peaks ? &*report.machine.peaks : nullptr);
  report.run.finished_at = utc_now();
  report.run.interrupted = Runner::stop_requested();
  report.run.other_load_cores = runner.other_load_cores();
  for (const std::string& warning : runner.analysis().warnings) {
    report.machine.warnings.push_back(warning);
    if (!o.quiet) progress.message("mlbench: warning: " + warning);
  }

  if (fleet) {
    // Every rank's report to rank 0 (a fleet of one outside MPI), one fleet report from them.
    const std::vector<std::string> texts = mpi::gather_to_rank0(reports::render_json(report), fleet_limit_s);
    const bool all_ok = std::all_of(report.results.begin(), report.results.end(), [](const auto& r) { return r.ok(); });
    if (!lead) return all_ok ? 0 : kExitFailure;
    std::vector<reports::FleetMember> members;
    for (std::size_t r = 0; r < texts.size(); ++r)
      members.push_back({static_cast<int>(r), reports::parse_report(texts[r], fmt::format("rank {}'s report", r))});
    const reports::FleetReport fleet_report = reports::analyze_fleet(std::move(members));
    const std::string markdown = reports::render_fleet_markdown(fleet_report);
    // The fleet report has its own JSON and markdown (reports/fleet.h), not the exporters'.
    if (const auto json = paths.outputs.find("json"); json != paths.outputs.end())
      reports::write_file_atomically(json->second, reports::render_fleet_json(fleet_report));
    if (const auto md = paths.outputs.find("markdown"); md != paths.outputs.end())
      reports::write_file_atomically(md->second, markdown);
    if (!o.quiet) print_out("{}", markdown);
    bool every_row_ok = true;
    for (const auto& row : fleet_report.rows)
      for (const auto& cell : row.cells) every_row_ok = every_row_ok && cell.present && cell.ok;
    if (report.run.interrupted || g_signal != 0) return interrupted_exit_code();
    return every_row_ok && !reports::fleet_has_outliers(fleet_report) ? 0 : kExitFailure;
  }
  if (report.results.empty()) {
    // Stopped before the first variant produced a row: an empty report would replace a real one.
    print_err("mlbench: interrupted before any result; nothing written\n");
    return g_signal != 0 ? interrupted_exit_code() : kExitFailure;
  }
  return finish_run(report, paths);
}

}  // namespace mlbench::cli
