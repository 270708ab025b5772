// The machine and build a run happened on: what a reader needs to trust or compare numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/peaks.h"

namespace mlbench {

struct CacheLevel {
  int level = 0;
  std::string type;  // "Data", "Instruction", "Unified"
  std::int64_t size_bytes = 0;
  int shared_by_cpus = 0;
};

struct GpuContext {
  int ordinal = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  std::int64_t memory_bytes = 0;
  int memory_bus_bits = 0;
  double memory_clock_mhz = 0;
  double peak_bandwidth_gbps = 0;  // from bus width and memory clock (theoretical)
  double sm_clock_mhz = 0;
  std::int64_t l2_bytes = 0;
  std::string driver_version;
  std::string runtime_version;
};

struct MachineContext {
  std::string hostname;
  std::string os;  // "Debian GNU/Linux 12 (bookworm), Linux 6.1.0 x86_64"
  std::string cpu_model;
  int logical_cpus = 0;
  int physical_cores = 0;
  double cpu_mhz = 0;
  std::vector<std::string> simd;  // "avx2", "avx512f", "fma", ...
  std::vector<CacheLevel> caches;
  std::int64_t memory_total_bytes = 0;
  std::int64_t memory_available_bytes = 0;
  std::vector<double> load_average;  // 1, 5, 15 minutes at start
  std::string cpu_scaling_governor;

  std::string compiler;      // "GNU 12.2.0"
  std::string build_type;    // "Release"
  std::string build_flags;   // CXX flags of the build
  std::string cuda_compiler; // empty when built without CUDA
  std::string openmp;        // "OpenMP 4.5 (201511), libgomp"
  int omp_max_threads = 0;
  int threads_used = 0;
  std::string omp_proc_bind;
  std::string omp_places;

  std::vector<std::pair<std::string, std::string>> libraries;  // name -> version
  std::string openblas_core;     // openblas_get_corename()
  std::string openblas_config;   // openblas_get_config()

  std::optional<GpuContext> gpu;
  std::string gpu_absent_reason;  // when no GPU context: why

  std::vector<std::string> warnings;  // e.g. generic OpenBLAS kernel

  // Measured ceilings (cached per machine); absent in reports written before they existed.
  std::optional<PeakFigures> peaks;
};

class Registry;
// Reads the context of this process/machine. `threads` is the thread count the run uses;
// the GPU part comes from the registry's GPU folder.
MachineContext collect_machine_context(int threads, const Registry& registry);

// True for OpenBLAS core names that mean a generic fallback kernel (e.g. "Prescott").
bool is_generic_openblas_core(const std::string& core);

}  // namespace mlbench
