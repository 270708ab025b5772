// One run subcommand per workload descriptor (bench/workload.h), `all`, `fleet`, list and info:
// options in, bench/ and reports/ out.
#include <sched.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "bench/gpu_selection.h"
#include "bench/runner.h"
#include "bench/thread_binding.h"
#include "cli/commands.h"
#include "cli/common_options.h"
#include "cli/process_io.h"
#include "mpi/mpi_launch.h"
#include "reports/atomic_file.h"
#include "reports/fleet.h"
#include "reports/json_report.h"
#include "cli/strict_numbers.h"
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

// Every run subcommand's options; CLI11 binds into one of these per subcommand.
struct RunCommandOptions {
  std::vector<std::string> sizes;  // empty: default_size (or the size_alias values)
  std::string default_size = "1024";
  std::vector<std::string> backends;
  std::string precision = "fp32";
  int threads = 0;
  int repetitions = 0;
  int max_repetitions = 20;
  int warmup = 1;
  int rounds = 0;  // 0: not given (1, or the preset's)
  double time_budget_s = 2.0;
  double timeout_s = 0;
  std::string preset;
  std::set<std::string> given;  // options given on the command line that a preset also sets
  bool dry_run = false;
  std::uint64_t seed = 0;
  bool seed_given = false;
  std::string json, markdown, csv, html, chart_dir;
  reports::JsonOptions json_format;
  bool quiet = false;
  bool refresh_peaks = false;  // peaks/roofline: measure the machine's ceilings again
  bool no_peaks = false;       // no peaks, no roofline (quick runs, tests)
  bool no_energy = false;      // no energy windows (short sweeps: GPU rows otherwise run 1 s each)
  std::string gpus;            // --gpus N|all|LIST: the multi-GPU backends (checked by the runner)
  double cv_threshold_pct = kDefaultCvThreshold * 100;  // flag results noisier than this
  PinOptions pin;  // applied before main parses (cli/thread_pinning.h); recorded here
  // The options of the subcommand's workloads (WorkloadDescriptor::options), by name: CLI11
  // binds into these; to_run_options applies them (WorkloadOption::apply). An option two of the
  // workloads declare (--batch in `all`) is one value.
  std::map<std::string, WorkloadOptionValue> workload_values;
  // A workload's own other name of --size (WorkloadOption::Type::sizes: attention's --seq).
  std::vector<std::string> size_alias;
  std::string size_alias_name, size_alias_meaning;
};

std::int64_t parse_size(const std::string& text) {
  const auto value = parse_decimal(text, static_cast<std::uint64_t>(INT64_MAX));
  if (!value)
    throw InputError(fmt::format("--size: '{}' is not a whole number in base 10 without leading zeros", text));
  if (*value == 0) throw InputError("--size must be positive, got 0");
  return static_cast<std::int64_t>(*value);
}

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

// --preset quick: every workload and available backend at small sizes, short budgets (a CI
// smoke run, under a minute on 2 cores). --preset full: the sweep 1024..8192, sizes whose
// memory needs exceed what is free left out.
// Options given explicitly win over the preset's values (`--preset quick --time-budget 1` runs
// the quick sizes with a 1 s budget).
void apply_preset(const RunCommandOptions& o, const std::vector<const WorkloadDescriptor*>& workloads, RunOptions& r) {
  if (o.preset.empty()) return;
  const auto given = [&o](const char* name) { return o.given.count(name) > 0; };
  const bool sizes_given = given("--size") || (!o.size_alias_name.empty() && given(o.size_alias_name.c_str()));
  if (o.preset == "quick") {
    if (!sizes_given) r.sizes = {128, 256, 512};
    for (const WorkloadDescriptor* w : workloads)
      if (w->quick_preset) w->quick_preset(r.workload);  // e.g. 1024 rows, not 256 MiB tensors of short rows
    if (!given("--time-budget")) r.time_budget_s = 0.1;
    if (!given("--max-repetitions")) r.max_repetitions = 12;
    // Twelve repetitions of every row, also of those slower than the budget (4 per round):
    // fewer leave `compare`'s rank interval too wide to tell a 30 % slowdown from a 10 % one
    // (docs/ci.md, calibration). The runner clamps it to an explicit --max-repetitions.
    r.min_repetitions = 12;
    // Three rounds: on a shared or small machine, bursts of other work last longer than one
    // variant's 0.1 s; spread over the run they show in the cv instead of shifting a row.
    if (o.rounds == 0) r.rounds = 3;
  } else if (o.preset == "full") {
    if (!sizes_given) {
      r.sizes.clear();
      for (std::int64_t size : {1024, 2048, 4096, 8192}) {
        std::size_t need = 0;
        for (const auto& w : r.workloads) need = std::max(need, estimate_host_bytes(w, size, r.precision, r.workload));
        if (need < available_host_memory() / 2) r.sizes.push_back(size);
      }
    }
    if (!given("--time-budget")) r.time_budget_s = 1.0;
  } else {
    throw InputError("unknown --preset '" + o.preset + "' (quick or full)");
  }
}

