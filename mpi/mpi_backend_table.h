// The `mpi` backends, one definition each (mpi/mpi_backend_table.cpp): a backend's identity (name, workload,
// kind, description) and its factory sit in one row of one table, compiled in both builds. A build with MPI
// registers every row with its factory (distributed.cpp: available under an MPI launch); a build without MPI
// compiles the same table without the factories and registers every row as unavailable, "built without MPI"
// (without_mpi.cpp), so the names and descriptions do not depend on how the binary was built. Adding an MPI
// backend: its factory in distributed.cpp (declared in session.h), one row of the table.
#pragma once

#include <memory>
#include <vector>

#include "bench/backend.h"
#include "bench/types.h"

namespace mlbench::mpi {

struct MpiBackendDefinition {
  const char* name;
  const char* workload;
  BackendKind kind;
  const char* description;
  // The wiring: null in a build without MPI.
  std::unique_ptr<Variant> (*prepare)(const Problem&, const ExecutionConfig&);
};

// Every MPI backend, in registration order (the order of `mlbench list` and of a run's rows).
const std::vector<MpiBackendDefinition>& mpi_backend_definitions();

// The registry entry of an MPI backend with its identity filled in; availability, prepare and
// the rank counts are the registering file's.
inline BackendInfo describe(const MpiBackendDefinition& definition) {
  BackendInfo info = backend_identity(definition);
  info.precisions = {Precision::fp32, Precision::fp64};  // every rank computes in fp32 or fp64
  return info;
}

}  // namespace mlbench::mpi
