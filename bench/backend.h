// Backends and the registry that connects them to workloads.
//
// A backend is one implementation of one workload ("openmp" GEMM, "cudnn" convolution, ...).
// Each implementation folder registers its backends through one function
// (cpu::register_backends, kernels::register_backends); the runner and the CLI only ever
// look backends up here, so adding a backend touches its own folder and nothing else.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/energy.h"
#include "bench/host_buffer.h"
#include "bench/machine_context.h"
#include "bench/problem.h"
#include "bench/rank_group.h"
#include "bench/types.h"

namespace mlbench {

// How a backend may execute: the thread count for CPU code, the device for GPU code.
struct ExecutionConfig {
  int threads = 1;  // OpenMP / OpenBLAS threads (serial backends ignore it)
  int device = 0;   // CUDA device ordinal
  // Multi-GPU backends (BackendInfo::multi_gpu): the CUDA ordinals to spread the work over, in
  // rank order (rank 0 = devices[0] = `device`); empty for every other backend.
  std::vector<int> devices;
  // --timeout (0: none): backends that wait on other processes (mpi/) bound each wait by it.
  double timeout_s = 0;
  // Distributed backends (BackendInfo::rank_counts): the ranks this row spreads over; 0 otherwise.
  int ranks = 0;
  // Cross-rank GPU backends under mpirun/srun (mpi/): the processes of this row, one GPU each
  // (`device`); nullptr in a one-process run. Owned by whoever prepares the variant.
  RankGroup* rank_group = nullptr;
};

struct Availability {
  bool available = false;
  std::string reason;  // why not, when unavailable ("built without CUDA", "no CUDA device", ...)
  static Availability yes() { return {true, {}}; }
  static Availability no(std::string why) { return {false, std::move(why)}; }
};

// One prepared execution of a backend on one problem. Preparation (allocation, copies to the
// device, handle creation, algorithm search) happens before the first run and is never timed.
class Variant {
 public:
  virtual ~Variant() = default;

  // The timing modes this variant is measured in: CPU {host}; GPU {kernel, end_to_end}.
  virtual std::vector<TimingMode> timing_modes() const { return {TimingMode::host}; }
  // Runs the work once in `mode` and returns the time of the timed region in seconds.
  // GPU variants time with CUDA events and keep inputs out of L2 between runs.
  virtual double run(TimingMode mode) = 0;
  // Copies the output of the most recent run into `out` (problem precision, output_size()).
  virtual void read_output(HostBuffer& out) = 0;
  // Facts worth reporting, e.g. {"algorithm", "IMPLICIT_PRECOMP_GEMM"} or {"math", "tf32"}.
  virtual std::vector<std::pair<std::string, std::string>> notes() const { return {}; }
  // Threads the variant actually uses (1 for serial and GPU code).
  virtual int threads() const { return 1; }
  // Unit roundoff of any rounding applied to the inputs before multiplying: 2^-11 for TF32
  // tensor cores, 0 when the inputs are used in the problem's precision. Verification widens
  // its tolerance by what that rounding alone can cause.
  virtual double input_rounding() const { return 0.0; }
  // Whether every run on the same inputs writes a bitwise identical output (no floating-point
  // atomics, no run-to-run choice of algorithm). The runner re-checks the output of the last
  // timed run: bitwise against the verified output when true, by the accuracy check otherwise.
  virtual bool reproducible() const { return true; }
  // Multi-GPU variants: seconds of the most recent run spent moving data between GPUs (the
  // NCCL phases); 0 for single-device variants.
  virtual double communication_seconds() const { return 0.0; }
  // Whether this run's math is on tensor cores, for a variant that decides that at prepare
  // (cuDNN's algorithm search may land on FMA or on tensor-op math): false takes this run off
  // the tensor cores its backend declares (BackendInfo::tensor_core_precisions); true cannot add
  // a precision the backend does not declare. nullopt: as the backend declares.
  virtual std::optional<bool> uses_tensor_cores() const { return std::nullopt; }
};

struct BackendInfo {
  std::string name;      // "serial", "openmp", "openblas", "cuda", "cublas", ...
  std::string workload;  // "gemm", "convolution", "reduction"
  BackendKind kind = BackendKind::cpu;
  std::string description;
  // For hand-written code: the vendor backend it is held against ("cublas" for cuda GEMM).
  std::string vendor_reference;
  // The input precisions it implements; the runner skips (or, when asked for by name,
  // refuses) the others. Most code exists for fp32 and fp64 only.
  std::vector<Precision> precisions{Precision::fp32, Precision::fp64};
  bool supports_precision(Precision p) const;