// `runnable`: the workloads to run (those of the subcommand that take the precision);
// `workloads`: every workload of the subcommand (whose options are all checked and applied).
RunOptions to_run_options(const RunCommandOptions& o, const std::vector<std::string>& runnable,
                          const std::vector<const WorkloadDescriptor*>& workloads) {
  RunOptions r;
  r.workloads = runnable;
  if (!o.size_alias.empty() && !o.sizes.empty())
    throw InputError(fmt::format("{} and --size both give the {}: give one", o.size_alias_name, o.size_alias_meaning));
  const std::vector<std::string>& sizes = !o.size_alias.empty() ? o.size_alias
                                          : !o.sizes.empty()    ? o.sizes
                                                                : std::vector<std::string>{o.default_size};
  for (const auto& s : sizes) {
    const std::int64_t size = parse_size(s);
    // The same size twice would pool two rows' samples under one name (and read back as one).
    if (std::find(r.sizes.begin(), r.sizes.end(), size) != r.sizes.end())
      throw InputError(fmt::format("--size {} is given twice", size));
    r.sizes.push_back(size);
  }
  r.backends = o.backends;
  const auto precision = parse_precision(o.precision);
  if (!precision) throw InputError("unknown precision '" + o.precision + "'");
  r.precision = *precision;
  r.threads = o.threads;
  r.repetitions = o.repetitions;
  r.max_repetitions = o.max_repetitions;
  r.warmup = o.warmup;
  r.rounds = o.rounds > 0 ? o.rounds : 1;
  r.time_budget_s = o.time_budget_s;
  r.timeout_s = o.timeout_s;
  r.gpus = o.gpus;
  r.cv_threshold = o.cv_threshold_pct / 100;
  r.measure_energy = !o.no_energy;
  r.seed = o.seed_given ? o.seed : std::random_device{}();
  // Each workload's options, checked and stored in declaration order (the values CLI11 parsed, or
  // the defaults).
  for (const WorkloadDescriptor* w : workloads)
    for (const WorkloadOption& option : w->options) {
      const auto value = o.workload_values.find(option.name);
      if (option.apply && value != o.workload_values.end()) option.apply(value->second, r.workload);
    }
  apply_preset(o, workloads, r);
  return r;
}

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
// run twice (and time both), so that it really does twice the work of the others.
int fleet_work_factor() {
  const char* slow = std::getenv("MLBENCH_FLEET_SLOW_RANK");
  if (slow == nullptr || *slow == '\0') return 1;
  char* end = nullptr;
  const long rank = std::strtol(slow, &end, 10);
  if (*end != '\0' || rank < 0) throw InputError(fmt::format("MLBENCH_FLEET_SLOW_RANK=\"{}\" is not a rank", slow));
  return rank == mpi::rank() ? 2 : 1;
}

