// The GPU backends, one definition each (kernels/gpu_backends.cpp): a backend's identity
// (name, workload, kind, description, vendor reference, precisions, tensor-core precisions) and its wiring
// (availability, shape check, factory) sit in one row of one table, so they cannot drift apart. A build with CUDA
// registers every row with its wiring (register_backends.cpp); a build without CUDA compiles the same table without the
// wiring and registers every row as unavailable, saying why (unavailable.cpp), so the names the runner and the CLI see
// do not depend on how the binary was built. Adding a GPU backend: its variant's file, one row here, one line in
// CMakeLists.txt.
#pragma once

#include <memory>
#include <vector>

#include "bench/backend.h"
#include "bench/types.h"

namespace mlbench::kernels {

// The input precisions a GPU backend implements (BackendInfo::precisions), named in the table so
// that a build without CUDA lists the same ones.
enum class GpuPrecisions {
  all,        // fp64, fp32, tf32, bf16, fp16
  fp32_tf32,  // cublas-tf32
  reduction,  // fp64, fp32, bf16, fp16: reductions have no tf32
  fp32_fp64,  // the multi-GPU backends
  no_tf32,    // fp64, fp32, bf16, fp16: attention, softmax, layer norm
  bf16_fp16,  // cuDNN's fused attention
  reduced,    // tf32, bf16, fp16: where tensor cores exist (cuBLAS, cuDNN convolution)
  none,       // no precision: a backend that never runs on tensor cores
};

inline std::vector<Precision> expand(GpuPrecisions set) {
  switch (set) {
    case GpuPrecisions::fp32_tf32: return {Precision::fp32, Precision::tf32};
    case GpuPrecisions::reduction: return {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16};
    case GpuPrecisions::fp32_fp64: return {Precision::fp32, Precision::fp64};
    case GpuPrecisions::no_tf32: return {Precision::fp32, Precision::fp64, Precision::bf16, Precision::fp16};
    case GpuPrecisions::bf16_fp16: return {Precision::bf16, Precision::fp16};
    case GpuPrecisions::reduced: return {Precision::tf32, Precision::bf16, Precision::fp16};
    case GpuPrecisions::none: return {};
    case GpuPrecisions::all: break;
  }
  return all_precisions();
}

struct GpuBackendDefinition {
  const char* name;
  const char* workload;
  BackendKind kind;
  const char* description;
  const char* vendor_reference;  // empty for the vendor libraries themselves
  GpuPrecisions precisions;
  // BackendInfo::tensor_core_precisions: where it runs on tensor cores (none: never).
  GpuPrecisions tensor_cores;
  bool multi_gpu;  // BackendInfo::multi_gpu: runs with --gpus only, once per GPU count
  // The wiring: null in a build without CUDA. `supports` null: every problem of the workload.
  Availability (*availability)();
  Availability (*supports)(const Problem&);
  std::unique_ptr<Variant> (*prepare)(const Problem&, const ExecutionConfig&);
};

// Every GPU backend, in registration order (the order of `mlbench list` and of a run's rows).
const std::vector<GpuBackendDefinition>& gpu_backend_definitions();

// The registry entry of a GPU backend with its identity filled in; availability, supports and
// prepare are the registering file's.
inline BackendInfo describe(const GpuBackendDefinition& definition) {
  BackendInfo info = backend_identity(definition);
  info.vendor_reference = definition.vendor_reference;
  info.precisions = expand(definition.precisions);
  info.tensor_core_precisions = expand(definition.tensor_cores);
  info.multi_gpu = definition.multi_gpu;
  return info;
}

}  // namespace mlbench::kernels