  // Capabilities: what analysis and reports need to know of a backend, so that nothing outside
  // its definition tests its name (issue 16).
  // The workload's baseline: the single-threaded reference every speedup_vs_serial divides by.
  // Exactly one per workload, a CPU backend every build has (tests/bench/backend_capabilities_test.cpp).
  bool is_baseline = false;
  // The precisions (a subset of `precisions`, never fp64) at which it runs on tensor cores: its
  // rate is then held against the tensor-core roof (bench/roofline.cpp). A backend that picks
  // its math at run time lists those it may use them at, and its variant says per run
  // (Variant::uses_tensor_cores).
  std::vector<Precision> tensor_core_precisions;
  bool uses_tensor_cores_at(Precision p) const;
  // Whether the backend can run on this machine; the reason when it cannot.
  std::function<Availability()> availability;
  // Whether it supports this particular problem (precision, op, shape); empty means all.
  std::function<Availability(const Problem&)> supports;
  std::function<std::unique_ptr<Variant>(const Problem&, const ExecutionConfig&)> prepare;
  // Spreads one problem over several GPUs: runs only with --gpus (never in a default run), once
  // per GPU count of the selection, with ExecutionConfig::devices set.
  bool multi_gpu = false;
  // Processes one problem is spread over (the MPI world size, mpi/); 0 for single-process backends.
  int ranks = 0;
  // Distributed backends: the rank counts to run at, one row each (1, 2, 4, ... and the world
  // size), so a report holds the scaling over ranks; empty for every other backend.
  std::vector<int> rank_counts;
};

// The identity every backend table row declares (kernels/gpu_backends.h, cpu/cpu_backend_table.h,
// mpi/mpi_backend_table.h): a registry entry with it filled in and nothing wired yet.
template <class Definition>
BackendInfo backend_identity(const Definition& definition) {
  BackendInfo info;
  info.name = definition.name;
  info.workload = definition.workload;
  info.kind = definition.kind;
  info.description = definition.description;
  return info;
}

class Registry {
 public:
  void add(BackendInfo info);
  // Swaps the registered backend of info's workload and name for `info` (mpi/ turns the nccl
  // rows into cross-rank ones under an MPI launch); throws when none is registered.
  void replace(BackendInfo info);
  // nullptr when absent.
  const BackendInfo* find(const std::string& workload, const std::string& backend) const;
  std::vector<const BackendInfo*> backends_for(const std::string& workload) const;
  const std::vector<BackendInfo>& all() const { return backends_; }
  // Every backend name known for any workload, in registration order, without repeats.
  std::vector<std::string> backend_names() const;

  // Each implementation folder may add facts to the machine context (the OpenBLAS core it
  // selected, the GPU or why there is none); collect_machine_context() calls them all.
  std::vector<std::function<void(MachineContext&)>> context_providers;
  // Each implementation folder measures its own ceilings (cpu/: bandwidth and FMA rate; kernels/:
  // GPU bandwidth, FMA and tensor-core rate, or why there is no GPU); measure_peaks() calls them.
  std::vector<std::function<void(PeakFigures&)>> peak_providers;
  // The GPU folder: how many CUDA devices this process can use (0 when none). Unset in a build
  // without CUDA. The runner checks --gpus against it; tests set it to pretend a device count.
  std::function<int()> gpu_count;
  // The GPU folder: the device's clocks, temperature, power and throttle reasons; the runner
  // reads it before and after each GPU measurement (empty: not recorded).
  std::function<GpuStateSample(int device)> device_state_probe;
  // Energy meters (bench/energy.h) the runner reads around each row's timed runs: cpu/ sets the
  // CPU package meter (RAPL), the GPU folder the meter of the GPUs a row runs on (NVML). Unset:
  // the rows carry no energy figure (tests' registries, a build without CUDA for GPU rows).
  std::function<std::unique_ptr<EnergyMeter>()> cpu_energy_meter;
  std::function<std::unique_ptr<EnergyMeter>(const std::vector<int>& devices)> gpu_energy_meter;
  // The GPU folder: called after a GPU variant failed and was destroyed, with the devices it
  // ran on and its first failure. Brings them back to a usable state where that is needed and
  // possible (a sticky CUDA error, an out-of-memory: cudaDeviceReset) and says what it did, ""
  // when nothing.
  std::function<std::string(const std::vector<int>& devices, std::exception_ptr failure)> device_recovery;

 private:
  std::vector<BackendInfo> backends_;
};

// Each implementation folder adds its backends through one of these. Without CUDA, kernels/
// registers the GPU backend names as unavailable, with the reason.
namespace cpu {
void register_backends(Registry& registry);
}
namespace kernels {
void register_backends(Registry& registry);
}

}  // namespace mlbench