// Writes the reports, then the console table (to stderr when a report goes to stdout), then
// the write errors; returns the exit code of a run that measured something.
int finish_run(const RunCommandOptions& o, const RunReport& report, const reports::OutputPaths& paths) {
  const reports::WriteOutcome written = reports::write_reports(report, paths);
  if (written.broken_pipe) stream_state().stdout_broken_pipe = true;
  if (!o.quiet) {
    const std::string table = reports::render_console_table(report);
    if (reports::writes_to_stdout(paths))
      print_err("{}", table);
    else
      print_out("{}", table);
  }
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

// `fleet`: every rank of an MPI launch runs this itself (mpi::fleet_mode); rank 0 gathers the
// ranks' reports into the fleet report (reports/fleet.h) and writes it; the others print nothing.
int execute_run(const RunCommandOptions& given, const std::vector<const WorkloadDescriptor*>& command_workloads,
                bool fleet = false) {
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
    if (!o.csv.empty() || !o.chart_dir.empty())
      throw InputError("fleet writes --json and --markdown (the fleet report); --csv and --chart are not built for it");
  }
  reports::OutputPaths paths;
  if (!o.json.empty()) paths.json = o.json;
  if (!o.markdown.empty()) paths.markdown = o.markdown;
  if (!o.csv.empty()) paths.csv = o.csv;
  if (!o.html.empty()) paths.html = o.html;
  if (!o.chart_dir.empty()) paths.chart_dir = o.chart_dir;
  paths.json_options = o.json_format;

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
  report.machine = collect_machine_context(runner.options().threads, registry);
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
    if (!o.json.empty()) reports::write_file_atomically(o.json, reports::render_fleet_json(fleet_report));
    if (!o.markdown.empty()) reports::write_file_atomically(o.markdown, markdown);
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
  return finish_run(o, report, paths);
}

// The options of the subcommand's workloads, from their descriptors, in the help's option groups
// they name. Every option appears once: a name an earlier workload declared already is that
// option (its value applies to both); its help is then the first one's shared_help.
void add_workload_options(CLI::App& sub, RunCommandOptions& o,
                          const std::vector<const WorkloadDescriptor*>& workloads) {
  std::map<std::string, int> declarations;
  for (const WorkloadDescriptor* w : workloads)
    for (const WorkloadOption& option : w->options) ++declarations[option.name];
  std::map<std::string, CLI::Option_group*> groups;
  for (const WorkloadDescriptor* w : workloads)
    for (const WorkloadOption& option : w->options) {
      if (option.type == WorkloadOption::Type::sizes && workloads.size() > 1) continue;  // --size is every workload's
      if (o.workload_values.count(option.name) > 0 || option.name == o.size_alias_name) continue;
      CLI::Option_group*& group = groups[option.group];
      if (group == nullptr) group = sub.add_option_group(option.group, option.group_description);
      const std::string& help =
          declarations[option.name] > 1 && !option.shared_help.empty() ? option.shared_help : option.help;
      if (option.type == WorkloadOption::Type::sizes) {
        o.size_alias_name = option.name;
        o.size_alias_meaning = w->size_meaning;
        group->add_option(option.name, o.size_alias, help)->delimiter(',');
        continue;
      }
      WorkloadOptionValue& value = o.workload_values[option.name];
      CLI::Option* added = nullptr;
      switch (option.type) {
        case WorkloadOption::Type::integer:
          value.integer = option.integer_default;
          added = group->add_option(option.name, value.integer, help)
                      ->check(CLI::Range(option.integer_min, option.integer_max));
          break;
        case WorkloadOption::Type::real:
          value.real = option.real_default;
          added = group->add_option(option.name, value.real, help)->check(CLI::Range(option.real_min, option.real_max));
          break;
        case WorkloadOption::Type::text:
          value.text = option.text_default;
          added = group->add_option(option.name, value.text, help);
          if (!option.choices.empty()) added->check(CLI::IsMember(option.choices));
          break;
        case WorkloadOption::Type::flag: group->add_flag(option.name, value.flag, help); break;
        case WorkloadOption::Type::sizes: break;
      }
      if (added != nullptr && option.show_default) added->capture_default_str();
    }
}

