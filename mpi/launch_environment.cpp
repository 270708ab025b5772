#include <cstdlib>
#include <string>

#include "mpi/mpi_launch.h"

namespace mlbench::mpi {

namespace {
int positive_int(const char* text) {
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  return (*end == '\0' && value > 0 && value < (1L << 30)) ? static_cast<int>(value) : 0;
}
}  // namespace

LaunchEnvironment detect_launch() {
  // Open MPI's mpirun, PMI-1/2 launchers (MPICH hydra, Intel MPI, srun --mpi=pmi2), MVAPICH,
  // and srun itself (SLURM_STEP_NUM_TASKS describes a job step; SLURM_NTASKS is not used: it is
  // also set in a batch script that runs one process). Not tried under Slurm yet.
  static const struct {
    const char* size;
    const char* rank;
  } kLaunchers[] = {{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"},
                    {"PMI_SIZE", "PMI_RANK"},
                    {"MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"},
                    {"SLURM_STEP_NUM_TASKS", "SLURM_PROCID"}};
  for (const auto& launcher : kLaunchers)
    if (const int size = positive_int(std::getenv(launcher.size)); size > 0) {
      const char* rank = std::getenv(launcher.rank);
      return {launcher.size, size, rank && *rank ? positive_int(rank) : 0};
    }
  return {};
}

}  // namespace mlbench::mpi
