#include "cli/thread_pinning.h"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "mpi/mpi_launch.h"

namespace mlbench::cli {

std::optional<PinMode> requested_pin_mode(const std::vector<std::string>& args) {
  std::optional<PinMode> mode = PinMode::cores;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg == "--no-pin")
      mode = PinMode::none;
    else if (arg == "--pin" && i + 1 < args.size())
      mode = parse_pin_mode(args[++i]);
    else if (arg.rfind("--pin=", 0) == 0)
      mode = parse_pin_mode(arg.substr(6));
  }
  return mode;
}

void apply_thread_pinning(int argc, char** argv) {
  const std::optional<PinMode> mode = requested_pin_mode(std::vector<std::string>(argv, argv + argc));
  if (!mode) return;  // CLI11 will refuse the value
  record_pin_request(*mode);
  if (*mode == PinMode::none) return;
  // A binding the user chose wins; and a process mlbench re-executed has its own already.
  if (std::getenv("OMP_PROC_BIND") != nullptr || std::getenv("OMP_PLACES") != nullptr) return;
  if (std::getenv(kPinnedByMlbenchVariable) != nullptr) return;

  // Under mpirun/srun: each rank of a node its own cores (mpi/mpi_launch.h), or no pinning
  // with the reason; the note reaches the report through the environment.
  const mpi::RankCpuPlan plan =
      mpi::plan_rank_cpus(mpi::detect_launch(), mpi::affinity_cores(), mpi::launcher_bound_this_process());
  if (!plan.note.empty()) setenv(kRankPinningNoteVariable, plan.note.c_str(), 1);
  if (!plan.pin) return;
  if (!plan.cpus.empty()) {
    cpu_set_t share;
    CPU_ZERO(&share);
    for (int cpu : plan.cpus) CPU_SET(cpu, &share);
    if (sched_setaffinity(0, sizeof share, &share) != 0) {  // keeps across exec
      record_pin_request(*mode, std::string("cannot confine this MPI rank to its cores: ") + std::strerror(errno));
      return;
    }
  }

  setenv("OMP_PROC_BIND", "close", 1);
  setenv("OMP_PLACES", *mode == PinMode::threads ? "threads" : "cores", 1);
  setenv(kPinnedByMlbenchVariable, to_string(*mode).c_str(), 1);
  execv("/proc/self/exe", argv);
  // Only reached when exec failed: run unpinned, and say so in the report.
  const std::string problem = std::string("cannot re-execute /proc/self/exe: ") + std::strerror(errno);
  unsetenv("OMP_PROC_BIND");
  unsetenv("OMP_PLACES");
  unsetenv(kPinnedByMlbenchVariable);
  record_pin_request(*mode, problem);
}

}  // namespace mlbench::cli
