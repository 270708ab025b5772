// The GPU backends this folder registers. unavailable.cpp (built without CUDA) and
// register_backends.cpp (built with CUDA) share this one list, so that the names the
// runner and the CLI see do not depend on how the binary was built.
#pragma once

#include <array>

#include "bench/backend.h"
#include "bench/types.h"

namespace mlbench::kernels {

struct GpuBackendName {
  const char* name;
  const char* workload;
  BackendKind kind;
  const char* description;
  const char* vendor_reference;  // empty for the vendor libraries themselves
};

inline constexpr std::array<GpuBackendName, 7> kGpuBackends = {{
    {"cuda", "gemm", BackendKind::gpu,
     "hand-written CUDA: shared-memory tiles, 8x8 register blocking, 16-byte loads", "cublas"},
    {"cublas", "gemm", BackendKind::gpu_library, "cuBLAS sgemm/dgemm, pedantic fp32 math (no TF32)", ""},
    {"cublas-tf32", "gemm", BackendKind::gpu_library, "cuBLAS sgemm on TF32 tensor cores (fp32 only)", ""},
    {"cuda", "convolution", BackendKind::gpu,
     "hand-written CUDA: direct (input tile + halo in shared memory, many filters per thread) or, "
     "for deep layers, implicit GEMM", "cudnn"},
    {"cudnn", "convolution", BackendKind::gpu_library,
     "cuDNN convolution forward, fastest FMA algorithm found at prepare", ""},
    {"cuda", "reduction", BackendKind::gpu,
     "hand-written CUDA: grid-stride 16-byte loads, warp-shuffle tree, two passes", "cub"},
    {"cub", "reduction", BackendKind::gpu_library,
     "CUB DeviceReduce / DeviceSegmentedReduce (axis rows)", ""},
}};

// The registry entry of a GPU backend with its identity filled in; availability, supports and
// prepare are the caller's.
inline BackendInfo describe(const GpuBackendName& entry) {
  BackendInfo info;
  info.name = entry.name;
  info.workload = entry.workload;
  info.kind = entry.kind;
  info.description = entry.description;
  info.vendor_reference = entry.vendor_reference;
  return info;
}

}  // namespace mlbench::kernels
