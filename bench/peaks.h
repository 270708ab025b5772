// This machine's measured ceilings (memory bandwidth, FMA rate, tensor-core rate): what the
// roofline of every result is drawn against. Measured by the implementation folders (cpu/ for
// the CPU figures, kernels/ for the GPU ones) through Registry::peak_providers, cached per
// machine by reports/peaks_cache.h. Plain data here; bench knows no file formats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mlbench {

// Each CPU figure is the best of 10 timed runs after one warm-up run (steady clock), each GPU
// figure the median of >= 10 (CUDA events).
struct CpuPeaks {
  int threads = 0;                // "all threads": OpenMP's thread count at measurement
  double bandwidth_gbps_all = 0;  // STREAM-like triad a[i] = b[i] + s*c[i], 24 bytes/element
  double bandwidth_gbps_one = 0;
  double read_gbps_all = 0;  // read-only sum over two of the triad arrays, 16 bytes/element
  double read_gbps_one = 0;
  double fp32_gflops_all = 0;  // independent FMA chains on full-width vectors, 2 FLOP per lane
  double fp32_gflops_one = 0;
  double fp64_gflops_all = 0;
  double fp64_gflops_one = 0;
  std::int64_t triad_elements = 0;  // doubles per array
  int vector_bytes = 0;             // width of the FMA vectors: 64 AVX-512, 32 AVX, 16 otherwise
  int runs = 0;                     // timed runs per figure (each figure is the best of them)
  // The library GEMM's rate with all threads (OpenBLAS, n = gemm_size; 0 without OpenBLAS): a
  // lower bound of the FMA roof, so that no GEMM lands above its roof when the FMA loop falls
  // short. fp32/fp64_gflops_all are the larger of the two; *_source says which.
  double fp32_gemm_gflops_all = 0;
  double fp64_gemm_gflops_all = 0;
  int gemm_size = 0;
  std::string fp32_source = "fma loop";  // "fma loop" or "openblas gemm"
  std::string fp64_source = "fma loop";
};

struct GpuPeaks {
  std::string name;
  double copy_gbps = 0;         // cudaMemcpy device to device, bytes read + written
  double read_gbps = 0;         // cub::DeviceReduce::Sum, bytes read
  double fp32_gflops = 0;       // independent FMA chains per thread, every SM busy
  double fp64_gflops = 0;       // same in double
  double tf32_gflops = 0;       // cublasGemmEx CUBLAS_COMPUTE_32F_FAST_TF32, n = gemm_size
  double bf16_gflops = 0;       // cublasGemmEx bf16 in, fp32 accumulate, n = gemm_size
  std::int64_t copy_bytes = 0;  // size of the copied buffer
  std::int64_t read_bytes = 0;  // size of the reduced buffer
  int gemm_size = 0;
  int runs = 0;
};

struct PeakFigures {
  std::string machine_key;  // what the figures belong to (peaks_machine_key)
  std::string measured_at;  // ISO 8601 UTC
  std::optional<CpuPeaks> cpu;
  std::string cpu_absent_reason;
  std::optional<GpuPeaks> gpu;
  std::string gpu_absent_reason;  // "built without CUDA", "no CUDA device", ...
};

struct MachineContext;
class Registry;

// Cache key of a machine: CPU model, logical CPUs, OpenMP threads, GPU name, mlbench version.
std::string peaks_machine_key(const MachineContext& machine);

// Runs every peak provider of the registry (CPU, then GPU) and stamps key and time.
PeakFigures measure_peaks(const Registry& registry, const MachineContext& machine);

// How the figures are measured, for `mlbench peak --help`, reports and the README.
const char* peaks_method();

}  // namespace mlbench
