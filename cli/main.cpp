// mlbench: how much faster is this GPU than this CPU on the work machine learning does?
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bench/machine_context.h"
#include "bench/types.h"
#include "bench/workloads.h"
#include "cli/commands.h"
#include "cli/process_io.h"
#include "cli/strict_numbers.h"
#include "cli/report_commands.h"
#include "cli/thread_pinning.h"
#include "mpi/mpi_launch.h"

namespace mlbench::cli {
namespace {
std::string g_command_line;
}
const std::string& command_line() { return g_command_line; }
}  // namespace mlbench::cli

namespace {
int run_command(int argc, char** argv);

// A thread-count variable libgomp would refuse ("OMP_NUM_THREADS=abc") makes libgomp print its own
// line ("libgomp: Invalid value for environment variable ...") when it loads, before main, and
// mlbench's line would be the second. So the executable's pre-initializer, which runs before
// every library's initializer, takes such an entry out of the environment (libgomp then never
// sees it) and keeps it here for main to name. Valid values are left where they are. No libstdc++
// may be used this early: plain pointers and valid_thread_count_list only.
const char* held_back[std::size(mlbench::cli::kThreadCountVariables)] = {};

void environment_guard(int, char**, char** envp) {
  char** kept = envp;
  for (char** entry = envp; *entry != nullptr; ++entry) {
    bool hold = false;
    for (std::size_t i = 0; i < std::size(held_back); ++i) {
      const char* name = mlbench::cli::kThreadCountVariables[i];
      const std::size_t length = std::strlen(name);
      if (std::strncmp(*entry, name, length) == 0 && (*entry)[length] == '=' && (*entry)[length + 1] != '\0' &&
          !mlbench::cli::valid_thread_count_list(*entry + length + 1))
        hold = true, held_back[i] = *entry + length + 1;
    }
    if (!hold) *kept++ = *entry;
  }
  *kept = nullptr;
}
[[maybe_unused]] __attribute__((section(".preinit_array"),
                                used)) void (*const environment_guard_entry)(int, char**, char**) = environment_guard;

// After a parse error: "`mlbench fleet` needs one of: gemm, convolution, ... (mlbench fleet --help)"
// when the innermost command given requires a subcommand and none followed; "" otherwise.
std::string missing_subcommand(const CLI::App& app) {
  const CLI::App* at = &app;
  std::string path = "mlbench";
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    path += " " + at->get_name();
  }
  if (at->get_require_subcommand_min() == 0) return "";
  std::vector<std::string> names;
  for (const CLI::App* sub : at->get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }))
    names.push_back(sub->get_name());
  return fmt::format("`{}` needs one of: {} ({} --help)", path, fmt::join(names, ", "), path);
}

// getenv, and the values environment_guard held back.
const char* environment_value(const char* name) {
  if (const char* value = std::getenv(name)) return value;
  for (std::size_t i = 0; i < std::size(held_back); ++i)
    if (std::strcmp(name, mlbench::cli::kThreadCountVariables[i]) == 0) return held_back[i];
  return nullptr;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace mlbench;
  // Before anything can print or open a file (cli/process_io.h).
  cli::harden_standard_streams();
  // OMP_NUM_THREADS=100000 would crash inside libgomp at the first parallel region.
  if (const std::string problem = cli::environment_problem(environment_value); !problem.empty()) {
    cli::print_error(problem);
    return cli::kExitBadInput;
  }
  // First of all: pinning OpenMP threads may mean re-executing this program (cli/thread_pinning.h).
  cli::apply_thread_pinning(argc, argv);
  // Under mpirun/srun: MPI starts here; ranks > 0 follow rank 0 instead of running the command
  // (mpi/mpi_launch.h, docs/cluster.md).
  if (const std::optional<int> refused = mpi::start(argc, argv)) return *refused;
  // Every rank (a collective): its own GPU from its node-local rank, or why it cannot have one.
  if (mpi::detect_launch().size > 0) {
    const Registry registry = cli::make_registry();
    mpi::settle_rank_gpu(registry.gpu_count ? registry.gpu_count() : -1);
  }
  // `mlbench fleet ...`: every rank runs the command itself (cli/run_pipeline.cpp).
  const bool fleet = mpi::is_fleet_command(argc, argv);
  if (fleet) mpi::enter_fleet_mode();
  if (mpi::is_follower() && !fleet) {
    // Rank 0's report holds every rank's context: a follower reads its own as rank 0 does.
    mpi::set_context_collector([](int threads) { return collect_machine_context(threads, cli::make_registry()); });
    return mpi::follow();
  }
  return mpi::finish(run_command(argc, argv));
}

namespace {
int run_command(int argc, char** argv) {
  using namespace mlbench;
  for (int i = 0; i < argc; ++i) cli::g_command_line += (i ? " " : "") + std::string(argv[i]);

  // The workloads named from their descriptors (bench/workloads.h), so that a new one is named too.
  std::vector<std::string> workload_names;
  for (const WorkloadDescriptor& w : workloads()) workload_names.push_back(w.name);
  CLI::App app{
      fmt::format("mlbench: verified CPU vs GPU speedups on ML workloads ({})", fmt::join(workload_names, ", "))};
  app.set_version_flag("--version",
                       std::string("mlbench ") + MLBENCH_CLI_VERSION + " (commit " + mlbench_git_commit() + ")");
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 ok; 1 a variant failed (verification, error, timeout), a compare gate tripped or, under "
      "mpirun, rank 0 aborted the job over a rank that stopped answering; 2 bad input (nothing measured or "
      "written; also a refused MPI launch); 3 results measured but an output could not be written "
      "(the others were; the error names it); 128+N stopped by signal N (129 SIGHUP, 130 SIGINT, 143 SIGTERM; "
      "finished results are written); 141 standard output was a closed pipe.");
  app.fallthrough(false);
  int exit_code = 0;
  cli::add_run_commands(app, exit_code);
  cli::add_report_commands(app, exit_code);
  cli::add_peak_command(app, exit_code);
  cli::add_docs_commands(app, exit_code);

  if (const std::string problem = cli::reject_arguments(std::vector<std::string>(argv, argv + argc), app);
      !problem.empty()) {
    cli::print_error(problem);
    return cli::kExitBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::RequiredError& e) {
    // "A subcommand is required" says neither where nor which: name the command and its choices.
    const std::string missing = missing_subcommand(app);
    cli::print_error(missing.empty() ? std::string(e.what()) : missing);
    return cli::kExitBadInput;
  } catch (const CLI::ParseError& e) {
    // One line naming the problem, exit code 2 (CLI11's own codes differ per error).
    cli::print_error(e.what());
    return cli::kExitBadInput;
  } catch (const InputError& e) {
    cli::print_error(e.what());
    return cli::kExitBadInput;
  } catch (const std::bad_alloc&) {
    cli::print_err("mlbench: error: out of host memory\n");
    return cli::kExitBadInput;
  } catch (const std::exception& e) {
    cli::print_err("mlbench: internal error: {}\n", e.what());
    return cli::kExitFailure;
  }
  return cli::exit_code_after_output(exit_code);
}
}  // namespace
