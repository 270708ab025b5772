// Whether a CUDA device is there, and what it is (for the machine context of reports).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#if MLBENCH_HAVE_CUDNN
#include <cudnn.h>
#endif
#include <fmt/format.h>

#include "bench/gpu_selection.h"
#include "kernels/backends.h"
#include "kernels/cuda_check.h"

namespace mlbench::kernels {

namespace {

// CUDA encodes versions as 1000 * major + 10 * minor.
std::string cuda_version_string(int version) { return fmt::format("{}.{}", version / 1000, (version % 1000) / 10); }

int attribute(cudaDeviceAttr attr, int device) {
  int value = 0;
  MLBENCH_CUDA_CHECK(cudaDeviceGetAttribute(&value, attr, device));
  return value;
}

}  // namespace

Availability cuda_availability() {
  static const Availability cached = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status == cudaErrorNoDevice) return Availability::no("no CUDA device");
    if (status != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error so that later calls start clean
      return Availability::no(fmt::format("no CUDA driver ({})", cudaGetErrorString(status)));
    }
    if (count == 0) return Availability::no("no CUDA device");
    return Availability::yes();
  }();
  return cached;
}

void fill_gpu_context(MachineContext& context) {
  int runtime = 0;
  if (cudaRuntimeGetVersion(&runtime) == cudaSuccess)
    context.libraries.emplace_back("CUDA runtime", cuda_version_string(runtime));
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS) {
    context.libraries.emplace_back("cuBLAS", fmt::format("{}.{}.{}", major, minor, patch));
  }
#if MLBENCH_HAVE_CUDNN
  const std::size_t cudnn = cudnnGetVersion();  // major * 10000 + minor * 100 + patch since cuDNN 9
  context.libraries.emplace_back("cuDNN", fmt::format("{}.{}.{}", cudnn / 10000, (cudnn % 10000) / 100, cudnn % 100));
#else
  context.libraries.emplace_back("cuDNN", "not built in");
#endif

  const Availability available = cuda_availability();
  if (!available.available) {
    context.gpu.reset();
    context.gpu_absent_reason = available.reason;
    return;
  }
  // The runner's default device: 0, or under mpirun/srun this rank's own GPU.
  const int device = this_process_gpu();
  GpuContext gpu;
  gpu.ordinal = device;
  cudaDeviceProp prop{};
  MLBENCH_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  gpu.name = prop.name;
  std::string uuid = "GPU-";
  for (int i = 0; i < 16; ++i) {
    uuid += fmt::format("{:02x}", static_cast<unsigned char>(prop.uuid.bytes[i]));
    if (i == 3 || i == 5 || i == 7 || i == 9) uuid += '-';
  }
  gpu.uuid = uuid;
  gpu.memory_bytes = static_cast<std::int64_t>(prop.totalGlobalMem);
  // Clock fields left cudaDeviceProp in CUDA 13; the attributes remain.
  gpu.cc_major = attribute(cudaDevAttrComputeCapabilityMajor, device);
  gpu.cc_minor = attribute(cudaDevAttrComputeCapabilityMinor, device);
  gpu.sm_count = attribute(cudaDevAttrMultiProcessorCount, device);
  gpu.memory_bus_bits = attribute(cudaDevAttrGlobalMemoryBusWidth, device);
  gpu.memory_clock_mhz = attribute(cudaDevAttrMemoryClockRate, device) / 1000.0;  // kHz
  gpu.sm_clock_mhz = attribute(cudaDevAttrClockRate, device) / 1000.0;
  gpu.l2_bytes = attribute(cudaDevAttrL2CacheSize, device);
  // Double data rate: two transfers per memory clock over the whole bus.
  gpu.peak_bandwidth_gbps = 2.0 * gpu.memory_clock_mhz * 1e6 * (gpu.memory_bus_bits / 8.0) / 1e9;
  int driver = 0;
  MLBENCH_CUDA_CHECK(cudaDriverGetVersion(&driver));
  gpu.driver_version = cuda_version_string(driver);
  gpu.runtime_version = cuda_version_string(runtime);
  context.gpu = gpu;
  context.gpu_absent_reason.clear();
}

}  // namespace mlbench::kernels