void add_run_options(CLI::App& sub, RunCommandOptions& o, const std::vector<const WorkloadDescriptor*>& workloads) {
  sub.add_option("--size", o.sizes,
                 "Side length: GEMM M=N=K, convolution image, reduction NxN; attention sequence length S; softmax and "
                 "layer norm row length; a list sweeps (512,1024) (default " +
                     o.default_size + ")")
      ->delimiter(',');
  sub.add_option("--backends", o.backends, "Backends to run, comma separated (default: every available one)")
      ->delimiter(',');
  sub.add_option(
         "--precision", o.precision,
         "Element type of the inputs: fp64, fp32, tf32 (fp32 storage, values rounded to TF32), "
         "bf16 or fp16 (fp32 accumulation); reductions, attention, softmax and layer norm take fp64/fp32/bf16/fp16")
      ->check(CLI::IsMember({"fp64", "fp32", "tf32", "bf16", "fp16"}))
      ->capture_default_str();
  sub.add_option("--threads", o.threads, "CPU threads for openmp/openblas (default: all OpenMP threads)")
      ->check(CLI::Range(1, 4096));
  sub.add_option("--repetitions", o.repetitions, "Measured runs per variant (default: as many as fit --time-budget)")
      ->check(CLI::Range(1, 100000));
  sub.add_option("--max-repetitions", o.max_repetitions, "Cap of the adaptive repetition count")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  sub.add_option("--rounds", o.rounds,
                 "Passes over the whole run; each row's samples pool all passes, so slow drifts of the machine show "
                 "as spread (default 1; --preset quick: 3). Repetitions and --time-budget cover all rounds")
      ->check(CLI::Range(1, 100));
  sub.add_option("--warmup", o.warmup, "Un-timed runs before checking and timing")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub.add_option("--time-budget", o.time_budget_s, "Seconds of measured time per variant the repetitions aim at")
      ->check(CLI::Range(1e-3, 3600.0))
      ->capture_default_str();
  sub.add_option_function<std::uint64_t>(
      "--seed",
      [&o](const std::uint64_t& s) {
        o.seed = s;
        o.seed_given = true;
      },
      "Seed of the random inputs (default: random, recorded in the report)");
  sub.add_option("--timeout", o.timeout_s,
                 "Seconds one variant may take; checked before each run, a late variant is recorded as timed out")
      ->check(CLI::Range(0.0, 1e7));
  sub.add_option("--preset", o.preset,
                 "quick: small sizes, short budgets (CI); full: sizes 1024..8192 that fit in memory. Options given "
                 "explicitly (--size, --time-budget, --max-repetitions, --rounds, --rows) win over the preset")
      ->check(CLI::IsMember({"quick", "full"}));
  sub.add_flag("--dry-run", o.dry_run, "Check the options and list what would run; run nothing");
  sub.add_option("--json", o.json, "Write the JSON report (Google Benchmark format + mlbench fields)");
  sub.add_option("--markdown", o.markdown, "Write the markdown report");
  sub.add_option("--csv", o.csv, "Write one CSV row per result");
  sub.add_option("--html", o.html, "Write one self-contained HTML page: context, tables, charts and notes");
  sub.add_option("--chart", o.chart_dir, "Write SVG charts into this directory");
  add_json_format_options(sub, o.json_format);
  sub.add_flag("--quiet,-q", o.quiet, "No progress, notes or table");
  sub.add_flag("--refresh-peaks", o.refresh_peaks,
               "Measure the machine's peaks (roofline) again instead of using the cache");
  sub.add_flag("--no-peaks", o.no_peaks, "Neither load nor measure the machine's peaks: no roofline columns");
  sub.add_flag("--no-energy", o.no_energy,
               "No energy windows (each GPU row otherwise runs on to NVML's 1 s window, each CPU row to RAPL's "
               "0.1 s, whatever --time-budget says); rows say 'not measured: --no-energy'");
  sub.add_option("--gpus", o.gpus,
                 "Also run the multi-GPU (nccl) backend over N GPUs, all of them or a list of ordinals (0,2), "
                 "at 1, 2, 4 ... N GPUs (a list: each prefix); reports speedup over one GPU and communication share");
  add_cv_threshold_option(sub, o.cv_threshold_pct);
  add_pin_options(sub, o.pin);
  add_workload_options(sub, o, workloads);
}

// The options are owned by the subcommand's callback (a shared_ptr it captures), so they live
// exactly as long as the App that binds into them, and every App gets its own.
void add_workload_command(CLI::App& app, int& exit_code, const std::string& name,
                          const std::vector<std::string>& aliases, const std::string& description,
                          std::vector<const WorkloadDescriptor*> workloads, std::int64_t default_size,
                          bool fleet = false) {
  auto options = std::make_shared<RunCommandOptions>();
  options->default_size = std::to_string(default_size);
  CLI::App* sub = app.add_subcommand(name, description);
  for (const auto& alias : aliases) sub->alias(alias);
  add_run_options(*sub, *options, workloads);
  harden_numeric_options(*sub);
  sub->callback([options, sub, &exit_code, workloads, fleet] {
    // What was given explicitly wins over --preset.
    std::vector<std::string> tracked = {"--size", "--time-budget", "--max-repetitions", "--rounds"};
    if (!options->size_alias_name.empty()) tracked.push_back(options->size_alias_name);
    for (const std::string& option : tracked)
      if (sub->get_option_no_throw(option) != nullptr && sub->count(option) > 0) options->given.insert(option);
    exit_code = execute_run(*options, workloads, fleet);
  });
}

