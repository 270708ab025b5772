// MPI launches: detecting mpirun / srun from the environment, starting and ending MPI, the
// follower loop of ranks > 0, and the `mpi` backends. The CLI calls these; bench/ knows nothing
// of MPI (the `mpi` backends reach it only through the registry).
#pragma once

#include <optional>
#include <string>

#include "bench/backend.h"

namespace mlbench::mpi {

// What the environment says about the launch: the variable that gave the process count and
// the count ("OMPI_COMM_WORLD_SIZE", 3); size 0 when no launcher set one.
struct LaunchEnvironment {
  std::string size_variable;
  int size = 0;
  int rank = 0;  // this process's rank as the launcher numbered it (0 when unknown)
};
LaunchEnvironment detect_launch();

// First thing in main (after the thread-pinning re-exec): under mpirun/srun, initializes MPI,
// refuses a launch whose environment counts N > 1 processes while MPI's world has another size
// (a program built against another MPI than the launcher's: every process is rank 0), a
// multi-process launch of a build without MPI, and ranks whose arguments differ from rank 0's.
// Returns the exit code to leave with at once (2, one line on stderr from one process), or
// nothing to go on.
std::optional<int> start(int argc, char** argv);
// True on ranks > 0 of an MPI launch: they run follow() instead of the command.
bool is_follower();
// Ranks > 0: executes what rank 0 broadcasts (prepare, run, release) until rank 0 ends the
// job; returns rank 0's exit code.
int follow();
// Rank 0 (and any process outside an MPI launch): tells the followers to exit with
// `exit_code`, ends MPI, returns `exit_code`.
int finish(int exit_code);

// The `mpi` GEMM and reduction backends: available under an MPI launch of a build with MPI;
// otherwise registered as unavailable with the reason.
void register_backends(Registry& registry);

}  // namespace mlbench::mpi
