// GPU ceilings: each figure the median of kTimedRuns runs after kWarmupRuns, timed with CUDA
// events on one stream, on random data.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kernels/backends.h"
#include "kernels/cuda_check.h"
#include "kernels/gpu_variant.h"
#include "kernels/peaks.h"

namespace mlbench::kernels {

namespace {

constexpr int kWarmupRuns = 2;
constexpr int kTimedRuns = 10;
constexpr int kGemmSize = 8192;
constexpr std::size_t kBandwidthBytes = std::size_t{1} << 30;  // 1 GiB, far beyond any L2
constexpr int kFmaThreadsPerBlock = 256;
constexpr int kFmaBlocksPerSm = 4;  // 32 warps per SM: 4 per scheduler x 8 chains hide FMA latency
constexpr int kFmaIterations = 1 << 17;

class Timer {
 public:
  explicit Timer(cudaStream_t stream) : stream_(stream) {
    MLBENCH_CUDA_CHECK(cudaEventCreate(&start_));
    MLBENCH_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~Timer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  // Median seconds of `work` (enqueued on the stream) over kTimedRuns after kWarmupRuns.
  double median_seconds(const std::function<void()>& work) {
    for (int i = 0; i < kWarmupRuns; ++i) work();
    MLBENCH_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::vector<double> times;
    for (int i = 0; i < kTimedRuns; ++i) {
      MLBENCH_CUDA_CHECK(cudaEventRecord(start_, stream_));
      work();
      MLBENCH_CUDA_CHECK(cudaEventRecord(stop_, stream_));
      MLBENCH_CUDA_CHECK(cudaEventSynchronize(stop_));
      float ms = 0;
      MLBENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
      times.push_back(ms * 1e-3);
    }
    std::sort(times.begin(), times.end());
    return (times[kTimedRuns / 2 - 1] + times[kTimedRuns / 2]) / 2;
  }

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

struct Stream {
  Stream() { MLBENCH_CUDA_CHECK(cudaStreamCreateWithFlags(&handle, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(handle); }
  cudaStream_t handle = nullptr;
};

struct Cublas {
  Cublas() { MLBENCH_CUDA_CHECK(cublasCreate(&handle)); }
  ~Cublas() { cublasDestroy(handle); }
  cublasHandle_t handle = nullptr;
};

std::size_t free_device_bytes() {
  std::size_t free = 0, total = 0;
  MLBENCH_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free;
}

// Copy and read over `bytes` each (two buffers); bytes shrink when the device is short.
void measure_bandwidth(GpuPeaks& gpu, cudaStream_t stream, Timer& timer) {
  std::size_t bytes = std::min(kBandwidthBytes, free_device_bytes() / 3);
  bytes -= bytes % 4096;
  DeviceBuffer src(bytes), dst(bytes);
  const std::size_t count = bytes / sizeof(float);
  launch_fill_uniform(src.as<float>(), count, 1, stream);
  launch_fill_uniform(dst.as<float>(), count, 2, stream);
  gpu.copy_bytes = gpu.read_bytes = static_cast<std::int64_t>(bytes);
  const double copy_s = timer.median_seconds(
      [&] { MLBENCH_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice, stream)); });
  gpu.copy_gbps = 2.0 * static_cast<double>(bytes) / copy_s / 1e9;

  std::size_t temp_bytes = 0;
  cub_sum(nullptr, temp_bytes, src.as<float>(), dst.as<float>(), static_cast<std::int64_t>(count), stream);
  DeviceBuffer temp(std::max<std::size_t>(temp_bytes, 1));
  const double read_s = timer.median_seconds([&] {
    cub_sum(temp.get(), temp_bytes, src.as<float>(), dst.as<float>(), static_cast<std::int64_t>(count), stream);
  });
  gpu.read_gbps = static_cast<double>(bytes) / read_s / 1e9;
}

template <class T>
double fma_gflops(int sm_count, cudaStream_t stream, Timer& timer) {
  const int blocks = sm_count * kFmaBlocksPerSm;
  const std::size_t threads = static_cast<std::size_t>(blocks) * kFmaThreadsPerBlock;
  DeviceBuffer out(threads * sizeof(T));
  const double seconds = timer.median_seconds(
      [&] { launch_fma_chains(out.as<T>(), blocks, kFmaThreadsPerBlock, kFmaIterations, stream); });
  return 2.0 * kFmaChains * static_cast<double>(kFmaIterations) * static_cast<double>(threads) / seconds / 1e9;
}

// cublasGemmEx C = A B at n = kGemmSize: TF32 (fp32 in, CUBLAS_COMPUTE_32F_FAST_TF32) and BF16
// (bf16 in, fp32 out and accumulate).
void measure_tensor_rates(GpuPeaks& gpu, cudaStream_t stream, Timer& timer) {
  int n = kGemmSize;
  // Three fp32 matrices must fit (with room for cuBLAS's workspace); halve n until they do.
  while (n > 1024 && 4.0 * n * n * sizeof(float) > static_cast<double>(free_device_bytes())) n /= 2;
  gpu.gemm_size = n;
  const std::size_t elements = static_cast<std::size_t>(n) * n;
  Cublas cublas;
  MLBENCH_CUDA_CHECK(cublasSetStream(cublas.handle, stream));
  const double flops = 2.0 * n * static_cast<double>(n) * n;
  const float alpha = 1.0f, beta = 0.0f;
  DeviceBuffer c(elements * sizeof(float));
  {
    DeviceBuffer a(elements * sizeof(float)), b(elements * sizeof(float));
    launch_fill_uniform(a.as<float>(), elements, 3, stream);
    launch_fill_uniform(b.as<float>(), elements, 4, stream);
    const double seconds = timer.median_seconds([&] {
      MLBENCH_CUDA_CHECK(cublasGemmEx(cublas.handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.get(), CUDA_R_32F, n,
                                      b.get(), CUDA_R_32F, n, &beta, c.get(), CUDA_R_32F, n,
                                      CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
    });
    gpu.tf32_gflops = flops / seconds / 1e9;
  }
  DeviceBuffer a(elements * 2), b(elements * 2);  // bfloat16
  launch_fill_uniform_bf16(a.get(), elements, 5, stream);
  launch_fill_uniform_bf16(b.get(), elements, 6, stream);
  const double seconds = timer.median_seconds([&] {
    MLBENCH_CUDA_CHECK(cublasGemmEx(cublas.handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.get(), CUDA_R_16BF, n,
                                    b.get(), CUDA_R_16BF, n, &beta, c.get(), CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT));
  });
  gpu.bf16_gflops = flops / seconds / 1e9;
}

}  // namespace

void measure_gpu_peaks(PeakFigures& peaks) {
  const Availability available = cuda_availability();
  if (!available.available) {
    peaks.gpu.reset();
    peaks.gpu_absent_reason = available.reason;
    return;
  }
  try {
    const int device = 0;  // the device the backends run on
    MLBENCH_CUDA_CHECK(cudaSetDevice(device));
    cudaDeviceProp prop{};
    MLBENCH_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    GpuPeaks gpu;
    gpu.name = prop.name;
    gpu.runs = kTimedRuns;
    Stream stream;
    Timer timer(stream.handle);
    measure_bandwidth(gpu, stream.handle, timer);
    gpu.fp32_gflops = fma_gflops<float>(prop.multiProcessorCount, stream.handle, timer);
    gpu.fp64_gflops = fma_gflops<double>(prop.multiProcessorCount, stream.handle, timer);
    measure_tensor_rates(gpu, stream.handle, timer);
    MLBENCH_CUDA_CHECK(cudaStreamSynchronize(stream.handle));
    peaks.gpu = gpu;
    peaks.gpu_absent_reason.clear();
  } catch (const std::exception& e) {
    peaks.gpu.reset();
    peaks.gpu_absent_reason = fmt::format("GPU peak measurement failed: {}", e.what());
  }
}

}  // namespace mlbench::kernels
