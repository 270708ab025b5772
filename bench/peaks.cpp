#include "bench/peaks.h"

#include <ctime>

#include <fmt/format.h>

#include "bench/backend.h"
#include "bench/machine_context.h"
#include "bench/runner.h"

namespace mlbench {

namespace {}  // namespace

std::string peaks_machine_key(const MachineContext& machine) {
  std::string version = "unknown";
  for (const auto& [name, value] : machine.libraries)
    if (name == "mlbench") version = value;
  // The all-thread figures depend on the OpenMP thread count, so it is part of the key.
  return fmt::format("{} | {} logical CPUs | {} OpenMP threads | {} | mlbench {}", machine.cpu_model,
                     machine.logical_cpus, machine.omp_max_threads, machine.gpu ? machine.gpu->name : "no GPU",
                     version);
}

PeakFigures measure_peaks(const Registry& registry, const MachineContext& machine) {
  PeakFigures peaks;
  peaks.machine_key = peaks_machine_key(machine);
  peaks.cpu_absent_reason = "no CPU peak provider in this build";
  peaks.gpu_absent_reason =
      machine.gpu_absent_reason.empty() ? "no GPU peak provider in this build" : machine.gpu_absent_reason;
  for (const auto& provide : registry.peak_providers) {
    provide(peaks);
    if (Runner::stop_requested()) throw Interrupted("interrupted while measuring the machine's peaks");
  }
  if (peaks.cpu) peaks.cpu_absent_reason.clear();
  if (peaks.gpu) peaks.gpu_absent_reason.clear();
  peaks.measured_at = utc_now();
  return peaks;
}

const char* peaks_method() {
  return "Each CPU figure is the best (fastest) of 10 timed runs after 1 warm-up run, with the OpenMP threads "
         "pinned as for the run (other programs only ever slow a run down); each GPU figure is the median of 10 "
         "timed runs (not Google Benchmark: the kernels are fixed-size and the figures are ceilings, not results).\n"
         "CPU bandwidth: triad a[i] = b[i] + s*c[i] over three arrays of max(2^26, 4 x last-level cache) "
         "doubles (capped at a quarter of free memory), 24 bytes per element counted (the write-allocate "
         "read of a is not), OpenMP static schedule, pages first-touched by the threads that use them; "
         "CPU read bandwidth: sum over two of those arrays, 16 bytes per element; all OpenMP threads and one "
         "thread.\n"
         "CPU FP32/FP64: 2 x lanes FLOP per FMA over 16 independent FMA chains of the widest vector the "
         "build targets (64 bytes with AVX-512, 32 with AVX, else 16), all threads and one; the all-threads "
         "roof is at least OpenBLAS sgemm/dgemm's rate at n = 1024 (a library GEMM must not sit above its roof), "
         "and the report says which of the two it is.\n"
         "GPU (CUDA events): copy = cudaMemcpy device to device of 1 GiB, bytes read + written; read = "
         "cub::DeviceReduce::Sum over 1 GiB of fp32; FP32/FP64 = kernel of 8 independent FMA chains per "
         "thread, 32 warps per SM on every SM; TF32 and BF16 = cublasGemmEx at n = 8192 "
         "(CUBLAS_COMPUTE_32F_FAST_TF32; CUDA_R_16BF in, fp32 accumulate), 2 n^3 FLOP.";
}

}  // namespace mlbench
