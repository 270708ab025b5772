// The CPU backends, one definition each (cpu/cpu_backend_table.cpp): a backend's identity (name, workload, kind,
// description, precisions, whether it is the workload's baseline), the library it needs and its wiring (factory,
// shape check) sit in one row of one table. register.cpp registers every row; a row whose library this build lacks
// is registered from the same row as unavailable ("built without OpenBLAS", "built without oneDNN"), its wiring null,
// so names, descriptions and precisions do not depend on how the binary was built. Adding a CPU backend: its
// variant's file, its factory's declaration in cpu_backends.h, one row of the table, one line in CMakeLists.txt.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench/backend.h"
#include "bench/types.h"

namespace mlbench::cpu {

// The library a CPU backend calls; none: mlbench's own code, in every build.
enum class CpuLibrary { none, openblas, onednn };

struct CpuBackendDefinition {
  const char* name;
  const char* workload;
  BackendKind kind;
  const char* description;
  std::vector<Precision> precisions;  // BackendInfo::precisions, in this order
  bool is_baseline;                   // BackendInfo::is_baseline: the workload's serial reference
  CpuLibrary library;
  // The wiring: null in a build without `library`. `supports` null: every problem of the declared precisions.
  std::unique_ptr<Variant> (*prepare)(const Problem&, const ExecutionConfig&);
  Availability (*supports)(const Problem&);
};

// Every CPU backend, in registration order (the order of `mlbench list` and of a run's rows).
const std::vector<CpuBackendDefinition>& cpu_backend_definitions();

// Whether this build has `library` (always for none).
bool built_with(CpuLibrary library);
// Why a row of `library` cannot run in a build without it: "built without OpenBLAS", "built without oneDNN"
// (empty for none).
std::string missing_library_reason(CpuLibrary library);

// The registry entry of a CPU backend with its identity filled in; availability, supports and
// prepare are register.cpp's.
inline BackendInfo describe(const CpuBackendDefinition& definition) {
  BackendInfo info = backend_identity(definition);
  info.precisions = definition.precisions;
  info.is_baseline = definition.is_baseline;
  return info;
}

}  // namespace mlbench::cpu
