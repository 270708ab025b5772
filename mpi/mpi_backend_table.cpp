// The table of MPI backends (mpi_backend_table.h): one row per backend, identity and factory
// together. Compiled in both builds; without MPI (MLBENCH_HAVE_MPI=0) the factories are left
// out, so nothing here needs MPI, and without_mpi.cpp registers the same rows as unavailable.
#include "mpi/mpi_backend_table.h"

#if MLBENCH_HAVE_MPI
#include "mpi/session.h"
#define MLBENCH_MPI_WIRING(prepare) prepare
#else
#define MLBENCH_MPI_WIRING(prepare) nullptr
#endif

namespace mlbench::mpi {

const std::vector<MpiBackendDefinition>& mpi_backend_definitions() {
  // name, workload, kind (BackendKind::cpu: mlbench's own code on every rank), description,
  // MLBENCH_MPI_WIRING(prepare)
  static const std::vector<MpiBackendDefinition> definitions = {
      {"mpi", "gemm", BackendKind::cpu,
       "rows of A over MPI ranks, B on every rank, C gathered to rank 0 (OpenMP per rank)",
       MLBENCH_MPI_WIRING(prepare_distributed_gemm)},
      {"mpi", "reduction", BackendKind::cpu,
       "rows over MPI ranks; MPI_Allreduce of the partials, or row results gathered (OpenMP per rank)",
       MLBENCH_MPI_WIRING(prepare_distributed_reduction)},
      {"mpi", "convolution", BackendKind::cpu,
       "images over MPI ranks, or row bands with halo exchange when N < ranks; output gathered (OpenMP per rank)",
       MLBENCH_MPI_WIRING(prepare_distributed_convolution)},
  };
  return definitions;
}

}  // namespace mlbench::mpi
