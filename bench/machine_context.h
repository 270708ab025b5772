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
  std::string uuid;  // "GPU-8-4-4-4-12 hex digits", as nvidia-smi prints it ("" when unread)
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

// One rank of an MPI job as that rank saw itself (mpi/ gathers every rank's to rank 0): what
// a reader needs to tell a slow rank's host, CPU, cores or load from the others'.
struct RankContext {
  int rank = 0;
  std::string hostname;
  std::string cpu_model;
  int logical_cpus = 0, physical_cores = 0;
  std::vector<int> cpus;  // MachineContext::cpus of that rank
  int threads = 0;        // OpenMP threads per rank
  int omp_num_places = 0;
  std::string thread_pinning;  // MachineContext::thread_pinning of that rank
  std::vector<double> load_average;
  std::string openblas_core;
  std::string gpu;  // "NVIDIA H200 (device 0, driver 570.86)", or "none (<why>)"
  std::string mpi_library;
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
  std::vector<double> load_average;  // 1, 5, 15 minutes at start (/proc/loadavg)
  // What makes CPU numbers unstable, where the OS tells ("unknown" where it does not):
  std::string cpu_scaling_governor;  // cpu0's cpufreq governor: "performance", "powersave", ...
  std::string cpu_scaling_driver;    // "intel_pstate", "acpi-cpufreq", "amd-pstate", ...
  std::string cpu_boost;             // turbo / boost: "on", "off"
  std::string smt;                   // simultaneous multithreading: "on", "off"

  std::string compiler;       // "GNU 12.2.0"
  std::string build_type;     // "Release"
  std::string git_commit;     // mlbench_git_commit(); "" in reports written before it was recorded
  std::string build_flags;    // CXX flags of the build
  std::string cuda_compiler;  // empty when built without CUDA
  std::string openmp;         // "OpenMP 4.5 (201511), libgomp"
  int omp_max_threads = 0;
  int threads_used = 0;
  std::string omp_proc_bind;  // omp_get_proc_bind(): "close", "spread", "false", ...
  std::string omp_places;     // OMP_PLACES as set ("" when unset)
  int omp_num_places = 0;     // omp_get_num_places() when threads are bound, else 0
  // Who bound the OpenMP threads, in words: "mlbench default (--pin cores): OMP_PROC_BIND=close
  // OMP_PLACES=cores", "from the environment: ...", "none (--pin none): threads may migrate".
  std::string thread_pinning;
  // The CPUs this process's OpenMP threads run on: the union of its OpenMP places when threads
  // are bound, else its affinity mask. Empty in reports written before it was recorded.
  std::vector<int> cpus;

  std::vector<std::pair<std::string, std::string>> libraries;  // name -> version ("MPI" under an MPI launch)
  // Processes of the MPI job this report's rank 0 ran in (mpi/); 0 when not started under MPI.
  int mpi_world_size = 0;
  // Every rank's own context, in rank order, in a report of an MPI job (rank 0 included);
  // empty outside MPI, in a fleet report's per-rank reports and in reports before it existed.
  std::vector<RankContext> mpi_ranks;
  std::string openblas_core;    // openblas_get_corename()
  std::string openblas_config;  // openblas_get_config()

  std::optional<GpuContext> gpu;
  std::string gpu_absent_reason;  // when no GPU context: why

  std::vector<std::string> warnings;  // e.g. generic OpenBLAS kernel

  // Measured ceilings (cached per machine); absent in reports written before they existed.
  std::optional<PeakFigures> peaks;
};

// One reading of a GPU's operating state (NVML, kernels/nvml_monitor.h), taken by the runner
// before and after each GPU measurement through Registry::device_state_probe.
struct GpuStateSample {
  bool available = false;
  std::string unavailable_reason;  // when not available: "NVML not available: <why>"
  double sm_clock_mhz = 0, memory_clock_mhz = 0;
  double temperature_c = 0;
  double power_w = 0;
  std::uint64_t throttle_reason_bits = 0;     // NVML clocks-event (throttle) reason bits, as read
  std::vector<std::string> throttle_reasons;  // the active ones that lower performance: "power cap",
                                              // "thermal", "HW slowdown", ... (not idle / app clocks)
  // Cumulative time NVML says power / thermal limits held the clocks down, in ns; -1 unknown.
  double power_violation_ns = -1, thermal_violation_ns = -1;
};

class Registry;
// Reads the context of this process/machine. `threads` is the thread count the run uses;
// the GPU part comes from the registry's GPU folder.
MachineContext collect_machine_context(int threads, const Registry& registry);

// The summary of one rank that RankContext keeps, from that rank's own machine context.
RankContext rank_context_of(const MachineContext& context, int rank);

// The git commit mlbench was built from, computed at build time: "0123456789ab", with "-dirty"
// when tracked files differed from it, "unknown" outside a git checkout (cmake/GitCommit.cmake).
const char* mlbench_git_commit();

// Warnings about the machine's state that make numbers unstable (powersave governor, load at
// start above ~0.5 per core, threads not pinned); collect_machine_context adds them to warnings.
std::vector<std::string> stability_warnings(const MachineContext& context);

// True for OpenBLAS core names that mean a generic fallback kernel (e.g. "Prescott").
bool is_generic_openblas_core(const std::string& core);

}  // namespace mlbench