int execute_list(bool json) {
  const Registry registry = make_registry();
  nlohmann::json rows = nlohmann::json::array();
  // The status is the fourth word of a line (scripts read it); the precisions follow it.
  if (!json) print_out("{:<12} {:<12} {:<12} {}\n", "workload", "backend", "kind", "status (precisions)");
  for (const auto& w : workloads())
    for (const BackendInfo* b : registry.backends_for(w.name)) {
      const Availability a = b->availability ? b->availability() : Availability::yes();
      std::vector<std::string> precisions;
      for (Precision p : b->precisions) precisions.push_back(to_string(p));
      if (json) {
        rows.push_back({{"workload", w.name},
                        {"backend", b->name},
                        {"kind", to_string(b->kind)},
                        {"available", a.available},
                        {"unavailable_reason", a.available ? "" : a.reason},
                        {"precisions", precisions}});
        continue;
      }
      print_out("{:<12} {:<12} {:<12} {}\n", w.name, b->name, to_string(b->kind),
                a.available ? fmt::format("available ({})", fmt::join(precisions, ",")) : "unavailable: " + a.reason);
    }
  if (json) print_out("{}\n", rows.dump(2));
  return 0;
}

}  // namespace

void add_run_commands(CLI::App& app, int& exit_code) {
  // One subcommand per workload descriptor (bench/workloads.h), then `all` of them at one size.
  std::vector<const WorkloadDescriptor*> every;
  for (const WorkloadDescriptor& w : workloads()) every.push_back(&w);
  constexpr std::int64_t kAllDefaultSize = 1024;
  for (const WorkloadDescriptor* w : every)
    add_workload_command(app, exit_code, w->name, w->aliases, w->command_description, {w}, w->default_size);
  add_workload_command(app, exit_code, "all", {}, "Every workload", every, kAllDefaultSize);

  // fleet WORKLOAD ...: the workloads whose descriptor has a fleet description, run by every rank
  // (docs/cluster.md), and `fleet all`.
  CLI::App* fleet = app.add_subcommand(
      "fleet",
      "Under mpirun/srun: every rank runs the suite on its own share of its node at the same time; rank 0 writes one "
      "report with a column per rank and flags ranks outside the fleet's spread (exit 1 when one is flagged)");
  fleet->require_subcommand(1);
  for (const WorkloadDescriptor* w : every)
    if (!w->fleet_description.empty())
      add_workload_command(*fleet, exit_code, w->name, w->aliases, w->fleet_description, {w}, w->default_size, true);
  add_workload_command(*fleet, exit_code, "all", {}, "Every workload on every rank", every, kAllDefaultSize, true);

  auto list_json = std::make_shared<bool>(false);
  auto* list = app.add_subcommand("list", "Workloads x backends and whether each is available here (and why not)");
  list->add_flag("--json", *list_json,
                 "Print the list as a JSON array (workload, backend, kind, available, "
                 "unavailable_reason, precisions)");
  list->callback([list_json, &exit_code] { exit_code = execute_list(*list_json); });

  struct InfoOptions {
    bool json = false;
    PinOptions pin;
  };
  auto info_options = std::make_shared<InfoOptions>();
  auto* info = app.add_subcommand("info", "Machine and build context: CPU, memory, compiler, OpenMP, libraries, GPU");
  info->add_flag("--json", info_options->json, "Print the context as JSON");
  add_pin_options(*info, info_options->pin);
  info->callback([info_options, &exit_code] {
    const Registry registry = make_registry();
    const MachineContext ctx = collect_machine_context(0, registry);
    print_out("{}",
              info_options->json ? reports::render_machine_context_json(ctx) : reports::render_machine_context(ctx));
    exit_code = 0;
  });
}

}  // namespace mlbench::cli
